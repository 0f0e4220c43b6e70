import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `normalize_uuid` with `method: online` while the application writes. Sessions `app` and
/// `pgmend`:
///
///     app:    loop { BEGIN; INSERT a row; UPDATE the text column of another; COMMIT }
///     pgmend: shadow column + trigger, backfill in batches, index built concurrently,
///             assertion, swap, validate
///     app:    stops once pgmend is done
///
/// Every row committed before, during and after the change is there, and its uuid equals the
/// text it was written with, lower-cased (the writer keeps that text in a second column).
@Suite("normalize_uuid method: online while the application writes")
struct NormalizeUUIDOnlineTests {
    static let rows = 50_000

    static let tables = """
        CREATE TABLE public.owners (id text PRIMARY KEY, expected text NOT NULL);
        CREATE TABLE public.tokens (id bigint PRIMARY KEY, owner_id text NOT NULL REFERENCES public.owners (id),
                                    expected text NOT NULL);
        CREATE INDEX tokens_owner_id_idx ON public.tokens (owner_id);
        INSERT INTO public.owners SELECT upper(md5('owner-' || g)::uuid::text), md5('owner-' || g)::uuid::text FROM generate_series(1, 1000) g;
        INSERT INTO public.tokens SELECT g, upper(md5('owner-' || (g % 1000 + 1))::uuid::text), md5('owner-' || (g % 1000 + 1))::uuid::text
        FROM generate_series(1, \(rows)) g;
        """

    /// Writes until `stop` is set: each transaction inserts an owner and a token and moves an
    /// existing token to the new owner. Returns the number of committed transactions.
    static func writer(_ conninfo: String, stop: StopFlag) -> Background<Int> {
        Background {
            let app = try ConcurrentWriterTests.session(conninfo)
            var committed = 0
            while !stop.isSet {
                let owner = UUID().uuidString  // upper case: a form that is normalised
                let token = Self.rows + 1 + committed
                let moved = 1 + (committed * 7919) % Self.rows
                // Literals of unknown type: the same statements work on text and on uuid.
                try app.execute("""
                    BEGIN;
                    INSERT INTO public.owners (id, expected) VALUES ('\(owner)', '\(owner.lowercased())');
                    INSERT INTO public.tokens (id, owner_id, expected) VALUES (\(token), '\(owner)', '\(owner.lowercased())');
                    UPDATE public.tokens SET owner_id = '\(owner)', expected = '\(owner.lowercased())' WHERE id = \(moved);
                    COMMIT;
                    """)
                committed += 1
            }
            return committed
        }
    }

    @Test func nothingWrittenMeanwhileIsLostOrWrong() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            try observer.execute(Self.tables)
            let snapshots = ConcurrentWriterTests.scratch("uuid-online")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            let stop = StopFlag()
            let app = Self.writer(database.conninfo, stop: stop)
            Thread.sleep(forTimeInterval: 0.2)
            let plan = try writePlan("settings: {lock_timeout: 2s, batch_size: 2000}\nsteps:\n  - normalize_uuid: {columns: [owners.id], method: online}\n")
            let started = Date()
            let report = try ConcurrentWriterTests.apply(plan, on: database, snapshots: snapshots).value(within: 300)
            let elapsed = Date().timeIntervalSince(started)
            Thread.sleep(forTimeInterval: 0.2)
            stop.set()
            let committed = try app.value()
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(committed > 0, "the writer committed nothing")

