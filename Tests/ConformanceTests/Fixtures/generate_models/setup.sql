-- Two tables a raw SQL file created and the application has no SQLAlchemy models for (the
-- first seed review's claude_code_* tables), plus one its models already cover.
CREATE TABLE public.users (
    id    uuid NOT NULL DEFAULT gen_random_uuid(),
    email varchar(255) NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
CREATE TABLE public.coordination_sessions (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    session_key text        NOT NULL,
    status      varchar(20) DEFAULT 'active',
    tags        text[]      NOT NULL DEFAULT '{}',
    started_at  timestamptz DEFAULT now(),
    metadata    jsonb       DEFAULT '{}'::jsonb,
    CONSTRAINT coordination_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT coordination_sessions_session_key_key UNIQUE (session_key),
    CONSTRAINT coordination_sessions_status_check CHECK (status IN ('active', 'ended'))
);
CREATE TABLE public.coordination_agents (
    id         uuid         NOT NULL DEFAULT gen_random_uuid(),
    session_id uuid         NOT NULL,
    owner_id   uuid,
    name       varchar(100) NOT NULL,
    created_at timestamp without time zone DEFAULT now(),
    CONSTRAINT coordination_agents_pkey PRIMARY KEY (id),
    CONSTRAINT coordination_agents_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES public.coordination_sessions (id) ON DELETE CASCADE,
    CONSTRAINT coordination_agents_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.users (id)
);
CREATE INDEX idx_coordination_agents_session_id ON public.coordination_agents (session_id);
INSERT INTO public.coordination_sessions (id, session_key, started_at)
SELECT md5('session-' || g)::uuid, 'session-' || g, timestamptz '2025-03-01 09:00+00' + g * interval '1 hour'
FROM generate_series(1, 3) g;
