-- scripts/bench/snapshot.sh: the data benchmark's database. Run with psql -v rows=N.
-- One table, big, of N rows: bigint id (primary key), text, timestamptz, numeric, jsonb.
\set ON_ERROR_STOP on
CREATE TABLE big (
  id         bigint NOT NULL,
  label      text NOT NULL,
  created_at timestamptz NOT NULL,
  amount     numeric(12,2),
  attrs      jsonb
);
INSERT INTO big (id, label, created_at, amount, attrs)
SELECT g,
       'item ' || md5(g::text),
       timestamptz '2020-01-01 00:00:00+00' + g * interval '37 seconds',
       CASE WHEN g % 10 = 0 THEN NULL ELSE (g % 1000003) / 100.0 END,
       jsonb_build_object('n', g, 'kind', g % 7, 'tag', 'k' || g % 13, 'ok', g % 2 = 0)
FROM generate_series(1, :rows) AS g;
ALTER TABLE big ADD PRIMARY KEY (id);
-- Hint bits set, visibility map and statistics current, nothing left for a checkpoint to
-- flush while the benchmark times reads.
VACUUM (FREEZE, ANALYZE) big;
CHECKPOINT;
