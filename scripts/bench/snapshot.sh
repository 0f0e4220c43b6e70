#!/usr/bin/env bash
# Benchmark: `pgmend snapshot take` and `pgmend verify`, timed against baselines measured in the
# same run.
#
#   snapshot-schema-N  `pgmend snapshot take` on a database of N tables (9 columns of mixed
#                      types, a primary key, two indexes, a foreign key, a check each) versus
#                      `pg_dump --schema-only` on the same database, for each N of BENCH_TABLES.
#                      Target: ratio <= 0.50.
#   verify-schema-N    `pgmend verify` of that database against a snapshot of it taken before
#                      (it matches) versus `pg_dump --schema-only | diff` against a dump saved
#                      before, for each N of BENCH_VERIFY_TABLES. Target: ratio <= 0.50.
#   snapshot-data      `pgmend snapshot take --data` on a database holding one table of
#                      BENCH_ROWS rows versus one psql query: count(*) and the sum of a 64-bit
#                      md5 hash of every row, the checksum data-diff tools use. Target: ratio
#                      <= 1.20.
#
# Why the baselines are fair: pg_dump --schema-only reads the same catalogs and writes the whole
# schema to a file, which is a schema snapshot's job, and it is the tool people already use for
# it; the md5 query is the cheapest whole-table fingerprint one client round trip can get, with
# all the work inside the server. Dumping again and diffing against the dump kept from before is
# how one checks a schema with the tools at hand; the dump is written with a fixed
# --restrict-key, since pg_dump 15.14+ otherwise writes a random `\restrict` line that would make
# every diff fail. Each pair runs against the same throwaway cluster, over the same
# Unix socket, alternately (baseline, candidate, baseline, candidate, ...) after one untimed
# warm-up of each, so caches and machine noise hit both alike; the report gives medians.
# pg_dump and psql are run from the server's bindir, not through Debian's Perl pg_wrapper, whose
# start-up would pad the baseline.
#
#   BENCH_TABLES         table counts to snapshot, a space-separated list (default "500 2000 8000")
#   BENCH_VERIFY_TABLES  table counts to verify (default "2000 8000"); a count in both lists is
#                        loaded once
#   BENCH_ROWS           rows in the data table (default 1000000)
#   BENCH_ROUNDS         timed rounds of each command (default 5)
#   BENCH_PORT           port of the throwaway cluster; names its socket only (default 54339)
#   PGMEND_BIN           a pgmend binary to time instead of building the release one
#
# Exits 0 whatever the ratios (PASS/MISS is a report, not a test); non-zero if something could
# not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

tables=${BENCH_TABLES:-500 2000 8000}
verify_tables=${BENCH_VERIFY_TABLES:-2000 8000}
rows=${BENCH_ROWS:-1000000}
rounds=${BENCH_ROUNDS:-5}
port=${BENCH_PORT:-54339}

schema_target=50   # hundredths: candidate/baseline <= 0.50
verify_target=50
data_target=120    # hundredths: candidate/baseline <= 1.20

# die, make_work, find_pgmend, start_cluster, conninfo, sql, load, print_machine, timed, median,
# ratio_line, seconds, size_of, ...; the globals work, pgmend, psql, pg_dump, elapsed.
source "$root/scripts/bench/lib/common.sh"

# compare NAME TARGET BASELINE-LABEL BASELINE-FN CANDIDATE-LABEL CANDIDATE-FN OUTPUT...
# One untimed warm-up of each, after which every OUTPUT file must be non-empty (an empty one
# would make a command look fast for the wrong reason); then BENCH_ROUNDS rounds of
# baseline-then-candidate. Prints the medians, the ratio candidate/baseline and PASS/MISS
# against TARGET (hundredths), then each pair's ratio, lowest to highest.
compare() {
  local name=$1 target=$2 base_label=$3 base_fn=$4 cand_label=$5 cand_fn=$6
  shift 6
  local -a base_ns=() cand_ns=()
  local round base cand output
  timed "$base_label (warm-up)" "$base_fn"
  timed "$cand_label (warm-up)" "$cand_fn"
  for output in "$@"; do
    [[ -s "$output" ]] || die "$name: the warm-up wrote nothing to $output"
  done
  for (( round = 1; round <= rounds; round++ )); do
    timed "$base_label" "$base_fn"; base_ns+=("$elapsed")
    timed "$cand_label" "$cand_fn"; cand_ns+=("$elapsed")
  done
  base=$(median "${base_ns[@]}")
  cand=$(median "${cand_ns[@]}")
  ratio_line "$name" "$target" "$base_label" "$base" "$cand_label" "$cand"
  echo "bench:   $(pair_spread "${base_ns[*]}" "${cand_ns[*]}")"
}

