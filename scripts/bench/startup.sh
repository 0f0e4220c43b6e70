#!/usr/bin/env bash
# Benchmark: start-up, `pgmend --version`, the fixed cost of every command before it does any
# work, timed against a baseline measured in the same run.
#
#   startup   `pgmend --version` of the binary `make install` installs (release build, the Swift
#             runtime linked in: --static-swift-stdlib; built into .build-static) versus
#             `psql --version` from the server's bindir: a C program that loads the same libpq
#             and its libraries (TLS, Kerberos, LDAP), so both pay the same dynamic loading and
#             the difference is pgmend's own. Target: pgmend's median < 10 ms (issue 24).
#
# Each round runs the baseline, then the candidate, after 5 untimed warm-ups of each (the
# binaries in the page cache); the report gives both medians, their ratio and the spread of the
# pairs' ratios. The timer is the shell's: both pay the same fork and exec.
#
#   BENCH_ROUNDS  timed pairs (default 41)
#   PGMEND_BIN    a pgmend binary to time instead of building the installed one
#
# Exits 0 whatever the figures (PASS/MISS is a report, not a test); non-zero if something could
# not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

rounds=${BENCH_ROUNDS:-41}
target_us=10000

source "$root/scripts/bench/lib/common.sh"

# One run of COMMAND..., its wall time in microseconds (output discarded; dies if it fails).
micros() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || die "$* failed"
  end=$(date +%s%N)
  echo $(( (end - start) / 1000 ))
}

main() {
  require_count BENCH_ROUNDS "$rounds"
  make_work
  find_installed_pgmend
  bindir=$("$root/scripts/pg-bindir.sh")
  psql=$(client psql) || die "no psql"
  echo "bench: machine: $(nproc) CPUs, $(uname -sm), pgmend $("$pgmend" --version | head -1)" \
       "($(ldd "$pgmend" 2>/dev/null | grep -c '=>') shared libraries; $psql: $(ldd "$psql" 2>/dev/null | grep -c '=>'))"
  local r
  for (( r = 0; r < 5; r++ )); do micros "$psql" --version >/dev/null; micros "$pgmend" --version >/dev/null; done
  local -a base=() cand=()
  for (( r = 0; r < rounds; r++ )); do
    base+=("$(micros "$psql" --version)")
    cand+=("$(micros "$pgmend" --version)")
  done
  local base_median cand_median ratio verdict
  base_median=$(median "${base[@]}")
  cand_median=$(median "${cand[@]}")
  ratio=$(( (cand_median * 100 + base_median / 2) / base_median ))
  if (( cand_median < target_us )); then verdict=PASS; else verdict=MISS; fi
  printf 'bench startup: pgmend --version %d.%d ms, psql --version %d.%d ms (medians of %d pairs), ratio %s, %s (target < 10 ms) %s\n' \
    $(( cand_median / 1000 )) $(( cand_median % 1000 / 100 )) $(( base_median / 1000 )) $(( base_median % 1000 / 100 )) \
    "$rounds" "$(hundredths "$ratio")" "$(pair_spread "${base[*]}" "${cand[*]}")" "$verdict"
}

main "$@"
