-- Users whose phone settings live in metadata jsonb; a half-applied migration added
-- phone_number (adopted: same type) and filled it for a few rows, one of them differently.
-- Planted: user 7 shares user 3's number (created later, so it is set aside), user 11's
-- number is too long for varchar(20), user 13's verified flag is "maybe", user 17's count is
-- the string "4" (accepted), user 19's verified_at has no offset (read in UTC).
CREATE TABLE public.users (
    id           bigint       NOT NULL,
    email        varchar(255) NOT NULL,
    created_at   timestamp without time zone NOT NULL,
    metadata     jsonb        DEFAULT '{}'::jsonb,
    phone_number varchar(20),
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
INSERT INTO public.users (id, email, created_at, metadata)
SELECT g, 'user' || g || '@example.com', timestamp '2026-01-01' + g * interval '1 hour',
       CASE WHEN g % 10 = 0 THEN '{"theme": "dark"}'::jsonb
            ELSE jsonb_build_object(
              'theme', 'light',
              'phone_number', ' +1555' || lpad(g::text, 7, '0') || ' ',
              'phone_verified', g % 3 <> 0,
              'phone_verification_attempts', g % 4,
              'phone_verified_at', CASE WHEN g % 3 <> 0 THEN '2026-02-01T10:00:00+02:00' END,
              'sms_enabled', g % 7 <> 0)
       END
FROM generate_series(1, 300) g;
UPDATE public.users SET phone_number = '+1555' || lpad(id::text, 7, '0') WHERE id BETWEEN 21 AND 25;
UPDATE public.users SET phone_number = '+15559999999' WHERE id = 24;
UPDATE public.users SET metadata = metadata || '{"phone_number": "+15550000003"}' WHERE id = 7;
UPDATE public.users SET metadata = metadata || '{"phone_number": "+1 (555) 000-0011 ext. 9"}' WHERE id = 11;
UPDATE public.users SET metadata = metadata || '{"phone_verified": "maybe"}' WHERE id = 13;
UPDATE public.users SET metadata = metadata || '{"phone_verification_attempts": "4"}' WHERE id = 17;
UPDATE public.users SET metadata = metadata || '{"phone_verified_at": "2026-02-01 10:00:00"}' WHERE id = 19;
