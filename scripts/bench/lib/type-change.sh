# shellcheck shell=bash
# Shared by the benchmarks of the steps that change a column's type (normalize-uuid.sh,
# normalize-timestamps.sh): BENCH_METHOD and BENCH_WRITER, the pgmend run with a pgbench writer
# beside it, and the report of an online run. Sourced after common.sh and rounds.sh.
#
# The benchmark calls type_change_options first (it sets method, writer, writer_rate,
# bench_name, time_target, lock_target, lock_label and baseline_label), then, in its main,
# type_change_setup (the cluster, pgmend, pgbench and db), and runs pgmend_run_writing as its
# candidate, writer_figures in its writer check and report_online after compare_rounds.
# Optional: writer_db, the conninfo the writer connects with (default: db).

method=""
writer=0
writer_rate=0
writer_db=""
writer_lines=()   # one line a round, added by the benchmark's writer check, printed by report_online
figures=()        # set by writer_figures
writer_took=""    # set by writer_figures
pgbench=""

# BENCH_METHOD (rewrite or online) and BENCH_WRITER (0 or 1; 1 only with online), checked; the
# report's names and targets from them: NAME, NAME-online, NAME-online-writer. Exits 2 on a bad
# value. The rewrite's target is the ratio 1.10; online is reported against the same baseline
# with no time target (it does more work so as to lock less); no lock target either way.
type_change_options() { # NAME
  method=${BENCH_METHOD:-rewrite}
  case $method in
    rewrite)
      bench_name=$1
      time_target=110    # hundredths: candidate/baseline <= 1.10
      lock_label="longest transaction (the longest altering one, ACCESS EXCLUSIVE)" ;;
    online)
      bench_name=$1-online
      time_target=""
      lock_label="longest transaction (the longest of the batches, ROW EXCLUSIVE, and the swap, ACCESS EXCLUSIVE)" ;;
    *) echo "BENCH_METHOD must be rewrite or online, not '$method'" >&2; exit 2 ;;
  esac
  writer=${BENCH_WRITER:-0}
  writer_rate=${BENCH_WRITER_RATE:-200}
  case $writer in
    0) ;;
    1) [[ $method == online ]] || { echo "BENCH_WRITER=1 needs BENCH_METHOD=online" >&2; exit 2; }
       bench_name=$bench_name-writer ;;
    *) echo "BENCH_WRITER must be 0 or 1, not '$writer'" >&2; exit 2 ;;
  esac
  [[ "$writer_rate" =~ ^[0-9]+$ ]] || { echo "BENCH_WRITER_RATE must be a whole number, not '$writer_rate'" >&2; exit 2; }
  lock_target=""
  baseline_label=ALTER
}

# BENCH_ROWS, BENCH_ROUNDS and BENCH_PORT checked, the work folder, pgmend (its `run`), the
# cluster started, pgbench found when writer is 1, db := the conninfo of dbname, and the report's
# machine line.
type_change_setup() {
  require_count BENCH_ROWS "$rows"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"
  make_work
  find_pgmend run
  start_cluster
  if [[ $writer == 1 ]]; then pgbench=$(client pgbench) || die "no pgbench"; fi
  db=$(conninfo "$dbname")
  print_machine
}

# The candidate: `pgmend run PLAN` from $work/plans, its JSON report on stdout, snapshots in
# $work/snaps-$round. With writer 1, one pgbench connection (-n -c 1, at most writer_rate
# transactions a second, 0: as fast as it can) runs PGBENCH-SCRIPT from a second before pgmend
# starts to a second after it ends, its output in $work/writer-$round.{out,err}.
pgmend_run_writing() { # PLAN PGBENCH-SCRIPT [pgbench-option...]
  local plan=$1 script=$2 writer_pid="" status=0
  shift 2
  if [[ $writer == 1 ]]; then
    local rate=()
    (( writer_rate > 0 )) && rate=(-R "$writer_rate")
    "$pgbench" -n -c 1 -j 1 -T 36000 "${rate[@]}" "$@" -f "$script" \
      "${writer_db:-$db}" >"$work/writer-$round.out" 2>"$work/writer-$round.err" &
    writer_pid=$!
    sleep 1 # the writer is writing before pgmend starts
  fi
  "$pgmend" run "$plan" --plans "$work/plans" --db "$db" --yes --format json --snapshots "$work/snaps-$round" || status=$?
  if [[ -n $writer_pid ]]; then
    sleep 1 # and goes on after the swap
    kill -TERM "$writer_pid" 2>/dev/null || true
    wait "$writer_pid" 2>/dev/null || true
  fi
  return "$status"
}

