#!/usr/bin/env bash
# Benchmark: the extract_json_fields step (`pgmend run` of a one-step plan with the seed's five
# phone fields, phone_number unique), timed against a baseline measured in the same run.
#
#   extract-json       `pgmend run` of that plan on a table of BENCH_ROWS users
#                      (extract-json-data.sql), versus, by psql on an identical copy, in one
#                      transaction: ALTER TABLE ... ADD COLUMN x5, one
#                        UPDATE users_copy SET phone_number = btrim(metadata->>'phone_number'), ...
#                      and CREATE UNIQUE INDEX on phone_number. Target: ratio <= 1.30 (issue 24).
#   extract-json lock  the longest batch transaction of the pgmend run (the backfill action's
#                      `longest_transaction_ms`). Target: < 200 ms.
#
# pgmend does more than the baseline, and all of it is timed: the read-only assessment reads the
# whole table several times (values that do not convert, per field; unique groups; counts for
# the dry run), the batches evaluate each field's guarded conversion, the unique index is built
# CONCURRENTLY (two table scans), and the assertion reads every row once more. Rounds, warm-up,
# CHECKPOINTs and medians as in backfill.sh; after each round the five columns of the two tables
# must be equal.
#
#   BENCH_ROWS        rows in each table (default 1000000)
#   BENCH_ROUNDS      timed rounds of each command (default 3)
#   BENCH_BATCH_SIZE  the plan's batch_size setting: fixed batches of that many keys (default:
#                     none, so pgmend's default, batches sized to take 100 ms each)
#   BENCH_WORKERS     the plan's batch_workers settings to time, one comparison each (default
#                     "auto 1": pgmend's default, then the first pass on one connection)
#   BENCH_PORT        port of the throwaway cluster; names its socket only (default 54344)
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
workers_list=${BENCH_WORKERS:-auto 1}
workers=""     # the batch_workers of the comparison running
port=${BENCH_PORT:-54344}
timed_shows_stdout=yes   # timed shows a failed command's stdout too (the JSON report says why)

time_target=130   # hundredths: candidate/baseline <= 1.30
lock_target=200   # ms: the longest batch transaction < 200 ms

# die, make_work, find_pgmend, start_cluster, conninfo, sql, load, print_machine, timed, median,
# ratio_line, seconds, ...; the globals work, pgmend, psql, elapsed.
source "$root/scripts/bench/lib/common.sh"
source "$root/scripts/bench/lib/rounds.sh"

dbname=bench_extract_json
db=""          # the benchmark database's conninfo, set once the cluster runs
round=""       # names the current round's report and snapshot folder
matching=0     # rows of each table that match `where` when a round starts

# --- setup -------------------------------------------------------------------------------------

# The plan, $work/plans/extract-json-users.yaml (a named plan: its name is its base name). The same
# file every round; each round starts without the journal, so no run resumes another.
write_plan() {
  mkdir -p "$work/plans"
  {
    echo "name: extract-json-users"
    echo "settings:"
    [[ -z "$batch_size" ]] || echo "  batch_size: $batch_size"
    echo "  batch_workers: $workers"
    echo "steps:"
    extract_json_step
  } >"$work/plans/extract-json-users.yaml"
}

# Both tables recreated identical, and pgmend's journal schema dropped (outside the timing).
reset_tables() {
  sql "$dbname" -v rows="$rows" -f scripts/bench/extract-json-data.sql >"$work/reset.log" 2>&1 \
    || { cat "$work/reset.log" >&2; die "recreating the tables failed"; }
  matching=$(sql "$dbname" -At -c "SELECT count(*) FROM users WHERE metadata ? 'phone_number'")
}


# --- the commands timed ------------------------------------------------------------------------

