#!/usr/bin/env bash
# Installs pgmend like any other tool, or removes exactly what it installed:
#   scripts/install.sh install     (make install)
#   scripts/install.sh uninstall   (make uninstall)
# Environment:
#   PREFIX      where it goes (default /usr/local): bin/pgmend, share/man/man1/pgmend.1 and the
#               bash, zsh and fish completions under share/.
#   DESTDIR     a staging root prepended to every path (packaging); the installed files still
#               expect to live under PREFIX.
#   PGMEND_BIN  an already-built pgmend to install instead of building a release, e.g.
#               .build/release/pgmend built by yourself before `sudo make install` (so root does
#               not write into .build), or the debug build the tests install.
#   SWIFT       the swift driver (default swift).
set -euo pipefail

command=${1:-}
prefix=${PREFIX:-/usr/local}
root=${DESTDIR:-}$prefix
swift=${SWIFT:-swift}
package=$(cd "$(dirname "$0")/.." && pwd)

# Every file install writes, so that uninstall removes exactly these and nothing else.
binary=$root/bin/pgmend
manual=$root/share/man/man1/pgmend.1
bash_completion=$root/share/bash-completion/completions/pgmend
zsh_completion=$root/share/zsh/site-functions/_pgmend
fish_completion=$root/share/fish/vendor_completions.d/pgmend.fish
installed=("$binary" "$manual" "$bash_completion" "$zsh_completion" "$fish_completion")

fail() { echo "install: $*" >&2; exit 1; }

# The pgmend to install: PGMEND_BIN, else a release build of the package.
built_pgmend() {
  if [[ -n "${PGMEND_BIN:-}" ]]; then
    [[ -x "$PGMEND_BIN" ]] || fail "PGMEND_BIN=$PGMEND_BIN is not an executable file"
    echo "$PGMEND_BIN"
    return
  fi
  # On Linux the Swift runtime is linked in, so that the installed pgmend needs the toolchain no
  # more than the repository (only libpq, zlib and the C and C++ runtimes remain); macOS ships
  # the runtime itself.
  local flags=(-c release)
  [[ $(uname -s) == Linux ]] && flags+=(--static-swift-stdlib)
  (cd "$package" && "$swift" build "${flags[@]}" --product pgmend >&2)
  echo "$(cd "$package" && "$swift" build "${flags[@]}" --show-bin-path)/pgmend"
}

# swift-argument-parser's generate-manual tool, built from the package's own checkout of it into
# .build/generate-manual. Not through its `swift package generate-manual` plugin: the plugin
# builds every product of the package itself and documents that build, not the binary being
# installed (PGMEND_BIN), and it takes .build's lock, which a `swift test` running the install
# test already holds. Its own scratch folder has its own lock; once built it is reused.
manual_generator() {
  local checkout=$package/.build/checkouts/swift-argument-parser
  [[ -f "$checkout/Package.swift" ]] || (cd "$package" && "$swift" package resolve >&2)
  "$swift" build --package-path "$checkout" --scratch-path "$package/.build/generate-manual" \
    --product generate-manual >&2
  echo "$package/.build/generate-manual/debug/generate-manual"
}

install_files() {
  local pgmend generator
  pgmend=$(built_pgmend)
  generator=$(manual_generator)
  # Everything is generated before anything is installed: a failure leaves nothing half done.
  # Global, not local: the EXIT trap runs after this function has returned.
  staging=$(mktemp -d)
  trap 'rm -rf "$staging"' EXIT
  for shell in bash zsh fish; do
    "$pgmend" --generate-completion-script "$shell" >"$staging/completion.$shell"
  done
  "$generator" "$pgmend" --output-directory "$staging"
  # The generator copies a discussion's blank lines into the page, which mdoc warns about
  # ("Empty input line"); .Pp is mdoc's paragraph break.
  sed 's/^$/.Pp/' "$staging/pgmend.1" >"$staging/pgmend.page"
  grep -q 'Exit codes: 0 done' "$staging/pgmend.page" \
    || fail "the generated man page does not list the exit codes (PgMend.swift's discussion)"

  install -d "$(dirname "$binary")" "$(dirname "$manual")" "$(dirname "$bash_completion")" \
    "$(dirname "$zsh_completion")" "$(dirname "$fish_completion")" \
    || fail "cannot create folders under $root: run as a user who can write there (sudo), or choose PREFIX=\$HOME/.local"
  install -m 755 "$pgmend" "$binary"
  install -m 644 "$staging/pgmend.page" "$manual"
  install -m 644 "$staging/completion.bash" "$bash_completion"
  install -m 644 "$staging/completion.zsh" "$zsh_completion"
  install -m 644 "$staging/completion.fish" "$fish_completion"
  printf 'installed %s\n' "${installed[@]}"
}

# Only the files install wrote: the folders under PREFIX are shared with other tools.
uninstall_files() {
  local file
  for file in "${installed[@]}"; do
    if [[ -e "$file" || -L "$file" ]]; then
      rm -f "$file"
      echo "removed $file"
    fi
  done
}

case "$command" in
  install) install_files ;;
  uninstall) uninstall_files ;;
  *) fail "usage: scripts/install.sh install|uninstall (PREFIX, DESTDIR, PGMEND_BIN, SWIFT from the environment)" ;;
esac
