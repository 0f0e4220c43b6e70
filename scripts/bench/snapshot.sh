#!/usr/bin/env bash
# Benchmark: `pgmend snapshot take`, timed against a baseline measured in the same run.
#
#   snapshot-schema  `pgmend snapshot take` on a database of BENCH_TABLES tables (9 columns of
#                    mixed types, a primary key, two indexes, a foreign key, a check each) versus
#                    `pg_dump --schema-only` on the same database. Target: ratio <= 0.70.
#   snapshot-data    `pgmend snapshot take --data` on a database holding one table of BENCH_ROWS
#                    rows versus one psql query: count(*) and the sum of a 64-bit md5 hash of
#                    every row, the checksum data-diff tools use. Target: ratio <= 1.20.
#
# Why the baselines are fair: pg_dump --schema-only reads the same catalogs and writes the whole
# schema to a file, which is a schema snapshot's job, and it is the tool people already use for
# it; the md5 query is the cheapest whole-table fingerprint one client round trip can get, with
# all the work inside the server. Each pair runs against the same throwaway cluster, over the same
# Unix socket, alternately (baseline, candidate, baseline, candidate, ...) after one untimed
# warm-up of each, so caches and machine noise hit both alike; the report gives medians.
# pg_dump and psql are run from the server's bindir, not through Debian's Perl pg_wrapper, whose
# start-up would pad the baseline.
#
#   BENCH_TABLES  tables in the schema database (default 2000)
#   BENCH_ROWS    rows in the data table (default 1000000)
#   BENCH_ROUNDS  timed rounds of each command (default 5)
#   BENCH_PORT    port of the throwaway cluster; names its socket only (default 54339)
#   PGMEND_BIN    a pgmend binary to time instead of building the release one
#
# Exits 0 whatever the ratios (PASS/MISS is a report, not a test); non-zero if something could
# not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

tables=${BENCH_TABLES:-2000}
rows=${BENCH_ROWS:-1000000}
rounds=${BENCH_ROUNDS:-5}
port=${BENCH_PORT:-54339}

schema_target=70   # hundredths: candidate/baseline <= 0.70
data_target=120    # hundredths: candidate/baseline <= 1.20

work=""       # the throwaway cluster, its socket and every output file
bindir=""     # the server's programs
pgmend=""
psql=""
pg_dump=""

die() { echo "bench: $*" >&2; exit 1; }

require_count() { # NAME VALUE
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, not '$2'"
}

as_server_user() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The server's own client programs; PATH's only when the bindir lacks them.
client() { # NAME
  if [[ -x "$bindir/$1" ]]; then echo "$bindir/$1"; else command -v "$1"; fi
}

cleanup() {
  [[ -n "$work" ]] || return 0
  if [[ -f "$work/data/postmaster.pid" ]]; then
    as_server_user "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}

# --- setup -------------------------------------------------------------------------------------

find_pgmend() {
  if [[ -n "${PGMEND_BIN:-}" ]]; then
    pgmend=$PGMEND_BIN
    [[ -x "$pgmend" ]] || die "PGMEND_BIN=$pgmend is not executable"
  else
    echo "bench: building pgmend (swift build -c release)"
    swift build -c release >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; die "release build failed"; }
    pgmend="$(swift build -c release --show-bin-path)/pgmend"
  fi
  "$pgmend" snapshot take --help >/dev/null 2>&1 || die "$pgmend has no 'snapshot take' command"
}

start_cluster() {
  bindir=$("$root/scripts/pg-bindir.sh")
  psql=$(client psql) || die "no psql"
  pg_dump=$(client pg_dump) || die "no pg_dump"
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$work"; fi
  as_server_user "$bindir/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-instructions >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; die "initdb failed"; }
  # Durability off (it only speeds up loading); autovacuum off (the loads VACUUM ANALYZE
  # themselves, so nothing wakes up mid-measurement); locks for 2,000 CREATE TABLEs in one
  # transaction and for readers that lock every table.
  as_server_user "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 \
    -o "-p $port -k $work -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c autovacuum=off -c max_locks_per_transaction=1024" \
    start >/dev/null || { tail -20 "$work/server.log" >&2; die "the server did not start"; }
}

conninfo() { # DBNAME
  echo "host=$work port=$port user=postgres dbname=$1"
}

sql() { # DBNAME psql-args...
  local db=$1; shift
  PGOPTIONS="-c client_min_messages=warning" "$psql" "$(conninfo "$db")" -X -q -v ON_ERROR_STOP=1 "$@"
}