baseline() {
  sql "$dbname" -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
ALTER TABLE users_copy ADD COLUMN phone_number varchar(20), ADD COLUMN phone_verified boolean DEFAULT false,
  ADD COLUMN phone_verification_attempts integer DEFAULT 0, ADD COLUMN phone_verified_at timestamptz,
  ADD COLUMN sms_enabled boolean DEFAULT true;
UPDATE users_copy SET
  phone_number = btrim(metadata->>'phone_number'),
  phone_verified = coalesce((metadata->>'phone_verified')::boolean, phone_verified),
  phone_verification_attempts = coalesce((metadata->>'phone_verification_attempts')::integer, phone_verification_attempts),
  phone_verified_at = (metadata->>'phone_verified_at')::timestamptz,
  sms_enabled = coalesce((metadata->>'sms_enabled')::boolean, sms_enabled)
WHERE metadata ?| ARRAY['phone_number', 'phone_verified', 'phone_verification_attempts', 'phone_verified_at', 'sms_enabled'];
CREATE UNIQUE INDEX users_copy_phone_number_key ON users_copy (phone_number);
COMMIT;
SQL
}
candidate() {
  "$pgmend" run extract-json-users --plans "$work/plans" --db "$db" --yes --format json --snapshots "$work/snaps-$round"
}

# Checks a round: pgmend's report (ok, the step's one action executed, every matching row
# updated), both tables identical and none of their rows matching `where` any more.
check_round() { # ROUND
  local r=$1 outcome differ valid
  outcome=$(report_field "$r" "r->>'outcome'")
  [[ "$outcome" == ok ]] || die "round $r: pgmend's run ended '$outcome' (report: $work/report-$r.json)"
  differ=$(sql "$dbname" -At -c \
    "SELECT count(*) FROM users a FULL JOIN users_copy c USING (id)
     WHERE a.id IS NULL OR c.id IS NULL
        OR (a.phone_number, a.phone_verified, a.phone_verification_attempts, a.phone_verified_at, a.sms_enabled)
           IS DISTINCT FROM (c.phone_number, c.phone_verified, c.phone_verification_attempts, c.phone_verified_at, c.sms_enabled)")
  (( differ == 0 )) || die "round $r: users (pgmend) and users_copy (UPDATE) differ in $differ rows"
  valid=$(sql "$dbname" -At -c "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_phone_number_key'::regclass")
  [[ "$valid" == t ]] || die "round $r: the unique index is not valid"
  rm -rf "$work/snaps-$r"
}

# The shared rounds (lib/rounds.sh), then the throughput.
compare() {
  local batches="batches sized to the default 100 ms target"
  compare_rounds "extract-json (batch_workers: $workers)"

  # Fixed batches: the next batch_size keys each, one per batch_size rows of the table.
  [[ -z "$batch_size" ]] || batches="$(( (rows + batch_size - 1) / batch_size )) batches of $batch_size keys (BENCH_BATCH_SIZE)"
  echo "bench:   $matching of $rows users with phone keys, $batches," \
       "first pass on $workers connection(s):" \
       "pgmend $(( matching * 1000000000 / cand )) rows/s, UPDATE $(( matching * 1000000000 / base )) rows/s"
}

# --- main --------------------------------------------------------------------------------------

main() {
  require_count BENCH_ROWS "$rows"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"
  [[ -z "$batch_size" ]] || require_count BENCH_BATCH_SIZE "$batch_size"
  for workers in $workers_list; do [[ "$workers" == auto ]] || require_count BENCH_WORKERS "$workers"; done

  make_work
  find_pgmend run
  start_cluster
  db=$(conninfo "$dbname")
  print_machine

  load "$dbname" "$rows rows into users and users_copy" scripts/bench/extract-json-data.sql -v rows="$rows"
  echo "bench:   table users: $(bytes_text "$(sql "$dbname" -At -c "SELECT pg_total_relation_size('users')")") on disk" \
       "(pg_total_relation_size), users_copy the same"

  for workers in $workers_list; do
    write_plan
    compare
  done
}

main "$@"
