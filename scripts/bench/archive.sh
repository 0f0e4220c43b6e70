#!/usr/bin/env bash
# Benchmark: the archive_table plan step (`pgmend run` of a one-step plan), timed against a
# baseline measured in the same run.
#
#   archive-table         `pgmend run` of `archive_table: {table: big, to: DIR, drop: false}` on a
#                         database holding one table of BENCH_ROWS rows (~300 bytes of COPY text
#                         each: ~300 MB at the default size) versus `pg_dump -Fc -t big` of the
#                         same table. Target: ratio <= 1.00.
#   archive-table memory  the candidate once more under /usr/bin/time -v: its peak resident set
#                         size. Target: < 64 MB (the archive streams; it must not hold the table).
#                         pg_dump's peak is printed for comparison.
#
# Why the baseline is fair: pg_dump -Fc -t is what people already use to set one table aside
# before dropping it; it reads the whole table over one COPY, compresses it (zlib, level 6 by
# default) and fsyncs the file, which is an archive's job. pgmend does more on top (a
# fingerprint query, schema.sql, pre- and post-run schema snapshots, and reading the archive back
# from disk to verify it) but compresses at level 1; that extra work is part of what is timed.
# Each pair runs against the same throwaway cluster, over the same Unix socket, alternately
# (baseline, candidate, baseline, candidate, ...) after one untimed warm-up of each, so caches
# and machine noise hit both alike; the report gives medians. Every round writes to fresh
# folders (a fresh `to:` makes the step needed again, as drop: false leaves the table in place),
# and each round's output is checked, then removed, outside the timing. pg_dump is run from the
# server's bindir, not through Debian's Perl pg_wrapper, whose start-up would pad the baseline.
#
#   BENCH_ROWS    rows in the table (default 1000000)
#   BENCH_ROUNDS  timed rounds of each command (default 3)
#   BENCH_PORT    port of the throwaway cluster; names its socket only (default 54341)
#   PGMEND_BIN    a pgmend binary to time instead of building the release one
#
# Exits 0 whatever the ratios (PASS/MISS is a report, not a test); non-zero if something could
# not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

rows=${BENCH_ROWS:-1000000}
rounds=${BENCH_ROUNDS:-3}
port=${BENCH_PORT:-54341}

time_target=100    # hundredths: candidate/baseline <= 1.00
memory_target=64   # MB: candidate's peak resident set size < 64 MB

work=""       # the throwaway cluster, its socket and every output file
bindir=""     # the server's programs
pgmend=""
psql=""
pg_dump=""
db=""         # the benchmark database's conninfo, set once the cluster runs
round=""      # names the current round's plan and output folders

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
  "$pgmend" run --help >/dev/null 2>&1 || die "$pgmend has no 'run' command"
}

start_cluster() {
  bindir=$("$root/scripts/pg-bindir.sh")
  psql=$(client psql) || die "no psql"
  pg_dump=$(client pg_dump) || die "no pg_dump"
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$work"; fi
  as_server_user "$bindir/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-instructions >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; die "initdb failed"; }
  # Durability off (it only speeds up loading; both tools fsync their own files regardless);
  # autovacuum off (the load VACUUMs itself, so nothing wakes up mid-measurement).
  as_server_user "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 \
    -o "-p $port -k $work -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c autovacuum=off" \
    start >/dev/null || { tail -20 "$work/server.log" >&2; die "the server did not start"; }
}

conninfo() { # DBNAME
  echo "host=$work port=$port user=postgres dbname=$1"
}

sql() { # DBNAME psql-args...
  local dbname=$1; shift
  PGOPTIONS="-c client_min_messages=warning" "$psql" "$(conninfo "$dbname")" -X -q -v ON_ERROR_STOP=1 "$@"
}

load() { # DBNAME WHAT SQLFILE psql-args...
  local dbname=$1 what=$2 file=$3 start
  shift 3
  echo "bench: loading $what"
  start=$(date +%s%N)
  sql postgres -c "CREATE DATABASE $dbname"
  sql "$dbname" "$@" -f "$file" >"$work/load-$dbname.log" 2>&1 || { cat "$work/load-$dbname.log" >&2; die "loading $dbname failed"; }
  echo "bench:   loaded in $(seconds $(( $(date +%s%N) - start ))) s"
}

