-- =============================================================================
-- pgmend demo database: "drifted.sql"
-- =============================================================================
--
-- A deliberately drifted PostgreSQL schema plus deterministic data. It merges
-- two real-world schema reviews (/work/shared/seeds/000_*.txt: an OpenMemory-
-- style app with users / api_keys / apps / memories, and 001_*.txt: a coaching
-- app with goals / checkins / wheel of life) into one database so that pgmend
-- repair plans have real problems to fix.
--
-- Load into an EMPTY database:
--   psql -v ON_ERROR_STOP=1 -v users=1000 -h HOST -d demo -f Plans/demo/drifted.sql
--
--   users  size parameter, default 1000, minimum 50 (every planted bad row
--          below sits at a user index <= 50, so it exists at any legal size).
--
-- The whole load is one transaction. Data is fully deterministic: no random(),
-- no now() for data values, UUIDs are md5('<kind>-<n>')::uuid. Loading twice
-- into two empty databases gives byte-identical `pg_dump` output.
--
-- Naming: "user i" (U<i>) means users.id = md5('user-' || i)::uuid, i = 1..users.
--
-- Row counts (N = users; exact figures for N = 1000 in brackets):
--   users N [1000], api_keys N + N/5 [1200], apps N + N/4 [1250],
--   memories 5N [5000], memory_access_logs 6.25N [6250],
--   memory_status_history ~1.5N [1488], documents N/10 [100],
--   document_chunks 4 * N/10 [400], user_integrations ~0.48N [475],
--   user_integrations_backup ~0.3N [298], memories_backup_66d3d5d1 2N [2000],
--   sms_conversations 0.6N [600], conversations 0.25N [250],
--   milestones ~N/3 [334], tasks N [1000], pattern_tracking 0.2N [200],
--   calendar N [1000], backburner 0.2N [200], wheel 0.8N [800],
--   work_sessions 0.5N [500], claude_code_sessions 36 and
--   claude_code_agents 108 (fixed, independent of N).
--
-- Determinism check: pg_dump >= 15.14 / 16.10 / 17.6 writes a random
-- \restrict token, so compare dumps made with a fixed key, e.g.
--   pg_dump --no-owner --restrict-key=pgmenddemo -d demo
--
-- -----------------------------------------------------------------------------
-- PLANTED SCHEMA PROBLEMS
-- -----------------------------------------------------------------------------
-- Seed 000 (users / api_keys / apps / memories):
--  P1  users: phone/SMS data lives in users.metadata JSON (keys phone_number,
--      phone_verified, phone_verification_attempts, phone_verified_at,
--      sms_enabled) instead of columns. Only users.phone_number varchar(20)
--      exists (half-applied migration 6a4b2e8f5c91): no unique constraint, no
--      index, NULL for almost every row. phone_verified, phone_verification_
--      attempts, phone_verified_at, sms_enabled columns do not exist.
--      Metadata coverage: i % 10 = 0 -> no phone keys at all;
--                         i % 10 = 1 -> only phone_number + sms_enabled;
--                         otherwise  -> all five keys (phone_verified_at is JSON
--                                       null when phone_verified is false).
--      Normal metadata phone_number = '+1555' || lpad(i, 7, '0') (12 chars).
--  P2  users.subscription_tier is a free varchar(10) (values mostly 'free',
--      'pro', 'enterprise'); an unused enum type "subscriptiontier"
--      ('FREE','PRO','ENTERPRISE' - SQLAlchemy-style upper-case labels) is
--      left over from migration 3d72586d0607 and used by no column.
--  P3  Inconsistent timestamp types: users.created_at is timestamp WITHOUT
--      time zone while users.updated_at is timestamptz; api_keys, apps,
--      memories, memory_status_history, memory_access_logs,
--      user_integrations*, claude_code_agents, calendar, backburner, wheel,
--      work_sessions use timestamp without time zone; the rest use timestamptz.
--  P4  Inconsistent UUID storage: api_keys.user_id varchar(36) (UUID text of
--      users.id, NO foreign key); apps.id varchar(36); memories.app_id
--      varchar(36) FK -> apps.id and memory_access_logs.app_id varchar(36)
--      FK -> apps.id (a varchar FK group that a uuid normalisation must convert
--      together); user_integrations.id text PK and user_integrations.user_id
--      varchar(36) (no FK); the backup tables copy the same.
--  P5  api_keys duplicate / redundant indexes: ix_api_keys_user_id and
--      idx_apikey_user_id are both btree (user_id) (exact duplicates), and
--      api_keys_user_id_created_at_idx (user_id, created_at) makes both of
--      them left-prefix redundant.
--  P6  apps.sync_status is a free varchar(20) (no enum, no CHECK); mostly
--      'synced' / 'pending' / 'failed'; sync_error is unbounded text.
--      Owner column is apps.owner_id while every other table says user_id.
--  P7  memories.vector is text (a JSON-ish "[0.123,...]" string, no pgvector);
--      memories.state is free varchar(20); memories.user_id FK -> users has no
--      ON DELETE CASCADE; indexes idx_memories_user_id (user_id) and
--      idx_memories_user_id_created_at (user_id, created_at) -> the first is
--      left-prefix redundant.
--  P8  memory_status_history.memory_id and memory_access_logs.memory_id are FKs
--      to memories WITHOUT ON DELETE CASCADE (deleting a memory fails).
--      documents / document_chunks are the good example: document_chunks.
--      document_id FK ON DELETE CASCADE, metadata jsonb, embedding is
--      double precision[] (not pgvector).
--  P9  Leftover backup tables with data: user_integrations_backup (same columns
--      as user_integrations, no PK, no constraints, contains exact duplicate
--      rows and rows for integrations that no longer exist) and
--      memories_backup_66d3d5d1 (copy of the first 2N memories, no
--      constraints at all, some content differs from memories).
--  P10 Orphan tables without application models: claude_code_sessions and
--      claude_code_agents (agents.session_id FK ON DELETE CASCADE).
--  P11 sms_conversations is the GOOD example: role uses enum type sms_role
--      ('user','assistant','system'), FK with cascade, sensible indexes.
--  P12 Missing CHECK constraints everywhere (apps.sync_status,
--      users.subscription_tier, memories.state, tasks.status, tasks.priority,
--      work_sessions ratings, ...). Only users.firstname/lastname have length
--      CHECKs.
--
-- Seed 001 (goals / checkins / wheel):
--  P13 Wrongly named tables with wrong columns (from the incomplete migration
--      001):  calendar   (model wants calendar_events: external_id, title,
--                         description, location, start_time, end_time, all_day,
--                         calendar_source, synced_at; here: event_id, summary,
--                         start_at, end_at timestamp, raw jsonb)
--             backburner (model wants backburner_items with context_tags text[],
--                         reason, resurfaced_at, activated_at; here: item text,
--                         tags comma-separated text)
--             wheel      (model wants wheel_categories + wheel_scores; here one
--                         table mixing category name and score per row)
--  P14 work_sessions exists with WRONG columns: has an old "notes" column, lacks
--      energy_at_start, focus_at_start, strategy_used, switched_task,
--      reason_for_switching, effectiveness_rating; timestamps without tz;
--      task_id FK -> tasks has no ON DELETE SET NULL.
--  P15 Missing tables (must NOT exist): goals, checkins, metrics,
--      conversation_embeddings, wheel_categories, wheel_scores,
--      calendar_events, backburner_items.
--      Existing FK targets: conversations (user_id FK users), milestones,
--      tasks, plus pattern_tracking. milestones.goal_id is a uuid column with
--      NO FK (goals is missing); it is NULL in every row.
--  P16 tasks.status is a free varchar(20) (intended: 'todo', 'in_progress',
--      'done', 'cancelled'); tasks.priority integer without CHECK (intended
--      1..5).
--
-- -----------------------------------------------------------------------------
-- PLANTED DATA PROBLEMS (bad values; fixed keys, present at every size)
-- -----------------------------------------------------------------------------
--  users.phone_number COLUMN is set only for U21..U32 (12 rows), equal to the
--  metadata value except:
--   D1  column/metadata CONFLICTS (column = '+1555999' || lpad(i, 4, '0')):
--         U23 65aa74dd-0189-23af-1461-5ba8e8a35b0b  col '+15559990023' vs meta '+15550000023'
--         U27 ca20996b-e248-d807-5f0a-21a6bb54c333  col '+15559990027' vs meta '+15550000027'
--         U31 3289f079-a59d-e711-e279-0f8c8d8e65c9  col '+15559990031' vs meta '+15550000031'
--   D2  column only, no phone keys in metadata:
--         U30 8326dcfc-4535-76ab-dcc8-2a88c7303333  col '+15550000030'
--  users.metadata (would break a migration to typed / unique columns):
--   D3  duplicate metadata phone_number (unique constraint would fail):
--         U44 b7bba9bd-a759-6596-ddc5-f2b1b66a92c6  '+15550000004' (same as U4 24b299d7-67a9-79b1-ef4b-2e634067c8ad)
--         U45 cc912de8-5a57-3961-2627-c9ac6cd06df4  '+15550000005' (same as U5 39201609-d980-3efb-38f4-1f440309a429)
--   D4  non-boolean phone_verified:
--         U46 d8f68423-ee95-128e-b870-e6a1eb484001  "yes-ish"
--         U47 659636f0-008e-11db-d77c-33779fc925a1  "maybe"
--   D5  non-integer phone_verification_attempts:
--         U48 2dd33dff-0a0f-5b8e-e610-d0764b4ae49f  "three"
--   D6  phone_verified_at not a timestamp:
--         U49 bc8435b4-a192-222c-d55a-1f39e4ebb9c2  "last tuesday"
--   D7  phone_number longer than varchar(20):
--         U38 dd261e04-3c0c-c9fb-45af-ac85e01182be  "+1 (555) 000-0038 ext. 4411" (27 chars)
--  users.subscription_tier outside 'free'/'pro'/'enterprise':
--   D8    U33 169066d1-4f4c-f996-9246-752240297e79  'Pro'
--         U34 4445b069-56a0-ec47-a272-456a5a955c1f  'premium'
--  api_keys.user_id (varchar UUID column, no FK):
--   D9    api_keys.id = 7  user_id 'legacy-admin'  (not a UUID; cast fails)
--   D10   api_keys.id = 8  user_id 'b8b22e11-6972-72e4-a525-01b4341f811b'
--                          (valid UUID text = md5('user-deleted-8'), no such
--                          user; adding an FK fails)
--  apps.sync_status dirty values (apps.id = md5('app-' || j)::uuid::text):
--   D11   j=3  ace82018-0cdb-aa3f-ac99-ac4d2cc0d36b  'SYNCED'
--         j=5  8440a8a2-aa0f-88be-9509-f1edcdbe7b44  'unknown '  (trailing space)
--         j=12 62e8f294-c4a0-4754-e6e3-4590cb20754c  'Failed'
--         j=16 ddf7b0ef-eac6-6070-344c-df888cf3f1e9  'in-progress'
--  tasks (tasks.id = md5('task-<user i>-<t>')::uuid):
--   D12   task-2-1 e56514a6-eb38-9221-ae95-a7f50b224496  status 'DONE'
--         task-4-2 2848f0b3-f29e-77af-86c8-d49366a2f8f2  status 'in progress'
--   D13   task-6-1 de02d96b-01fb-cb16-4d7c-7ca282b7cfa6  priority 9 (intended 1..5)
--  user_integrations_backup: exact duplicate rows for every user i <= N/2 with
--   D14 i % 30 = 0 and provider 'google_calendar'; extra 'notion' rows
--       (i % 11 = 0, i <= N/2) whose ids are absent from user_integrations.
--  Everything else is clean: every other metadata phone_number is unique and
--  <= 20 chars, every other UUID text is a valid lower-case UUID that matches
--  its parent row.
-- =============================================================================

