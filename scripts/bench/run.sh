#!/usr/bin/env bash
# make bench: runs every scripts/bench/*.sh benchmark except this one, in name order, each
# against its baseline measured in the same run. Benchmarks exit 0 on a MISS (they report);
# this exits non-zero if any benchmark could not run, after running the rest.
#
#   BENCH_TABLES, BENCH_VERIFY_TABLES, BENCH_ROWS, BENCH_USERS, BENCH_ROUNDS, PGMEND_BIN: see
#   each benchmark's header (snapshot.sh takes a list of table counts, the others one;
#   BENCH_USERS sizes the demo database of run-cost.sh and app-impact-demo.sh, whose load takes
#   12 to 15 minutes at 1,000,000 users)
#   e.g. a smoke run:  BENCH_TABLES=50 BENCH_VERIFY_TABLES=50 BENCH_ROWS=10000 BENCH_USERS=1000 BENCH_ROUNDS=1 scripts/bench/run.sh
set -euo pipefail
cd "$(dirname "$0")"
self=$(basename "$0")
failed=()
ran=0
for bench in *.sh; do
  [[ "$bench" == "$self" ]] && continue
  ran=$((ran + 1))
  echo "== scripts/bench/$bench"
  bash "./$bench" || failed+=("$bench (exit $?)")
done
(( ran > 0 )) || { echo "bench: no benchmarks in scripts/bench" >&2; exit 1; }
if (( ${#failed[@]} )); then
  echo "bench: could not run: ${failed[*]}" >&2
  exit 1
fi
