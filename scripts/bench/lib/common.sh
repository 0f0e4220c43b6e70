# shellcheck shell=bash
# Helpers shared by the benchmarks in scripts/bench (sourced, not run: it sits in lib/ so that
# scripts/bench/run.sh, which runs every scripts/bench/*.sh, does not take it for a benchmark).
#
# A benchmark sets `set -euo pipefail`, cds to the repository root, then sets, before sourcing:
#   root                 the repository root
#   rounds               timed rounds of each command (from BENCH_ROUNDS)
#   port                 port of the throwaway cluster (from BENCH_PORT, with its own default)
#   timed_shows_stdout   "yes" to have `timed` show a failed command's stdout as well as its
#                        stderr (default: stderr only)
# and gets the globals work, bindir, pgmend, psql, pg_dump (set by make_work, find_pgmend and
# start_cluster) and elapsed (set by timed).

timed_shows_stdout=${timed_shows_stdout:-no}

work=""       # the throwaway cluster, its socket and every output file
bindir=""     # the server's programs
pgmend=""
psql=""
pg_dump=""

die() { echo "bench: $*" >&2; exit 1; }

require_count() { # NAME VALUE
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, not '$2'"
}

as_server_user() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The server's own client programs; PATH's only when the bindir lacks them.
client() { # NAME
  if [[ -x "$bindir/$1" ]]; then echo "$bindir/$1"; else command -v "$1"; fi
}

