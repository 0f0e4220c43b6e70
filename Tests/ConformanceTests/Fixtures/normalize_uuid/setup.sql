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

-- For method: online (the plan's second step): devices.id, NOT NULL with a default and a
-- comment, referenced by sessions.device_id (NOT NULL, indexed, unique with started), read by
-- a view.
CREATE TABLE public.devices (
    id    text NOT NULL DEFAULT (gen_random_uuid())::text,
    label text NOT NULL,
    CONSTRAINT devices_pkey PRIMARY KEY (id)
);
COMMENT ON COLUMN public.devices.id IS 'the device''s id, as the app generates it';
CREATE TABLE public.sessions (
    id        bigint NOT NULL,
    device_id varchar(36) NOT NULL,
    started   integer NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_device_started_key UNIQUE (device_id, started),
    CONSTRAINT sessions_device_id_fkey FOREIGN KEY (device_id) REFERENCES public.devices (id)
);
CREATE INDEX idx_sessions_device_id ON public.sessions (device_id DESC) WHERE started > 0;
CREATE VIEW public.device_labels AS SELECT d.id, d.label FROM public.devices d;
INSERT INTO public.devices (id, label) SELECT md5('device-' || g)::uuid::text, 'device ' || g FROM generate_series(1, 30) g;
UPDATE public.devices SET id = upper(id) WHERE label = 'device 4';
INSERT INTO public.sessions (id, device_id, started)
SELECT g, (SELECT id FROM public.devices WHERE label = 'device ' || (g % 30 + 1)), g FROM generate_series(1, 300) g;

-- For method: online with on_invalid: null (the plan's third step): readings.sensor_id is
-- nullable, indexed, and holds two values that are not UUIDs, which end NULL and journaled.
CREATE TABLE public.readings (
    id        bigint NOT NULL,
    sensor_id text,
    value     numeric NOT NULL,
    CONSTRAINT readings_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_readings_sensor_id ON public.readings (sensor_id);
INSERT INTO public.readings (id, sensor_id, value)
SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE md5('sensor-' || (g % 7))::uuid::text END, g / 4.0 FROM generate_series(1, 120) g;
UPDATE public.readings SET sensor_id = 'thermo-legacy' WHERE id = 13;
UPDATE public.readings SET sensor_id = '' WHERE id = 44;
