-- A small SQLAlchemy-style app whose status columns were written by hand: mixed case, stray
-- spaces. `apps` has a uuid key; `memories` a composite one (user, number). Values are fixed
-- so every fresh database holds the same rows.
CREATE TABLE public.users (
    id         uuid         NOT NULL,
    email      varchar(255) NOT NULL,
    created_at timestamp without time zone NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
CREATE TABLE public.apps (
    id          uuid         NOT NULL,
    owner_id    uuid         NOT NULL,
    name        varchar(100) NOT NULL,
    sync_status varchar(20),
    CONSTRAINT apps_pkey PRIMARY KEY (id),
    CONSTRAINT apps_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.users (id)
);
CREATE TABLE public.memories (
    user_id uuid    NOT NULL,
    number  integer NOT NULL,
    content text    NOT NULL,
    state   varchar(20),
    CONSTRAINT memories_pkey PRIMARY KEY (user_id, number),
    CONSTRAINT memories_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id)
);

INSERT INTO public.users (id, email, created_at)
SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'user' || g || '@example.com', timestamp '2026-01-01' + g * interval '1 day'
FROM generate_series(1, 20) g;
INSERT INTO public.apps (id, owner_id, name, sync_status)
SELECT ('10000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, ('00000000-0000-4000-8000-' || lpad((1 + g % 20)::text, 12, '0'))::uuid,
       'app ' || g, (ARRAY['synced', ' SYNCED', 'Failed ', 'pending', 'In-Progress', NULL])[1 + g % 6]
FROM generate_series(1, 300) g;
INSERT INTO public.memories (user_id, number, content, state)
SELECT ('00000000-0000-4000-8000-' || lpad((1 + g % 20)::text, 12, '0'))::uuid, g, 'memory ' || g, (ARRAY['active', 'Active', ' archived'])[1 + g % 3]
FROM generate_series(1, 400) g;
