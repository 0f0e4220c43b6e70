# shellcheck shell=bash
# The application-impact round shared by scripts/bench/app-impact.sh (its own users table) and
# scripts/bench/app-impact-demo.sh (the demo database's users): the application (pgbench at a
# fixed rate), the alternating baseline and pgmend windows, the figures and the report lines.
# app-impact.sh's header says what is measured and why it is fair. Sourced after common.sh and
# rounds.sh.
#
# The benchmark sets, before calling app_impact_start and measure:
#   bench_name      the report lines' prefix ("app-impact")
#   dbname          the database the application and pgmend use
#   app_script      the application's pgbench script
#   app_define      its pgbench variable, NAME=VALUE (-D): the rows it picks keys from
#   app_rate        the application's transactions a second (BENCH_APP_RATE)
#   keep_dir        BENCH_KEEP, or empty
#   plan_settings   the plan's settings lines besides batch_size ("  lock_timeout: 2s"), or empty
# and defines:
#   step_yaml KIND  prints the plan's one step (its lines under `steps:`); dies on an unknown KIND
#   reset_data      makes the data fresh (as loaded, frozen, analysed, checkpointed) before a round

p99_target=50        # ms: the application's p99 rises by less than this while pgmend runs
batch_limit=200      # ms: no batch transaction longer

db=""          # the benchmark database's conninfo, set by app_impact_start
round=""       # names the current round's report, logs and snapshot folder
pgbench=""
app_pid=""

# --- setup -------------------------------------------------------------------------------------

# The work folder, the throwaway cluster, pgbench and the machine line; the application is
# stopped on exit before the cluster.
app_impact_start() {
  [[ -z "$keep_dir" ]] || mkdir -p "$keep_dir" || die "BENCH_KEEP: cannot create $keep_dir"
  make_work
  trap 'if [[ -n "$app_pid" ]]; then kill -ALRM "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi; cleanup' EXIT
  find_pgmend run
  start_cluster
  pgbench=$(client pgbench) || die "no pgbench"
  db=$(conninfo "$dbname")
  print_machine
}

# The plan, $work/plans/app-impact.yaml: plan_settings, batch_size N unless SIZE is "target",
# and step_yaml KIND. Each round starts without the journal, so no run resumes another.
write_plan() { # KIND SIZE
  local kind=$1 size=$2 step
  step=$(step_yaml "$kind") || exit 1
  mkdir -p "$work/plans"
  {
    echo "name: app-impact"
    if [[ -n "$plan_settings" || "$size" != target ]]; then
      echo "settings:"
      [[ -z "$plan_settings" ]] || echo "$plan_settings"
      [[ "$size" == target ]] || echo "  batch_size: $size"
    fi
    echo "steps:"
    echo "$step"
  } >"$work/plans/app-impact.yaml"
}

# --- the application ---------------------------------------------------------------------------

# Starts the application, logging every transaction to $work/applog-TAG.<pid>, and gives it a
# second to connect and reach its rate.
start_app() { # TAG
  "$pgbench" -n -c 2 -j 1 -T 36000 -R "$app_rate" -D "$app_define" -f "$app_script" \
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
  name="$bench_name $kind"
  sized="batches sized to the default batch_target, 100 ms"
  if [[ "$size" != target ]]; then name="$name (batch_size $size)"; sized="batches fixed at $size keys"; fi
  write_plan "$kind" "$size"

  echo "bench: $name: warm-up"
  reset_data
  pgmend_window "$kind-$size-0"
  for (( r = 1; r <= rounds; r++ )); do
    reset_data
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

