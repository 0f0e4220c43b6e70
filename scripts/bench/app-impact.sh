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

p99_target=50        # ms: the application's p99 rises by less than this while pgmend runs
batch_limit=200      # ms: no batch transaction longer

# die, make_work, find_pgmend, start_cluster, conninfo, sql, print_machine, median, seconds, ...
source "$root/scripts/bench/lib/common.sh"
# checkpoint, report_field (a field of $work/report-ROUND.json)
source "$root/scripts/bench/lib/rounds.sh"

dbname=bench_app_impact
db=""          # the benchmark database's conninfo, set once the cluster runs
round=""       # names the current round's report, logs and snapshot folder
pgbench=""
app_pid=""
app_script=scripts/bench/app-impact.pgbench

# --- setup -------------------------------------------------------------------------------------

# The plan, $work/plans/app-impact.yaml: one step of KIND on users, batch_size N unless SIZE is
# "target". Each round starts without the journal, so no run resumes another.
write_plan() { # KIND SIZE
  local kind=$1 size=$2
  mkdir -p "$work/plans"
  {
    echo "name: app-impact"
    if [[ "$size" != target ]]; then
      echo "settings:"
      echo "  batch_size: $size"
    fi
    echo "steps:"
    case $kind in
      backfill)
        echo "  - backfill:"
        echo "      table: users"
        echo "      set: {sync_status: \"lower(trim(sync_status))\"}"
        echo "      where: \"sync_status <> lower(trim(sync_status))\"" ;;
      extract_json_fields)
        echo "  - extract_json_fields:"
        echo "      table: users"
        echo "      column: metadata"
        echo "      fields:"
        echo "        - {name: phone_number, type: \"varchar(20)\", unique: true, trim: true}"
        echo "        - {name: phone_verified, type: boolean, default: false}"
        echo "        - {name: phone_verification_attempts, type: integer, default: 0}"
        echo "        - {name: phone_verified_at, type: timestamptz, assume_time_zone: UTC}"
        echo "        - {name: sms_enabled, type: boolean, default: true}" ;;
      normalize_timestamps)
        echo "  - normalize_timestamps:"
        echo "      columns: [users.created_at, users.updated_at]"
        echo "      assume_time_zone: UTC"
        echo "      method: online" ;;
      *) die "BENCH_KINDS: no kind '$kind' (backfill, extract_json_fields, normalize_timestamps)" ;;
    esac
  } >"$work/plans/app-impact.yaml"
}

reset_table() {
  sql "$dbname" -v rows="$rows" -f scripts/bench/app-impact-data.sql >"$work/reset.log" 2>&1 \
    || { cat "$work/reset.log" >&2; die "recreating users failed"; }
}

# --- the application ---------------------------------------------------------------------------

# Starts the application, logging every transaction to $work/applog-TAG.<pid>, and gives it a
# second to connect and reach its rate.
start_app() { # TAG
  "$pgbench" -n -c 2 -j 1 -T 36000 -R "$app_rate" -D rows="$rows" -f "$app_script" \
    -l --log-prefix="$work/applog-$1" "$db" >"$work/app-$1.out" 2>"$work/app-$1.err" &
  app_pid=$!
  sleep 1
  kill -0 "$app_pid" 2>/dev/null || { cat "$work/app-$1.err" >&2; die "the application (pgbench) did not start"; }
}

# Ends it as its -T running out would (SIGALRM): it finishes its transactions, writes its log
# and prints its summary. Its exit status is not judged here: aborted clients are counted.
stop_app() {
  kill -ALRM "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
  app_pid=""
}

# With BENCH_KEEP: TAG's application output and log, and any FILE, copied there.
keep() { # TAG [FILE...]
  [[ -n "$keep_dir" ]] || return 0
  local tag=$1; shift
  cp "$work"/app-"$tag".* "$work"/applog-"$tag".* "$@" "$keep_dir"/
}

now_us() { echo $(( $(date +%s%N) / 1000 )); }

