import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `normalize_timestamps` with `method: online`. The database's default zone is
/// America/New_York and the application's sessions run in Asia/Tokyo: neither may change an
/// instant. Sessions `app` and `pgmend`:
///
///     app:    loop { BEGIN; INSERT a visit and a mark; UPDATE another visit's time; COMMIT }
///     pgmend: shadow column + trigger, backfill in batches, index built concurrently,
///             assertion, swap, validate
///
/// and the interleaving of the swap's lock:
///
///     pgmend: shadow, backfill, indexes, assertion done
///     app:    BEGIN; INSERT; UPDATE                   (holds ROW EXCLUSIVE)
///     pgmend: swap                                    (waits for ACCESS EXCLUSIVE)
///     app:    COMMIT                                  (pgmend's lock is granted)
///
/// Every committed row is there and its instant is the naive value read in the assumed zone
/// (the rows keep the expected instant in a `timestamptz` column of their own).
@Suite("normalize_timestamps method: online")
struct NormalizeTimestampsOnlineTests {
    /// visits.at (NOT NULL, unique, indexed, commented, default of the zone's wall clock) and
    /// marks.visit_at referencing it; `expected` holds each row's instant, `old_*` the naive value.
    static func tables(zone: String, rows: Int) -> String {
        let quotedZone = SQLLiteral.quoted(zone)
        return """
            CREATE TABLE public.visits (
                id bigint PRIMARY KEY,
                at timestamp without time zone NOT NULL DEFAULT timezone(\(quotedZone), now()) UNIQUE,
                seen timestamp(3) without time zone,
                expected timestamptz NOT NULL,
                old_at timestamp without time zone NOT NULL
            );
            CREATE INDEX visits_seen_at_idx ON public.visits (seen, at DESC) WHERE id > 0;
            COMMENT ON COLUMN public.visits.at IS 'when the visit began';
            CREATE TABLE public.marks (id bigint PRIMARY KEY, visit_at timestamp without time zone REFERENCES public.visits (at), expected timestamptz);
            CREATE VIEW public.recent_visits AS SELECT v.id, v.at FROM public.visits v WHERE v.id > 10;
            INSERT INTO public.visits
            SELECT g, t, t + interval '1.5 seconds', t AT TIME ZONE \(quotedZone), t
            FROM (SELECT g, timestamp '2025-01-01 00:30' + g * interval '97 minutes' AS t FROM generate_series(1, \(rows)) g) s;
            UPDATE public.visits SET seen = NULL WHERE id % 7 = 0;
            INSERT INTO public.marks SELECT id, CASE WHEN id % 5 = 0 THEN NULL ELSE at END, CASE WHEN id % 5 = 0 THEN NULL ELSE expected END
            FROM public.visits WHERE id % 2 = 0;
            """
    }

    /// The database's zone America/New_York; the session's Asia/Tokyo.
    static func prepare(_ database: TestDatabase, zone: String, rows: Int) throws -> Connection {
        let setup = try database.connect()
        try setup.execute("ALTER DATABASE \(SQLIdentifier(database.name)) SET timezone = 'America/New_York'")
        let connection = try ConcurrentWriterTests.session(database)
        try connection.execute(.unsafeRaw(Self.tables(zone: zone, rows: rows)))
        return connection
    }

    static func application(_ conninfo: String) throws -> Connection {
        let app = try ConcurrentWriterTests.session(conninfo)
        try app.execute("SET TimeZone = 'Asia/Tokyo'")
        return app
    }

