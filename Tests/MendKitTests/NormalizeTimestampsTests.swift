import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

private let tables = """
    SET search_path = public;
    CREATE TABLE public.users (
        id int PRIMARY KEY,
        created_at timestamp without time zone NOT NULL DEFAULT timezone('utc', now()),
        seen_at timestamp without time zone DEFAULT now(),
        updated_at timestamptz
    );
    CREATE INDEX users_created_at_idx ON public.users (created_at);
    INSERT INTO public.users (id, created_at, seen_at) VALUES
        (1, '2025-01-15 12:00:00', '2025-07-01 08:30:00.123456'), (2, '2025-06-15 23:30:00', NULL);
    CREATE TABLE public.old_users AS SELECT id, created_at, seen_at FROM public.users;
    """

/// The database's own zone is not UTC: the result must not depend on it.
private func setZone(_ connection: Connection, _ database: TestDatabase) throws -> Connection {
    try connection.execute("ALTER DATABASE \(SQLIdentifier(database.name).quoted) SET timezone = 'America/New_York'")
    let fresh = try database.connect()
    #expect(try fresh.scalar("SHOW TimeZone", as: String.self) == "America/New_York")
    return fresh
}

@Suite("normalize_timestamps")
struct NormalizeTimestampsTests {
    @Test func utcChangesTheCatalogOnlyAndKeepsEveryInstant() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try setZone(try database.connect(), database)
            try connection.execute(tables)
            let fileBefore = try connection.scalar("SELECT relfilenode::int8 FROM pg_class WHERE oid = 'public.users'::regclass", as: Int64.self)
            let step = try makeStep("normalize_timestamps: {columns: all, exclude: [old_users.created_at, old_users.seen_at], assume_time_zone: UTC}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .needed(let effects, _) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected needed")
                return
            }
            #expect(effects.first?.hazards == [.accessExclusiveLock], "no rewrite hazard for UTC")
            #expect(effects.first?.summary.contains("no table rewrite") == true)
            try applyAndCheckPrediction(step, on: connection)
            let fileAfter = try connection.scalar("SELECT relfilenode::int8 FROM pg_class WHERE oid = 'public.users'::regclass", as: Int64.self)
            #expect(fileAfter == fileBefore, "PostgreSQL did not rewrite the table")
            #expect(try connection.scalar(
                "SELECT count(*) FROM public.users u JOIN public.old_users o USING (id) WHERE u.created_at <> o.created_at AT TIME ZONE 'UTC' OR u.seen_at IS DISTINCT FROM o.seen_at AT TIME ZONE 'UTC'",
                as: Int.self) == 0)
            #expect(try connection.scalar("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM public.users WHERE id = 2", as: String.self) == "2025-06-15 23:30")
            let defaults = try connection.query(
                "SELECT a.attname::text, pg_get_expr(d.adbin, d.adrelid), format_type(a.atttypid, a.atttypmod) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = 'public.users'::regclass ORDER BY 1")
            #expect(try defaults.map { try "\($0.get(0, as: String.self)) \($0.get(1, as: String.self)) \($0.get(2, as: String.self))" }
                == ["created_at now() timestamp with time zone", "seen_at now() timestamp with time zone"])
        }
    }

    @Test func aColumnWithPrecisionIsRewrittenAndTheDryRunSaysSo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE public.precise (id int PRIMARY KEY, at timestamp(3) without time zone); INSERT INTO public.precise VALUES (1, '2025-01-01 10:00:00.123');")
            let fileBefore = try connection.scalar("SELECT relfilenode::int8 FROM pg_class WHERE oid = 'public.precise'::regclass", as: Int64.self)
            let step = try makeStep("normalize_timestamps: {columns: all, assume_time_zone: Etc/UTC}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .needed(let effects, _) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected needed")
                return
            }
            #expect(effects.first?.hazards == [.accessExclusiveLock, .tableRewrite])
            try applyAndCheckPrediction(step, on: connection)
            #expect(try connection.scalar("SELECT relfilenode::int8 FROM pg_class WHERE oid = 'public.precise'::regclass", as: Int64.self) != fileBefore)
            #expect(try connection.scalar("SELECT to_char(at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') FROM public.precise", as: String.self) == "10:00:00.123")
        }
    }

    @Test func anotherZoneShiftsTheInstants() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try setZone(try database.connect(), database)
            try connection.execute(tables + "ALTER TABLE public.users ALTER COLUMN created_at SET DEFAULT now();")
            let step = try makeStep("normalize_timestamps: {columns: [users.created_at, users.seen_at], assume_time_zone: Europe/Berlin}")
            try applyAndCheckPrediction(step, on: connection)
            #expect(try connection.scalar(
                "SELECT count(*) FROM public.users u JOIN public.old_users o USING (id) WHERE u.created_at <> o.created_at AT TIME ZONE 'Europe/Berlin' OR u.seen_at IS DISTINCT FROM o.seen_at AT TIME ZONE 'Europe/Berlin'",
                as: Int.self) == 0)
            // Winter +01, summer +02.
            #expect(try connection.scalar("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM public.users WHERE id = 1", as: String.self) == "2025-01-15 11:00")
            #expect(try connection.scalar("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM public.users WHERE id = 2", as: String.self) == "2025-06-15 21:30")
        }
    }

    @Test func aDefaultOfAnotherZoneBlocks() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables)
            let step = try makeStep("normalize_timestamps: {columns: [users.created_at], assume_time_zone: Europe/Berlin}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .blocked(let problems) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected the UTC default to block a Berlin conversion")
                return
            }
            #expect(problems.first?.message.contains("the default of users.created_at") == true, "\(problems)")
        }
    }

    @Test func anUnknownZoneBlocksAndAMissingOneIsAPlanProblem() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables)
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .blocked = try makeStep("normalize_timestamps: {columns: all, assume_time_zone: Mars/Olympus}").assess(schema, Probe(connection: connection)) else {
                Issue.record("expected an unknown zone to block")
                return
            }
        }
        #expect(throws: (any Error).self) { try makeStep("normalize_timestamps: {columns: all}") }
        #expect(throws: (any Error).self) { try makeStep("normalize_timestamps: {columns: all, assume_time_zone: UTC, method: slowly}") }
    }
}