# The application's figures of TAG over [FROM-US, TO-US] (transactions by completion time):
# "completed failed p50_us p99_us max_us" on one line, failed counting the log's failed or skipped
# transactions and the clients that pgbench reports aborted (those stop, so they count once).
app_figures() { # TAG FROM-US TO-US
  local tag=$1 from=$2 to=$3 logs aborted
  logs=("$work"/applog-"$tag".*)
  [[ -f "${logs[0]}" ]] || { cat "$work/app-$tag.err" >&2; die "$tag: the application wrote no log"; }
  aborted=$(grep -c 'aborted' "$work/app-$tag.err" || true)
  awk -v from="$from" -v to="$to" -v aborted="$aborted" '
    { t = $5 * 1000000 + $6 }
    t < from || t > to { next }
    $3 ~ /^[0-9]+$/ { lat[++n] = $3 + 0; next }
    { failed++ }
    END {
      if (n == 0) { print 0, failed + aborted, 0, 0, 0; exit }
      # nearest rank, on the latencies sorted (a Shell sort: mawk has no asort)
      for (gap = int(n / 2); gap > 0; gap = int(gap / 2))
        for (i = gap + 1; i <= n; i++) {
          v = lat[i]
          for (j = i; j > gap && lat[j - gap] > v; j -= gap) lat[j] = lat[j - gap]
          lat[j] = v
        }
      p50 = int(0.50 * n); if (p50 < 0.50 * n) p50++
      p99 = int(0.99 * n); if (p99 < 0.99 * n) p99++
      print n, failed + aborted, lat[p50], lat[p99], lat[n]
    }' "${logs[@]}"
}

lock_timeouts() { # TAG
  grep -ci 'lock timeout' "$work/app-$1.err" || true
}

# --- one round ---------------------------------------------------------------------------------

dur_ns=0       # the last pgmend run's wall time: the next baseline window's length
base_fig=()    # completed failed p50 p99 max of the baseline window
cand_fig=()    # the same, of the pgmend window
cand_locks=0   # lock timeouts the application met while pgmend ran

# The baseline window: the application alone for dur_ns.
baseline_window() { # ROUND
  local tag=base-$1 from to
  checkpoint
  start_app "$tag"
  from=$(now_us)
  sleep "$(seconds "$dur_ns")"
  to=$(now_us)
  stop_app
  keep "$tag"
  read -r -a base_fig <<<"$(app_figures "$tag" "$from" "$to")"
  (( base_fig[0] > 0 )) || die "round $1: the application completed no transaction without pgmend"
}

# The pgmend window: the application throughout `pgmend run`; the report kept as
# $work/report-ROUND.json; dies unless the run ended ok.
pgmend_window() { # ROUND
  local tag=pgmend-$1 from to start status=0 outcome
  round=$1
  checkpoint
  start_app "$tag"
  from=$(now_us)
  start=$(date +%s%N)
  "$pgmend" run app-impact --plans "$work/plans" --db "$db" --yes --format json \
    --snapshots "$work/snaps-$round" >"$work/report-$round.json" 2>"$work/run.err" || status=$?
  dur_ns=$(( $(date +%s%N) - start ))
  to=$(now_us)
  stop_app
  if (( status != 0 )); then
    cat "$work/report-$round.json" "$work/run.err" >&2
    die "round $round: pgmend run failed (exit $status)"
  fi
  outcome=$(report_field "$round" "r->>'outcome'")
  [[ "$outcome" == ok ]] || die "round $round: pgmend's run ended '$outcome' (report: $work/report-$round.json)"
  rm -rf "$work/snaps-$round"
  keep "$tag" "$work/report-$round.json"
  read -r -a cand_fig <<<"$(app_figures "$tag" "$from" "$to")"
  (( cand_fig[0] > 0 )) || die "round $round: the application completed no transaction while pgmend ran"
  cand_locks=$(lock_timeouts "$tag")
}

# --- the report --------------------------------------------------------------------------------

