-- scripts/bench/extract-json.sh: the extract_json_fields benchmark's tables, (re)created before
-- every round. Run with psql -v rows=N. Two identical tables, users (for pgmend) and users_copy
-- (for the plain UPDATE), of N rows: uuid-free bigint id (primary key), email, created_at and
-- metadata jsonb with the seed's five phone keys as the demo writes them (i % 10 = 0: no phone
-- keys; i % 10 = 1: phone_number and sms_enabled only; else all five, phone_verified_at JSON
-- null when phone_verified is false), every phone number unique and clean. Deterministic.
-- Also drops pgmend's journal schema, so every round's run creates it again.
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS users, users_copy;
DROP SCHEMA IF EXISTS pgmend CASCADE;
CREATE TABLE users (
  id         bigint NOT NULL,
  email      text NOT NULL,
  created_at timestamp without time zone NOT NULL,
  metadata   jsonb DEFAULT '{}'::jsonb
);
INSERT INTO users (id, email, created_at, metadata)
SELECT i, 'user' || i || '@example.com', timestamp '2025-01-01' + i * interval '1 minute',
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
CREATE TABLE users_copy (LIKE users INCLUDING ALL);
INSERT INTO users_copy SELECT * FROM users;
ALTER TABLE users ADD PRIMARY KEY (id);
ALTER TABLE users_copy ADD PRIMARY KEY (id);
VACUUM (FREEZE, ANALYZE) users, users_copy;
CHECKPOINT;
