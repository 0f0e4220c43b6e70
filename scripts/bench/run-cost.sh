#!/usr/bin/env bash
# Benchmark: a run's fixed cost, on the demo database (Plans/demo/drifted.sql, BENCH_USERS
# users), with a plan of one small step (add_column: users.bench_note text).
#
#   run-cost-dry-run  `pgmend run one --dry-run`: connect, the run's catalog read scoped to the
#                     step's table, the assessment, the report. Target: under 100 ms.
#   run-cost-apply    `pgmend run one --yes`: the same, the run lock and journal, pre- and
#                     post-run schema snapshots, the ALTER, the check of the catalog against
#                     the prediction. Target: under 100 ms.
#
# The baseline of both is psql (from the server's bindir) running the same ALTER TABLE in one
# transaction: process start, libpq's connection, one statement. The difference is what
# pgmend adds to a change this small; the targets are absolute (issue 24). The column is
# dropped again, untimed, before each timed command that adds it. Alternate rounds after an
# untimed warm-up of each; medians of the rounds and the spread of the pairs' ratios.
#
#   BENCH_USERS   users in the demo database (default 1000)
#   BENCH_ROUNDS  timed rounds of each command (default 15)
#   BENCH_PORT    port of the throwaway cluster; names its socket only (default 54348)
#   PGMEND_BIN    a pgmend binary to time instead of building the one `make install` installs
#                 (release, the Swift runtime linked in: --static-swift-stdlib; into .build-static),
#                 which is what an operator runs: its start-up is part of a run's fixed cost
#
# Exits 0 whatever the figures (PASS/MISS is a report); non-zero if something could not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

users=${BENCH_USERS:-1000}
rounds=${BENCH_ROUNDS:-15}
port=${BENCH_PORT:-54348}
target_ms=100

source "$root/scripts/bench/lib/common.sh"

db=""
plans=""
drop_column() { sql bench_cost -c "ALTER TABLE public.users DROP COLUMN IF EXISTS bench_note"; }
by_hand() { "$psql" "$db" -Xq -v ON_ERROR_STOP=1 -c "BEGIN; ALTER TABLE public.users ADD COLUMN bench_note text; COMMIT;"; }
dry_run() { "$pgmend" run one --plans "$plans" --db "$db" --dry-run; }
apply() { "$pgmend" run one --plans "$plans" --db "$db" --yes --snapshots "$work/runs"; }

# report NAME BASE_NS... -- CAND_NS...: the medians, the ratio and its pairs' spread, and the
# absolute target.
report() {
  local name=$1; shift
  local -a base=() cand=()
  while [[ $1 != -- ]]; do base+=("$1"); shift; done
  shift
  cand=("$@")
  local b c verdict
  b=$(median "${base[@]}")
  c=$(median "${cand[@]}")
  if (( c < target_ms * 1000000 )); then verdict=PASS; else verdict=MISS; fi
  echo "bench $name: pgmend $(( c / 1000000 )) ms, psql ALTER $(( b / 1000000 )) ms (median of $rounds)," \
       "ratio $(hundredths $(( (c * 100 + b / 2) / b ))), $(pair_spread "${base[*]}" "${cand[*]}"); target < $target_ms ms $verdict"
}

main() {
  require_count BENCH_USERS "$users"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"
  make_work
  find_installed_pgmend run
  start_cluster
  db=$(conninfo bench_cost)
  plans="$work/plans"
  mkdir -p "$plans"
  printf 'name: one\nsteps:\n  - add_column: {table: users, column: bench_note, type: text}\n' >"$plans/one.yaml"
  print_machine
  load bench_cost "the demo database ($users users)" Plans/demo/drifted.sql -v users="$users"

  local -a hand_ns=() dry_ns=() hand2_ns=() apply_ns=()
  local round
  drop_column; timed "psql ALTER (warm-up)" by_hand
  drop_column; timed "pgmend run --dry-run (warm-up)" dry_run
  grep -q "bench_note" "$work/run.out" || die "the dry run does not plan the column: $(cat "$work/run.out")"
  timed "pgmend run (warm-up)" apply
  for (( round = 1; round <= rounds; round++ )); do
    drop_column; timed "psql ALTER" by_hand; hand_ns+=("$elapsed")
    drop_column; timed "pgmend run --dry-run" dry_run; dry_ns+=("$elapsed")
    drop_column; timed "psql ALTER" by_hand; hand2_ns+=("$elapsed")
    drop_column; timed "pgmend run" apply; apply_ns+=("$elapsed")
    grep -q "1 statement executed" "$work/run.out" || die "the run did not add the column: $(cat "$work/run.out")"
  done
  report run-cost-dry-run "${hand_ns[@]}" -- "${dry_ns[@]}"
  report run-cost-apply "${hand2_ns[@]}" -- "${apply_ns[@]}"
}

main "$@"