\set ON_ERROR_STOP 1

\if :{?users}
\else
  \set users 1000
\endif

-- Validate the size parameter without casting (a bad value must not load).
SELECT (:'users' ~ '^[0-9]{1,7}$')
       AND (lpad(:'users', 7, '0') COLLATE "C" >= '0000050') AS users_ok \gset
\if :users_ok
\else
  \echo 'drifted.sql: -v users=N must be an integer between 50 and 9999999'
  DO $$ BEGIN RAISE EXCEPTION 'drifted.sql: invalid users parameter'; END $$;
\endif

BEGIN;

SET LOCAL search_path = public;
SET LOCAL TimeZone = 'UTC';
SET LOCAL DateStyle = 'ISO, MDY';
SET LOCAL client_min_messages = warning;
SET LOCAL synchronize_seqscans = off;

-- -----------------------------------------------------------------------------
-- Types
-- -----------------------------------------------------------------------------

-- P2: left over from migration 3d72586d0607, used by no column.
CREATE TYPE public.subscriptiontier AS ENUM ('FREE', 'PRO', 'ENTERPRISE');

-- P11: the good example.
CREATE TYPE public.sms_role AS ENUM ('user', 'assistant', 'system');

-- -----------------------------------------------------------------------------
-- Seed 000 schema
-- -----------------------------------------------------------------------------

CREATE TABLE public.users (
    id                uuid         NOT NULL,
    email             varchar(255) NOT NULL,
    firstname         varchar(100),
    lastname          varchar(100),
    subscription_tier varchar(10)  DEFAULT 'free',
    metadata          jsonb        DEFAULT '{}'::jsonb,
    created_at        timestamp without time zone NOT NULL DEFAULT now(),
    updated_at        timestamptz,
    phone_number      varchar(20),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_firstname_length CHECK (char_length(firstname) <= 100),
    CONSTRAINT users_lastname_length CHECK (char_length(lastname) <= 100)
);
CREATE INDEX ix_users_created_at ON public.users (created_at);

