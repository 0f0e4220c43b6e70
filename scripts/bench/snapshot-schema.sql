-- scripts/bench/snapshot.sh: the schema benchmark's database. Run with psql -v tables=N.
-- N tables (bench_t1 .. bench_tN), each with 9 columns of mixed types, a primary key, two
-- secondary indexes, a foreign key to another generated table and a check constraint.
-- One DO block, so one transaction (the server runs with max_locks_per_transaction raised).
\set ON_ERROR_STOP on
SET bench.tables = :'tables';
DO $$
DECLARE
  n int := current_setting('bench.tables')::int;
  tbl text;
  parent text;
BEGIN
  FOR i IN 1..n LOOP
    tbl := 'bench_t' || i;
    -- Table 1 references itself; table i references an earlier table, spread over all of them.
    parent := 'bench_t' || CASE WHEN i = 1 THEN 1 ELSE 1 + (i * 7919) % (i - 1) END;
    EXECUTE format($f$
      CREATE TABLE %1$I (
        id          integer PRIMARY KEY,
        parent_id   integer REFERENCES %2$I (id) ON DELETE SET NULL,
        code        varchar(%3$s) NOT NULL,
        name        text,
        amount      numeric(12,2) NOT NULL DEFAULT 0,
        active      boolean NOT NULL DEFAULT true,
        external_id uuid,
        attrs       jsonb,
        created_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT %4$I CHECK (amount >= 0 AND length(code) > 0)
      )$f$, tbl, parent, 16 + i % 48, tbl || '_amount_check');
    EXECUTE format('CREATE INDEX %I ON %I (parent_id)', tbl || '_parent_idx', tbl);
    EXECUTE format('CREATE INDEX %I ON %I (code, created_at DESC)', tbl || '_code_created_idx', tbl);
  END LOOP;
END
$$;
-- Fresh statistics on the catalogs (autovacuum is off in the benchmark cluster).
VACUUM ANALYZE;
CHECKPOINT;
