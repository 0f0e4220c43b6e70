-- scripts/bench/normalize-timestamps.sh: the normalize_timestamps benchmark's tables,
-- (re)created before every round. Run with psql -v rows=N -v zone=ZONE (the assumed zone: the
-- defaults are its wall clock, as the seed application's timezone('utc', now())). Two
-- identical pairs: memories and access_logs (for pgmend), memories_copy and access_logs_copy
-- (for the hand-written ALTERs). memories: N rows, bigint id, created_at timestamp NOT NULL
-- DEFAULT timezone(zone, now()), indexed, 17 s apart from 2024-01-01 (so across both of 2024's
-- daylight-saving changes, the hour that does not exist and the one that happens twice),
-- updated_at timestamp (NULL every tenth row, with microseconds otherwise), content.
-- access_logs: N rows, bigint id, memory_id referencing memories (spread over them),
-- accessed_at timestamp NOT NULL DEFAULT timezone(zone, now()). Deterministic. Also drops
-- pgmend's journal schema, so every round's run creates it again, as a first run does.
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS access_logs, memories, access_logs_copy, memories_copy;
DROP SCHEMA IF EXISTS pgmend CASCADE;
CREATE TABLE memories (
  id bigint NOT NULL,
  created_at timestamp without time zone NOT NULL DEFAULT timezone(:'zone', now()),
  updated_at timestamp without time zone,
  content text NOT NULL
);
INSERT INTO memories
SELECT g, timestamp '2024-01-01' + g * interval '17 seconds',
       CASE WHEN g % 10 <> 0 THEN timestamp '2024-01-01' + g * interval '17 seconds' + (g % 1000) * interval '1.000001 minutes' END,
       'memory ' || g || ' ' || md5(g::text)
FROM generate_series(1, :rows) g;
CREATE TABLE access_logs (
  id bigint NOT NULL,
  memory_id bigint NOT NULL,
  accessed_at timestamp without time zone NOT NULL DEFAULT timezone(:'zone', now())
);
INSERT INTO access_logs SELECT g, 1 + (g::bigint * 7919) % :rows, timestamp '2024-06-30 12:00' - g * interval '13.25 seconds' FROM generate_series(1, :rows) g;
-- The copies, then the keys and the index, the same on both pairs (suffix '' and '_copy').
SELECT format('CREATE TABLE %1$I (LIKE %2$I INCLUDING ALL)', t || '_copy', t), format('INSERT INTO %1$I SELECT * FROM %2$I', t || '_copy', t)
FROM unnest(ARRAY['memories', 'access_logs']) AS t \gexec
SELECT format('ALTER TABLE %I ADD PRIMARY KEY (id)', 'memories' || s),
       format('ALTER TABLE %I ADD PRIMARY KEY (id)', 'access_logs' || s),
       format('ALTER TABLE %1$I ADD CONSTRAINT %3$I FOREIGN KEY (memory_id) REFERENCES %2$I (id)', 'access_logs' || s, 'memories' || s, 'access_logs' || s || '_memory_id_fkey'),
       format('CREATE INDEX %1$I ON %2$I (created_at)', 'memories' || s || '_created_at_idx', 'memories' || s)
FROM (VALUES (''), ('_copy')) AS suffix (s) \gexec
-- For BENCH_WRITER=1 (empty otherwise): the writer's log and the keys of the rows it inserts,
-- above any key of the tables (the script requires BENCH_ROWS < 100000000).
DROP TABLE IF EXISTS bench_writes;
DROP SEQUENCE IF EXISTS bench_writer_memory, bench_writer_log;
CREATE TABLE bench_writes (seq bigserial PRIMARY KEY, tbl text NOT NULL, key bigint NOT NULL, col text NOT NULL, expected timestamptz, took interval);
CREATE SEQUENCE bench_writer_memory START 100000001;
CREATE SEQUENCE bench_writer_log START 100000001;
VACUUM (FREEZE, ANALYZE) memories, access_logs, memories_copy, access_logs_copy;
CHECKPOINT;
