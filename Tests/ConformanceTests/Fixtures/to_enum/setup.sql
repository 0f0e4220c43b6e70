-- A small SQLAlchemy-style app whose status columns are varchar where the models declare
-- enums. One enum type exists already (a migration created it and never used it). Every value
-- is one of the labels or NULL. Values are fixed so every fresh database holds the same rows.
CREATE TABLE public.users (
    id         uuid         NOT NULL,
    email      varchar(255) NOT NULL,
    created_at timestamp without time zone NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE TYPE public.app_sync_status AS ENUM ('synced', 'pending', 'failed');
CREATE TABLE public.apps (
    id          varchar(36)  NOT NULL,
    owner_id    uuid         NOT NULL,
    name        varchar(255) NOT NULL,
    sync_status varchar(20)  DEFAULT 'pending',
    created_at  timestamp without time zone NOT NULL DEFAULT now(),
    CONSTRAINT apps_pkey PRIMARY KEY (id),
    CONSTRAINT apps_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.users (id)
);
CREATE TABLE public.memories (
    id         uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    app_id     varchar(36) NOT NULL,
    content    text        NOT NULL,
    state      varchar(20) DEFAULT 'active',
    created_at timestamp without time zone NOT NULL DEFAULT now(),
    CONSTRAINT memories_pkey PRIMARY KEY (id),
    CONSTRAINT memories_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id),
    CONSTRAINT memories_app_id_fkey FOREIGN KEY (app_id) REFERENCES public.apps (id)
);
CREATE INDEX idx_memories_state ON public.memories (state);

INSERT INTO public.users (id, email, created_at)
SELECT md5('user-' || g)::uuid, 'user' || g || '@example.com', timestamp '2024-01-01' + g * interval '1 day'
FROM generate_series(1, 5) g;
INSERT INTO public.apps (id, owner_id, name, sync_status, created_at)
SELECT md5('app-' || g)::uuid::text, md5('user-' || g)::uuid, 'app ' || g, (ARRAY['synced', 'pending', 'failed'])[g],
       timestamp '2024-02-01' + g * interval '1 hour'
FROM generate_series(1, 3) g;
INSERT INTO public.memories (id, user_id, app_id, content, state, created_at)
SELECT md5('memory-' || g)::uuid, md5('user-' || (g % 5 + 1))::uuid, md5('app-' || (g % 3 + 1))::uuid::text,
       'memory ' || g, (ARRAY['active', 'paused', 'archived', 'deleted', NULL])[g % 5 + 1],
       timestamp '2024-03-01' + g * interval '1 minute'
FROM generate_series(1, 20) g;
