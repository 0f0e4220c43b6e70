-- The demo database's UUIDs kept as text (seed 000, P4): apps.id is varchar(36), referenced by
-- memories.app_id through a declared foreign key (a group that converts together), and read by
-- a view that the application's reporting role may select from. Some ids are written in forms
-- the uuid type accepts but does not print (upper case, braces, no hyphens).
DO $$ BEGIN CREATE ROLE pgmend_reporting; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE TABLE public.apps (
    id         varchar(40) NOT NULL DEFAULT (gen_random_uuid())::text,
    name       varchar(100) NOT NULL,
    CONSTRAINT apps_pkey PRIMARY KEY (id)
);
CREATE TABLE public.memories (
    id      bigint NOT NULL,
    app_id  varchar(40),
    content text NOT NULL,
    CONSTRAINT memories_pkey PRIMARY KEY (id),
    CONSTRAINT memories_app_id_fkey FOREIGN KEY (app_id) REFERENCES public.apps (id) ON DELETE CASCADE
);
CREATE INDEX idx_memories_app_id ON public.memories (app_id);
CREATE VIEW public.app_memory_counts AS
    SELECT a.id, a.name, count(m.id) AS memories FROM public.apps a LEFT JOIN public.memories m ON m.app_id = a.id GROUP BY a.id, a.name;
GRANT SELECT ON public.app_memory_counts TO pgmend_reporting;
COMMENT ON VIEW public.app_memory_counts IS 'memories per app, for the weekly report';

INSERT INTO public.apps (id, name)
SELECT md5('app-' || g)::uuid::text, 'app ' || g FROM generate_series(1, 20) g;
UPDATE public.apps SET id = upper(id) WHERE name = 'app 3';
UPDATE public.apps SET id = '{' || id || '}' WHERE name = 'app 5';
UPDATE public.apps SET id = replace(id, '-', '') WHERE name = 'app 7';
INSERT INTO public.memories (id, app_id, content)
SELECT g, (SELECT id FROM public.apps WHERE name = 'app ' || (g % 20 + 1)), 'memory ' || g FROM generate_series(1, 200) g;
INSERT INTO public.memories (id, app_id, content) VALUES (201, NULL, 'no app');