# --- the commands timed ------------------------------------------------------------------------

schema_db=""   # conninfos, set once the cluster runs
data_db=""
schema_baseline() {
  "$pg_dump" --schema-only -d "$schema_db" -f "$work/schema.sql"
}
schema_candidate() {
  "$pgmend" snapshot take --db "$schema_db" -o "$work/schema.json"
}
data_baseline() {
  "$psql" "$data_db" -X -A -t -q -v ON_ERROR_STOP=1 -o "$work/checksum.txt" -c \
    "SELECT count(*), sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint) FROM big t"
}
data_candidate() {
  "$pgmend" snapshot take --db "$data_db" --data -o "$work/data.json"
}
# Both exit non-zero (and `timed` dies) unless the database still matches what was saved.
verify_baseline() {
  "$pg_dump" --schema-only --restrict-key=pgmendbench -d "$schema_db" | diff -q "$work/expected.sql" - >/dev/null
}
verify_candidate() {
  "$pgmend" verify "$work/expected.json" --db "$schema_db"
}

in_list() { # WORD LIST
  [[ " $2 " == *" $1 "* ]]
}

# Loads a database of N tables, then times what each list asks of it.
schema_size() { # N
  local n=$1
  load bench_schema "$n tables into bench_schema" scripts/bench/snapshot-schema.sql -v tables="$n"
  if in_list "$n" "$tables"; then
    compare "snapshot-schema-$n" "$schema_target" "pg_dump --schema-only" schema_baseline pgmend schema_candidate \
      "$work/schema.sql" "$work/schema.json"
    echo "bench:   outputs: pgmend $(size_of "$work/schema.json"), pg_dump $(size_of "$work/schema.sql")"
  fi
  if in_list "$n" "$verify_tables"; then
    "$pg_dump" --schema-only --restrict-key=pgmendbench -d "$schema_db" -f "$work/expected.sql"
    "$pgmend" snapshot take --db "$schema_db" -o "$work/expected.json" >/dev/null
    compare "verify-schema-$n" "$verify_target" "pg_dump --schema-only | diff" verify_baseline \
      "pgmend verify" verify_candidate "$work/expected.sql" "$work/expected.json"
  fi
  sql postgres -c "DROP DATABASE bench_schema"
}

# --- main --------------------------------------------------------------------------------------

main() {
  local n
  for n in $tables; do require_count BENCH_TABLES "$n"; done
  for n in $verify_tables; do require_count BENCH_VERIFY_TABLES "$n"; done
  require_count BENCH_ROWS "$rows"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"

  make_work
  find_pgmend snapshot take
  # Locks for 8,000 CREATE TABLEs in one transaction and for readers that lock every table.
  start_cluster -c max_locks_per_transaction=1024
  schema_db=$(conninfo bench_schema)
  data_db=$(conninfo bench_data)
  print_machine

  for n in $(printf '%s\n' $tables $verify_tables | sort -n -u); do
    schema_size "$n"
  done

  load bench_data "$rows rows into bench_data.big" scripts/bench/snapshot-data.sql -v rows="$rows"
  compare snapshot-data "$data_target" "psql md5 checksum" data_baseline "pgmend --data" data_candidate \
    "$work/checksum.txt" "$work/data.json"
  echo "bench:   outputs: pgmend $(size_of "$work/data.json"), checksum $(tr '|' ' ' <"$work/checksum.txt")"
}

main "$@"
