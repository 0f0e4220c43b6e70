#!/usr/bin/env bash
# Benchmark: the application's latency while pgmend runs (issue 24). An application, pgbench at
# a fixed rate, reads and writes the table a one-step plan changes; its latency is measured with
# pgmend running the step and, in the same run, for as long without pgmend.
#
#   app-impact KIND          the application's per-transaction latency, p50 and p99, over the
#                            whole of `pgmend run PLAN --yes --format json` of a one-step plan of
#                            KIND on `users` (BENCH_ROWS rows, app-impact-data.sql), against the
#                            same application for the same time with no pgmend running. Target:
#                            the p99 rises by less than 50 ms.
#   app-impact KIND failed   the application's transactions that failed while pgmend ran (and,
#                            for comparison, without it); lock timeouts counted apart. Target:
#                            none but lock timeouts pgmend caused (the application sets no
#                            lock_timeout, so a lock it waits for shows as latency, not failure).
#                            pgmend's own lock timeouts (statements it retried: the actions'
#                            `attempts` beyond the first) are printed beside them.
#   app-impact KIND batches  pgmend's longest batch (`longest_transaction_ms` of its batched
#                            actions in the JSON report) and `batch_p99_ms`. Target: no batch
#                            over 200 ms. The longest transaction of any action (a swap, an
#                            index validation) is printed beside it.
#
# The kinds (BENCH_KINDS): backfill (sync_status = lower(trim(sync_status)) where they differ:
# 70% of the rows), extract_json_fields (the seed's five phone fields of metadata, phone_number
# unique), normalize_timestamps (created_at and updated_at, assume_time_zone UTC, method online:
# shadow columns, a trigger, batches, a swap). The plans give no batch_size, so batches are
# sized to pgmend's default batch_target, 100 ms; BENCH_BATCH_SIZES adds fixed sizes to compare.
#
# The application (app-impact.pgbench): pgbench -n -c 2 -j 1 -R BENCH_APP_RATE, each transaction
# a read of a random user by key and an update of another random user's login_count (a column no
# step touches), every transaction logged (-l). Its latency is pgbench's: from the transaction's
# scheduled start (-R), so time spent queued behind a slow transaction counts, as a user would
# feel it. p50 and p99 are read from the log (nearest rank), over the transactions that completed
# inside the window: from pgmend's start to its end, or the same length of time without it.
#
# Why it is fair: the same application, the same rate and connections, the same freshly loaded
# table (recreated, frozen, analysed and checkpointed before every round, outside the windows),
# on the same throwaway cluster over the same Unix socket. Each round measures the baseline
# window first, then the pgmend window, alternately (baseline, pgmend, baseline, pgmend, ...),
# each after a CHECKPOINT and a second of the application running untimed so its connections
# are open and at rate. The baseline window lasts as long as the previous round's pgmend run
# (round 0, an untimed warm-up of pgmend with the application, gives round 1's), so the two
# windows hold as many transactions and see the same checkpoint timing. The application is
# ended with SIGALRM, which pgbench takes as its -T running out: it prints its summary and
# writes its whole log. Medians of BENCH_ROUNDS pairs; the spread is each pair's figure.
#
#   BENCH_ROWS         rows in users (default 1000000)
#   BENCH_ROUNDS       measured pairs of each kind (default 3), after one warm-up
#   BENCH_APP_RATE     the application's transactions a second, over its two connections
#                      (default 200)
#   BENCH_KINDS        the step kinds measured, in order (default "backfill extract_json_fields
#                      normalize_timestamps")
#   BENCH_BATCH_SIZES  the batch settings measured for each kind: "target" (no batch_size: sized
#                      to batch_target) and/or a number (batch_size: N, fixed) (default "target")
#   BENCH_PORT         port of the throwaway cluster; names its socket only (default 54349)
#   BENCH_KEEP         a folder to copy pgmend's JSON reports and the application's logs into
#                      (default: none; the work folder is removed on exit)
#   PGMEND_BIN         a pgmend binary to time instead of building the release one
#
# Exits 0 whatever the verdicts (PASS/MISS is a report, not a test); non-zero if something could
# not run: the cluster, a pgmend run that did not end ok, an application that logged nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

rows=${BENCH_ROWS:-1000000}
rounds=${BENCH_ROUNDS:-3}
app_rate=${BENCH_APP_RATE:-200}
kinds=${BENCH_KINDS:-backfill extract_json_fields normalize_timestamps}
sizes=${BENCH_BATCH_SIZES:-target}
port=${BENCH_PORT:-54349}
keep_dir=${BENCH_KEEP:-}
timed_shows_stdout=yes

# die, make_work, find_pgmend, start_cluster, conninfo, sql, print_machine, median, seconds, ...
source "$root/scripts/bench/lib/common.sh"
# checkpoint, report_field (a field of $work/report-ROUND.json)
source "$root/scripts/bench/lib/rounds.sh"
# app_impact_start, write_plan, the application, the windows, measure (its report)
source "$root/scripts/bench/lib/app-impact.sh"

bench_name=app-impact
dbname=bench_app_impact
app_script=scripts/bench/app-impact.pgbench
app_define="rows=$rows"
plan_settings=""

# The plan's one step of KIND on users.
step_yaml() { # KIND
  case $1 in
    backfill)
      echo "  - backfill:"
      echo "      table: users"
      echo "      set: {sync_status: \"lower(trim(sync_status))\"}"
      echo "      where: \"sync_status <> lower(trim(sync_status))\"" ;;
    extract_json_fields)
      extract_json_step ;;
    normalize_timestamps)
      echo "  - normalize_timestamps:"
      echo "      columns: [users.created_at, users.updated_at]"
      echo "      assume_time_zone: UTC"
      echo "      method: online" ;;
    *) die "BENCH_KINDS: no kind '$1' (backfill, extract_json_fields, normalize_timestamps)" ;;
  esac
}

# users recreated by app-impact-data.sql (which also drops pgmend's journal).
reset_data() {
  sql "$dbname" -v rows="$rows" -f scripts/bench/app-impact-data.sql >"$work/reset.log" 2>&1 \
    || { cat "$work/reset.log" >&2; die "recreating users failed"; }
}

main() {
  local kind size
  require_count BENCH_ROWS "$rows"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_APP_RATE "$app_rate"
  require_count BENCH_PORT "$port"
  for size in $sizes; do [[ "$size" == target ]] || require_count BENCH_BATCH_SIZES "$size"; done

  app_impact_start
  sql postgres -c "CREATE DATABASE $dbname"
  echo "bench: $rows users (app-impact-data.sql), recreated before every round;" \
       "the application: $app_script at $app_rate transactions/s"
  for kind in $kinds; do
    for size in $sizes; do
      measure "$kind" "$size"
    done
  done
}

main "$@"
