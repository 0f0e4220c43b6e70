-- What the demo application's models declare, built by hand on a copy of
-- Plans/demo/drifted.sql (DriftTests): the seed review's models (/work/shared/seeds/001_*).
-- Tables made by hand or by scripts have no model; the migration's wrong tables are the
-- models' right ones; work_sessions and users have the models' columns.
\set ON_ERROR_STOP 1
BEGIN;
DROP TABLE claude_code_agents, claude_code_sessions, memories_backup_66d3d5d1, user_integrations_backup;
DROP TABLE calendar, backburner, wheel;

-- users: the phone columns the models declare (migration 6a4b2e8f5c91 half-applied).
ALTER TABLE users ADD COLUMN phone_verified boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN sms_enabled boolean NOT NULL DEFAULT false;
-- api_keys: the models declare one index on user_id, not idx_apikey_user_id.
DROP INDEX idx_apikey_user_id;
-- conversations: an index the models declare and the database lacks.
CREATE INDEX ix_conversations_created_at ON conversations (created_at);

CREATE TABLE goals (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category varchar(50) CHECK (category = 'personal' OR category = 'work'),
    title varchar(200) NOT NULL,
    description text,
    target_date date,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    status varchar(20) DEFAULT 'active',
    progress integer DEFAULT 0 CHECK (progress >= 0 AND progress <= 100),
    extra_data jsonb
);
CREATE INDEX ix_goals_user_id ON goals (user_id);

CREATE TABLE checkins (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type varchar(20) NOT NULL,
    overall_rating integer CHECK (overall_rating BETWEEN 1 AND 10),
    responses jsonb,
    ai_analysis text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE metrics (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    metric_type varchar(50) NOT NULL,
    value jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversation_embeddings (
    id uuid PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    pinecone_id varchar(100) UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE wheel_categories (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name varchar(100) NOT NULL,
    description text,
    definition_of_10 text,
    display_order integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz,
    UNIQUE (user_id, name)
);

CREATE TABLE wheel_scores (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category_id uuid NOT NULL REFERENCES wheel_categories (id) ON DELETE CASCADE,
    score integer CHECK (score BETWEEN 1 AND 10),
    notes text,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE calendar_events (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    external_id varchar(255),
    title varchar(200),
    description text,
    location varchar(200),
    start_time timestamptz,
    end_time timestamptz,
    all_day boolean DEFAULT false,
    calendar_source varchar(50) DEFAULT 'google',
    synced_at timestamptz,
    UNIQUE (user_id, external_id, calendar_source)
);

CREATE TABLE backburner_items (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title varchar(200) NOT NULL,
    description text,
    context_tags text[],
    reason text,
    created_at timestamp without time zone DEFAULT now(),
    resurfaced_at timestamp without time zone,
    activated_at timestamp without time zone
);
CREATE INDEX ix_backburner_items_user_id ON backburner_items (user_id);

-- work_sessions: the models' columns (P14).
ALTER TABLE work_sessions DROP COLUMN notes;
ALTER TABLE work_sessions ADD COLUMN energy_at_start integer CHECK (energy_at_start BETWEEN 1 AND 10);
ALTER TABLE work_sessions ADD COLUMN strategy_used varchar(100);
ALTER TABLE work_sessions ALTER COLUMN ended_at TYPE timestamptz;
COMMIT;