CREATE TABLE public.api_keys (
    id           bigserial    NOT NULL,
    user_id      varchar(36)  NOT NULL,
    name         varchar(100),
    key_prefix   varchar(12)  NOT NULL,
    key_hash     varchar(64)  NOT NULL,
    is_active    boolean      DEFAULT true,
    last_used_at timestamp without time zone,
    created_at   timestamp without time zone NOT NULL DEFAULT now(),
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX ix_api_keys_user_id ON public.api_keys (user_id);
CREATE INDEX idx_apikey_user_id ON public.api_keys (user_id);
CREATE INDEX api_keys_user_id_created_at_idx ON public.api_keys (user_id, created_at);

CREATE TABLE public.apps (
    id          varchar(36)  NOT NULL,
    owner_id    uuid         NOT NULL,
    name        varchar(255) NOT NULL,
    description text,
    metadata    jsonb        DEFAULT '{}'::jsonb,
    is_active   boolean      DEFAULT true,
    sync_status varchar(20)  DEFAULT 'pending',
    sync_error  text,
    created_at  timestamp without time zone NOT NULL DEFAULT now(),
    updated_at  timestamp without time zone,
    CONSTRAINT apps_pkey PRIMARY KEY (id),
    CONSTRAINT apps_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.users (id),
    CONSTRAINT idx_app_owner_name UNIQUE (owner_id, name)
);

CREATE TABLE public.memories (
    id          uuid         NOT NULL,
    user_id     uuid         NOT NULL,
    app_id      varchar(36)  NOT NULL,
    content     text         NOT NULL,
    vector      text,
    state       varchar(20)  DEFAULT 'active',
    metadata    jsonb        DEFAULT '{}'::jsonb,
    created_at  timestamp without time zone NOT NULL DEFAULT now(),
    updated_at  timestamp without time zone,
    archived_at timestamp without time zone,
    deleted_at  timestamp without time zone,
    CONSTRAINT memories_pkey PRIMARY KEY (id),
    CONSTRAINT memories_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id),
    CONSTRAINT memories_app_id_fkey FOREIGN KEY (app_id) REFERENCES public.apps (id)
);
CREATE INDEX idx_memories_user_id ON public.memories (user_id);
CREATE INDEX idx_memories_user_id_created_at ON public.memories (user_id, created_at);
CREATE INDEX idx_memories_app_id ON public.memories (app_id);
CREATE INDEX idx_memories_state ON public.memories (state);

CREATE TABLE public.memory_status_history (
    id         uuid        NOT NULL,
    memory_id  uuid        NOT NULL,
    changed_by uuid        NOT NULL,
    old_state  varchar(20) NOT NULL,
    new_state  varchar(20) NOT NULL,
    changed_at timestamp without time zone NOT NULL DEFAULT now(),
    CONSTRAINT memory_status_history_pkey PRIMARY KEY (id),
    CONSTRAINT memory_status_history_memory_id_fkey FOREIGN KEY (memory_id) REFERENCES public.memories (id),
    CONSTRAINT memory_status_history_changed_by_fkey FOREIGN KEY (changed_by) REFERENCES public.users (id)
);
CREATE INDEX idx_history_memory_state ON public.memory_status_history (memory_id, new_state);

CREATE TABLE public.memory_access_logs (
    id          uuid        NOT NULL,
    memory_id   uuid        NOT NULL,
    app_id      varchar(36) NOT NULL,
    accessed_at timestamp without time zone NOT NULL DEFAULT now(),
    access_type varchar(50) NOT NULL,
    metadata    jsonb       DEFAULT '{}'::jsonb,
    CONSTRAINT memory_access_logs_pkey PRIMARY KEY (id),
    CONSTRAINT memory_access_logs_memory_id_fkey FOREIGN KEY (memory_id) REFERENCES public.memories (id),
    CONSTRAINT memory_access_logs_app_id_fkey FOREIGN KEY (app_id) REFERENCES public.apps (id)
);
CREATE INDEX idx_access_memory_time ON public.memory_access_logs (memory_id, accessed_at);
CREATE INDEX idx_access_app_time ON public.memory_access_logs (app_id, accessed_at);

CREATE TABLE public.documents (
    id         uuid         NOT NULL,
    user_id    uuid         NOT NULL,
    title      varchar(255) NOT NULL,
    source     varchar(50),
    metadata   jsonb        DEFAULT '{}'::jsonb,
    created_at timestamptz  NOT NULL DEFAULT now(),
    updated_at timestamptz,
    CONSTRAINT documents_pkey PRIMARY KEY (id),
    CONSTRAINT documents_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) ON DELETE CASCADE
);
CREATE INDEX ix_documents_user_id ON public.documents (user_id);

CREATE TABLE public.document_chunks (
    id          uuid        NOT NULL,
    document_id uuid        NOT NULL,
    chunk_index integer     NOT NULL,
    content     text        NOT NULL,
    metadata    jsonb       DEFAULT '{}'::jsonb,
    embedding   double precision[],
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT document_chunks_pkey PRIMARY KEY (id),
    CONSTRAINT document_chunks_document_id_fkey FOREIGN KEY (document_id) REFERENCES public.documents (id) ON DELETE CASCADE,
    CONSTRAINT document_chunks_document_id_chunk_index_key UNIQUE (document_id, chunk_index)
);