    /// Rows whose instant is not the one expected, or whose shadow pieces are left.
    static func expectConverted(_ connection: Connection, visits: Int, marks: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (table, column, type) in [("visits", "at", "timestamp with time zone"), ("visits", "seen", "timestamp(3) with time zone"), ("marks", "visit_at", "timestamp with time zone")] {
            #expect(try connection.scalar(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = \(bind: "public.\(table)")::regclass AND attname = \(bind: column)",
                as: String.self) == type, sourceLocation: sourceLocation)
        }
        #expect(try connection.scalar("SELECT count(*) FROM public.visits", as: Int.self) == visits, sourceLocation: sourceLocation)
        #expect(try connection.scalar("SELECT count(*) FROM public.marks", as: Int.self) == marks, sourceLocation: sourceLocation)
        #expect(try connection.scalar("SELECT count(*) FROM public.visits WHERE at <> expected", as: Int.self) == 0, sourceLocation: sourceLocation)
        #expect(try connection.scalar(
            "SELECT count(*) FROM public.visits WHERE seen IS NOT NULL AND seen <> expected + interval '1.5 seconds'", as: Int.self) == 0, sourceLocation: sourceLocation)
        #expect(try connection.scalar("SELECT count(*) FROM public.marks WHERE visit_at IS DISTINCT FROM expected", as: Int.self) == 0, sourceLocation: sourceLocation)
        #expect(try connection.scalar(
            "SELECT count(*) FROM public.marks m JOIN public.visits v ON v.at = m.visit_at", as: Int.self)
            == (try connection.scalar("SELECT count(visit_at) FROM public.marks", as: Int.self)), sourceLocation: sourceLocation)
        #expect(try connection.scalar("SELECT convalidated FROM pg_constraint WHERE conname = 'marks_visit_at_fkey'", as: Bool.self) == true, sourceLocation: sourceLocation)
        #expect(try connection.scalar(
            "SELECT string_agg(indexrelid::regclass::text || ':' || indisvalid, ',' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = 'public.visits'::regclass",
            as: String.self) == "visits_at_key:true,visits_pkey:true,visits_seen_at_idx:true", sourceLocation: sourceLocation)
        #expect(try connection.scalar("SELECT col_description('public.visits'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'public.visits'::regclass AND attname = 'at'))", as: String.self)
            == "when the visit began", sourceLocation: sourceLocation)
        #expect(try connection.scalar(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'public.visits'::regclass", as: String.self) == "now()", sourceLocation: sourceLocation)
        #expect(try connection.scalar(
            "SELECT count(*) FROM pg_attribute WHERE attrelid IN ('public.visits'::regclass, 'public.marks'::regclass) AND attname LIKE '%pgmend%' AND NOT attisdropped",
            as: Int.self) == 0, sourceLocation: sourceLocation)
        #expect(try connection.scalar("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%pgmend%'", as: Int.self) == 0, sourceLocation: sourceLocation)
        #expect(try connection.scalar(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgmend' AND proname LIKE '%shadow'", as: Int.self) == 0,
            sourceLocation: sourceLocation)
        #expect(try connection.scalar("SELECT count(*) FROM public.recent_visits", as: Int.self) == visits - 10, sourceLocation: sourceLocation)
    }

    @Test(arguments: ["UTC", "Europe/Berlin"])
    func everyInstantIsTheNaiveValueReadInTheZone(zone: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.prepare(database, zone: zone, rows: 400)
            try connection.execute("SET TimeZone = 'Asia/Tokyo'")
            let step = try makeStep("normalize_timestamps: {columns: [visits.at, visits.seen], assume_time_zone: \(zone), recreate_views: true, method: online}")
            guard case .needed(let effects, _) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected needed")
                return
            }
            // The conversion names the zone, UTC too: the session's never decides.
            #expect(effects.contains { $0.sql.contains("NEW.\"at\" := NEW.\"at\" AT TIME ZONE '\(zone)'") } == false)
            #expect(effects.contains { $0.sql.contains("NEW.\"at__pgmend_tstz\" := NEW.\"at\" AT TIME ZONE '\(zone)'") }, "\(effects.map(\.sql))")
            #expect(!effects.contains { $0.hazards.contains(.tableRewrite) })
            try applyAndCheckPrediction(step, on: connection)
            try Self.expectConverted(connection, visits: 400, marks: 200)
            // One value by hand: 2025-01-01 00:30 + 97 min, 02:07 on the wall clock.
            let utc = zone == "UTC" ? "2025-01-01 02:07" : "2025-01-01 01:07"
            #expect(try connection.scalar("SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM public.visits WHERE id = 1", as: String.self) == utc)
            #expect(try connection.scalar("SELECT count(*) FROM public.visits WHERE at <> old_at AT TIME ZONE \(literal: zone)", as: Int.self) == 0)
        }
    }

    @Test func aDefaultOfAnotherZoneBlocksOnlineToo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.prepare(database, zone: "UTC", rows: 10)
            let step = try makeStep("normalize_timestamps: {columns: [visits.at], assume_time_zone: Europe/Berlin, method: online}")
            guard case .blocked(let problems) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected the UTC default to block a Berlin conversion")
                return
            }
            #expect(problems.map(\.message).contains { $0.hasPrefix("the default of visits.at, timezone('UTC'::text, now()), is not one pgmend can carry") }, "\(problems)")
        }
    }

    /// Inserts a visit and a mark and moves an older visit, all in January, written with
    /// Berlin's offset (+01): a naive column ignores it, a zoned one reads it, so the same
    /// statement means the same instant before and after the swap.
    static func writer(_ conninfo: String, rows: Int, stop: StopFlag) -> Background<Int> {
        Background {
            let app = try Self.application(conninfo)
            let format = DateFormatter()
            format.locale = Locale(identifier: "en_US_POSIX")
            format.timeZone = TimeZone(identifier: "UTC")
            format.dateFormat = "yyyy-MM-dd HH:mm:ss"
            let start = try #require(format.date(from: "2040-01-01 00:00:00"))
            var committed = 0
            while !stop.isSet {
                let id = rows + 1 + committed
                let wall = start.addingTimeInterval(Double(committed % 50_000) * 60)
                // Literals of unknown type: the same statements work on both types.
                let at = format.string(from: wall), later = format.string(from: wall.addingTimeInterval(30))
                let moved = 1 + (committed * 7919) % rows
                if try ConcurrentWriterTests.commit("""
                    BEGIN;
                    INSERT INTO public.visits (id, at, expected, old_at) VALUES (\(raw: id), '\(raw: at)+01', '\(raw: at)+01', '\(raw: at)');
                    INSERT INTO public.marks (id, visit_at, expected) VALUES (\(raw: id), '\(raw: at)+01', '\(raw: at)+01');
                    UPDATE public.visits SET at = '\(raw: later)+01', expected = '\(raw: later)+01', seen = NULL
                    WHERE id = \(raw: moved) AND NOT EXISTS (SELECT 1 FROM public.marks WHERE visit_at = public.visits.at);
                    COMMIT;
                    """, on: app) {
                    committed += 1
                }
            }
            return committed
        }
    }

    @Test func nothingWrittenMeanwhileIsLostOrWrong() throws {
        let rows = 30_000
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try Self.prepare(database, zone: "Europe/Berlin", rows: rows)
            let (report, committed, elapsed) = try ConcurrentWriterTests.runWhileWriting(
                // Five years of visits 97 minutes apart cross the clock changes: the plan takes
                // PostgreSQL's reading of them, as `expected` holds it.
                "settings: {lock_timeout: 2s, batch_size: 2000}\nsteps:\n  - normalize_timestamps: {columns: [visits.at, visits.seen], assume_time_zone: Europe/Berlin, on_nonexistent: shift_forward, on_ambiguous: later, recreate_views: true, method: online}\n",
                on: database, label: "timestamps-online") { Self.writer(database.conninfo, rows: rows, stop: $0) }
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(committed > 0, "the writer committed nothing")
            try Self.expectConverted(observer, visits: rows + committed, marks: rows / 2 + committed)

            let actions = report.steps.first?.actions ?? []
            let swap = actions.first { $0.summary.hasPrefix("swap") }?.longestTransactionMs
            let batches = actions.filter { $0.summary.hasPrefix("update") }.compactMap(\.longestTransactionMs).max()
            print(String(
                format: "normalize_timestamps online, %d + %d rows, writer committed %d transactions: run %.1f s, swap %d ms, longest batch %d ms",
                rows, rows / 2, committed, elapsed, swap ?? -1, batches ?? -1))
            #expect(swap != nil && batches != nil)
            #expect((swap ?? .max) < 2000, "the swap held its locks for \(swap ?? -1) ms")
        }
    }

    /// Assesses `step` and applies every effect before the swap, as a run killed just before it
    /// leaves them; returns the swap. Throws (the test fails) when the step is not needed or
    /// has no swap: nothing is applied then.
    static func applyUpToTheSwap(_ step: any RepairStep, on connection: Connection, sourceLocation: SourceLocation = #_sourceLocation) throws -> any Effect {
        let assessment = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection))
        var needed: [any Effect]?
        if case .needed(let effects, _) = assessment { needed = effects }
        let effects = try #require(needed, "expected the step needed, not \(assessment)", sourceLocation: sourceLocation)
        let swap = try #require(effects.first { $0 is AlterColumnTypes }, "no swap among \(effects.map(\.summary))", sourceLocation: sourceLocation)
        let context = EffectContext.standalone(connection)
        for effect in effects.prefix(while: { !($0 is AlterColumnTypes) }) { _ = try effect.apply(context) }
        return swap
    }

    /// The swap holds ACCESS EXCLUSIVE: its SET NOT NULL must be proven by the validated check,
    /// not by reading the table. PostgreSQL says which at DEBUG1 ("verifying table" when it
    /// reads; "existing constraints ... are sufficient to prove" when it does not).
    @Test func theSwapSetsNotNullWithoutReadingTheTable() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.prepare(database, zone: "UTC", rows: 200)
            let step = try makeStep("normalize_timestamps: {columns: [visits.at], assume_time_zone: UTC, recreate_views: true, method: online}")
            let swap = try Self.applyUpToTheSwap(step, on: connection)

            var messages: [String] = []
            connection.onNotice = { messages.append($0.message) }
            try connection.execute("SET client_min_messages = debug1")
            _ = try swap.apply(EffectContext.standalone(connection))
            try connection.execute("RESET client_min_messages")
            connection.onNotice = nil

            #expect(!messages.contains { $0.hasPrefix("verifying table") }, "\(messages)")
            #expect(messages.contains { $0.contains("\"visits.at\" are sufficient to prove that it does not contain nulls") }, "\(messages)")
            #expect(try connection.scalar(
                "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'public.visits'::regclass AND attname = 'at'", as: Bool.self) == true)
            #expect(try connection.scalar("SELECT count(*) FROM pg_constraint WHERE conname LIKE '%pgmend_not_null'", as: Int.self) == 0)
        }
    }

    @Test func rowsCommittedWhileTheSwapWaitsForItsLockAreConverted() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try Self.prepare(database, zone: "Europe/Berlin", rows: 300)
            let snapshots = ConcurrentWriterTests.scratch("timestamps-online-swap")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            let step = try makeStep("normalize_timestamps: {columns: [visits.at, visits.seen], assume_time_zone: Europe/Berlin, recreate_views: true, method: online}")
            _ = try Self.applyUpToTheSwap(step, on: observer)

            let app = try Self.application(database.conninfo)
            // A winter and a summer value, written as the application's naive wall clock.
            try app.execute("""
                BEGIN;
                INSERT INTO public.visits (id, at, seen, expected, old_at) VALUES
                    (5001, '2030-01-10 10:00', '2030-01-10 10:00:01.5', '2030-01-10 09:00+00', '2030-01-10 10:00'),
                    (5002, '2030-07-10 10:00', NULL, '2030-07-10 08:00+00', '2030-07-10 10:00');
                INSERT INTO public.marks VALUES (5001, '2030-01-10 10:00', '2030-01-10 09:00+00');
                UPDATE public.visits SET at = '2030-02-01 12:00', seen = NULL, expected = '2030-02-01 11:00+00' WHERE id = 1;
                """)
            let plan = try writePlan(
                "settings: {lock_timeout: 30s}\nsteps:\n  - normalize_timestamps: {columns: [visits.at, visits.seen], assume_time_zone: Europe/Berlin, recreate_views: true, method: online}\n")
            let run = ConcurrentWriterTests.apply(plan, on: database, snapshots: snapshots)
            // The swap locks marks first, then visits.
            do {
                try observer.waitForLockWaiter(on: "public.marks")
            } catch {
                try app.execute("COMMIT")
                let report = try run.value()
                Issue.record("pgmend did not wait for the swap's lock: \(report.outcome) \(report.message ?? "")")
                return
            }
            try app.execute("COMMIT")
            let report = try run.value()
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(report.steps.first?.actions.first { $0.executed }?.summary.hasPrefix("every row's shadow column") == true, "\(report.steps.first?.actions.map(\.summary) ?? [])")
            try Self.expectConverted(observer, visits: 302, marks: 151)
            #expect(try observer.scalar("SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM public.visits WHERE id = 5002", as: String.self) == "2030-07-10 08:00")

            // A second run does nothing.
            let again = try ConcurrentWriterTests.apply(plan, on: database, snapshots: snapshots).value()
            #expect(again.outcome == .ok, "\(again.message ?? "")")
            #expect(again.steps.first?.actions.allSatisfy { !$0.executed } == true)
        }
    }
}
