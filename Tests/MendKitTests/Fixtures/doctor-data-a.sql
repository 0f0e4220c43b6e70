-- Purpose-built drift for DoctorDataATests: names with capitals, spaces and quotes, a schema
-- other than public, an empty table, a partitioned table, tables never analyzed.
CREATE SCHEMA "Sales";

-- uuid_as_text: 200 rows; "ID" upper case every 10th row; "Customer_Id" in braces at g = 5
-- and one bad value at g = 13; key_hash an md5 (digest); session_token_id md5 hex (a digest
-- that merely parses); trace_id md5 hex (no digest name: an id without hyphens);
-- external_id other identifiers.
CREATE TABLE "Sales"."Order Lines" (
    "ID" text PRIMARY KEY,
    "Customer_Id" varchar(40),
    key_hash char(32),
    session_token_id text,
    trace_id text,
    external_id text
);
INSERT INTO "Sales"."Order Lines"
SELECT CASE WHEN g % 10 = 0 THEN upper(md5('ol' || g)::uuid::text) ELSE md5('ol' || g)::uuid::text END,
       CASE WHEN g = 5 THEN '{' || md5('c' || g)::uuid || '}' WHEN g = 13 THEN 'it''s "quoted"' ELSE md5('c' || g)::uuid::text END,
       md5('k' || g), md5('t' || g), md5('r' || g), 'cus_' || g
FROM generate_series(1, 200) g;

CREATE TABLE empty_things (id text PRIMARY KEY, owner_id text, seen_at timestamp);

-- naive_timestamp: a partitioned table (one finding, none for its partitions) and UTC defaults.
CREATE TABLE events (id text NOT NULL, at timestamp NOT NULL, payload text) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO events SELECT md5('e' || g)::uuid::text, timestamp '2024-06-01' + g * interval '1 day', 'p' FROM generate_series(1, 300) g;
CREATE TABLE audit_trail (id bigint PRIMARY KEY, logged_at timestamp DEFAULT timezone('utc'::text, now()), noted_at timestamptz);

-- backup_table
CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, total numeric(10,2));
INSERT INTO orders SELECT g, 'c' || g, g FROM generate_series(1, 50) g;
CREATE TABLE orders_20240101 (id int, customer text, total numeric(10,2));
INSERT INTO orders_20240101 SELECT * FROM orders WHERE id <= 40;
CREATE TABLE orders2 (id int, customer text, total numeric(10,2));
CREATE TABLE old_orders_archive (id int PRIMARY KEY, customer text, total numeric(10,2), archived_at timestamptz);
CREATE TABLE audit_copy (id int PRIMARY KEY, what text);
CREATE TABLE audit_readers (id int PRIMARY KEY, copy_id int REFERENCES audit_copy);
CREATE TABLE event_log (logged timestamptz, message text);

-- missing_foreign_key / orphan_rows
CREATE TABLE claude_sessions (id uuid PRIMARY KEY);
INSERT INTO claude_sessions SELECT md5('s' || g)::uuid FROM generate_series(1, 5) g;
CREATE TABLE agents (id int PRIMARY KEY, session_id uuid);
INSERT INTO agents SELECT g, md5('s' || (1 + g % 5))::uuid FROM generate_series(1, 20) g;
CREATE TABLE milestones (id int PRIMARY KEY, goal_id int, title_id int);
INSERT INTO milestones SELECT g, g, NULL FROM generate_series(1, 5) g;
CREATE TABLE categories (id bigint PRIMARY KEY);
INSERT INTO categories SELECT g FROM generate_series(1, 10) g;
CREATE TABLE products (id int PRIMARY KEY, category_id integer NOT NULL);
INSERT INTO products SELECT g, 1 + g % 10 FROM generate_series(1, 30) g;
INSERT INTO products VALUES (31, 99), (32, 98);
CREATE TABLE items (id int PRIMARY KEY, product_id int);
INSERT INTO items SELECT g, g FROM generate_series(1, 34) g;
ALTER TABLE items ADD CONSTRAINT items_product_fk FOREIGN KEY (product_id) REFERENCES products NOT VALID;

ANALYZE "Sales"."Order Lines", orders, events;
