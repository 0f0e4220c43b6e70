#!/usr/bin/env bash
# Benchmark: normalize_uuid, method rewrite (`pgmend run` of a one-step plan), timed against the
# hand-written statements measured in the same run.
#
#   normalize-uuid  `pgmend run` of a plan with one step, normalize_uuid: {columns: [apps.id]},
#                   on apps (BENCH_ROWS rows, id text primary key holding UUID text) and memories
#                   (BENCH_ROWS rows, app_id text referencing apps.id, indexed): both columns
#                   become uuid, the key dropped, re-added NOT VALID and validated. Versus, on an
#                   identical copy, what an operator writes by hand, in one psql script:
#                     BEGIN;
#                     ALTER TABLE memories_copy DROP CONSTRAINT memories_copy_app_id_fkey;
#                     ALTER TABLE apps_copy ALTER COLUMN id TYPE uuid USING id::uuid;
#                     ALTER TABLE memories_copy ALTER COLUMN app_id TYPE uuid USING app_id::uuid;
#                     ALTER TABLE memories_copy ADD CONSTRAINT memories_copy_app_id_fkey
#                       FOREIGN KEY (app_id) REFERENCES apps_copy (id);
#                     COMMIT;
#                   Target: ratio <= 1.10.
#   normalize-uuid lock  the longest transaction of the pgmend run's actions: the altering one
#                   holds ACCESS EXCLUSIVE on both tables for its whole length (reported, no
#                   target: method rewrite locks for the rewrite).
#   normalize-uuid-online  the same with `method: online` (BENCH_METHOD=online, or the script
#                   normalize-uuid-online.sh): shadow columns, trigger, keyset backfill, indexes
#                   built concurrently, assertion, swap. Against the same baseline, reported
#                   with no time target (it does more work so as to lock less); its lock line is
#                   the longest of the batches and the swap, and lines of their own give the
#                   swap (ACCESS EXCLUSIVE on both tables, from the locks granted to commit) and
#                   the longest batch (lib/type-change.sh).
#
# Why the baseline is fair: it is the shortest correct way to do the same change by hand (the
# key must go before either column changes). pgmend does more on top: a dry-run assessment
# that reads each column once (counting values uuid accepts and those already in its printed
# form), its run lock and journal (creating the schema `pgmend`, as on a first run), pre- and
# post-run schema snapshots, a check of the catalog against its prediction, and the VALIDATE in
# a transaction of its own; all of it is timed. Before every round both pairs are recreated
# identical (normalize-uuid-data.sql), outside the timing, and a CHECKPOINT precedes each
# timed command. Alternate rounds after one untimed warm-up of each; medians. After each round
# both pairs must hold the same uuid values, and both keys must be validated.
#
#   BENCH_ROWS    rows in each table (default 1000000)
#   BENCH_ROUNDS  timed rounds of each command (default 3)
#   BENCH_PORT    port of the throwaway cluster; names its socket only (default 54345)
#   PGMEND_BIN    a pgmend binary to time instead of building the release one
#   BENCH_METHOD  rewrite (default) or online
#   BENCH_WRITER  1: (online only) a second connection writes apps and memories throughout each
#                 pgmend run: pgbench (-n -c 1, BENCH_WRITER_RATE transactions a second, default
#                 200, 0 for as fast as it can) runs normalize-uuid-writer.pgbench, each
#                 transaction inserting an app (id written upper-case) and a memory referencing
#                 it (the same text), pointing an existing memory at another existing app and
#                 renaming that app, and logging every write in bench_writes in the same
#                 transaction. After each round: every logged app is there, every memory holds
#                 the lower-cased uuid of the value written last, every row the writer did not
#                 touch equals its copy, the counts add up, the key is validated, and pgbench
#                 reported no failed transaction. The time line then includes the writer's load.
#
# Exits 0 whatever the ratio (PASS/MISS is a report, not a test); non-zero if something could
# not run or the two pairs end different.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

rows=${BENCH_ROWS:-1000000}
rounds=${BENCH_ROUNDS:-3}
port=${BENCH_PORT:-54345}
timed_shows_stdout=yes

source "$root/scripts/bench/lib/common.sh"
source "$root/scripts/bench/lib/rounds.sh"
source "$root/scripts/bench/lib/type-change.sh"
type_change_options normalize-uuid

dbname=bench_normalize_uuid
db=""
round=""
matching=0

write_plan() {
  mkdir -p "$work/plans"
  printf '%s\n' "name: uuid-apps" "steps:" "  - normalize_uuid:" "      columns: [apps.id]" "      method: $method" >"$work/plans/uuid-apps.yaml"
}

reset_tables() {
  sql "$dbname" -v rows="$rows" -f scripts/bench/normalize-uuid-data.sql >"$work/reset.log" 2>&1 \
    || { cat "$work/reset.log" >&2; die "recreating the tables failed"; }
  matching=$rows
  if [[ $writer == 1 ]]; then
    sql "$dbname" -c "DROP TABLE IF EXISTS bench_writes" -c "DROP SEQUENCE IF EXISTS bench_writer_app, bench_writer_memory" \
      -c "CREATE TABLE bench_writes (seq bigserial PRIMARY KEY, tbl text NOT NULL, key text NOT NULL, value text NOT NULL, took interval)" \
      -c "CREATE SEQUENCE bench_writer_app" -c "CREATE SEQUENCE bench_writer_memory START 100000001" -c "VACUUM ANALYZE bench_writes"
  fi
}

