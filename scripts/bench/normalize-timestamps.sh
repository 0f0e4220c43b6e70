#!/usr/bin/env bash
# Benchmark: normalize_timestamps, method rewrite (`pgmend run` of a one-step plan), timed
# against the hand-written statements measured in the same run, once for each zone of
# BENCH_ZONES.
#
#   normalize-timestamps ZONE  `pgmend run` of a plan with one step,
#                   normalize_timestamps: {columns: [memories.created_at, memories.updated_at,
#                   access_logs.accessed_at], assume_time_zone: ZONE}, on memories (BENCH_ROWS
#                   rows, created_at timestamp NOT NULL DEFAULT timezone(ZONE, now()), indexed,
#                   updated_at timestamp) and access_logs (BENCH_ROWS rows referencing memories,
#                   accessed_at timestamp NOT NULL DEFAULT timezone(ZONE, now())), as the seed
#                   application's tables; all three become timestamptz, the defaults now().
#                   Versus, on an identical copy, what an operator writes by hand, in one psql
#                   script:
#                     BEGIN;
#                     SET LOCAL TimeZone = 'UTC';
#                     ALTER TABLE memories_copy ALTER COLUMN created_at TYPE timestamptz <USING>,
#                       ALTER COLUMN created_at SET DEFAULT now(),
#                       ALTER COLUMN updated_at TYPE timestamptz <USING>;
#                     ALTER TABLE access_logs_copy ALTER COLUMN accessed_at TYPE timestamptz <USING>,
#                       ALTER COLUMN accessed_at SET DEFAULT now();
#                     COMMIT;
#                   where <USING> is nothing for UTC (the plain cast, which under TimeZone =
#                   'UTC' PostgreSQL knows changes nothing on disk: no table rewrite, only the
#                   index on created_at rebuilt, as pgmend does) and `USING c AT TIME ZONE
#                   'ZONE'` for any other zone (a rewrite of both tables, as pgmend's). Not
#                   `USING c AT TIME ZONE 'UTC'` for UTC: that form rewrites the tables (its
#                   function is not the cast PostgreSQL skips the rewrite for), so it would be
#                   slower than pgmend for no reason. Target: ratio <= 1.10 for each zone.
#   normalize-timestamps ZONE lock  the longest transaction of the pgmend run's actions: the
#                   tables share no converted foreign key, so pgmend alters each in a transaction
#                   of its own, holding ACCESS EXCLUSIVE on that table only, and this is the
#                   longer (the ALTERs hold both tables for both). Reported, no target. A line
#                   says which tables each side rewrote (pg_class.relfilenode changed) in each
#                   round.
#   normalize-timestamps-online ZONE  the same with `method: online` (BENCH_METHOD=online, or
#                   the script normalize-timestamps-online.sh): shadow timestamptz columns kept
#                   by a trigger, keyset backfill, NOT NULL proven by a validated check, the index
#                   built concurrently, assertion, swap. Against the same baseline, reported with
#                   no time target (it writes every row once, where the UTC ALTER writes none);
#                   its lock line is the longest of the batches and the swaps, and lines of their
#                   own give the longer swap (one a table, each ACCESS EXCLUSIVE on its table,
#                   from the lock granted to commit) and the longest batch.
#
# Why the baseline is fair: it is the shortest correct way to do the same change by hand. pgmend
# does more on top: an assessment, its run lock and journal (creating the schema `pgmend`, as on
# a first run), pre- and post-run schema snapshots and a check of the catalog against its
# prediction; all of it is timed. The database's default zone is America/New_York, so neither
# side gets UTC without asking for it. Before every round both pairs are recreated identical
# (normalize-timestamps-data.sql), outside the timing, and a CHECKPOINT precedes each timed
# command. Alternate rounds after one untimed warm-up of each; medians. After each round the
# three columns of both pairs must be timestamptz and hold the same instants, row for row, and
# the same defaults.
#
#   BENCH_ROWS    rows in each table (default 1000000)
#   BENCH_ROUNDS  timed rounds of each command, for each zone (default 3)
#   BENCH_ZONES   the assumed zones, each compared in its own rounds (default "UTC Europe/Berlin")
#   BENCH_PORT    port of the throwaway cluster; names its socket only (default 54347)
#   PGMEND_BIN    a pgmend binary to time instead of building the release one
#   BENCH_METHOD  rewrite (default) or online
#   BENCH_WRITER  1: (online only) a second connection writes memories and access_logs
#                 throughout each pgmend run: pgbench (-n -c 1, BENCH_WRITER_RATE transactions a
#                 second, default 200, 0 for as fast as it can; its session's TimeZone the
#                 assumed zone) runs normalize-timestamps-writer.pgbench, each transaction
#                 inserting two memories (one with naive times written, one with created_at by
#                 its default) and an access log, setting an existing memory's created_at and
#                 updated_at and an existing log's accessed_at, and logging every column it wrote
#                 in bench_writes in the same transaction with the instant it means (the value
#                 read in the zone; the default's now()). After each round: every logged column
#                 holds the instant written last, every column the writer did not touch equals
#                 its copy, the counts add up, and pgbench reported no failed transaction. The
#                 time line then includes the writer's load.
#
# Exits 0 whatever the ratio (PASS/MISS is a report, not a test); non-zero if something could
# not run or the two pairs end different.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

