-- Rows for the booking application's tables (Fixtures/python/bookings_app.py, created by
-- SQLAlchemy's create_all), then the drift doctor's test expects it to find, each marked DRIFT.
-- Everything else is as the models made it and must give no finding. Deterministic.
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO organizations (id, name, settings, created_at)
SELECT md5('org-' || i)::uuid, 'Studio ' || i,
       jsonb_build_object('billing_email', 'billing' || i || '@example.com', 'seats', 5 + i % 20, 'locale', 'en'),
       timestamptz '2025-01-01 00:00:00+00' + i * interval '1 day'
FROM generate_series(1, 120) AS i;
INSERT INTO members (id, organization_id, email, role, created_at)
SELECT md5('member-' || i)::uuid, md5('org-' || (1 + i % 120))::uuid, 'member' || i || '@example.com',
       (ARRAY['owner', 'admin', 'member', 'member', 'member'])[1 + i % 5],
       timestamptz '2025-01-02 00:00:00+00' + i * interval '3 hours'
FROM generate_series(1, 600) AS i;
INSERT INTO rooms (id, organization_id, name, capacity)
SELECT md5('room-' || i)::uuid, md5('org-' || (1 + i % 120))::uuid, 'Room ' || i, 2 + i % 30
FROM generate_series(1, 240) AS i;
INSERT INTO bookings (id, room_id, member_id, starts_at, ends_at, state, notes, created_at)
SELECT md5('booking-' || i)::uuid, md5('room-' || (1 + i % 240))::uuid, md5('member-' || (1 + i % 600))::uuid,
       timestamptz '2025-03-01 09:00:00+00' + i * interval '2 hours',
       timestamptz '2025-03-01 10:00:00+00' + i * interval '2 hours',
       (ARRAY['requested', 'confirmed', 'confirmed', 'cancelled']::booking_state[])[1 + i % 4],
       CASE WHEN i % 5 = 0 THEN 'bring a projector (' || i || ')' END,
       timestamptz '2025-02-01 00:00:00+00' + i * interval '1 hour'
FROM generate_series(1, 2000) AS i;
INSERT INTO invoices (id, booking_id, amount, currency, paid_at, created_at)
SELECT md5('invoice-' || i)::uuid, md5('booking-' || i)::uuid, (20 + i % 80)::numeric(10, 2), 'EUR',
       CASE WHEN i % 3 <> 0 THEN timestamptz '2025-03-02 00:00:00+00' + i * interval '2 hours' END,
       timestamptz '2025-03-01 12:00:00+00' + i * interval '2 hours'
FROM generate_series(1, 1500) AS i;
INSERT INTO audit_events (organization_id, action, payload, created_at)
SELECT md5('org-' || (1 + i % 120))::uuid,
       (ARRAY['booking.created', 'booking.cancelled', 'member.invited', 'room.updated', 'invoice.paid'])[1 + i % 5],
       jsonb_build_object('k' || (i % 37), i),
       timestamptz '2025-01-05 00:00:00+00' + i * interval '17 minutes'
FROM generate_series(1, 3000) AS i;

-- DRIFT backup_table: a copy of bookings made by hand before a migration, left behind.
CREATE TABLE bookings_bak AS TABLE bookings;

-- DRIFT uuid_as_text + missing_foreign_key: invoices.booking_id was turned into text by a
-- migration that dropped its foreign key to do it; every value is still a booking's id.
ALTER TABLE invoices DROP CONSTRAINT invoices_booking_id_fkey;
ALTER TABLE invoices ALTER COLUMN booking_id TYPE varchar(36);

-- DRIFT naive_timestamp: audit_events.created_at lost its time zone, written as UTC.
ALTER TABLE audit_events ALTER COLUMN created_at TYPE timestamp without time zone USING created_at AT TIME ZONE 'UTC';
ALTER TABLE audit_events ALTER COLUMN created_at SET DEFAULT timezone('utc', now());

-- DRIFT duplicate_index: a hand-made copy of the index the models declare.
CREATE INDEX members_org_idx ON members (organization_id);

-- DRIFT json_fields: organizations.settings holds billing_email, seats and locale in every
-- row; two organizations share a billing address, and one has seats 'many'.
UPDATE organizations SET settings = settings || '{"billing_email": "billing7@example.com"}' WHERE id = md5('org-8')::uuid;
UPDATE organizations SET settings = settings || '{"seats": "many"}' WHERE id = md5('org-9')::uuid;

-- DRIFT free_text_enum: members.role, free text of three labels, and two dirty variants.
UPDATE members SET role = 'Admin' WHERE id = md5('member-6')::uuid;
UPDATE members SET role = 'owner ' WHERE id = md5('member-10')::uuid;
COMMIT;
ANALYZE;
