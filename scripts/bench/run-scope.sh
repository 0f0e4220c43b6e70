#!/usr/bin/env bash
# Benchmark: what a one-step run costs on a big catalog, against one `pgmend snapshot take` of
# the same database measured in the same run. A run should cost what its plan touches: the
# dry run reads only the step's tables; a real run adds its pre- and post-snapshots.
#
#   run-dry-run   `pgmend run one --dry-run` (one drop_table step) on BENCH_TABLES tables.
#                 Target: under 0.50 s (absolute); the ratio to a snapshot is shown too.
#   run-apply     `pgmend run one --yes` (drops the table; it is created again, untimed,
#                 before each round). Target: ratio to one snapshot <= 2.50.
#
# Both alternate with the baseline (baseline, candidate, ...) after an untimed warm-up; the
# report gives medians.
#
#   BENCH_TABLES  tables in the database (default 8000)
#   BENCH_ROUNDS  timed rounds of each command (default 5)
#   BENCH_PORT    port of the throwaway cluster; names its socket only (default 54341)
#   PGMEND_BIN    a pgmend binary to time instead of building the release one
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

tables=${BENCH_TABLES:-8000}
rounds=${BENCH_ROUNDS:-5}
port=${BENCH_PORT:-54341}

dry_target_ms=500
apply_target=250   # hundredths: run/snapshot <= 2.50

source "$root/scripts/bench/lib/common.sh"

db=""
plans=""
snapshot() { "$pgmend" snapshot take --db "$db" -o "$work/snapshot.json"; }
dry_run() { "$pgmend" run one --plans "$plans" --db "$db" --dry-run; }
apply() { "$pgmend" run one --plans "$plans" --db "$db" --yes --snapshots "$work/runs"; }
recreate() { sql bench_scope -c "CREATE TABLE IF NOT EXISTS public.leftover (id int)"; }

main() {
  require_count BENCH_TABLES "$tables"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"
  make_work
  find_pgmend run
  start_cluster -c max_locks_per_transaction=1024
  db=$(conninfo bench_scope)
  plans="$work/plans"
  mkdir -p "$plans"
  printf 'name: one\nsteps:\n  - drop_table: {table: leftover}\n' >"$plans/one.yaml"
  print_machine
  load bench_scope "$tables tables into bench_scope" scripts/bench/snapshot-schema.sql -v tables="$tables"
  recreate

  local -a snap_ns=() dry_ns=() apply_ns=()
  local round
  timed "snapshot (warm-up)" snapshot
  timed "dry run (warm-up)" dry_run
  grep -q "drop the empty table leftover" "$work/run.out" || die "the dry run does not plan the drop: $(cat "$work/run.out")"
  for (( round = 1; round <= rounds; round++ )); do
    timed "pgmend snapshot take" snapshot; snap_ns+=("$elapsed")
    timed "pgmend run --dry-run" dry_run; dry_ns+=("$elapsed")
    recreate
    timed "pgmend run" apply; apply_ns+=("$elapsed")
    grep -q "1 statement executed" "$work/run.out" || die "the run did not drop the table: $(cat "$work/run.out")"
  done
  local snap dry run verdict
  snap=$(median "${snap_ns[@]}")
  dry=$(median "${dry_ns[@]}")
  run=$(median "${apply_ns[@]}")
  if (( dry <= dry_target_ms * 1000000 )); then verdict=PASS; else verdict=MISS; fi
  echo "bench run-dry-run: pgmend run --dry-run $(seconds "$dry") s on $tables tables (median of $rounds)," \
       "$(hundredths $(( (dry * 100 + snap / 2) / snap ))) of one snapshot ($(seconds "$snap") s); target < 0.500 s $verdict"
  ratio_line run-apply "$apply_target" "pgmend snapshot take" "$snap" "pgmend run (one step)" "$run"
}

main "$@"
