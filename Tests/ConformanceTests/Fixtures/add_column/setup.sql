-- Tables the models have and the database has too, but with columns the models declare and
-- the database lacks (users.display_name, users.is_admin, memories.tags). Values are fixed
-- so every fresh database holds the same rows.
CREATE TABLE public.users (
    id         uuid         NOT NULL,
    email      varchar(255) NOT NULL,
    created_at timestamp without time zone NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE TABLE public.memories (
    id         uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    content    text        NOT NULL,
    CONSTRAINT memories_pkey PRIMARY KEY (id),
    CONSTRAINT memories_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id)
);

INSERT INTO public.users (id, email, created_at)
SELECT md5('user-' || g)::uuid, 'user' || g || '@example.com', timestamp '2024-01-01' + g * interval '1 day'
FROM generate_series(1, 5) g;
INSERT INTO public.memories (id, user_id, content)
SELECT md5('memory-' || g)::uuid, md5('user-' || (g % 5 + 1))::uuid, 'memory ' || g
FROM generate_series(1, 20) g;