CREATE TABLE public.user_integrations (
    id         text        NOT NULL,
    user_id    varchar(36) NOT NULL,
    provider   varchar(50) NOT NULL,
    settings   jsonb       DEFAULT '{}'::jsonb,
    created_at timestamp without time zone DEFAULT now(),
    CONSTRAINT user_integrations_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_user_integrations_user_id ON public.user_integrations (user_id);

-- P9: leftover copy, no PK, no constraints.
CREATE TABLE public.user_integrations_backup (
    id         text,
    user_id    varchar(36),
    provider   varchar(50),
    settings   jsonb,
    created_at timestamp without time zone
);

-- P9: leftover copy of memories, no constraints at all.
CREATE TABLE public.memories_backup_66d3d5d1 (
    id          uuid,
    user_id     uuid,
    app_id      varchar(36),
    content     text,
    vector      text,
    state       varchar(20),
    metadata    jsonb,
    created_at  timestamp without time zone,
    updated_at  timestamp without time zone,
    archived_at timestamp without time zone,
    deleted_at  timestamp without time zone
);

-- P10: orphan tables created by ad-hoc SQL scripts, no models.
CREATE TABLE public.claude_code_sessions (
    id          uuid        NOT NULL,
    session_key text        NOT NULL,
    status      varchar(20) DEFAULT 'active',
    started_at  timestamptz DEFAULT now(),
    ended_at    timestamptz,
    metadata    jsonb       DEFAULT '{}'::jsonb,
    CONSTRAINT claude_code_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT claude_code_sessions_session_key_key UNIQUE (session_key)
);

CREATE TABLE public.claude_code_agents (
    id         uuid         NOT NULL,
    session_id uuid         NOT NULL,
    name       varchar(100) NOT NULL,
    role       varchar(50),
    status     varchar(20)  DEFAULT 'idle',
    created_at timestamp without time zone DEFAULT now(),
    CONSTRAINT claude_code_agents_pkey PRIMARY KEY (id),
    CONSTRAINT claude_code_agents_session_id_fkey FOREIGN KEY (session_id) REFERENCES public.claude_code_sessions (id) ON DELETE CASCADE
);
CREATE INDEX idx_claude_code_agents_session_id ON public.claude_code_agents (session_id);

-- P11: the good example.
CREATE TABLE public.sms_conversations (
    id                 uuid        NOT NULL,
    user_id            uuid        NOT NULL,
    phone_number       varchar(20) NOT NULL,
    role               public.sms_role NOT NULL,
    content            text        NOT NULL,
    twilio_message_sid varchar(64),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sms_conversations_pkey PRIMARY KEY (id),
    CONSTRAINT sms_conversations_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) ON DELETE CASCADE,
    CONSTRAINT sms_conversations_twilio_message_sid_key UNIQUE (twilio_message_sid)
);
CREATE INDEX ix_sms_conversations_user_id_created_at ON public.sms_conversations (user_id, created_at);
CREATE INDEX ix_sms_conversations_phone_number ON public.sms_conversations (phone_number);

-- -----------------------------------------------------------------------------
-- Seed 001 schema (what the incomplete migration 001 created)
-- -----------------------------------------------------------------------------

CREATE TABLE public.conversations (
    id         uuid         NOT NULL,
    user_id    uuid         NOT NULL,
    title      varchar(200),
    messages   jsonb        DEFAULT '[]'::jsonb,
    summary    text,
    created_at timestamptz  NOT NULL DEFAULT now(),
    updated_at timestamptz,
    CONSTRAINT conversations_pkey PRIMARY KEY (id),
    CONSTRAINT conversations_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) ON DELETE CASCADE
);
CREATE INDEX ix_conversations_user_id ON public.conversations (user_id);

CREATE TABLE public.milestones (
    id           uuid         NOT NULL,
    user_id      uuid         NOT NULL,
    goal_id      uuid,                     -- P15: goals table missing, so no FK
    title        varchar(200) NOT NULL,
    target_date  date,
    completed    boolean      DEFAULT false,
    completed_at timestamptz,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT milestones_pkey PRIMARY KEY (id),
    CONSTRAINT milestones_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) ON DELETE CASCADE
);

CREATE TABLE public.tasks (
    id           uuid         NOT NULL,
    user_id      uuid         NOT NULL,
    milestone_id uuid,
    title        varchar(200) NOT NULL,
    description  text,
    status       varchar(20)  DEFAULT 'todo',
    priority     integer      DEFAULT 3,
    due_date     date,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CONSTRAINT tasks_pkey PRIMARY KEY (id),
    CONSTRAINT tasks_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) ON DELETE CASCADE,
    CONSTRAINT tasks_milestone_id_fkey FOREIGN KEY (milestone_id) REFERENCES public.milestones (id) ON DELETE SET NULL
);
CREATE INDEX ix_tasks_user_id ON public.tasks (user_id);

CREATE TABLE public.pattern_tracking (
    id                uuid        NOT NULL,
    user_id           uuid        NOT NULL,
    pattern_type      varchar(50) NOT NULL,
    description       text,
    confidence        double precision,
    evidence          jsonb       DEFAULT '[]'::jsonb,
    occurrence_count  integer     DEFAULT 1,
    first_observed_at timestamptz,
    last_observed_at  timestamptz,
    CONSTRAINT pattern_tracking_pkey PRIMARY KEY (id),
    CONSTRAINT pattern_tracking_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) ON DELETE CASCADE
);

-- P13: should be calendar_events.
CREATE TABLE public.calendar (
    id       uuid         NOT NULL,
    user_id  uuid         NOT NULL,
    event_id varchar(255),
    summary  varchar(255),
    start_at timestamp without time zone,
    end_at   timestamp without time zone,
    raw      jsonb,
    CONSTRAINT calendar_pkey PRIMARY KEY (id),
    CONSTRAINT calendar_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id)
);

-- P13: should be backburner_items.
CREATE TABLE public.backburner (
    id         uuid NOT NULL,
    user_id    uuid NOT NULL,
    item       text NOT NULL,
    tags       text,
    created_at timestamp without time zone DEFAULT now(),
    CONSTRAINT backburner_pkey PRIMARY KEY (id),
    CONSTRAINT backburner_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id)
);

-- P13: should be wheel_categories + wheel_scores.
CREATE TABLE public.wheel (
    id          uuid        NOT NULL,
    user_id     uuid        NOT NULL,
    category    varchar(50) NOT NULL,
    score       integer,
    notes       text,
    recorded_at timestamp without time zone DEFAULT now(),
    CONSTRAINT wheel_pkey PRIMARY KEY (id),
    CONSTRAINT wheel_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id)
);

-- P14: right name, wrong columns.
CREATE TABLE public.work_sessions (
    id               uuid    NOT NULL,
    user_id          uuid    NOT NULL,
    task_id          uuid,
    started_at       timestamp without time zone NOT NULL,
    ended_at         timestamp without time zone,
    duration_minutes integer,
    notes            text,
    completed        boolean DEFAULT false,
    CONSTRAINT work_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT work_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id),
    CONSTRAINT work_sessions_task_id_fkey FOREIGN KEY (task_id) REFERENCES public.tasks (id)
);

COMMENT ON TABLE public.users IS 'Application users. Phone/SMS settings still live in metadata JSON; phone_number column added by migration 6a4b2e8f5c91 is mostly NULL.';
COMMENT ON TABLE public.api_keys IS 'Per-user API keys. user_id holds users.id as text (no FK).';
COMMENT ON TABLE public.memories_backup_66d3d5d1 IS 'Manual backup taken before the September memory migration. Safe to drop?';
COMMENT ON TABLE public.user_integrations_backup IS 'Copy of user_integrations made by hand; not used by the app.';
COMMENT ON TABLE public.claude_code_sessions IS 'Created by scripts/claude_code_coordination.sql; no SQLAlchemy model.';
COMMENT ON TABLE public.wheel IS 'Wheel of life (migration 001). The model expects wheel_categories + wheel_scores.';
COMMENT ON TABLE public.sms_conversations IS 'SMS chat history (role is enum sms_role).';

-- =============================================================================
-- Data
-- =============================================================================

