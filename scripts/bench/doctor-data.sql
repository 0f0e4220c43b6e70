-- scripts/bench/doctor.sh: the sampled-read benchmark's database. Run with psql -v rows=N.
-- One table of N rows shaped like the seeds' users: a uuid key, a varchar holding UUIDs, a
-- free-text status of four labels (and a dirty variant), a naive timestamp, and a jsonb
-- metadata column whose phone keys doctor's json_fields check reads. Deterministic.
\set ON_ERROR_STOP on
CREATE TABLE accounts (
  id          bigint NOT NULL,
  owner_id    varchar(36) NOT NULL,
  status      varchar(20) NOT NULL,
  created_at  timestamp without time zone NOT NULL DEFAULT timezone('utc', now()),
  metadata    jsonb
);
INSERT INTO accounts (id, owner_id, status, created_at, metadata)
SELECT g,
       md5('owner' || g % 100000)::uuid::text,
       CASE WHEN g % 100000 = 7 THEN 'ACTIVE' ELSE (ARRAY['active', 'paused', 'closed', 'pending'])[1 + g % 4] END,
       timestamp '2020-01-01 00:00:00' + g * interval '7 seconds',
       CASE WHEN g % 10 = 0 THEN '{}'::jsonb
            ELSE jsonb_build_object('phone_number', '+1555' || lpad(g::text, 8, '0'),
                                    'phone_verified', g % 3 <> 0,
                                    'sms_enabled', g % 7 <> 0,
                                    'theme', CASE WHEN g % 2 = 0 THEN 'light' ELSE 'dark' END) END
FROM generate_series(1, :rows) AS g;
ALTER TABLE accounts ADD PRIMARY KEY (id);
VACUUM (FREEZE, ANALYZE) accounts;
CHECKPOINT;
