-- scripts/bench/app-impact.sh: the application-impact benchmark's table, (re)created before
-- every round. Run with psql -v rows=N. One table, users, of N rows shaped like the seed
-- application's: bigint id (primary key), email, sync_status (backfill-data.sql's values by
-- id % 20: 70% need lower(trim(...))), login_count (the column the application's pgbench script
-- updates, which no step touches), created_at and updated_at timestamp without time zone (the
-- seed's naive UTC times; updated_at NULL every tenth row), metadata jsonb with the seed's five
-- phone keys (extract-json-data.sql's values: every phone number unique and clean).
-- Deterministic. Also drops pgmend's journal schema, so every round's run creates it again.
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS users;
DROP SCHEMA IF EXISTS pgmend CASCADE;
CREATE TABLE users (
  id          bigint NOT NULL,
  email       text NOT NULL,
  sync_status text,
  login_count integer NOT NULL DEFAULT 0,
  created_at  timestamp without time zone NOT NULL DEFAULT timezone('utc', now()),
  updated_at  timestamp without time zone,
  metadata    jsonb DEFAULT '{}'::jsonb
);
INSERT INTO users (id, email, sync_status, login_count, created_at, updated_at, metadata)
SELECT i, 'user' || i || '@example.com',
       (ARRAY['synced', 'synced', 'synced', 'synced', 'failed', NULL,
              ' SYNCED', ' SYNCED', ' SYNCED', ' SYNCED', 'Failed ', 'Failed ', 'Failed ',
              'In-Progress', 'In-Progress', 'In-Progress', '  pending  ', '  pending  ',
              'SYNCED', 'SYNCED'])[i % 20 + 1],
       i % 50,
       timestamp '2025-01-01' + i * interval '1 minute',
       CASE WHEN i % 10 <> 0 THEN timestamp '2025-01-01' + i * interval '1 minute' + (i % 1000) * interval '1.000001 minutes' END,
       CASE WHEN i % 10 = 0 THEN jsonb_build_object('onboarding_complete', true, 'theme', 'dark')
            WHEN i % 10 = 1 THEN jsonb_build_object('onboarding_complete', true, 'phone_number', '+1555' || lpad(i::text, 8, '0'), 'sms_enabled', true)
            ELSE jsonb_build_object(
              'onboarding_complete', i % 3 <> 0,
              'theme', CASE WHEN i % 2 = 0 THEN 'light' ELSE 'dark' END,
              'phone_number', '+1555' || lpad(i::text, 8, '0'),
              'phone_verified', i % 3 <> 0,
              'phone_verification_attempts', i % 4,
              'phone_verified_at', CASE WHEN i % 3 <> 0 THEN to_char(timestamp '2025-01-01' + i * interval '37 minutes', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END,
              'sms_enabled', i % 7 <> 0)
       END
FROM generate_series(1, :rows) AS i;
ALTER TABLE users ADD PRIMARY KEY (id);
-- Hint bits set, visibility map and statistics current, nothing left for a checkpoint to
-- flush while the application is measured.
VACUUM (FREEZE, ANALYZE) users;
CHECKPOINT;