load() { # DBNAME WHAT SQLFILE psql-args...
  local db=$1 what=$2 file=$3 start
  shift 3
  echo "bench: loading $what"
  start=$(date +%s%N)
  sql postgres -c "CREATE DATABASE $db"
  sql "$db" "$@" -f "$file" >"$work/load-$db.log" 2>&1 || { cat "$work/load-$db.log" >&2; die "loading $db failed"; }
  echo "bench:   loaded in $(seconds $(( $(date +%s%N) - start ))) s"
}

# --- timing ------------------------------------------------------------------------------------

elapsed=0
timed() { # LABEL command... : runs it once, elapsed := wall time in ns; dies if it fails
  local label=$1 start end status=0
  shift
  start=$(date +%s%N)
  "$@" >"$work/run.out" 2>"$work/run.err" || status=$?
  if (( status != 0 )); then
    cat "$work/run.err" >&2
    die "$label failed (exit $status; the command is $(declare -f "$1" | sed -n '3s/^ *//p'))"
  fi
  end=$(date +%s%N)
  elapsed=$(( end - start ))
}

median() { # NS... (integers)
  local sorted n
  mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
  n=${#sorted[@]}
  if (( n % 2 )); then echo "${sorted[n / 2]}"
  else echo $(( (sorted[n / 2 - 1] + sorted[n / 2]) / 2 )); fi
}

seconds() { # NS -> "1.234"
  local ms=$(( ($1 + 500000) / 1000000 ))
  printf '%d.%03d' $(( ms / 1000 )) $(( ms % 1000 ))
}

hundredths() { # N -> "0.70"
  printf '%d.%02d' $(( $1 / 100 )) $(( $1 % 100 ))
}

size_of() { # FILE -> "1.2 MB" / "35 kB"
  local bytes
  bytes=$(stat -c %s "$1")
  if (( bytes >= 1000000 )); then printf '%d.%d MB' $(( bytes / 1000000 )) $(( bytes % 1000000 / 100000 ))
  else printf '%d kB' $(( (bytes + 999) / 1000 )); fi
}

# compare NAME TARGET BASELINE-LABEL BASELINE-FN CANDIDATE-LABEL CANDIDATE-FN OUTPUT...
# One untimed warm-up of each, after which every OUTPUT file must be non-empty (an empty one
# would make a command look fast for the wrong reason); then BENCH_ROUNDS rounds of
# baseline-then-candidate. Prints the medians, the ratio candidate/baseline and PASS/MISS
# against TARGET (hundredths).
compare() {
  local name=$1 target=$2 base_label=$3 base_fn=$4 cand_label=$5 cand_fn=$6
  shift 6
  local -a base_ns=() cand_ns=()
  local round base cand ratio verdict output
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
  (( base > 0 )) || die "$name: baseline median is 0 ns"
  ratio=$(( (cand * 100 + base / 2) / base ))
  # Judged on the ratio as printed, so the line never contradicts itself.
  if (( ratio <= target )); then verdict=PASS; else verdict=MISS; fi
  echo "bench $name: $cand_label $(seconds "$cand") s, $base_label $(seconds "$base") s" \
       "(median of $rounds), ratio $(hundredths "$ratio") (target <= $(hundredths "$target")) $verdict"
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

# --- main --------------------------------------------------------------------------------------

main() {
  require_count BENCH_TABLES "$tables"
  require_count BENCH_ROWS "$rows"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"

  work=$(mktemp -d /tmp/pgmend-bench.XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  find_pgmend
  start_cluster
  schema_db=$(conninfo bench_schema)
  data_db=$(conninfo bench_data)
  local version
  version=$("$pgmend" --version 2>/dev/null | head -1) || true
  echo "bench: machine: $(nproc) CPUs, $(uname -sm), PostgreSQL $(sql postgres -At -c 'SHOW server_version')," \
       "pgmend ${version:-(no version)}${PGMEND_BIN:+ (PGMEND_BIN=$PGMEND_BIN)}"

  load bench_schema "$tables tables into bench_schema" scripts/bench/snapshot-schema.sql -v tables="$tables"
  compare snapshot-schema "$schema_target" "pg_dump --schema-only" schema_baseline pgmend schema_candidate \
    "$work/schema.sql" "$work/schema.json"
  echo "bench:   outputs: pgmend $(size_of "$work/schema.json"), pg_dump $(size_of "$work/schema.sql")"
  sql postgres -c "DROP DATABASE bench_schema"

  load bench_data "$rows rows into bench_data.big" scripts/bench/snapshot-data.sql -v rows="$rows"
  compare snapshot-data "$data_target" "psql md5 checksum" data_baseline "pgmend --data" data_candidate \
    "$work/checksum.txt" "$work/data.json"
  echo "bench:   outputs: pgmend $(size_of "$work/data.json"), checksum $(tr '|' ' ' <"$work/checksum.txt")"
}

main "$@"