-- users ------------------------------------------------------------------------
INSERT INTO public.users (id, email, firstname, lastname, subscription_tier,
                          metadata, created_at, updated_at, phone_number)
SELECT md5('user-' || i)::uuid,
       'user' || i || '@example.com',
       (ARRAY['Ada','Grace','Linus','Barbara','Ken','Margaret','Dennis',
              'Frances','Edsger','Radia','Donald','Hedy'])[1 + i % 12],
       (ARRAY['Lovelace','Hopper','Torvalds','Liskov','Thompson','Hamilton',
              'Ritchie','Allen','Dijkstra','Perlman'])[1 + (i * 7) % 10],
       CASE WHEN i % 10 < 7 THEN 'free'
            WHEN i % 10 < 9 THEN 'pro'
            ELSE 'enterprise' END,
       CASE
         WHEN i % 10 = 0 THEN
           jsonb_build_object('onboarding_complete', true,
                              'theme', 'dark')
         WHEN i % 10 = 1 THEN
           jsonb_build_object('onboarding_complete', true,
                              'phone_number', '+1555' || lpad(i::text, 7, '0'),
                              'sms_enabled', true)
         ELSE
           jsonb_build_object(
             'onboarding_complete', i % 3 <> 0,
             'theme', CASE WHEN i % 2 = 0 THEN 'light' ELSE 'dark' END,
             'phone_number', '+1555' || lpad(i::text, 7, '0'),
             'phone_verified', i % 3 <> 0,
             'phone_verification_attempts', i % 4,
             'phone_verified_at',
               CASE WHEN i % 3 <> 0 THEN
                 to_char(timestamp '2025-01-01 00:00:00'
                         + i * interval '37 minutes' + interval '2 hours',
                         'YYYY-MM-DD"T"HH24:MI:SS"Z"')
               END,
             'sms_enabled', i % 7 <> 0)
       END,
       timestamp '2025-01-01 00:00:00' + i * interval '37 minutes',
       timestamptz '2025-01-01 00:00:00+00' + i * interval '37 minutes' + interval '3 days',
       NULL
FROM generate_series(1, :users) AS i;

-- Planted: phone_number column filled for U21..U32 (D1 conflicts, D2 column-only).
UPDATE public.users u
SET phone_number = CASE WHEN s.i IN (23, 27, 31)
                        THEN '+1555999' || lpad(s.i::text, 4, '0')
                        ELSE '+1555' || lpad(s.i::text, 7, '0') END
FROM generate_series(21, 32) AS s(i)
WHERE u.id = md5('user-' || s.i)::uuid;

-- Planted: D3..D7 bad metadata values.
UPDATE public.users SET metadata = metadata || '{"phone_number": "+15550000004"}'
 WHERE id = md5('user-44')::uuid;
UPDATE public.users SET metadata = metadata || '{"phone_number": "+15550000005"}'
 WHERE id = md5('user-45')::uuid;
UPDATE public.users SET metadata = metadata || '{"phone_verified": "yes-ish"}'
 WHERE id = md5('user-46')::uuid;
UPDATE public.users SET metadata = metadata || '{"phone_verified": "maybe"}'
 WHERE id = md5('user-47')::uuid;
UPDATE public.users SET metadata = metadata || '{"phone_verification_attempts": "three"}'
 WHERE id = md5('user-48')::uuid;
UPDATE public.users SET metadata = metadata || '{"phone_verified_at": "last tuesday"}'
 WHERE id = md5('user-49')::uuid;
UPDATE public.users SET metadata = metadata || '{"phone_number": "+1 (555) 000-0038 ext. 4411"}'
 WHERE id = md5('user-38')::uuid;
-- Planted: D8 dirty subscription tiers.
UPDATE public.users SET subscription_tier = 'Pro'     WHERE id = md5('user-33')::uuid;
UPDATE public.users SET subscription_tier = 'premium' WHERE id = md5('user-34')::uuid;

-- api_keys ---------------------------------------------------------------------
-- k <= N: key for user k;  k > N: second key for user (k - N) * 5.
INSERT INTO public.api_keys (id, user_id, name, key_prefix, key_hash,
                             is_active, last_used_at, created_at)
SELECT k,
       CASE WHEN k = 7 THEN 'legacy-admin'                           -- D9
            WHEN k = 8 THEN md5('user-deleted-8')::uuid::text        -- D10
            ELSE md5('user-' || u)::uuid::text END,
       CASE WHEN k <= :users THEN 'default' ELSE 'ci' END,
       'om_' || substr(md5('key-' || k), 1, 8),
       md5('key-' || k) || md5('salt-' || k),
       k % 17 <> 0,
       CASE WHEN k % 3 = 0 THEN NULL
            ELSE timestamp '2025-06-01 00:00:00' + k * interval '11 minutes' END,
       timestamp '2025-01-01 00:00:00' + u * interval '37 minutes'
         + CASE WHEN k <= :users THEN interval '1 hour' ELSE interval '30 days' END
FROM generate_series(1, :users + :users / 5) AS k,
     LATERAL (SELECT CASE WHEN k <= :users THEN k ELSE (k - :users) * 5 END AS u) AS x;

SELECT setval('public.api_keys_id_seq', (SELECT max(id) FROM public.api_keys)) AS api_keys_seq \gset

-- apps -------------------------------------------------------------------------
-- j <= N: default app of user j;  j > N: second app of user (j - N) * 4.
INSERT INTO public.apps (id, owner_id, name, description, metadata, is_active,
                         sync_status, sync_error, created_at, updated_at)
SELECT md5('app-' || j)::uuid::text,
       md5('user-' || o)::uuid,
       CASE WHEN j <= :users THEN 'openmemory'
            ELSE (ARRAY['cursor','claude-desktop','windsurf','cline'])[1 + j % 4] END,
       CASE WHEN j % 3 = 0 THEN NULL ELSE 'Client app #' || j END,
       jsonb_build_object('client_version', '1.' || (j % 9) || '.' || (j % 5)),
       j % 23 <> 0,
       CASE WHEN j = 3  THEN 'SYNCED'          -- D11
            WHEN j = 5  THEN 'unknown '        -- D11 (trailing space)
            WHEN j = 12 THEN 'Failed'          -- D11
            WHEN j = 16 THEN 'in-progress'     -- D11
            WHEN j % 10 < 7 THEN 'synced'
            WHEN j % 10 < 9 THEN 'pending'
            ELSE 'failed' END,
       CASE WHEN j % 10 = 9 AND j NOT IN (3, 5, 12, 16)
            THEN 'HTTP 502 from sync endpoint after 3 retries (app ' || j || ')' END,
       timestamp '2025-01-01 00:00:00' + o * interval '37 minutes' + interval '10 minutes'
         + CASE WHEN j > :users THEN interval '14 days' ELSE interval '0' END,
       timestamp '2025-01-01 00:00:00' + o * interval '37 minutes' + interval '20 days'
