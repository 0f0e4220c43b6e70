# shellcheck shell=bash
# Rounds shared by the benchmarks that time one `pgmend run` against one baseline SQL command
# on tables rebuilt before every round (backfill.sh, extract-json.sh). Sourced after common.sh.
#
# The benchmark defines: reset_tables (rebuild, untimed; sets `matching`), baseline, candidate
# (the pgmend run with --format json; may use $round), check_round ROUND (dies unless the round's
# result is right), and the globals dbname, rounds, time_target, lock_target. compare_rounds then
# sets base and cand (median ns) and longest_all (each round's longest batch, ms) for its report.
# Optional: baseline_label (default UPDATE) names the baseline in the report, lock_label
# (default "longest batch transaction") the longest transaction.

checkpoint() {
  sql "$dbname" -c "CHECKPOINT"
}

# A field of round ROUND's JSON report, by a jsonb path expression over the report `r` (the
# server parses it: no JSON tool needed).
report_field() { # ROUND SQL-EXPRESSION
  sql "$dbname" -At -v report="$(cat "$work/report-$1.json")" <<EOF
SELECT $2 FROM (SELECT :'report'::jsonb AS r) AS report;
EOF
}

# One round: fresh tables, then the baseline and the candidate, each after a CHECKPOINT; the
# candidate's report kept as $work/report-ROUND.json. Sets base_ns and cand_ns.
base_ns=0
cand_ns=0
run_round() { # ROUND LABEL-SUFFIX
  round=$1
  reset_tables
  checkpoint
  timed "${baseline_label:-UPDATE}$2" baseline; base_ns=$elapsed
  checkpoint
  timed "pgmend$2" candidate; cand_ns=$elapsed
  cp "$work/run.out" "$work/report-$round.json"
  check_round "$round"
}

# One untimed warm-up of each; then BENCH_ROUNDS rounds of baseline-then-candidate. Prints the
# ratio line and the longest batch of any timed round (the worst lock a reader of the report
# must expect) against lock_target; sets base, cand and longest_all.
base=0
cand=0
longest_all=()
compare_rounds() { # NAME
  local name=$1 r longest verdict
  local -a base_all=() cand_all=()
  longest_all=()
  run_round 0 " (warm-up)"
  for (( r = 1; r <= rounds; r++ )); do
    run_round "$r" ""
    base_all+=("$base_ns")
    cand_all+=("$cand_ns")
    longest=$(report_field "$r" "(SELECT round(max((a->>'longest_transaction_ms')::numeric)) FROM jsonb_array_elements(r#>'{steps,0,actions}') a)")
    [[ "$longest" =~ ^[0-9]+$ ]] || die "round $r: no longest_transaction_ms in $work/report-$r.json"
    longest_all+=("$longest")
  done
  base=$(median "${base_all[@]}")
  cand=$(median "${cand_all[@]}")
  ratio_line "$name" "$time_target" "${baseline_label:-UPDATE}" "$base" pgmend "$cand"
  longest=$(printf '%s\n' "${longest_all[@]}" | sort -n | tail -1)
  if [[ -z "$lock_target" ]]; then verdict="(reported, no target)"
  elif (( longest < lock_target )); then verdict="(target < $lock_target ms) PASS"; else verdict="(target < $lock_target ms) MISS"; fi
  echo "bench $name lock: ${lock_label:-longest batch transaction} $longest ms (max of $rounds rounds;" \
       "each round's: ${longest_all[*]} ms) $verdict"
}
