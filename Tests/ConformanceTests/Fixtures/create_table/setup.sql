-- A small SQLAlchemy-style app whose first migration never created two tables the models
-- declare. Values are fixed so every fresh database holds the same rows.
CREATE TABLE public.users (
    id         uuid         NOT NULL,
    email      varchar(255) NOT NULL,
    created_at timestamp without time zone NOT NULL DEFAULT now(),
    updated_at timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE TABLE public.apps (
    id         varchar(36)  NOT NULL,
    owner_id   uuid         NOT NULL,
    name       varchar(255) NOT NULL,
    created_at timestamp without time zone NOT NULL DEFAULT now(),
    CONSTRAINT apps_pkey PRIMARY KEY (id),
    CONSTRAINT apps_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.users (id)
);

INSERT INTO public.users (id, email, created_at)
SELECT md5('user-' || g)::uuid, 'user' || g || '@example.com', timestamp '2024-01-01' + g * interval '1 day'
FROM generate_series(1, 5) g;
INSERT INTO public.apps (id, owner_id, name, created_at)
SELECT md5('app-' || g)::uuid::text, md5('user-' || g)::uuid, 'app ' || g, timestamp '2024-02-01' + g * interval '1 hour'
FROM generate_series(1, 3) g;
