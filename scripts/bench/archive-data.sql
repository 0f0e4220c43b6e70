-- scripts/bench/archive.sh: the archive benchmark's database. Run with psql -v rows=N.
-- One table, big, of N rows, about 300 bytes of COPY text each (~300 MB at 1,000,000 rows):
-- bigint id (primary key), uuid, two text columns of ~90 characters, timestamptz, numeric,
-- jsonb. Deterministic: every value is a function of the row number.
\set ON_ERROR_STOP on
CREATE TABLE big (
  id         bigint NOT NULL,
  ref        uuid NOT NULL,
  title      text NOT NULL,
  body       text NOT NULL,
  created_at timestamptz NOT NULL,
  amount     numeric(12,2),
  attrs      jsonb
);
INSERT INTO big (id, ref, title, body, created_at, amount, attrs)
SELECT g,
       md5('ref' || g)::uuid,
       left(repeat(md5(g::text) || ' ', 3), 90),
       md5('body' || g) || ' ' || repeat(substr(md5(g::text), 9, 8), 7),
       timestamptz '2020-01-01 00:00:00+00' + g * interval '37 seconds',
       CASE WHEN g % 10 = 0 THEN NULL ELSE (g % 1000003) / 100.0 END,
       jsonb_build_object('n', g, 'kind', g % 7, 'tag', 'k' || g % 13)
FROM generate_series(1, :rows) AS g;
ALTER TABLE big ADD PRIMARY KEY (id);
-- Hint bits set, visibility map and statistics current, nothing left for a checkpoint to
-- flush while the benchmark times reads.
VACUUM (FREEZE, ANALYZE) big;
CHECKPOINT;