# Dies unless pgmend's run of round ROUND ended ok.
expect_run_ok() { # ROUND
  local outcome
  outcome=$(report_field "$1" "r->>'outcome'")
  [[ "$outcome" == ok ]] || die "round $1: pgmend's run ended '$outcome' (report: $work/report-$1.json)"
}

# Dies if the writer of round ROUND reported an error or an aborted transaction.
expect_writer_clean() { # ROUND
  local failed
  failed=$(grep -ciE 'error|abort' "$work/writer-$1.err" || true)
  (( failed == 0 )) || { cat "$work/writer-$1.err" >&2; die "round $1: the writer reported $failed errors"; }
}

# The writer's figures of round ROUND, after expect_writer_clean: QUERY (one row, ending in its
# select list, whose first field is the number of transactions the writer committed and every
# field an integer) with two fields added, the median and longest of the writer's transactions
# (bench_writes.took); figures := its fields, writer_took := those two in words. Dies unless the
# row has FIELDS fields (the two added included) and the writer committed a transaction.
writer_figures() { # ROUND FIELDS QUERY
  local line
  expect_writer_clean "$1"
  line=$(sql "$dbname" -At -F ' ' -c "$3,
           (SELECT round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY took)) * 1000)::numeric, 1) FROM bench_writes),
           (SELECT round(extract(epoch FROM max(took)) * 1000) FROM bench_writes)")
  read -r -a figures <<<"$line"
  (( ${#figures[@]} == $2 )) || die "round $1: the writer check returned '$line'"
  (( figures[0] > 0 )) || die "round $1: the writer committed no transaction"
  writer_took="the writer's transactions took ${figures[$2 - 2]} ms median, ${figures[$2 - 1]} ms longest"
}

# Dies with round ROUND's first problem: a COUNT that is not 0, said as "COUNT WHAT".
expect_none() { # ROUND COUNT WHAT [COUNT WHAT...]
  local r=$1
  shift
  while (( $# >= 2 )); do
    (( $1 == 0 )) || die "round $r: $1 $2"
    shift 2
  done
}

# The max over the rounds of the longest transaction of the actions whose summary is LIKE
# PATTERN, and each round's (after compare_rounds).
longest_of_actions() { # LABEL PATTERN
  local r values=()
  for (( r = 1; r <= rounds; r++ )); do
    values+=("$(report_field "$r" "(SELECT round(max((a->>'longest_transaction_ms')::numeric)) FROM jsonb_array_elements(r#>'{steps,0,actions}') a WHERE a->>'summary' LIKE '$2')")")
  done
  echo "bench $bench_name $1 $(printf '%s\n' "${values[@]}" | sort -n | tail -1) ms" \
       "(max of $rounds rounds; each round's: ${values[*]} ms) (reported, no target)"
}

# After compare_rounds of an online run: the swap (ACCESS EXCLUSIVE on LOCKED, from the locks
# granted to commit), the longest batch, round 1's actions, and the writer's lines.
report_online() { # LOCKED (e.g. "apps and memories")
  longest_of_actions "swap: ACCESS EXCLUSIVE on $1" 'swap %'
  longest_of_actions "longest batch (ROW EXCLUSIVE on the rows of one batch):" 'update %'
  echo "bench $bench_name round 1, each action's longest transaction:"
  report_field 1 "(SELECT string_agg('bench:   ' || (a->>'longest_transaction_ms') || ' ms  ' || left(a->>'summary', 70), E'\\n') FROM jsonb_array_elements(r#>'{steps,0,actions}') a WHERE a->>'longest_transaction_ms' IS NOT NULL)"
  if [[ $writer == 1 ]]; then
    local pace="at most $writer_rate transactions a second"
    (( writer_rate > 0 )) || pace="as fast as it can"
    echo "bench $bench_name writer: one pgbench connection, $pace, throughout each pgmend run (round 0 is the warm-up)"
    printf 'bench:   %s\n' "${writer_lines[@]}"
    writer_lines=()
  fi
}
