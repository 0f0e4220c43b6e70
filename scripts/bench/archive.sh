#!/usr/bin/env bash
# Benchmark: the archive_table plan step (`pgmend run` of a one-step plan), timed against a
# baseline measured in the same run.
#
#   archive-table         `pgmend run` of `archive_table: {table: big, to: DIR, drop: false}` on a
#                         database holding one table of BENCH_ROWS rows (~300 bytes of COPY text
#                         each: ~300 MB at the default size) versus `pg_dump -Fc -Z1 -t big` of
#                         the same table, at the same compression level. Target: ratio <= 1.20.
#   archive-table memory  the candidate once more under /usr/bin/time -v: its peak resident set
#                         size. Target: < 64 MB (the archive streams; it must not hold the table).
#                         pg_dump's peak is printed for comparison.
#
# Why the baseline is fair: pg_dump -Fc -t is what people already use to set one table aside
# before dropping it; it reads the whole table over one COPY, compresses it and fsyncs the
# file, which is an archive's job. -Z1 makes it compress at pgmend's level (zlib 1), so the two
# do the same compression work. pgmend does more on top (the rows' fingerprint, schema.sql,
# pre- and post-run schema snapshots, and reading the archive back from disk to verify it);
# that extra work is part of what is timed.
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
timed_shows_stdout=yes   # timed shows a failed command's stdout too, not only its stderr

time_target=120    # hundredths: candidate/baseline <= 1.20 (issue 24)
memory_target=64   # MB: candidate's peak resident set size < 64 MB

# die, make_work, find_pgmend, start_cluster, conninfo, sql, load, print_machine, timed, median,
# ratio_line, seconds, bytes_text, size_of, ...; the globals work, pgmend, psql, pg_dump, elapsed.
source "$root/scripts/bench/lib/common.sh"

db=""         # the benchmark database's conninfo, set once the cluster runs
round=""      # names the current round's plan and output folders

# --- setup -------------------------------------------------------------------------------------

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
  "$pg_dump" -Fc -Z1 -t big -d "$db" -f "$work/dump-$round.pgdump"
}
candidate() {
  "$pgmend" run "$work/archive-round-$round.yaml" --db "$db" --yes --snapshots "$work/snaps-$round"
}

# The same, once each under GNU time -v, for the peak resident set size.
baseline_measured() {
  "$gnu_time" -v -o "$work/time-pg_dump.txt" "$pg_dump" -Fc -Z1 -t big -d "$db" -f "$work/dump-$round.pgdump"
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
  local r base cand
  prepare_round 0
  timed "pg_dump -Fc -Z1 (warm-up)" baseline
  timed "pgmend (warm-up)" candidate
  check_round 0 keep
  for (( r = 1; r <= rounds; r++ )); do
    prepare_round "$r"
    timed "pg_dump -Fc -Z1" baseline; base_ns+=("$elapsed")
    timed "pgmend" candidate; cand_ns+=("$elapsed")
    check_round "$r"
  done
  base=$(median "${base_ns[@]}")
  cand=$(median "${cand_ns[@]}")
  ratio_line archive-table "$time_target" "pg_dump -Fc -Z1" "$base" pgmend "$cand"
  echo "bench:   $(pair_spread "${base_ns[*]}" "${cand_ns[*]}")"
  local archive
  archive=$(archive_dir 0)
  echo "bench:   outputs: pgmend data.copy.gz $(size_of "$archive/data.copy.gz")" \
       "(folder $(bytes_text $(( $(du -sb "$archive" | cut -f1) )))), pg_dump -Fc -Z1 $(size_of "$work/dump-0.pgdump")"
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
  timed "pg_dump -Fc -Z1 (under /usr/bin/time -v)" baseline_measured
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

  make_work
  find_pgmend run
  find_time
  # Both tools fsync their own files regardless of the cluster's durability settings.
  start_cluster
  db=$(conninfo bench_archive)
  print_machine

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