            for (table, column) in [("owners", "id"), ("tokens", "owner_id")] {
                #expect(try observer.scalar(
                    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2", ["public.\(table)", column],
                    as: String.self) == "uuid")
            }
            #expect(try observer.scalar("SELECT count(*) FROM public.owners", as: Int.self) == 1000 + committed)
            #expect(try observer.scalar("SELECT count(*) FROM public.tokens", as: Int.self) == Self.rows + committed)
            #expect(try observer.scalar("SELECT count(*) FROM public.owners WHERE id IS NULL OR id::text <> expected", as: Int.self) == 0)
            #expect(try observer.scalar("SELECT count(*) FROM public.tokens WHERE owner_id IS NULL OR owner_id::text <> expected", as: Int.self) == 0)
            #expect(try observer.scalar("SELECT count(*) FROM public.tokens t JOIN public.owners o ON o.id = t.owner_id", as: Int.self) == Self.rows + committed)
            // The key, the index and the primary key are back, valid, under their names.
            #expect(try observer.scalar(
                "SELECT convalidated FROM pg_constraint WHERE conname = 'tokens_owner_id_fkey'", as: Bool.self) == true)
            #expect(try observer.scalar(
                "SELECT string_agg(indexrelid::regclass::text || ':' || indisvalid, ',' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid IN ('public.owners'::regclass, 'public.tokens'::regclass)",
                as: String.self) == "owners_pkey:true,tokens_owner_id_idx:true,tokens_pkey:true")
            #expect(try observer.scalar("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgmend' AND proname LIKE '%uuid_shadow'", as: Int.self) == 0)
            #expect(try observer.scalar("SELECT count(*) FROM pg_attribute WHERE attrelid IN ('public.owners'::regclass, 'public.tokens'::regclass) AND attname LIKE '%pgmend_uuid' AND NOT attisdropped", as: Int.self) == 0)

            // The longest locks: the swap (from its locks granted to its commit) and the batches.
            let actions = report.steps.first?.actions ?? []
            let swap = actions.first { $0.summary.hasPrefix("swap") }?.longestTransactionMs
            let batches = actions.filter { $0.summary.hasPrefix("update") }.compactMap(\.longestTransactionMs).max()
            print(String(
                format: "normalize_uuid online, %d + %d rows, writer committed %d transactions: run %.1f s, swap %d ms, longest batch %d ms",
                Self.rows, 1000, committed, elapsed, swap ?? -1, batches ?? -1))
            #expect(swap != nil && batches != nil)
            #expect((swap ?? .max) < 2000, "the swap held its locks for \(swap ?? -1) ms")
        }
    }

    @Test func aSecondRunDoesNothingAndTheShadowIsGone() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            try observer.execute(Self.tables.replacingOccurrences(of: "\(Self.rows)", with: "3000"))
            let snapshots = ConcurrentWriterTests.scratch("uuid-online-again")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            let plan = try writePlan("steps:\n  - normalize_uuid: {columns: [tokens.owner_id], method: online}\n")
            let first = try ConcurrentWriterTests.apply(plan, on: database, snapshots: snapshots).value()
            #expect(first.outcome == .ok, "\(first.message ?? "")")
            let second = try ConcurrentWriterTests.apply(plan, on: database, snapshots: snapshots).value()
            #expect(second.outcome == .ok, "\(second.message ?? "")")
            #expect(second.steps.first?.actions.allSatisfy { !$0.executed } == true)
            #expect(try observer.scalar("SELECT count(*) FROM public.tokens WHERE owner_id::text <> expected", as: Int.self) == 0)
        }
    }

    @Test func aShadowLeftByAKilledRunIsKeptAndTheBackfillFinishesIt() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.t (id bigint PRIMARY KEY, ref text NOT NULL);
                INSERT INTO public.t SELECT g, upper(md5(g::text)::uuid::text) FROM generate_series(1, 100) g;
                """)
            let step = try makeStep("normalize_uuid: {columns: [t.ref], method: online}")
            // What a run killed during its backfill leaves: the shadow and its trigger, half filled.
            guard case .needed(let first, _) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected needed")
                return
            }
            for statement in (first[0] as? AtomicSQL)?.statements ?? [] { try connection.execute(statement) }
            try connection.execute("UPDATE public.t SET ref__pgmend_uuid = ref::uuid WHERE id <= 50")
            guard case .needed(let effects, _) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected needed")
                return
            }
            #expect(!effects.contains { $0.summary.hasPrefix("add shadow") }, "\(effects.map(\.summary))")
            #expect((effects.first as? Backfill)?.matching == 50, "\(effects.map(\.summary))")
            try applyAndCheckPrediction(step, on: connection)
            #expect(try connection.scalar("SELECT count(*) FROM public.t WHERE ref::text = lower(md5(id::text)::uuid::text)", as: Int.self) == 100)
        }
    }

    @Test func aTableWithoutPrimaryKeyIsBlocked() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE public.t (ref text); INSERT INTO public.t VALUES (md5('a')::uuid::text);")
            let step = try makeStep("normalize_uuid: {columns: [t.ref], method: online}")
            guard case .blocked(let problems) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected blocked")
                return
            }
            #expect(problems.map(\.message) == ["t has no primary key: method online backfills by it (use method: rewrite)"])
        }
    }
}

/// Set once, read by another thread: tells a writer loop to end.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
