#!/usr/bin/env bash
# Benchmark: the backfill plan step (`pgmend run` of a one-step plan), timed against a baseline
# measured in the same run.
#
#   backfill       `pgmend run` of a plan with one step,
#                    backfill: {table: apps, set: {sync_status: "lower(trim(sync_status))"},
#                               where: "sync_status <> lower(trim(sync_status))"}
#                  on a table of BENCH_ROWS rows, 70% of which match `where` (see
#                  backfill-data.sql), versus one plain
#                    UPDATE apps_copy SET sync_status = lower(trim(sync_status))
#                    WHERE sync_status <> lower(trim(sync_status))
#                  by psql on an identical copy. Target: ratio <= 1.50.
#   backfill lock  the longest batch transaction of the pgmend run (`longest_transaction_ms` of
#                  the step's action in `run --format json`): how long any row lock was held.
#                  Target: < 200 ms. The plain UPDATE holds its row locks for its whole run.
#
# Why the baseline is fair: one UPDATE is the fastest way to do the same change, and what people
# do when they do not mind locking every matching row until it commits. pgmend does more on top
# (a dry-run assessment counting the matching rows, its run lock and journal, creating the
# journal schema `pgmend` as on a first run, pre- and post-run schema snapshots, a BEGIN, two
# SET LOCALs, a checkpoint INSERT and a COMMIT around every batch, and a count of the rows that
# still match after the pass); that extra work is part of what is timed. Before every round both
# tables are recreated identical (backfill-data.sql: same rows, frozen, analysed, checkpointed),
# outside the timing, and a CHECKPOINT precedes each timed command, so neither pays for the
# other's dirty buffers. The two run against the same throwaway cluster, over the same Unix
# socket, alternately (baseline, candidate, baseline, candidate, ...) after one untimed warm-up
# of each; the report gives medians. After each round the two tables must be identical and no
# row of either may match `where` any more. psql is run from the server's bindir, not through
# Debian's Perl pg_wrapper, whose start-up would pad the baseline.
#
#   BENCH_ROWS        rows in each table (default 1000000)
#   BENCH_ROUNDS      timed rounds of each command (default 3)
#   BENCH_BATCH_SIZE  the plan's batch_size setting, fixed batches of that many keys (default: none,
#                     so batches sized to pgmend's default batch_target, 100 ms)
#   BENCH_PORT        port of the throwaway cluster; names its socket only (default 54343)
#   PGMEND_BIN        a pgmend binary to time instead of building the release one
#
# Exits 0 whatever the ratios (PASS/MISS is a report, not a test); non-zero if something could
# not run or the two tables end different.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

rows=${BENCH_ROWS:-1000000}
rounds=${BENCH_ROUNDS:-3}
batch_size=${BENCH_BATCH_SIZE:-}
port=${BENCH_PORT:-54343}
timed_shows_stdout=yes   # timed shows a failed command's stdout too (the JSON report says why)

time_target=150   # hundredths: candidate/baseline <= 1.50
lock_target=200   # ms: the longest batch transaction < 200 ms

# die, make_work, find_pgmend, start_cluster, conninfo, sql, load, print_machine, timed, median,
# ratio_line, seconds, ...; the globals work, pgmend, psql, elapsed.
source "$root/scripts/bench/lib/common.sh"
source "$root/scripts/bench/lib/rounds.sh"

dbname=bench_backfill
db=""          # the benchmark database's conninfo, set once the cluster runs
round=""       # names the current round's report and snapshot folder
matching=0     # rows of each table that match `where` when a round starts

set_expression="lower(trim(sync_status))"
condition="sync_status <> lower(trim(sync_status))"

# --- setup -------------------------------------------------------------------------------------

# The plan, $work/plans/backfill-apps.yaml (a named plan: its name is its base name). The same
# file every round; each round starts without the journal, so no run resumes another.
write_plan() {
  mkdir -p "$work/plans"
  {
    echo "name: backfill-apps"
    if [[ -n "$batch_size" ]]; then
      echo "settings:"
      echo "  batch_size: $batch_size"
    fi
    echo "steps:"
    echo "  - backfill:"
    echo "      table: apps"
    echo "      set: {sync_status: \"$set_expression\"}"
    echo "      where: \"$condition\""
  } >"$work/plans/backfill-apps.yaml"
}