FROM generate_series(1, :users + :users / 4) AS j,
     LATERAL (SELECT CASE WHEN j <= :users THEN j ELSE (j - :users) * 4 END AS o) AS x;

-- memories ---------------------------------------------------------------------
-- k = 1..5N; user i = (k-1)/5 + 1, m = (k-1) % 5. Users with i % 4 = 0 put odd
-- m memories into their second app.
INSERT INTO public.memories (id, user_id, app_id, content, vector, state,
                             metadata, created_at, updated_at, archived_at, deleted_at)
SELECT md5('memory-' || k)::uuid,
       md5('user-' || i)::uuid,
       md5('app-' || CASE WHEN i % 4 = 0 AND m % 2 = 1 THEN :users + i / 4 ELSE i END)::uuid::text,
       (ARRAY['Prefers dark mode in every editor',
              'Works best in the morning before 10am',
              'Is allergic to peanuts',
              'Uses Postgres 15 for the main project',
              'Wants weekly summaries on Friday afternoon',
              'Lives in Lisbon, timezone Europe/Lisbon',
              'Dislikes long meetings',
              'Is learning Swift concurrency'])[1 + k % 8] || ' (#' || k || ')',
       '[' || concat_ws(',',
              round(((k * 37 + 11) % 1000) / 1000.0, 3),
              round(((k * 53 + 17) % 1000) / 1000.0, 3),
              round(((k * 71 + 23) % 1000) / 1000.0, 3),
              round(((k * 89 + 29) % 1000) / 1000.0, 3),
              round(((k * 97 + 31) % 1000) / 1000.0, 3),
              round(((k * 101 + 37) % 1000) / 1000.0, 3),
              round(((k * 103 + 41) % 1000) / 1000.0, 3),
              round(((k * 107 + 43) % 1000) / 1000.0, 3)) || ']',
       st.state,
       jsonb_build_object('source', (ARRAY['chat','import','api','sms'])[1 + k % 4],
                          'categories', jsonb_build_array(
                              (ARRAY['preferences','health','work','personal','travel'])[1 + k % 5])),
       ts.created,
       ts.created + CASE WHEN k % 3 = 0 THEN interval '2 days' ELSE interval '0' END,
       CASE WHEN st.state = 'archived' THEN ts.created + interval '40 days' END,
       CASE WHEN st.state = 'deleted'  THEN ts.created + interval '50 days' END
FROM generate_series(1, 5 * :users) AS k,
     LATERAL (SELECT (k - 1) / 5 + 1 AS i, (k - 1) % 5 AS m) AS im,
     LATERAL (SELECT timestamp '2025-01-01 00:00:00' + im.i * interval '37 minutes'
                     + im.m * interval '5 hours 13 minutes' + interval '1 day' AS created) AS ts,
     LATERAL (SELECT CASE WHEN k % 20 = 0 THEN 'archived'
                          WHEN k % 29 = 0 THEN 'paused'
                          WHEN k % 31 = 0 THEN 'deleted'
                          ELSE 'active' END AS state) AS st;

-- memory_status_history: one row per non-active memory, plus a pause/resume
-- pair for about every 9th active memory (chosen by a hash of its id).
INSERT INTO public.memory_status_history (id, memory_id, changed_by, old_state, new_state, changed_at)
SELECT md5('history-' || m.id || '-' || h.n)::uuid,
       m.id, m.user_id, h.old_state, h.new_state,
       m.created_at + h.n * interval '3 days'
FROM public.memories m
CROSS JOIN LATERAL (
    SELECT 1 AS n, 'active'::text AS old_state, m.state AS new_state WHERE m.state <> 'active'
    UNION ALL
    SELECT 2, 'active', 'paused' WHERE m.state = 'active' AND (('x' || substr(m.id::text, 1, 8))::bit(32)::int % 9) = 0
    UNION ALL
    SELECT 3, 'paused', 'active' WHERE m.state = 'active' AND (('x' || substr(m.id::text, 1, 8))::bit(32)::int % 9) = 0
) AS h
ORDER BY m.created_at, m.id, h.n;

-- memory_access_logs: a 'search' hit for every memory, plus a 'read' for every
-- 4th memory.
INSERT INTO public.memory_access_logs (id, memory_id, app_id, accessed_at, access_type, metadata)
SELECT md5('access-' || k || '-' || n)::uuid,
       md5('memory-' || k)::uuid,
       m.app_id,
       m.created_at + n * interval '1 day' + (k % 60) * interval '1 minute',
       CASE WHEN n = 1 THEN 'search' ELSE 'read' END,
       CASE WHEN n = 1 THEN jsonb_build_object('query', 'what do I like #' || (k % 50), 'rank', 1 + k % 5)
            ELSE '{}'::jsonb END
FROM generate_series(1, 5 * :users) AS k
CROSS JOIN LATERAL generate_series(1, CASE WHEN k % 4 = 0 THEN 2 ELSE 1 END) AS n
JOIN public.memories m ON m.id = md5('memory-' || k)::uuid
ORDER BY k, n;

-- documents / document_chunks (good example) --------------------------------------
INSERT INTO public.documents (id, user_id, title, source, metadata, created_at, updated_at)
SELECT md5('document-' || d)::uuid,
       md5('user-' || (d * 10 - 3))::uuid,
       'Notes ' || d || ': ' || (ARRAY['Quarterly plan','Reading list','Trip to Porto','Health log'])[1 + d % 4],
       (ARRAY['upload','gdrive','notion'])[1 + d % 3],
       jsonb_build_object('pages', 1 + d % 7, 'mime', 'text/markdown'),
       timestamptz '2025-03-01 00:00:00+00' + d * interval '5 hours',
       timestamptz '2025-03-01 00:00:00+00' + d * interval '5 hours' + interval '1 day'
FROM generate_series(1, :users / 10) AS d;

INSERT INTO public.document_chunks (id, document_id, chunk_index, content, metadata, embedding, created_at)
SELECT md5('chunk-' || d || '-' || c)::uuid,
       md5('document-' || d)::uuid,
       c,
       'Chunk ' || c || ' of document ' || d || '. Lorem ipsum dolor sit amet.',
       jsonb_build_object('tokens', 100 + (d * 7 + c * 13) % 400),
       ARRAY[((d * 13 + c * 7) % 100) / 100.0,
             ((d * 17 + c * 11) % 100) / 100.0,
             ((d * 19 + c * 3) % 100) / 100.0,
             ((d * 23 + c * 5) % 100) / 100.0,
             ((d * 29 + c * 2) % 100) / 100.0,
             ((d * 31 + c * 9) % 100) / 100.0,
             ((d * 37 + c * 4) % 100) / 100.0,
             ((d * 41 + c * 6) % 100) / 100.0]::double precision[],
       timestamptz '2025-03-01 00:00:00+00' + d * interval '5 hours' + c * interval '1 second'
FROM generate_series(1, :users / 10) AS d,
     generate_series(0, 3) AS c