ms() { # MICROSECONDS -> "12.3"
  awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'
}
signed_ms() { # MICROSECONDS -> "+12.3" / "-0.4"
  awk -v us="$1" 'BEGIN { printf "%+.1f", us / 1000 }'
}
range_ms() { # MICROSECONDS... -> "1.2 to 3.4"
  local sorted
  mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
  echo "$(ms "${sorted[0]}") to $(ms "${sorted[${#sorted[@]} - 1]}")"
}
max_of() { printf '%s\n' "$@" | sort -n | tail -1; }

# Warm-up, then BENCH_ROUNDS pairs of KIND with SIZE; prints its three lines.
measure() { # KIND SIZE
  local kind=$1 size=$2 name r sized verdict increase longest p99 any
  local -a b50=() b99=() bmax=() c50=() c99=() cmax=() inc=() durs=() longest_all=() p99_all=() any_all=()
  local base_done=0 cand_done=0 base_failed=0 cand_failed=0 locks=0 retries=0 retried
  name="app-impact $kind"
  sized="batches sized to the default batch_target, 100 ms"
  if [[ "$size" != target ]]; then name="$name (batch_size $size)"; sized="batches fixed at $size keys"; fi
  write_plan "$kind" "$size"

  echo "bench: $name: warm-up"
  reset_table
  pgmend_window "$kind-$size-0"
  for (( r = 1; r <= rounds; r++ )); do
    reset_table
    baseline_window "$kind-$size-$r"
    pgmend_window "$kind-$size-$r"
    durs+=("$dur_ns")
    b50+=("${base_fig[2]}"); b99+=("${base_fig[3]}")
    c50+=("${cand_fig[2]}"); c99+=("${cand_fig[3]}")
    bmax+=("${base_fig[4]}"); cmax+=("${cand_fig[4]}")
    inc+=("$(( cand_fig[3] - base_fig[3] ))")
    base_done=$(( base_done + base_fig[0] )); cand_done=$(( cand_done + cand_fig[0] ))
    base_failed=$(( base_failed + base_fig[1] )); cand_failed=$(( cand_failed + cand_fig[1] ))
    locks=$(( locks + cand_locks ))
    # The batched actions' longest transaction and batch p99 (those with a batch count), and
    # the longest transaction of any action.
    longest=$(report_field "$round" "(SELECT round(max((a->>'longest_transaction_ms')::numeric)) FROM jsonb_array_elements(r#>'{steps,0,actions}') a WHERE a ? 'batches')")
    p99=$(report_field "$round" "(SELECT round(max((a->>'batch_p99_ms')::numeric)) FROM jsonb_array_elements(r#>'{steps,0,actions}') a WHERE a ? 'batches')")
    any=$(report_field "$round" "(SELECT round(max((a->>'longest_transaction_ms')::numeric)) FROM jsonb_array_elements(r#>'{steps,0,actions}') a)")
    [[ "$longest" =~ ^[0-9]+$ ]] || die "round $round: no batched action with longest_transaction_ms in $work/report-$round.json"
    retried=$(report_field "$round" "(SELECT coalesce(sum((a->>'attempts')::int - 1), 0) FROM jsonb_array_elements(r#>'{steps,0,actions}') a WHERE a ? 'attempts')")
    longest_all+=("$longest"); p99_all+=("${p99:-0}"); any_all+=("${any:-0}"); retries=$(( retries + retried ))
  done

  increase=$(median "${inc[@]}")
  if (( increase < p99_target * 1000 )); then verdict="(target < $p99_target ms) PASS"; else verdict="(target < $p99_target ms) MISS"; fi
  echo "bench $name: application p99 $(ms "$(median "${b99[@]}")") ms without pgmend," \
       "$(ms "$(median "${c99[@]}")") ms while it runs, $(signed_ms "$increase") ms" \
       "(median of $rounds pairs; each pair's: $(for v in "${inc[@]}"; do printf '%s ' "$(signed_ms "$v")"; done)ms) $verdict"
  echo "bench:   p50 $(ms "$(median "${b50[@]}")") ms without ($(range_ms "${b50[@]}")), $(ms "$(median "${c50[@]}")") ms with" \
       "($(range_ms "${c50[@]}")); p99 without $(range_ms "${b99[@]}"), with $(range_ms "${c99[@]}");" \
       "longest $(ms "$(median "${bmax[@]}")") ms without ($(range_ms "${bmax[@]}")), $(ms "$(median "${cmax[@]}")") ms with ($(range_ms "${cmax[@]}"));" \
       "pgmend ran $(seconds "$(median "${durs[@]}")") s (median; $sized); $app_rate transactions/s on 2 connections," \
       "$cand_done completed while pgmend ran, $base_done without"
  if (( cand_failed - locks <= 0 )); then verdict="(target: none but lock timeouts) PASS"; else verdict="(target: none but lock timeouts) MISS"; fi
  echo "bench $name failed: $cand_failed application transactions failed while pgmend ran ($locks of them lock timeouts)," \
       "$base_failed without, over $rounds rounds; pgmend retried $retries statements after its own lock_timeout $verdict"
  longest=$(max_of "${longest_all[@]}")
  if (( longest <= batch_limit )); then verdict="(target <= $batch_limit ms) PASS"; else verdict="(target <= $batch_limit ms) MISS"; fi
  echo "bench $name batches: longest batch $longest ms (max of $rounds rounds; each round's: ${longest_all[*]} ms)," \
       "batch_p99_ms each round's: ${p99_all[*]} ms; longest transaction of any action: ${any_all[*]} ms $verdict"
}

# --- main --------------------------------------------------------------------------------------

main() {
  local kind size
  require_count BENCH_ROWS "$rows"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_APP_RATE "$app_rate"
  require_count BENCH_PORT "$port"
  for size in $sizes; do [[ "$size" == target ]] || require_count BENCH_BATCH_SIZES "$size"; done

  [[ -z "$keep_dir" ]] || mkdir -p "$keep_dir" || die "BENCH_KEEP: cannot create $keep_dir"
  make_work
  trap 'if [[ -n "$app_pid" ]]; then kill -ALRM "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi; cleanup' EXIT
  find_pgmend run
  start_cluster
  pgbench=$(client pgbench) || die "no pgbench"
  db=$(conninfo "$dbname")
  print_machine

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