# Both tables recreated identical, and pgmend's journal schema dropped (outside the timing).
reset_tables() {
  sql "$dbname" -v rows="$rows" -f scripts/bench/backfill-data.sql >"$work/reset.log" 2>&1 \
    || { cat "$work/reset.log" >&2; die "recreating the tables failed"; }
  local copy_matching
  matching=$(sql "$dbname" -At -c "SELECT count(*) FROM apps WHERE $condition")
  copy_matching=$(sql "$dbname" -At -c "SELECT count(*) FROM apps_copy WHERE $condition")
  (( matching > 0 && matching == copy_matching )) \
    || die "the tables differ before the round: $matching rows of apps match, $copy_matching of apps_copy"
}


# --- the commands timed ------------------------------------------------------------------------

baseline() {
  sql "$dbname" -c "UPDATE apps_copy SET sync_status = $set_expression WHERE $condition"
}
candidate() {
  "$pgmend" run backfill-apps --plans "$work/plans" --db "$db" --yes --format json --snapshots "$work/snaps-$round"
}

# Checks a round: pgmend's report (ok, the step's one action executed, every matching row
# updated), both tables identical and none of their rows matching `where` any more.
check_round() { # ROUND
  local r=$1 outcome executed affected differ left
  outcome=$(report_field "$r" "r->>'outcome'")
  [[ "$outcome" == ok ]] || die "round $r: pgmend's run ended '$outcome' (report: $work/report-$r.json)"
  executed=$(report_field "$r" "r#>>'{steps,0,actions,0,executed}'")
  affected=$(report_field "$r" "r#>>'{steps,0,actions,0,rows_affected}'")
  [[ "$executed" == true && "$affected" == "$matching" ]] \
    || die "round $r: pgmend's backfill executed=$executed, rows_affected=$affected; $matching rows matched"
  differ=$(sql "$dbname" -At -c \
    "SELECT count(*) FROM apps a FULL JOIN apps_copy c USING (id)
     WHERE a.id IS NULL OR c.id IS NULL OR (a.name, a.sync_status, a.note) IS DISTINCT FROM (c.name, c.sync_status, c.note)")
  (( differ == 0 )) || die "round $r: apps (pgmend) and apps_copy (UPDATE) differ in $differ rows"
  left=$(sql "$dbname" -At -c "SELECT (SELECT count(*) FROM apps WHERE $condition) + (SELECT count(*) FROM apps_copy WHERE $condition)")
  (( left == 0 )) || die "round $r: $left rows still match '$condition'"
  rm -rf "$work/snaps-$r"
}

# The shared rounds (lib/rounds.sh), then the throughput.
compare() {
  local batches p99 sized="sized to the default batch_target, 100 ms"
  [[ -z "$batch_size" ]] || sized="fixed at $batch_size keys by BENCH_BATCH_SIZE"
  compare_rounds backfill

  # The batches of the last round, as its report counts them (sized to batch_target unless
  # BENCH_BATCH_SIZE fixes them), and the 99th percentile of their transactions.
  batches=$(report_field "$rounds" "r#>>'{steps,0,actions,0,batches}'")
  p99=$(report_field "$rounds" "r#>>'{steps,0,actions,0,batch_p99_ms}'")
  echo "bench:   $matching of $rows rows updated in $batches batches" \
       "($sized; p99 ${p99:-?} ms):" \
       "pgmend $(( matching * 1000000000 / cand )) rows/s, UPDATE $(( matching * 1000000000 / base )) rows/s"
}

# --- main --------------------------------------------------------------------------------------

main() {
  require_count BENCH_ROWS "$rows"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"
  [[ -z "$batch_size" ]] || require_count BENCH_BATCH_SIZE "$batch_size"

  make_work
  find_pgmend run
  start_cluster
  db=$(conninfo "$dbname")
  print_machine
  write_plan

  load "$dbname" "$rows rows into apps and apps_copy" scripts/bench/backfill-data.sql -v rows="$rows"
  echo "bench:   table apps: $(bytes_text "$(sql "$dbname" -At -c "SELECT pg_total_relation_size('apps')")") on disk" \
       "(pg_total_relation_size), apps_copy the same"

  compare
}

main "$@"
