-- scripts/bench/normalize-uuid.sh: the normalize_uuid benchmark's tables, (re)created before
-- every round. Run with psql -v rows=N. Two identical pairs: apps and memories (for pgmend),
-- apps_copy and memories_copy (for the hand-written ALTERs). apps: N rows, id text primary key
-- holding md5(...)::uuid::text (lower-case UUID text, as the demo's apps.id), name. memories: N
-- rows, bigint id, app_id text referencing apps.id (every app referenced once), content,
-- indexed on app_id. Deterministic. Also drops pgmend's journal schema, so every round's run
-- creates it again, as a first run on a database does.
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS memories, apps, memories_copy, apps_copy;
DROP SCHEMA IF EXISTS pgmend CASCADE;
CREATE TABLE apps (id text NOT NULL, name text NOT NULL);
INSERT INTO apps SELECT md5('app-' || g)::uuid::text, 'app ' || g FROM generate_series(1, :rows) g;
CREATE TABLE memories (id bigint NOT NULL, app_id text, content text NOT NULL);
INSERT INTO memories SELECT g, md5('app-' || g)::uuid::text, 'memory ' || g || ' ' || md5(g::text) FROM generate_series(1, :rows) g;
CREATE TABLE apps_copy (LIKE apps INCLUDING ALL);
INSERT INTO apps_copy SELECT * FROM apps;
CREATE TABLE memories_copy (LIKE memories INCLUDING ALL);
INSERT INTO memories_copy SELECT * FROM memories;
ALTER TABLE apps ADD PRIMARY KEY (id);
ALTER TABLE apps_copy ADD PRIMARY KEY (id);
ALTER TABLE memories ADD PRIMARY KEY (id);
ALTER TABLE memories_copy ADD PRIMARY KEY (id);
ALTER TABLE memories ADD CONSTRAINT memories_app_id_fkey FOREIGN KEY (app_id) REFERENCES apps (id);
ALTER TABLE memories_copy ADD CONSTRAINT memories_copy_app_id_fkey FOREIGN KEY (app_id) REFERENCES apps_copy (id);
CREATE INDEX memories_app_id_idx ON memories (app_id);
CREATE INDEX memories_copy_app_id_idx ON memories_copy (app_id);
VACUUM (FREEZE, ANALYZE) apps, memories, apps_copy, memories_copy;
CHECKPOINT;