cleanup() {
  [[ -n "$work" ]] || return 0
  if [[ -f "$work/data/postmaster.pid" ]]; then
    as_server_user "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}

# --- setup -------------------------------------------------------------------------------------

# work := a fresh folder, removed (its cluster stopped first) when the script exits.
make_work() {
  work=$(mktemp -d /tmp/pgmend-bench.XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

# pgmend := PGMEND_BIN, or the release build; dies unless `pgmend COMMAND... --help` works.
find_pgmend() { # COMMAND... (e.g. snapshot take)
  if [[ -n "${PGMEND_BIN:-}" ]]; then
    pgmend=$PGMEND_BIN
    [[ -x "$pgmend" ]] || die "PGMEND_BIN=$pgmend is not executable"
  else
    echo "bench: building pgmend (swift build -c release)"
    swift build -c release >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; die "release build failed"; }
    pgmend="$(swift build -c release --show-bin-path)/pgmend"
  fi
  "$pgmend" "$@" --help >/dev/null 2>&1 || die "$pgmend has no '$*' command"
}

# pgmend := PGMEND_BIN, or the release build with the Swift runtime linked in, as installed.
find_installed_pgmend() { # COMMAND... (e.g. run)
  if [[ -n "${PGMEND_BIN:-}" ]]; then
    pgmend=$PGMEND_BIN
    [[ -x "$pgmend" ]] || die "PGMEND_BIN=$pgmend is not executable"
    return
  fi
  local flags=(-c release --scratch-path "$root/.build-static" --product pgmend)
  [[ $(uname -s) == Linux ]] && flags+=(--static-swift-stdlib)
  echo "bench: building pgmend as make install does (swift build ${flags[*]})"
  swift build "${flags[@]}" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; die "release build failed"; }
  pgmend="$(swift build "${flags[@]}" --show-bin-path)/pgmend"
  "$pgmend" "$@" --help >/dev/null 2>&1 || die "$pgmend has no '$*' command"
}

# The plan step the extract_json_fields benchmarks time (extract-json.sh, app-impact.sh): the
# seed's five phone fields of users.metadata, phone_number unique, as YAML under `steps:`.
extract_json_step() {
    echo "  - extract_json_fields:"
    echo "      table: users"
    echo "      column: metadata"
    echo "      fields:"
    echo "        - {name: phone_number, type: \"varchar(20)\", unique: true, trim: true}"
    echo "        - {name: phone_verified, type: boolean, default: false}"
    echo "        - {name: phone_verification_attempts, type: integer, default: 0}"
    echo "        - {name: phone_verified_at, type: timestamptz, assume_time_zone: UTC}"
    echo "        - {name: sms_enabled, type: boolean, default: true}"
}

# Starts the throwaway cluster in $work/data, listening only on the socket in $work.
# Durability off (it only speeds up loading); autovacuum off (the loads VACUUM themselves, so
# nothing wakes up mid-measurement); any SERVER-OPTIONs added after those.
start_cluster() { # [SERVER-OPTION...]
  bindir=$("$root/scripts/pg-bindir.sh")
  psql=$(client psql) || die "no psql"
  pg_dump=$(client pg_dump) || die "no pg_dump"
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$work"; fi
  as_server_user "$bindir/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-instructions >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; die "initdb failed"; }
  as_server_user "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 \
    -o "-p $port -k $work -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c autovacuum=off${*:+ $*}" \
    start >/dev/null || { tail -20 "$work/server.log" >&2; die "the server did not start"; }
}

conninfo() { # DBNAME
  echo "host=$work port=$port user=postgres dbname=$1"
}

sql() { # DBNAME psql-args...
  local dbname=$1; shift
  PGOPTIONS="-c client_min_messages=warning" "$psql" "$(conninfo "$dbname")" -X -q -v ON_ERROR_STOP=1 "$@"
}

load() { # DBNAME WHAT SQLFILE psql-args...
  local dbname=$1 what=$2 file=$3 start
  shift 3
  echo "bench: loading $what"
  start=$(date +%s%N)
  sql postgres -c "CREATE DATABASE $dbname"
  sql "$dbname" "$@" -f "$file" >"$work/load-$dbname.log" 2>&1 || { cat "$work/load-$dbname.log" >&2; die "loading $dbname failed"; }
  echo "bench:   loaded in $(seconds $(( $(date +%s%N) - start ))) s"
}

# The report's first line: the machine, the server's version and the pgmend timed.
print_machine() {
  local version
  version=$("$pgmend" --version 2>/dev/null | head -1) || true
  echo "bench: machine: $(nproc) CPUs, $(uname -sm), PostgreSQL $(sql postgres -At -c 'SHOW server_version')," \
       "pgmend ${version:-(no version)}${PGMEND_BIN:+ (PGMEND_BIN=$PGMEND_BIN)}"
}

# --- timing ------------------------------------------------------------------------------------

elapsed=0
timed() { # LABEL command... : runs it once, elapsed := wall time in ns; dies if it fails
  local label=$1 start end status=0
  shift
  start=$(date +%s%N)
  "$@" >"$work/run.out" 2>"$work/run.err" || status=$?
  if (( status != 0 )); then
    if [[ "$timed_shows_stdout" == yes ]]; then cat "$work/run.out" >&2; fi
    cat "$work/run.err" >&2
    die "$label failed (exit $status; the command is $(declare -f "$1" | sed -n '3s/^ *//p'))"
  fi
  end=$(date +%s%N)
  elapsed=$(( end - start ))
}

median() { # NS... (integers)
  local sorted n
  mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
  n=${#sorted[@]}
  if (( n % 2 )); then echo "${sorted[n / 2]}"
  else echo $(( (sorted[n / 2 - 1] + sorted[n / 2]) / 2 )); fi
}

# ratio_line NAME TARGET BASELINE-LABEL BASELINE-NS CANDIDATE-LABEL CANDIDATE-NS
# Prints the medians, the ratio candidate/baseline and PASS/MISS against TARGET (hundredths).
ratio_line() {
  local name=$1 target=$2 base_label=$3 base=$4 cand_label=$5 cand=$6 ratio verdict
  (( base > 0 )) || die "$name: baseline median is 0 ns"
  ratio=$(( (cand * 100 + base / 2) / base ))
  # Judged on the ratio as printed, so the line never contradicts itself; no target: reported.
  if [[ -z "$target" ]]; then verdict="(reported, no target)"
  elif (( ratio <= target )); then verdict="(target <= $(hundredths "$target")) PASS"
  else verdict="(target <= $(hundredths "$target")) MISS"; fi
  echo "bench $name: $cand_label $(seconds "$cand") s, $base_label $(seconds "$base") s" \
       "(median of $rounds), ratio $(hundredths "$ratio") $verdict"
}

# pair_spread "BASE-NS..." "CANDIDATE-NS...": each alternating pair's ratio candidate/baseline,
# as "pairs 0.91-1.08" (lowest-highest), so a median is read with its spread.
pair_spread() {
  local -a base=($1) cand=($2) ratios=()
  local i
  for (( i = 0; i < ${#base[@]}; i++ )); do
    ratios+=($(( (cand[i] * 100 + base[i] / 2) / base[i] )))
  done
  mapfile -t ratios < <(printf '%s\n' "${ratios[@]}" | sort -n)
  echo "pairs $(hundredths "${ratios[0]}")-$(hundredths "${ratios[${#ratios[@]} - 1]}")"
}

# --- formatting --------------------------------------------------------------------------------

seconds() { # NS -> "1.234"
  local ms=$(( ($1 + 500000) / 1000000 ))
  printf '%d.%03d' $(( ms / 1000 )) $(( ms % 1000 ))
}

hundredths() { # N -> "0.70"
  printf '%d.%02d' $(( $1 / 100 )) $(( $1 % 100 ))
}

bytes_text() { # BYTES -> "1.2 MB" / "35 kB"
  local bytes=$1
  if (( bytes >= 1000000 )); then printf '%d.%d MB' $(( bytes / 1000000 )) $(( bytes % 1000000 / 100000 ))
  else printf '%d kB' $(( (bytes + 999) / 1000 )); fi
}

size_of() { # FILE -> "1.2 MB" / "35 kB"
  bytes_text "$(stat -c %s "$1")"
}
