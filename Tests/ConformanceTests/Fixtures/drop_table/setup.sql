-- A small SQLAlchemy-style app with tables the models no longer have: one empty, one whose
-- rows must be archived before it goes, one of scratch rows the operator chose to lose.
-- Values are fixed so every fresh database holds the same rows.
CREATE TABLE public.users (
    id         uuid         NOT NULL,
    email      varchar(255) NOT NULL,
    created_at timestamp without time zone NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE TABLE public.legacy_sessions (
    id         uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    token      varchar(64) NOT NULL,
    expires_at timestamp without time zone,
    CONSTRAINT legacy_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT legacy_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id)
);
CREATE INDEX ix_legacy_sessions_token ON public.legacy_sessions (token);
CREATE TABLE public.wheel (
    id         uuid         NOT NULL,
    user_id    uuid         NOT NULL,
    category   varchar(100) NOT NULL,
    score      integer,
    CONSTRAINT wheel_pkey PRIMARY KEY (id),
    CONSTRAINT wheel_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id)
);
CREATE TABLE public.scratch_import (
    line    integer NOT NULL,
    payload text
);

INSERT INTO public.users (id, email, created_at)
SELECT md5('user-' || g)::uuid, 'user' || g || '@example.com', timestamp '2024-01-01' + g * interval '1 day'
FROM generate_series(1, 5) g;
INSERT INTO public.wheel (id, user_id, category, score)
SELECT md5('wheel-' || g)::uuid, md5('user-' || (g % 5 + 1))::uuid, (ARRAY['health', 'career', 'family'])[g % 3 + 1], g % 10 + 1
FROM generate_series(1, 9) g;
INSERT INTO public.scratch_import (line, payload) SELECT g, 'row ' || g FROM generate_series(1, 7) g;