rows=${BENCH_ROWS:-1000000}
rounds=${BENCH_ROUNDS:-3}
zones=${BENCH_ZONES:-UTC Europe/Berlin}
port=${BENCH_PORT:-54347}
timed_shows_stdout=yes

source "$root/scripts/bench/lib/common.sh"
source "$root/scripts/bench/lib/rounds.sh"
source "$root/scripts/bench/lib/type-change.sh"
type_change_options normalize-timestamps

dbname=bench_normalize_timestamps
db=""
round=""
matching=0
zone=""
relfilenodes=""    # the four tables' relfilenodes when the round starts
rewrites=()        # each round's: which tables each side rewrote

# The data crosses 2024-03-31 (Berlin's clocks skip 02:00-03:00): shift_forward and later are
# PostgreSQL's own reading, what the hand-written ALTER ... USING c AT TIME ZONE does.
write_plan() {
  mkdir -p "$work/plans"
  printf '%s\n' "name: timestamps" "steps:" "  - normalize_timestamps:" \
    "      columns: [memories.created_at, memories.updated_at, access_logs.accessed_at]" \
    "      assume_time_zone: $zone" "      on_nonexistent: shift_forward" "      on_ambiguous: later" \
    "      method: $method" >"$work/plans/timestamps.yaml"
}

# The four tables' relfilenodes, in the order memories, access_logs, memories_copy, access_logs_copy.
filenodes() {
  sql "$dbname" -At -c "SELECT string_agg(pg_relation_filenode(t)::text, ' ' ORDER BY n)
    FROM unnest('{memories,access_logs,memories_copy,access_logs_copy}'::regclass[]) WITH ORDINALITY AS u(t, n)"
}

reset_tables() {
  sql "$dbname" -v rows="$rows" -v zone="$zone" -f scripts/bench/normalize-timestamps-data.sql >"$work/reset.log" 2>&1 \
    || { cat "$work/reset.log" >&2; die "recreating the tables failed"; }
  matching=$rows
  relfilenodes=$(filenodes)
}

# The USING clause of COLUMN's ALTER (see the header).
using() { # COLUMN
  if [[ ${zone,,} != utc ]]; then echo " USING $1 AT TIME ZONE '$zone'"; fi
}

baseline() {
  sql "$dbname" <<SQL
BEGIN;
SET LOCAL TimeZone = 'UTC';
ALTER TABLE memories_copy ALTER COLUMN created_at TYPE timestamptz$(using created_at),
  ALTER COLUMN created_at SET DEFAULT now(),
  ALTER COLUMN updated_at TYPE timestamptz$(using updated_at);
ALTER TABLE access_logs_copy ALTER COLUMN accessed_at TYPE timestamptz$(using accessed_at),
  ALTER COLUMN accessed_at SET DEFAULT now();
COMMIT;
SQL
}
candidate() {
  pgmend_run_writing timestamps scripts/bench/normalize-timestamps-writer.pgbench -D rows="$rows" -D zone="$zone"
}

