-- The demo database's naive timestamps (seed 000, P3): users.created_at was written in UTC by
-- a default of timezone('utc', now()), read by a view; work_sessions were written in the
-- office's wall-clock time, Europe/Berlin.
CREATE TABLE public.users (
    id         bigint NOT NULL,
    email      varchar(255) NOT NULL,
    created_at timestamp without time zone NOT NULL DEFAULT timezone('utc'::text, now()),
    updated_at timestamp with time zone,
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_users_created_at ON public.users (created_at);
CREATE VIEW public.recent_users AS SELECT id, email, created_at FROM public.users WHERE created_at > '2026-01-05'::timestamp;
COMMENT ON VIEW public.recent_users IS 'signed up since the launch';
CREATE TABLE public.work_sessions (
    id         bigint NOT NULL,
    user_id    bigint NOT NULL REFERENCES public.users (id),
    started_at timestamp without time zone NOT NULL,
    ended_at   timestamp without time zone,
    CONSTRAINT work_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT work_sessions_order CHECK (ended_at IS NULL OR ended_at >= started_at)
);
INSERT INTO public.users (id, email, created_at)
SELECT g, 'user' || g || '@example.com', timestamp '2026-01-01' + g * interval '7 hours' FROM generate_series(1, 50) g;
INSERT INTO public.work_sessions (id, user_id, started_at, ended_at)
SELECT g, g % 50 + 1, timestamp '2026-03-20 08:00' + g * interval '13 hours',
       CASE WHEN g % 9 = 0 THEN NULL ELSE timestamp '2026-03-20 08:00' + g * interval '13 hours' + interval '50 minutes' END
FROM generate_series(1, 120) g;

-- For method: online (the plan's second step): events were written in Berlin's wall-clock
-- time by a default of Berlin's wall clock; events.at is NOT NULL, unique, referenced by
-- event_notes.event_at (a foreign-key group that goes online together), indexed with another
-- column, commented, and read by a view.
CREATE TABLE public.events (
    id   bigint NOT NULL,
    at   timestamp without time zone NOT NULL DEFAULT timezone('Europe/Berlin'::text, now()),
    kind text NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (id),
    CONSTRAINT events_at_key UNIQUE (at)
);
CREATE INDEX idx_events_kind_at ON public.events (kind, at DESC);
COMMENT ON COLUMN public.events.at IS 'when it happened';
CREATE TABLE public.event_notes (
    id       bigint NOT NULL,
    event_at timestamp without time zone,
    note     text NOT NULL,
    CONSTRAINT event_notes_pkey PRIMARY KEY (id),
    CONSTRAINT event_notes_event_at_fkey FOREIGN KEY (event_at) REFERENCES public.events (at)
);
CREATE VIEW public.late_events AS SELECT e.id, e.at FROM public.events e WHERE e.kind = 'late';
INSERT INTO public.events (id, at, kind)
SELECT g, timestamp '2026-01-01 00:30' + g * interval '3 days 5 hours', CASE WHEN g % 4 = 0 THEN 'late' ELSE 'on time' END
FROM generate_series(1, 80) g;
INSERT INTO public.event_notes (id, event_at, note)
SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE timestamp '2026-01-01 00:30' + (g % 80 + 1) * interval '3 days 5 hours' END, 'note ' || g
FROM generate_series(1, 150) g;
