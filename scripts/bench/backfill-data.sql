-- scripts/bench/backfill.sh: the backfill benchmark's tables, (re)created before every round.
-- Run with psql -v rows=N. Two identical tables, apps (for pgmend) and apps_copy (for the plain
-- UPDATE), of N rows, ~120 bytes each: bigint id (primary key), name, sync_status, note.
-- sync_status, by id % 20, interleaved so every batch meets clean rows as well as dirty ones:
--   0-3 'synced', 4 'failed', 5 NULL                clean: 30% (NULL never matches `<>`)
--   6-9 ' SYNCED', 10-12 'Failed ', 13-15 'In-Progress', 16-17 '  pending  ', 18-19 'SYNCED'
--                                                   need lower(trim(...)): 70%
-- Deterministic: every value is a function of the row number. Also drops pgmend's journal
-- schema, so every round's run creates it again, as a first run on a database does.
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS apps, apps_copy;
DROP SCHEMA IF EXISTS pgmend CASCADE;
CREATE TABLE apps (
  id          bigint NOT NULL,
  name        text NOT NULL,
  sync_status text,
  note        text
);
INSERT INTO apps (id, name, sync_status, note)
SELECT g,
       'app-' || g,
       (ARRAY['synced', 'synced', 'synced', 'synced', 'failed', NULL,
              ' SYNCED', ' SYNCED', ' SYNCED', ' SYNCED', 'Failed ', 'Failed ', 'Failed ',
              'In-Progress', 'In-Progress', 'In-Progress', '  pending  ', '  pending  ',
              'SYNCED', 'SYNCED'])[g % 20 + 1],
       md5(g::text) || ' ' || md5('note' || g)
FROM generate_series(1, :rows) AS g;
CREATE TABLE apps_copy (LIKE apps INCLUDING ALL);
INSERT INTO apps_copy SELECT * FROM apps;
ALTER TABLE apps ADD PRIMARY KEY (id);
ALTER TABLE apps_copy ADD PRIMARY KEY (id);
-- Hint bits set, visibility map and statistics current, nothing left for a checkpoint to
-- flush while a command is timed.
VACUUM (FREEZE, ANALYZE) apps, apps_copy;
CHECKPOINT;
