import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

private let tables: SQL = """
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
    try connection.execute("ALTER DATABASE \(ident: database.name) SET timezone = 'America/New_York'")
    let fresh = try database.connect()
    #expect(try fresh.scalar("SHOW TimeZone", as: String.self) == "America/New_York")
    return fresh
}

/// Wall-clock times in Europe/Berlin around its 2024 clock changes: 02:30 on 31 March never
/// existed (clocks jumped from 02:00 to 03:00), 02:30 on 27 October happened twice (clocks went
/// back from 03:00 to 02:00); the others once. Row 7 lies before 1900, where the assessment
/// checks every value.
private let clockTable: SQL = """
    CREATE TABLE public.clock (id int PRIMARY KEY, at timestamp without time zone);
    INSERT INTO public.clock VALUES
        (1, '2024-03-31 02:30'), (2, '2024-03-31 03:30'), (3, '2024-10-27 02:30'), (4, '2024-10-27 03:30'),
        (5, '2024-10-27 01:30'), (6, NULL), (7, '1850-06-01 12:00'), (8, '2024-10-27 02:59:59');
    """

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

    /// What PostgreSQL itself makes of such times, which `on_nonexistent: shift_forward` and
    /// `on_ambiguous: later` keep: a time in the gap is read with the offset from before the
    /// jump (02:30 becomes 03:30+02), a time shown twice with the offset from after the
    /// set-back (the later instant).
    @Test func postgresReadsAGapForwardAndATimeShownTwiceAsTheLaterInstant() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("SET TimeZone = 'UTC'")
            let read = try connection.query(
                """
                SELECT to_char(t::timestamp AT TIME ZONE z, 'YYYY-MM-DD HH24:MI')
                FROM (VALUES ('2024-03-31 02:30', 'Europe/Berlin'), ('2024-10-27 02:30', 'Europe/Berlin'),
                             ('2024-03-10 02:30', 'America/New_York'), ('2024-11-03 01:30', 'America/New_York')) v(t, z)
                """
            ).map { try $0.get(0, as: String.self) }
            #expect(read == ["2024-03-31 01:30", "2024-10-27 01:30", "2024-03-10 07:30", "2024-11-03 06:30"])
        }
    }

    /// The instants each row of `clockTable` gets, in UTC (nil: NULL), by id.
    static func instants(_ connection: Connection) throws -> [Int: String?] {
        var result: [Int: String?] = [:]
        for row in try connection.query("SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM public.clock") {
            result[try row.get(0, as: Int.self)] = try row.get(1, as: String?.self)
        }
        return result
    }

    @Test(arguments: ["rewrite", "online"])
    func localTimesThatNeverExistedOrHappenedTwiceBlockUntilThePlanSays(method: String) throws {
        let base = "normalize_timestamps: {columns: [clock.at], assume_time_zone: Europe/Berlin, method: \(method)"
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(clockTable)
            guard case .blocked(let problems) = try makeStep(base + "}").assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected blocked")
                return
            }
            #expect(problems.map(\.description) == [
                "values of clock.at that never existed in Europe/Berlin (clocks jumped over them); say what they become with on_nonexistent: shift_forward or \"null\" (1 row: 1)",
                "values of clock.at that clocks in Europe/Berlin showed twice (set back), so either of two instants; say which with on_ambiguous: earlier or later (2 rows: 3, 8)",
            ])
        }
        // Cleared, and the earlier instant.
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(clockTable)
            let step = try makeStep(base + ", on_nonexistent: null, on_ambiguous: earlier}")
            guard case .needed(let effects, _) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected needed")
                return
            }
            let clearing = try #require(effects.first { $0.hazards.contains(.deletesData) }, "\(effects.map(\.hazards))")
            #expect(clearing.deletesRows == 1)
            #expect(clearing.summary.contains("1 value of clock.at in a daylight-saving gap set to NULL"), "\(clearing.summary)")
            #expect(clearing.summary.contains("2 values of clock.at that clocks showed twice read as the earlier instant"), "\(clearing.summary)")
            try applyAndCheckPrediction(step, on: connection)
            #expect(try Self.instants(connection) == [
                1: nil, 2: "2024-03-31 01:30:00", 3: "2024-10-27 00:30:00", 4: "2024-10-27 02:30:00", 5: "2024-10-26 23:30:00", 6: nil,
                7: "1850-06-01 11:06:32", 8: "2024-10-27 00:59:59",
            ])
        }
        // Moved forward by the gap, and the later instant: PostgreSQL's own reading.
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(clockTable)
            let step = try makeStep(base + ", on_nonexistent: shift_forward, on_ambiguous: later}")
            guard case .needed(let effects, _) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected needed")
                return
            }
            #expect(!effects.contains { $0.hazards.contains(.deletesData) })
            try applyAndCheckPrediction(step, on: connection)
            #expect(try Self.instants(connection) == [
                1: "2024-03-31 01:30:00", 2: "2024-03-31 01:30:00", 3: "2024-10-27 01:30:00", 4: "2024-10-27 02:30:00", 5: "2024-10-26 23:30:00", 6: nil,
                7: "1850-06-01 11:06:32", 8: "2024-10-27 01:59:59",
            ])
        }
    }

    /// Lord Howe Island moves its clocks by 30 minutes: the gap and the repeated half hour are
    /// found from the zone's own offsets, none assumed to be an hour.
    @Test func aHalfHourShiftIsReadFromTheZone() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE TABLE public.clock (id int PRIMARY KEY, at timestamp without time zone);
                CREATE INDEX clock_at ON public.clock (at);
                INSERT INTO public.clock VALUES (1, '2024-04-07 01:45'), (2, '2024-04-07 02:15'), (3, '2024-04-07 01:15'),
                    (4, '2024-10-06 02:15'), (5, '2024-10-06 02:45'), (6, '2024-10-06 01:59');
                """)
            let step = try makeStep("normalize_timestamps: {columns: [clock.at], assume_time_zone: Australia/Lord_Howe, on_ambiguous: earlier}")
            guard case .blocked(let problems) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected blocked")
                return
            }
            #expect(problems.map { $0.sample } == [["4"]])
            let shifting = try makeStep("normalize_timestamps: {columns: [clock.at], assume_time_zone: Australia/Lord_Howe, on_ambiguous: earlier, on_nonexistent: shift_forward}")
            try applyAndCheckPrediction(shifting, on: connection)
            #expect(try Self.instants(connection) == [
                1: "2024-04-06 14:45:00", 2: "2024-04-06 15:45:00", 3: "2024-04-06 14:15:00",
                4: "2024-10-05 15:45:00", 5: "2024-10-05 15:45:00", 6: "2024-10-05 15:29:00",
            ])
        }
    }

    @Test func theChoicesAreCheckedWhereTheyAreWritten() throws {
        do {
            _ = try makeStep("normalize_timestamps: {columns: all, assume_time_zone: Europe/Berlin, on_nonexistent: skip, on_ambiguous: first}")
            Issue.record("expected plan problems")
        } catch let error as PlanError {
            #expect(error.problems.map(\.message) == [
                "option 'on_nonexistent' of normalize_timestamps must be shift_forward, \"null\" or fail, not 'skip'",
                "option 'on_ambiguous' of normalize_timestamps must be earlier, later or fail, not 'first'",
            ])
        }
        let step = try #require(try makeStep("normalize_timestamps: {columns: all, assume_time_zone: UTC, on_nonexistent: null}") as? NormalizeTimestampsStep)
        #expect(step.settings.contains { $0.name == "on_nonexistent" && $0.value == "null" })
    }
}