baseline() {
  sql "$dbname" <<'SQL'
BEGIN;
ALTER TABLE memories_copy DROP CONSTRAINT memories_copy_app_id_fkey;
ALTER TABLE apps_copy ALTER COLUMN id TYPE uuid USING id::uuid;
ALTER TABLE memories_copy ALTER COLUMN app_id TYPE uuid USING app_id::uuid;
ALTER TABLE memories_copy ADD CONSTRAINT memories_copy_app_id_fkey FOREIGN KEY (app_id) REFERENCES apps_copy (id);
COMMIT;
SQL
}
candidate() {
  pgmend_run_writing uuid-apps scripts/bench/normalize-uuid-writer.pgbench -D rows="$rows"
}

check_round() { # ROUND
  local r=$1 differ types valid
  expect_run_ok "$r"
  types=$(sql "$dbname" -At -c \
    "SELECT count(*) FROM pg_attribute WHERE atttypid = 'uuid'::regtype AND (attrelid, attname) IN
       (('apps'::regclass, 'id'), ('memories'::regclass, 'app_id'), ('apps_copy'::regclass, 'id'), ('memories_copy'::regclass, 'app_id'))")
  (( types == 4 )) || die "round $r: $types of the 4 columns are uuid"
  valid=$(sql "$dbname" -At -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated AND conname IN ('memories_app_id_fkey', 'memories_copy_app_id_fkey')")
  (( valid == 2 )) || die "round $r: $valid of the 2 foreign keys are there and validated"
  if [[ $writer == 1 ]]; then check_writer "$r"; rm -rf "$work/snaps-$r"; return; fi
  differ=$(sql "$dbname" -At -c \
    "SELECT (SELECT count(*) FROM apps a FULL JOIN apps_copy c USING (id) WHERE a.id IS NULL OR c.id IS NULL)
          + (SELECT count(*) FROM memories m FULL JOIN memories_copy c USING (id) WHERE m.app_id IS DISTINCT FROM c.app_id)")
  (( differ == 0 )) || die "round $r: pgmend's tables and the copies differ in $differ rows"
  rm -rf "$work/snaps-$r"
}

# The writer's round: nothing lost or wrong (see BENCH_WRITER above).
check_writer() { # ROUND
  local r=$1
  writer_figures "$r" 11 "
    WITH last AS (SELECT DISTINCT ON (tbl, key) tbl, key, value FROM bench_writes ORDER BY tbl, key, seq DESC),
         touched AS (SELECT key::bigint AS id FROM last WHERE tbl = 'memories')
    SELECT (SELECT count(*) FROM bench_writes WHERE tbl = 'apps'),
           (SELECT count(*) FROM bench_writes WHERE tbl = 'memories' AND key::bigint > 100000000),
           (SELECT count(*) FROM bench_writes WHERE tbl = 'memories' AND key::bigint <= 100000000),
           (SELECT count(*) FROM last l WHERE tbl = 'apps' AND NOT EXISTS (SELECT FROM apps a WHERE a.id::text = lower(l.value))),
           (SELECT count(*) FROM last l LEFT JOIN memories m ON m.id = l.key::bigint
              WHERE l.tbl = 'memories' AND m.app_id::text IS DISTINCT FROM lower(l.value)),
           (SELECT count(*) FROM apps_copy c WHERE NOT EXISTS (SELECT FROM apps a WHERE a.id = c.id)),
           (SELECT count(*) FROM memories_copy c LEFT JOIN memories m USING (id)
              WHERE m.id IS NULL OR (m.app_id IS DISTINCT FROM c.app_id AND c.id NOT IN (SELECT id FROM touched))),
           (SELECT count(*) FROM apps) - $rows - (SELECT count(*) FROM bench_writes WHERE tbl = 'apps'),
           (SELECT count(*) FROM memories) - $rows - (SELECT count(*) FROM bench_writes WHERE tbl = 'memories' AND key::bigint > 100000000)"
  local -a f=("${figures[@]}")
  expect_none "$r" "${f[3]}" "apps the writer inserted are missing" \
    "${f[4]}" "memories the writer wrote are missing or hold another value than the one written last" \
    "${f[5]}" "apps of the copy are missing" "${f[6]}" "memories the writer did not touch differ from the copy" \
    "${f[7]}" "apps more (less, if negative) than the copy's and the writer's: the counts do not add up" \
    "${f[8]}" "memories more (less, if negative) than the copy's and the writer's: the counts do not add up"
  writer_lines+=("round $r: ${f[0]} writer transactions committed (each: 1 app and 1 memory inserted, 1 memory re-pointed, 1 app renamed), all present and right (uuid = the text written last, lower-cased); $writer_took")
}

main() {
  type_change_setup
  write_plan

  load "$dbname" "$rows rows into apps and memories, and their copies" scripts/bench/normalize-uuid-data.sql -v rows="$rows"
  echo "bench:   tables apps $(bytes_text "$(sql "$dbname" -At -c "SELECT pg_total_relation_size('apps')")")," \
       "memories $(bytes_text "$(sql "$dbname" -At -c "SELECT pg_total_relation_size('memories')")") on disk" \
       "(pg_total_relation_size); the copies the same"

  compare_rounds "$bench_name"
  if [[ $method == online ]]; then report_online "apps and memories"; fi
}

main "$@"