check_round() { # ROUND
  local r=$1 line before after
  local -a f
  expect_run_ok "$r"
  line=$(sql "$dbname" -At -F ' ' -c "
    SELECT (SELECT count(*) FROM pg_attribute WHERE atttypid = 'timestamptz'::regtype AND (attrelid, attname) IN
              (('memories'::regclass, 'created_at'), ('memories'::regclass, 'updated_at'), ('access_logs'::regclass, 'accessed_at'),
               ('memories_copy'::regclass, 'created_at'), ('memories_copy'::regclass, 'updated_at'), ('access_logs_copy'::regclass, 'accessed_at'))),
           (SELECT count(*) FROM pg_attrdef WHERE pg_get_expr(adbin, adrelid) = 'now()'
              AND adrelid IN ('memories'::regclass, 'access_logs'::regclass, 'memories_copy'::regclass, 'access_logs_copy'::regclass))")
  read -r -a f <<<"$line"
  (( ${#f[@]} == 2 )) || die "round $r: the type check returned '$line'"
  (( f[0] == 6 )) || die "round $r: ${f[0]} of the 6 columns are timestamptz"
  (( f[1] == 4 )) || die "round $r: ${f[1]} of the 4 defaults are now()"
  if [[ $writer == 1 ]]; then
    check_writer "$r"
  else
    line=$(sql "$dbname" -At -c \
      "SELECT (SELECT count(*) FROM memories m FULL JOIN memories_copy c USING (id)
                WHERE m.id IS NULL OR c.id IS NULL OR (m.created_at, m.updated_at) IS DISTINCT FROM (c.created_at, c.updated_at))
            + (SELECT count(*) FROM access_logs a FULL JOIN access_logs_copy c USING (id)
                WHERE a.id IS NULL OR c.id IS NULL OR (a.memory_id, a.accessed_at) IS DISTINCT FROM (c.memory_id, c.accessed_at))")
    (( line == 0 )) || die "round $r: pgmend's tables and the copies differ in $line rows"
  fi
  read -r -a before <<<"$relfilenodes"
  read -r -a after <<<"$(filenodes)"
  line="round $r: pgmend rewrote $(rewritten "${before[0]}" "${after[0]}" memories "${before[1]}" "${after[1]}" access_logs),"
  rewrites+=("$line the ALTER $(rewritten "${before[2]}" "${after[2]}" memories_copy "${before[3]}" "${after[3]}" access_logs_copy)")
  rm -rf "$work/snaps-$r"
}

# "memories and access_logs", "memories", ..., or "neither table", from their relfilenodes.
rewritten() { # BEFORE AFTER NAME BEFORE AFTER NAME
  local names=()
  [[ $1 == "$2" ]] || names+=("$3")
  [[ $4 == "$5" ]] || names+=("$6")
  case ${#names[@]} in
    0) echo "neither table" ;;
    1) echo "${names[0]} only" ;;
    *) echo "${names[0]} and ${names[1]}" ;;
  esac
}

# The writer's round: nothing lost or wrong (see BENCH_WRITER above).
check_writer() { # ROUND
  local r=$1
  writer_figures "$r" 9 "
    WITH last AS (SELECT DISTINCT ON (tbl, key, col) tbl, key, col, expected FROM bench_writes ORDER BY tbl, key, col, seq DESC),
         touched AS (SELECT tbl, key, bool_or(col = 'created_at') AS created, bool_or(col = 'updated_at') AS updated FROM bench_writes GROUP BY tbl, key)
    SELECT (SELECT count(*) FROM bench_writes WHERE took IS NOT NULL),
           (SELECT count(*) FROM last l LEFT JOIN memories m ON m.id = l.key
              WHERE l.tbl = 'memories' AND (m.id IS NULL OR CASE l.col WHEN 'created_at' THEN m.created_at ELSE m.updated_at END IS DISTINCT FROM l.expected)),
           (SELECT count(*) FROM last l LEFT JOIN access_logs a ON a.id = l.key WHERE l.tbl = 'access_logs' AND (a.id IS NULL OR a.accessed_at IS DISTINCT FROM l.expected)),
           (SELECT count(*) FROM memories_copy c LEFT JOIN memories m USING (id) LEFT JOIN touched t ON t.tbl = 'memories' AND t.key = c.id
              WHERE m.id IS NULL OR (m.created_at IS DISTINCT FROM c.created_at AND t.created IS NOT TRUE)
                 OR (m.updated_at IS DISTINCT FROM c.updated_at AND t.updated IS NOT TRUE) OR m.content <> c.content),
           (SELECT count(*) FROM access_logs_copy c LEFT JOIN access_logs a USING (id) LEFT JOIN touched t ON t.tbl = 'access_logs' AND t.key = c.id
              WHERE a.id IS NULL OR a.memory_id <> c.memory_id OR (a.accessed_at IS DISTINCT FROM c.accessed_at AND t.key IS NULL)),
           (SELECT count(*) FROM memories) - $rows - (SELECT count(*) FROM bench_writes WHERE tbl = 'memories' AND col = 'created_at' AND key > 100000000),
           (SELECT count(*) FROM access_logs) - $rows - (SELECT count(*) FROM bench_writes WHERE tbl = 'access_logs' AND key > 100000000)"
  local -a f=("${figures[@]}")
  expect_none "$r" "${f[1]}" "memory columns the writer wrote are missing or hold another instant than the one written last" \
    "${f[2]}" "access logs the writer wrote are missing or hold another instant than the one written last" \
    "${f[3]}" "memories differ from the copy in a column the writer did not write" \
    "${f[4]}" "access logs differ from the copy in a column the writer did not write" \
    "${f[5]}" "memories more (less, if negative) than the copy's and the writer's: the counts do not add up" \
    "${f[6]}" "access logs more (less, if negative) than the copy's and the writer's: the counts do not add up"
  writer_lines+=("round $r: ${f[0]} writer transactions committed (each: 2 memories and 1 access log inserted, 1 memory's created_at and updated_at and 1 log's accessed_at set), every column written holds the instant written last (the naive value read in $zone; the default's now()), every other row and column equals its copy; $writer_took")
}

main() {
  local base_name=$bench_name
  for zone in $zones; do
    [[ "$zone" =~ ^[A-Za-z][A-Za-z0-9/_+-]*$ ]] || die "BENCH_ZONES: '$zone' is not a time zone name"
  done
  type_change_setup
  (( rows < 100000000 )) || die "BENCH_ROWS must be under 100000000 (the writer's keys start there)"

  zone=${zones%% *}
  load "$dbname" "$rows rows into memories and access_logs, and their copies" scripts/bench/normalize-timestamps-data.sql -v rows="$rows" -v zone="$zone"
  sql "$dbname" -c "ALTER DATABASE $dbname SET timezone = 'America/New_York'"
  echo "bench:   tables memories $(bytes_text "$(sql "$dbname" -At -c "SELECT pg_total_relation_size('memories')")")," \
       "access_logs $(bytes_text "$(sql "$dbname" -At -c "SELECT pg_total_relation_size('access_logs')")") on disk" \
       "(pg_total_relation_size); the copies the same; the database's zone America/New_York"

  for zone in $zones; do
    bench_name="$base_name $zone"
    writer_db="$db options='-c TimeZone=$zone'"
    rewrites=()
    write_plan
    compare_rounds "$bench_name"
    echo "bench $bench_name tables rewritten (pg_class.relfilenode changed; round 0 is the warm-up):"
    printf 'bench:   %s\n' "${rewrites[@]}"
    if [[ $method == online ]]; then report_online "one table (memories and access_logs swap apart; the longer)"; fi
  done
}

main "$@"
