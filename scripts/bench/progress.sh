#!/usr/bin/env bash
# Benchmark: what progress reporting costs a long step. The same one-step backfill plan is run
# by the same pgmend twice a round, on two identical tables, with its stderr a file (a pipe's
# style: a line per running task every PGMEND_PROGRESS_INTERVAL seconds, here 0.5 s, ten times
# denser than the default 5 s):
#
#   baseline   pgmend run backfill-copy --progress none   (apps_copy)
#   candidate  pgmend run backfill-apps                   (apps; --progress auto, lines in a pipe)
#
# Both plans are `backfill: {table: T, set: {sync_status: "lower(trim(sync_status))"}, where:
# "sync_status <> lower(trim(sync_status))"}` on BENCH_ROWS rows, 70% matching (backfill-data.sql).
# Equal settings: same binary, data, batch size, durability; the journal schema is dropped
# before each (untimed), so each creates it as a first run does. Target: ratio <= 1.02.
#
#   BENCH_ROWS    rows in each table (default 1000000)
#   BENCH_ROUNDS  timed rounds (default 5)
#   BENCH_PORT    port of the throwaway cluster; names its socket only (default 54344)
#   PGMEND_BIN    a pgmend binary to time instead of building the release one
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

rows=${BENCH_ROWS:-1000000}
rounds=${BENCH_ROUNDS:-5}
port=${BENCH_PORT:-54344}
timed_shows_stdout=yes
time_target=102
lock_target=""
baseline_label="pgmend --progress none"
export PGMEND_PROGRESS_INTERVAL=0.5

source "$root/scripts/bench/lib/common.sh"
source "$root/scripts/bench/lib/rounds.sh"

dbname=bench_progress
db=""
round=""
matching=0
condition="sync_status <> lower(trim(sync_status))"

write_plans() {
  mkdir -p "$work/plans"
  for pair in "backfill-apps apps" "backfill-copy apps_copy"; do
    set -- $pair
    printf 'name: %s\nsteps:\n  - backfill:\n      table: %s\n      set: {sync_status: "lower(trim(sync_status))"}\n      where: "%s"\n' \
      "$1" "$2" "$condition" >"$work/plans/$1.yaml"
  done
}

reset_tables() {
  sql "$dbname" -v rows="$rows" -f scripts/bench/backfill-data.sql >"$work/reset.log" 2>&1 \
    || { cat "$work/reset.log" >&2; die "recreating the tables failed"; }
  matching=$(sql "$dbname" -At -c "SELECT count(*) FROM apps WHERE $condition")
  (( matching > 0 )) || die "no row of apps matches"
}

# Before each timed command: no journal (each run creates it, as a first run does), a CHECKPOINT.
checkpoint() {
  sql "$dbname" -q -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS pgmend CASCADE" -c "CHECKPOINT"
}

baseline() {
  "$pgmend" run backfill-copy --plans "$work/plans" --db "$db" --yes --format json --progress none --snapshots "$work/snaps-base-$round"
}
candidate() {
  "$pgmend" run backfill-apps --plans "$work/plans" --db "$db" --yes --format json --snapshots "$work/snaps-$round"
}

# The candidate's report is ok with every matching row updated, its stderr holds progress lines
# (so what was timed is what the benchmark says), and the two tables end identical.
check_round() { # ROUND
  local r=$1 outcome affected differ lines
  outcome=$(report_field "$r" "r->>'outcome'")
  affected=$(report_field "$r" "r#>>'{steps,0,actions,0,rows_affected}'")
  [[ "$outcome" == ok && "$affected" == "$matching" ]] || die "round $r: outcome $outcome, rows_affected $affected of $matching"
  lines=$(grep -c 'backfill' "$work/run.err" || true)
  (( lines > 0 )) || die "round $r: the candidate printed no progress line (stderr: $work/run.err)"
  progress_lines+=("$lines")
  (( r == 0 )) || pair_ratios+=("$(hundredths $(( (cand_ns * 100 + base_ns / 2) / base_ns )))")
  differ=$(sql "$dbname" -At -c \
    "SELECT count(*) FROM apps a FULL JOIN apps_copy c USING (id)
     WHERE a.id IS NULL OR c.id IS NULL OR (a.name, a.sync_status, a.note) IS DISTINCT FROM (c.name, c.sync_status, c.note)")
  (( differ == 0 )) || die "round $r: apps and apps_copy differ in $differ rows"
  rm -rf "$work/snaps-$r" "$work/snaps-base-$r"
}

main() {
  require_count BENCH_ROWS "$rows"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"
  make_work
  find_pgmend run
  start_cluster
  db=$(conninfo "$dbname")
  print_machine
  write_plans
  load "$dbname" "$rows rows into apps and apps_copy" scripts/bench/backfill-data.sql -v rows="$rows"
  progress_lines=()
  pair_ratios=()
  compare_rounds progress
  echo "bench:   each pair's ratio: ${pair_ratios[*]} (spread $(printf '%s\n' "${pair_ratios[@]}" | sort -n | head -1)" \
       "to $(printf '%s\n' "${pair_ratios[@]}" | sort -n | tail -1))"
  echo "bench:   progress lines on the candidate's stderr per round (warm-up first): ${progress_lines[*]}"
}

main "$@"