ORDER BY d, c;

-- user_integrations (+ backup) ---------------------------------------------------
INSERT INTO public.user_integrations (id, user_id, provider, settings, created_at)
SELECT md5('integration-' || i || '-' || p.provider)::uuid::text,
       md5('user-' || i)::uuid::text,
       p.provider,
       CASE p.provider
         WHEN 'google_calendar' THEN jsonb_build_object('calendar_id', 'primary', 'scope', 'read_write', 'sync_days', 30)
         ELSE jsonb_build_object('channel', '#user-' || i, 'notify', true)
       END,
       timestamp '2025-02-01 00:00:00' + i * interval '41 minutes' + p.ord * interval '1 day'
FROM generate_series(1, :users) AS i
CROSS JOIN (VALUES (1, 'google_calendar'), (2, 'slack')) AS p(ord, provider)
WHERE (p.provider = 'google_calendar' AND i % 3 = 0)
   OR (p.provider = 'slack' AND i % 7 = 0)
ORDER BY i, p.ord;

-- Backup: older settings for users i <= N/2, D14 duplicates and removed 'notion' rows.
INSERT INTO public.user_integrations_backup (id, user_id, provider, settings, created_at)
SELECT b.id, b.user_id, b.provider, b.settings, b.created_at
FROM (
    SELECT ui.id, ui.user_id, ui.provider,
           CASE ui.provider WHEN 'google_calendar' THEN jsonb_build_object('calendar_id', 'primary', 'scope', 'read')
                            ELSE jsonb_build_object('channel', 'general') END AS settings,
           ui.created_at,
           s.i, 1 AS ord, 1 AS copy
    FROM generate_series(1, :users / 2) AS s(i)
    JOIN public.user_integrations ui ON ui.user_id = md5('user-' || s.i)::uuid::text
    UNION ALL
    SELECT ui.id, ui.user_id, ui.provider,
           jsonb_build_object('calendar_id', 'primary', 'scope', 'read'),
           ui.created_at, s.i, 1, 2
    FROM generate_series(1, :users / 2) AS s(i)
    JOIN public.user_integrations ui ON ui.user_id = md5('user-' || s.i)::uuid::text
    WHERE s.i % 30 = 0 AND ui.provider = 'google_calendar'
    UNION ALL
    SELECT md5('integration-' || s.i || '-notion')::uuid::text,
           md5('user-' || s.i)::uuid::text,
           'notion',
           jsonb_build_object('workspace', 'ws-' || s.i),
           timestamp '2025-02-01 00:00:00' + s.i * interval '41 minutes',
           s.i, 3, 1
    FROM generate_series(1, :users / 2) AS s(i)
    WHERE s.i % 11 = 0
) AS b
ORDER BY b.i, b.ord, b.provider, b.copy;

-- memories_backup_66d3d5d1: first 2N memories, every 10th with older wording.
INSERT INTO public.memories_backup_66d3d5d1
       (id, user_id, app_id, content, vector, state, metadata,
        created_at, updated_at, archived_at, deleted_at)
SELECT m.id, m.user_id, m.app_id,
       CASE WHEN k % 10 = 0 THEN 'OLD: ' || m.content ELSE m.content END,
       m.vector,
       CASE WHEN k % 20 = 0 THEN 'active' ELSE m.state END,
       m.metadata, m.created_at, m.created_at, NULL, NULL
FROM generate_series(1, 2 * :users) AS k
JOIN public.memories m ON m.id = md5('memory-' || k)::uuid
ORDER BY k;

-- claude_code_sessions / claude_code_agents (fixed size) -------------------------
INSERT INTO public.claude_code_sessions (id, session_key, status, started_at, ended_at, metadata)
SELECT md5('cc-session-' || s)::uuid,
       'cc-' || lpad(s::text, 4, '0') || '-' || substr(md5('cc-key-' || s), 1, 8),
       CASE WHEN s % 9 = 0 THEN 'failed' WHEN s > 32 THEN 'active' ELSE 'completed' END,
       timestamptz '2025-10-01 09:00:00+00' + s * interval '7 hours',
       CASE WHEN s > 32 AND s % 9 <> 0 THEN NULL
            ELSE timestamptz '2025-10-01 09:00:00+00' + s * interval '7 hours' + (30 + s * 5) * interval '1 minute' END,
       jsonb_build_object('cwd', '/home/dev/project-' || (s % 4),
                          'model', (ARRAY['sonnet','opus','haiku'])[1 + s % 3],
                          'tokens', s * 1234)
FROM generate_series(1, 36) AS s;

INSERT INTO public.claude_code_agents (id, session_id, name, role, status, created_at)
SELECT md5('cc-agent-' || s || '-' || a)::uuid,
       md5('cc-session-' || s)::uuid,
       (ARRAY['planner','coder','reviewer','tester'])[a] || '-' || s,
       (ARRAY['plan','implement','review','test'])[a],
       CASE WHEN s > 32 AND s % 9 <> 0 THEN 'running' WHEN s % 9 = 0 THEN 'error' ELSE 'done' END,
       timestamp '2025-10-01 09:00:00' + s * interval '7 hours' + a * interval '2 minutes'
FROM generate_series(1, 36) AS s
CROSS JOIN LATERAL generate_series(1, 2 + s % 3) AS a
ORDER BY s, a;

-- sms_conversations (good example) -------------------------------------------------
INSERT INTO public.sms_conversations (id, user_id, phone_number, role, content, twilio_message_sid, created_at)
SELECT md5('sms-' || i || '-' || n)::uuid,
       md5('user-' || i)::uuid,
       '+1555' || lpad(i::text, 7, '0'),
       (ARRAY['user', 'assistant', CASE WHEN i % 15 = 2 THEN 'system' ELSE 'user' END])[n]::public.sms_role,
       CASE n WHEN 1 THEN 'Remind me what I said about Porto?'
              WHEN 2 THEN 'You wanted to visit in May and try the francesinha.'
              ELSE CASE WHEN i % 15 = 2 THEN 'Conversation summarised.' ELSE 'Thanks!' END END,
       'SM' || md5('sms-sid-' || i || '-' || n),
       timestamptz '2025-04-01 00:00:00+00' + i * interval '13 minutes' + n * interval '20 seconds'
FROM generate_series(1, :users) AS i
CROSS JOIN generate_series(1, 3) AS n
WHERE i % 5 = 2
ORDER BY i, n;

-- conversations / milestones / tasks / pattern_tracking ----------------------------
INSERT INTO public.conversations (id, user_id, title, messages, summary, created_at, updated_at)
SELECT md5('conversation-' || i)::uuid,
       md5('user-' || i)::uuid,
       'Check-in chat ' || i,
       jsonb_build_array(
         jsonb_build_object('role', 'user', 'content', 'I feel scattered today.'),
         jsonb_build_object('role', 'assistant', 'content', 'Let us pick one task for the next 25 minutes.')),
       CASE WHEN i % 8 = 1 THEN 'User planned a focus block.' END,
       timestamptz '2025-05-01 00:00:00+00' + i * interval '29 minutes',
       timestamptz '2025-05-01 00:00:00+00' + i * interval '29 minutes' + interval '10 minutes'
