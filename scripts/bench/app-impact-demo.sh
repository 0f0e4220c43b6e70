#!/usr/bin/env bash
# Benchmark: the application's latency while pgmend runs (issue 24), on the demo database: the
# round of app-impact.sh (read its header: what is measured, how, and why it is fair) with the
# demo's users table and the demo's own batched steps instead of app-impact-data.sql's table.
#
#   app-impact-demo KIND          the application's p50 and p99 over the whole of `pgmend run`
#                                 of a one-step plan of KIND, against as long a window without
#                                 pgmend. Target: the p99 rises by less than 50 ms.
#   app-impact-demo KIND failed   its transactions that failed while pgmend ran (and without);
#                                 lock timeouts counted apart, pgmend's own retries beside them.
#                                 Target: none but lock timeouts pgmend caused.
#   app-impact-demo KIND batches  pgmend's longest batch and batch p99 (JSON report). Target:
#                                 no batch over 200 ms.
#
# The database: Plans/demo/drifted.sql loaded once with -v users=BENCH_USERS into a template
# database, frozen, analysed and checkpointed; every round (the warm-up too) runs on a fresh copy
# of it (CREATE DATABASE ... TEMPLATE, STRATEGY FILE_COPY on PostgreSQL 15 and later), made
# outside the windows. The load is slow, so it is done once per run, never per round: 734 s at
# 1,000,000 users on this 2-core machine (871 s with a build running beside it; 117 s at
# 100,000: it grows with the rows, about 25 million of them, 7.8 GB), 60% of it memories and
# memory_access_logs, whose rows are checked against two foreign keys each and entered row by
# row into indexes that exist before them, most keyed on random UUIDs; a copy takes 14 to 40 s.
#
# The kinds (BENCH_KINDS), each a one-step plan on users with its plan's settings (lock_timeout
# 2s, retries 5 for the first two; none for the third):
#   backfill              schema-cleanup.yaml's backfill of apps.sync_status, the same on
#                         users.subscription_tier (P2, D8: mapped onto free/pro/enterprise where
#                         it is none of them): 2 of the users match, so its batches are reads
#                         of key ranges in UUID order, as a backfill of rare drift is
#   extract_json_fields   metadata-columns.yaml's step, read from that file: the five phone
#                         fields of metadata into columns (phone_number unique, conflicts kept by
#                         created_at, invalid values NULL, metadata preferred, keys removed)
#   normalize_timestamps  types.yaml's step on users' only naive column: users.created_at (it
#                         has an index), assume_time_zone UTC, method online (types.yaml's
#                         default method, rewrite, is one catalog change under a short ACCESS
#                         EXCLUSIVE lock with UTC, with no batches to measure)
# BENCH_BATCH_SIZES "plan" (the default) gives each step its plan's batches: batch_size 5000
# (metadata-columns.yaml, schema-cleanup.yaml) for the first two, batches sized to the default
# batch_target, 100 ms, for normalize_timestamps (types.yaml sets none); "target" or a number
# overrides it for every kind.
#
# The application (app-impact-demo.pgbench): pgbench -n -c 2 -j 1 -R BENCH_APP_RATE, each
# transaction a read of a random user by key (md5('user-' || i)::uuid) and an update of another
# random user's updated_at (timestamptz already: no step touches it), every transaction logged.
#
#   BENCH_USERS        users in the demo database (default 1000000)
#   BENCH_ROUNDS       measured pairs of each kind (default 3), after one warm-up
#   BENCH_APP_RATE     the application's transactions a second, over its two connections
#                      (default 200)
#   BENCH_KINDS        the step kinds measured, in order (default "backfill extract_json_fields
#                      normalize_timestamps")
#   BENCH_BATCH_SIZES  the batch settings measured for each kind: "plan" (the step's plan's),
#                      "target" (no batch_size) and/or a number (batch_size: N) (default "plan")
#   BENCH_PORT         port of the throwaway cluster; names its socket only (default 54350)
#   BENCH_KEEP         a folder to copy pgmend's JSON reports and the application's logs into
#                      (default: none; the work folder is removed on exit)
#   PGMEND_BIN         a pgmend binary to time instead of building the release one
#
# Exits 0 whatever the verdicts (PASS/MISS is a report, not a test); non-zero if something could
# not run: the cluster, the load, a pgmend run that did not end ok, an application that logged
# nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

