#!/usr/bin/env bash
# Benchmark: `pgmend doctor`, against its targets and against `pg_dump --schema-only` on the same
# database, measured in the same run.
#
#   doctor-schema   doctor on a database of BENCH_TABLES tables (snapshot-schema.sql: 9 columns
#                   of mixed types, a primary key, two indexes, a foreign key, a check each),
#                   analyzed. Targets: under 3 s and under 100 MB of memory (max RSS).
#   doctor-sampled  doctor on one table of BENCH_JSON_ROWS rows with a jsonb column, a varchar
#                   of UUIDs, a free-text status and a naive timestamp: read as a sample (the
#                   table is far over --sample-above). Target: under 5 s.
#
# The ratio to pg_dump --schema-only says what doctor costs next to the tool that reads the
# same catalogs; doctor does more (statistics, data reads), so the targets are absolute. Pairs
# run alternately (pg_dump, doctor, pg_dump, doctor, ...) after one untimed warm-up of each;
# the report gives the medians, the median of the pairs' ratios and their spread (min-max).
# doctor exits 1 when it finds something, which it does here: that exit is expected.
#
#   BENCH_TABLES     tables in the schema database (default 2000)
#   BENCH_JSON_ROWS  rows in the sampled table (default 10000000)
#   BENCH_ROUNDS     timed pairs (default 5)
#   BENCH_PORT       port of the throwaway cluster; names its socket only (default 54341)
#   PGMEND_BIN       a pgmend binary to time instead of building the release one
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

tables=${BENCH_TABLES:-2000}
json_rows=${BENCH_JSON_ROWS:-10000000}
rounds=${BENCH_ROUNDS:-5}
port=${BENCH_PORT:-54341}

source "$root/scripts/bench/lib/common.sh"

db=""
baseline() { "$pg_dump" --schema-only -d "$db" -f "$work/schema.sql"; }
# Exit 1 is doctor's "found something"; anything else fails the benchmark.
candidate() {
  local status=0
  /usr/bin/time -f "%M" -o "$work/rss.txt" "$pgmend" doctor --db "$db" --format json >"$work/doctor.json" || status=$?
  (( status == 0 || status == 1 )) || return "$status"
}

# measure NAME SECONDS-TARGET: alternating pairs; prints medians, ratio, spread, RSS, verdict.
measure() {
  local name=$1 target_ms=$2 round b c
  local -a base_ns=() cand_ns=() ratios=() rss=()
  timed "pg_dump (warm-up)" baseline
  timed "pgmend doctor (warm-up)" candidate
  [[ -s "$work/doctor.json" && -s "$work/schema.sql" ]] || die "$name: the warm-up wrote nothing"
  for (( round = 1; round <= rounds; round++ )); do
    timed "pg_dump --schema-only" baseline; b=$elapsed; base_ns+=("$b")
    timed "pgmend doctor" candidate; c=$elapsed; cand_ns+=("$c")
    ratios+=("$(( (c * 100 + b / 2) / b ))")
    rss+=("$(cat "$work/rss.txt")")
  done
  local base cand ratio low high memory verdict
  base=$(median "${base_ns[@]}")
  cand=$(median "${cand_ns[@]}")
  ratio=$(median "${ratios[@]}")
  low=$(printf '%s\n' "${ratios[@]}" | sort -n | head -1)
  high=$(printf '%s\n' "${ratios[@]}" | sort -n | tail -1)
  memory=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
  verdict=PASS
  (( cand <= target_ms * 1000000 )) || verdict=MISS
  if [[ $name == doctor-schema ]] && (( memory > 100 * 1024 )); then verdict="MISS (memory)"; fi
  echo "bench $name: pgmend doctor $(seconds "$cand") s, pg_dump --schema-only $(seconds "$base") s" \
       "(medians of $rounds pairs), ratio $(hundredths "$ratio") (pairs $(hundredths "$low")-$(hundredths "$high")),"\
       "max RSS $(( memory / 1024 )) MB; target < $(( target_ms / 1000 )) s $verdict"
}

main() {
  require_count BENCH_TABLES "$tables"
  require_count BENCH_JSON_ROWS "$json_rows"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"
  make_work
  find_pgmend doctor
  start_cluster -c max_locks_per_transaction=1024
  print_machine

  load bench_schema "$tables tables into bench_schema" scripts/bench/snapshot-schema.sql -v tables="$tables"
  sql bench_schema -c "VACUUM ANALYZE" >/dev/null
  db=$(conninfo bench_schema)
  measure doctor-schema 3000
  echo "bench:   $(grep -o '"tables": *[0-9]*' "$work/doctor.json" | head -1), findings by class:" \
       "$(grep -o '"class": *"[a-z_]*"' "$work/doctor.json" | sort | uniq -c | awk '{printf "%s %s; ", $3, $1}')"
  sql postgres -c "DROP DATABASE bench_schema"

  load bench_json "$json_rows rows into bench_json.accounts" scripts/bench/doctor-data.sql -v rows="$json_rows"
  db=$(conninfo bench_json)
  measure doctor-sampled 5000
  echo "bench:   sampled (percent of pages read): $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("sampled"))' "$work/doctor.json")," \
       "findings by class: $(grep -o '"class": *"[a-z_]*"' "$work/doctor.json" | sort | uniq -c | awk '{printf "%s %s; ", $3, $1}')"
}

main "$@"