FROM generate_series(1, :users) AS i
WHERE i % 4 = 1;

INSERT INTO public.milestones (id, user_id, goal_id, title, target_date, completed, completed_at, created_at)
SELECT md5('milestone-' || i)::uuid,
       md5('user-' || i)::uuid,
       NULL,
       (ARRAY['Ship portfolio site','Run 10k','Finish Swift course','Declutter office'])[1 + i % 4],
       date '2025-12-01' + (i % 90),
       i % 5 = 0,
       CASE WHEN i % 5 = 0 THEN timestamptz '2025-11-01 00:00:00+00' + i * interval '1 hour' END,
       timestamptz '2025-06-01 00:00:00+00' + i * interval '31 minutes'
FROM generate_series(1, :users) AS i
WHERE i % 3 = 1;

INSERT INTO public.tasks (id, user_id, milestone_id, title, description, status, priority,
                          due_date, created_at, completed_at)
SELECT md5('task-' || i || '-' || t)::uuid,
       md5('user-' || i)::uuid,
       CASE WHEN i % 3 = 1 AND t = 1 THEN md5('milestone-' || i)::uuid END,
       (ARRAY['Write outline','Book dentist','Review budget','Call mum','Fix bike'])[1 + (i + t) % 5],
       CASE WHEN t = 2 THEN 'Follow-up for task ' || i || '-1' END,
       CASE WHEN i = 2 AND t = 1 THEN 'DONE'              -- D12
            WHEN i = 4 AND t = 2 THEN 'in progress'       -- D12
            WHEN (i + t) % 5 = 0 THEN 'done'
            WHEN (i + t) % 5 = 1 THEN 'in_progress'
            WHEN (i + t) % 11 = 0 THEN 'cancelled'
            ELSE 'todo' END,
       CASE WHEN i = 6 AND t = 1 THEN 9                   -- D13
            ELSE 1 + (i * 3 + t) % 5 END,
       date '2025-07-01' + ((i * 2 + t) % 120),
       timestamptz '2025-06-15 00:00:00+00' + i * interval '23 minutes' + t * interval '1 minute',
       CASE WHEN (i + t) % 5 = 0 OR (i = 2 AND t = 1)
            THEN timestamptz '2025-07-15 00:00:00+00' + i * interval '23 minutes' END
FROM generate_series(1, :users) AS i
CROSS JOIN generate_series(1, 2) AS t
WHERE i % 2 = 0
ORDER BY i, t;

INSERT INTO public.pattern_tracking (id, user_id, pattern_type, description, confidence, evidence,
                                     occurrence_count, first_observed_at, last_observed_at)
SELECT md5('pattern-' || i)::uuid,
       md5('user-' || i)::uuid,
       (ARRAY['energy_dip','procrastination','hyperfocus','time_blindness'])[1 + i % 4],
       'Observed in ' || (2 + i % 6) || ' check-ins',
       ((i * 37) % 100) / 100.0,
       jsonb_build_array(jsonb_build_object('day', 'mon'), jsonb_build_object('day', 'thu')),
       2 + i % 6,
       timestamptz '2025-05-01 00:00:00+00' + i * interval '19 minutes',
       timestamptz '2025-05-01 00:00:00+00' + i * interval '19 minutes' + interval '21 days'
FROM generate_series(1, :users) AS i
WHERE i % 5 = 3;

-- calendar / backburner / wheel / work_sessions (wrong tables) --------------------
INSERT INTO public.calendar (id, user_id, event_id, summary, start_at, end_at, raw)
SELECT md5('calendar-' || i || '-' || e)::uuid,
       md5('user-' || i)::uuid,
       'gcal_' || substr(md5('gcal-' || i || '-' || e), 1, 16),
       (ARRAY['Standup','Dentist','1:1 with manager','Gym','Lunch with Sam'])[1 + (i + e) % 5],
       timestamp '2025-08-01 08:00:00' + i * interval '47 minutes' + e * interval '1 day',
       timestamp '2025-08-01 08:00:00' + i * interval '47 minutes' + e * interval '1 day' + interval '45 minutes',
       jsonb_build_object('kind', 'calendar#event', 'status', 'confirmed', 'all_day', e = 2 AND i % 9 = 1)
FROM generate_series(1, :users) AS i
CROSS JOIN generate_series(1, 2) AS e
WHERE i % 2 = 1
ORDER BY i, e;

INSERT INTO public.backburner (id, user_id, item, tags, created_at)
SELECT md5('backburner-' || i)::uuid,
       md5('user-' || i)::uuid,
       (ARRAY['Learn Japanese','Build a treehouse','Start a podcast','Write a novel'])[1 + i % 4],
       (ARRAY['someday,fun','home,diy','creative','creative,long-term'])[1 + i % 4],
       timestamp '2025-04-15 00:00:00' + i * interval '53 minutes'
FROM generate_series(1, :users) AS i
WHERE i % 5 = 1;

INSERT INTO public.wheel (id, user_id, category, score, notes, recorded_at)
SELECT md5('wheel-' || i || '-' || c)::uuid,
       md5('user-' || i)::uuid,
       (ARRAY['career','health','relationships','finance','growth','fun','environment','family'])[c],
       1 + (i * 3 + c * 7) % 10,
       CASE WHEN c = 1 THEN 'Definition of 10: I look forward to Mondays' END,
       timestamp '2025-05-10 00:00:00' + i * interval '61 minutes'
FROM generate_series(1, :users) AS i
CROSS JOIN generate_series(1, 8) AS c
WHERE i % 10 = 3
ORDER BY i, c;

INSERT INTO public.work_sessions (id, user_id, task_id, started_at, ended_at, duration_minutes, notes, completed)
SELECT md5('work-session-' || i || '-' || s)::uuid,
       md5('user-' || i)::uuid,
       md5('task-' || i || '-' || s)::uuid,
       timestamp '2025-07-01 09:00:00' + i * interval '17 minutes' + s * interval '1 day',
       timestamp '2025-07-01 09:00:00' + i * interval '17 minutes' + s * interval '1 day'
         + (25 + (i + s) % 4 * 15) * interval '1 minute',
       25 + (i + s) % 4 * 15,
       CASE WHEN s = 1 THEN 'Felt focused' ELSE 'Got distracted by email' END,
       s = 1
FROM generate_series(1, :users) AS i
CROSS JOIN generate_series(1, 2) AS s
WHERE i % 4 = 2
ORDER BY i, s;

-- Fresh statistics so planners / introspection see realistic row counts.
ANALYZE;

COMMIT;