users=${BENCH_USERS:-1000000}
rounds=${BENCH_ROUNDS:-3}
app_rate=${BENCH_APP_RATE:-200}
kinds=${BENCH_KINDS:-backfill extract_json_fields normalize_timestamps}
sizes=${BENCH_BATCH_SIZES:-plan}
port=${BENCH_PORT:-54350}
keep_dir=${BENCH_KEEP:-}
timed_shows_stdout=yes

# die, make_work, find_pgmend, start_cluster, conninfo, sql, load, print_machine, median, ...
source "$root/scripts/bench/lib/common.sh"
# checkpoint, report_field (a field of $work/report-ROUND.json)
source "$root/scripts/bench/lib/rounds.sh"
# app_impact_start, write_plan, the application, the windows, measure (its report)
source "$root/scripts/bench/lib/app-impact.sh"

bench_name=app-impact-demo
dbname=bench_app_demo
template=bench_app_demo_loaded
app_script=scripts/bench/app-impact-demo.pgbench
app_define="users=$users"
plan_settings=""
copy_strategy=""   # " STRATEGY FILE_COPY" where the server has it

# The plan's one step of KIND on the demo's users.
step_yaml() { # KIND
  case $1 in
    backfill)
      echo "  - backfill:"
      echo "      table: users"
      echo "      set:"
      echo "        subscription_tier: >-"
      echo "          CASE lower(trim(subscription_tier)) WHEN 'pro' THEN 'pro' WHEN 'enterprise' THEN 'enterprise' ELSE 'free' END"
      echo "      where: subscription_tier NOT IN ('free', 'pro', 'enterprise')" ;;
    extract_json_fields)
      # The plan file's step, from its first line to the next step or the end, comments left out.
      awk '/^  - / { inside = ($0 ~ /^  - extract_json_fields:/) } inside && !/^ *#/' Plans/metadata-columns.yaml \
        | grep . || die "no extract_json_fields step in Plans/metadata-columns.yaml" ;;
    normalize_timestamps)
      echo "  - normalize_timestamps:"
      echo "      columns: [users.created_at]"
      echo "      assume_time_zone: UTC"
      echo "      method: online" ;;
    *) die "BENCH_KINDS: no kind '$1' (backfill, extract_json_fields, normalize_timestamps)" ;;
  esac
}

# The settings of KIND's plan besides batch_size, and the batch_size it gives ("target": none).
plan_batch=""
use_plan_of() { # KIND
  case $1 in
    backfill|extract_json_fields) plan_settings=$'  lock_timeout: 2s\n  retries: 5'; plan_batch=5000 ;;
    *) plan_settings=""; plan_batch=target ;;
  esac
}

# A fresh copy of the loaded database (pgmend's journal with it: none).
reset_data() {
  sql postgres -c "DROP DATABASE IF EXISTS $dbname" \
    -c "CREATE DATABASE $dbname TEMPLATE $template$copy_strategy"
}

# The demo database, once: loaded, frozen and analysed (so every copy starts with hint bits set
# and the visibility map full), checkpointed; then one copy timed, as every round makes one.
load_template() {
  local start
  load "$template" "the demo database ($users users, Plans/demo/drifted.sql)" Plans/demo/drifted.sql -v users="$users"
  start=$(date +%s%N)
  sql "$template" -c "VACUUM (FREEZE, ANALYZE)" -c "CHECKPOINT"
  echo "bench:   frozen and analysed in $(seconds $(( $(date +%s%N) - start ))) s;" \
       "$(sql "$template" -At -c "SELECT pg_size_pretty(pg_database_size(current_database()))") on disk"
  if (( $(sql postgres -At -c "SHOW server_version_num") >= 150000 )); then copy_strategy=" STRATEGY FILE_COPY"; fi
  start=$(date +%s%N)
  reset_data
  echo "bench:   a round's copy (CREATE DATABASE ... TEMPLATE$copy_strategy) takes $(seconds $(( $(date +%s%N) - start ))) s"
}

main() {
  local kind size
  require_count BENCH_USERS "$users"
  (( users >= 50 )) || die "BENCH_USERS must be at least 50 (drifted.sql's planted rows), not $users"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_APP_RATE "$app_rate"
  require_count BENCH_PORT "$port"
  for size in $sizes; do [[ "$size" == plan || "$size" == target ]] || require_count BENCH_BATCH_SIZES "$size"; done

  app_impact_start
  load_template
  echo "bench: $users users (the demo database), a fresh copy before every round;" \
       "the application: $app_script at $app_rate transactions/s"
  for kind in $kinds; do
    use_plan_of "$kind"
    for size in $sizes; do
      [[ "$size" != plan ]] || size=$plan_batch
      measure "$kind" "$size"
    done
  done
}

main "$@"