# /usr/bin/time (GNU time, for -v); installed when root and missing, else "" and no memory report.
gnu_time=""
find_time() {
  if [[ ! -x /usr/bin/time && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "bench: installing /usr/bin/time (apt-get install -y time)"
    apt-get install -y time >"$work/apt.log" 2>&1 \
      || { apt-get update >>"$work/apt.log" 2>&1 && apt-get install -y time >>"$work/apt.log" 2>&1; } || true
  fi
  if [[ -x /usr/bin/time ]] && /usr/bin/time -v true >/dev/null 2>&1; then gnu_time=/usr/bin/time; fi
}

# --- timing ------------------------------------------------------------------------------------

elapsed=0
timed() { # LABEL command... : runs it once, elapsed := wall time in ns; dies if it fails
  local label=$1 start end status=0
  shift
  start=$(date +%s%N)
  "$@" >"$work/run.out" 2>"$work/run.err" || status=$?
  if (( status != 0 )); then
    cat "$work/run.out" "$work/run.err" >&2
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

bytes_text() { # BYTES -> "1.2 MB" / "35 kB"
  local bytes=$1
  if (( bytes >= 1000000 )); then printf '%d.%d MB' $(( bytes / 1000000 )) $(( bytes % 1000000 / 100000 ))
  else printf '%d kB' $(( (bytes + 999) / 1000 )); fi
}

size_of() { # FILE -> "1.2 MB" / "35 kB"
  bytes_text "$(stat -c %s "$1")"
}

# --- the commands timed ------------------------------------------------------------------------

# Each round's outputs: $work/dump-$round.pgdump for pg_dump; for pgmend the plan
# $work/archive-round-$round.yaml (its name must be its base name), the archive folder
# $work/archives-$round and the run's snapshots $work/snaps-$round.
prepare_round() { # ROUND
  round=$1
  cat >"$work/archive-round-$round.yaml" <<EOF
name: archive-round-$round
steps:
  - archive_table: {table: big, to: $work/archives-$round, drop: false}
EOF
}

baseline() {
  "$pg_dump" -Fc -t big -d "$db" -f "$work/dump-$round.pgdump"
}
candidate() {
  "$pgmend" run "$work/archive-round-$round.yaml" --db "$db" --yes --snapshots "$work/snaps-$round"
}

# The same, once each under GNU time -v, for the peak resident set size.
baseline_measured() {
  "$gnu_time" -v -o "$work/time-pg_dump.txt" "$pg_dump" -Fc -t big -d "$db" -f "$work/dump-$round.pgdump"
}
candidate_measured() {
  "$gnu_time" -v -o "$work/time-pgmend.txt" \
    "$pgmend" run "$work/archive-round-$round.yaml" --db "$db" --yes --snapshots "$work/snaps-$round"
}

# The archive folder a round's pgmend run wrote (dies unless exactly one, complete).
archive_dir() { # ROUND
  local -a found
  mapfile -t found < <(find "$work/archives-$1" -name manifest.json -printf '%h\n' 2>/dev/null)
  (( ${#found[@]} == 1 )) || die "round $1: expected one archive under $work/archives-$1, found ${#found[@]}"
  [[ -s "${found[0]}/data.copy.gz" && -s "${found[0]}/schema.sql" ]] \
    || die "round $1: ${found[0]} lacks data.copy.gz or schema.sql"
  echo "${found[0]}"
}

# Checks a round's outputs (an empty or missing one would make a command look fast for the
# wrong reason), then removes them unless KEEP.
check_round() { # ROUND [keep]
  [[ -s "$work/dump-$1.pgdump" ]] || die "round $1: pg_dump wrote nothing to $work/dump-$1.pgdump"
  archive_dir "$1" >/dev/null
  [[ "${2:-}" == keep ]] || rm -rf "$work/dump-$1.pgdump" "$work/archives-$1" "$work/snaps-$1"
}

# One untimed warm-up of each (outputs kept, for their sizes); then BENCH_ROUNDS rounds of
# baseline-then-candidate. Prints the medians, the ratio candidate/baseline and PASS/MISS.
compare() {
  local -a base_ns=() cand_ns=()
  local r base cand ratio verdict
  prepare_round 0
  timed "pg_dump -Fc (warm-up)" baseline
  timed "pgmend (warm-up)" candidate
  check_round 0 keep
  for (( r = 1; r <= rounds; r++ )); do
    prepare_round "$r"
    timed "pg_dump -Fc" baseline; base_ns+=("$elapsed")
    timed "pgmend" candidate; cand_ns+=("$elapsed")
    check_round "$r"
  done
  base=$(median "${base_ns[@]}")
  cand=$(median "${cand_ns[@]}")
  (( base > 0 )) || die "archive-table: baseline median is 0 ns"
  ratio=$(( (cand * 100 + base / 2) / base ))
  # Judged on the ratio as printed, so the line never contradicts itself.
  if (( ratio <= time_target )); then verdict=PASS; else verdict=MISS; fi
  echo "bench archive-table: pgmend $(seconds "$cand") s, pg_dump -Fc $(seconds "$base") s" \
       "(median of $rounds), ratio $(hundredths "$ratio") (target <= $(hundredths "$time_target")) $verdict"
  local archive
  archive=$(archive_dir 0)
  echo "bench:   outputs: pgmend data.copy.gz $(size_of "$archive/data.copy.gz")" \
       "(folder $(bytes_text $(( $(du -sb "$archive" | cut -f1) )))), pg_dump -Fc $(size_of "$work/dump-0.pgdump")"
}

peak_mb() { # TIME-V-OUTPUT -> MB (rounded), from "Maximum resident set size (kbytes)"
  local kb
  kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): *//p' "$1")
  [[ "$kb" =~ ^[0-9]+$ ]] || die "no 'Maximum resident set size' in $1"
  echo $(( (kb + 512) / 1024 ))
}

memory() {
  if [[ -z "$gnu_time" ]]; then
    echo "bench archive-table memory: skipped: no GNU /usr/bin/time (Debian package 'time')"
    return 0
  fi
  local cand base verdict
  prepare_round mem
  timed "pgmend (under /usr/bin/time -v)" candidate_measured
  timed "pg_dump -Fc (under /usr/bin/time -v)" baseline_measured
  check_round mem
  cand=$(peak_mb "$work/time-pgmend.txt")
  base=$(peak_mb "$work/time-pg_dump.txt")
  if (( cand < memory_target )); then verdict=PASS; else verdict=MISS; fi
  echo "bench archive-table memory: pgmend peak $cand MB (target < $memory_target MB) $verdict; pg_dump peak $base MB"
}

# --- main --------------------------------------------------------------------------------------

main() {
  require_count BENCH_ROWS "$rows"
  require_count BENCH_ROUNDS "$rounds"
  require_count BENCH_PORT "$port"

  work=$(mktemp -d /tmp/pgmend-bench.XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  find_pgmend
  find_time
  start_cluster
  db=$(conninfo bench_archive)
  local version
  version=$("$pgmend" --version 2>/dev/null | head -1) || true
  echo "bench: machine: $(nproc) CPUs, $(uname -sm), PostgreSQL $(sql postgres -At -c 'SHOW server_version')," \
       "pgmend ${version:-(no version)}${PGMEND_BIN:+ (PGMEND_BIN=$PGMEND_BIN)}"

  load bench_archive "$rows rows into bench_archive.big" scripts/bench/archive-data.sql -v rows="$rows"
  local relation copy_bytes
  relation=$(sql bench_archive -At -c "SELECT pg_total_relation_size('big')")
  copy_bytes=$(sql bench_archive -c "COPY big TO STDOUT" | wc -c)
  echo "bench:   table big: $(bytes_text "$relation") on disk (pg_total_relation_size)," \
       "$(bytes_text "$copy_bytes") of COPY text"

  compare
  memory
}

main "$@"
