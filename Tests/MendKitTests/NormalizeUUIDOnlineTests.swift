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

    static func tables(rows: Int = Self.rows) -> SQL {
        """
        CREATE TABLE public.owners (id text PRIMARY KEY, expected text NOT NULL);
        CREATE TABLE public.tokens (id bigint PRIMARY KEY, owner_id text NOT NULL REFERENCES public.owners (id),
                                    expected text NOT NULL);
        CREATE INDEX tokens_owner_id_idx ON public.tokens (owner_id);
        INSERT INTO public.owners SELECT upper(md5('owner-' || g)::uuid::text), md5('owner-' || g)::uuid::text FROM generate_series(1, 1000) g;
        INSERT INTO public.tokens SELECT g, upper(md5('owner-' || (g % 1000 + 1))::uuid::text), md5('owner-' || (g % 1000 + 1))::uuid::text
        FROM generate_series(1, \(literal: rows)) g;
        """
    }

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
                if try ConcurrentWriterTests.commit("""
                    BEGIN;
                    INSERT INTO public.owners (id, expected) VALUES ('\(raw: owner)', '\(raw: owner.lowercased())');
                    INSERT INTO public.tokens (id, owner_id, expected) VALUES (\(raw: token), '\(raw: owner)', '\(raw: owner.lowercased())');
                    UPDATE public.tokens SET owner_id = '\(raw: owner)', expected = '\(raw: owner.lowercased())' WHERE id = \(raw: moved);
                    COMMIT;
                    """, on: app) {
                    committed += 1
                }
            }
            return committed
        }
    }

    @Test func nothingWrittenMeanwhileIsLostOrWrong() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            try observer.execute(Self.tables())
            let (report, committed, elapsed) = try ConcurrentWriterTests.runWhileWriting(
                "settings: {lock_timeout: 2s, batch_size: 2000}\nsteps:\n  - normalize_uuid: {columns: [owners.id], method: online}\n",
                on: database, label: "uuid-online") { Self.writer(database.conninfo, stop: $0) }
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(committed > 0, "the writer committed nothing")

            for (table, column) in [("owners", "id"), ("tokens", "owner_id")] {
                #expect(try observer.scalar(
                    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = \(bind: "public.\(table)")::regclass AND attname = \(bind: column)",
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
            try observer.execute(Self.tables(rows: 3000))
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

    /// `on_invalid: null` online. Sessions `app` and `pgmend`:
    ///
    ///     pgmend: shadow + trigger, backfill, indexes, assertion  (a run killed before its swap)
    ///     app:    INSERT a value that is no UUID; COMMIT          (the trigger nulls its shadow)
    ///     app:    BEGIN; INSERT and UPDATE values that are none    (holds ROW EXCLUSIVE)
    ///     pgmend: swap                                            (waits for ACCESS EXCLUSIVE)
    ///     app:    COMMIT
    ///     pgmend: journals every such value under the lock, then swaps
    ///
    /// Each value that is not a UUID, old or written meanwhile, is NULL afterwards and in
    /// `pgmend.set_aside` with its row's key; every other value is its uuid.
    @Test func valuesThatAreNoUUIDsAreJournaledUnderTheSwapsLockAndNulled() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            try observer.execute("""
                CREATE TABLE public.links (id bigint PRIMARY KEY, ref varchar(40), expected uuid);
                CREATE INDEX links_ref_idx ON public.links (ref);
                INSERT INTO public.links SELECT g, CASE WHEN g % 3 = 0 THEN upper(md5(g::text)::uuid::text) ELSE md5(g::text)::uuid::text END, md5(g::text)::uuid
                FROM generate_series(1, 1000) g;
                UPDATE public.links SET ref = 'bad-' || id, expected = NULL WHERE id % 100 = 0;
                UPDATE public.links SET ref = '', expected = NULL WHERE id % 250 = 1;
                UPDATE public.links SET ref = NULL, expected = NULL WHERE id % 250 = 7;
                """)
            let snapshots = ConcurrentWriterTests.scratch("uuid-online-null")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            let options = "normalize_uuid: {columns: [links.ref], on_invalid: \"null\", method: online}"
            let step = try makeStep(options)
            guard case .needed(let effects, _) = try step.assess(try CatalogReader(connection: observer).readSchema(), Probe(connection: observer)) else {
                Issue.record("expected needed")
                return
            }
            let context = EffectContext.standalone(observer)
            for effect in effects.prefix(while: { !($0 is AlterColumnTypes) }) { _ = try effect.apply(context) }
            // Under the swap's lock the journal reads the partial index, not the table.
            let swap = try #require(effects.first { $0 is AlterColumnTypes } as? AlterColumnTypes)
            let journalQuery = try #require(swap.setAside.first?.query)
            let plan = try observer.query("EXPLAIN (COSTS OFF) \(journalQuery)" as SQL).map { try $0.get(0, as: String.self) }.joined(separator: "\n")
            #expect(plan.contains("links_ref_pgmend_nulled"), "\(plan)")

            let app = try ConcurrentWriterTests.session(database)
            try app.execute("INSERT INTO public.links VALUES (2001, 'bad-before', NULL)")
            try app.execute("""
                BEGIN;
                INSERT INTO public.links VALUES (2002, 'bad-while-waiting', NULL), (2003, upper(md5('late')::uuid::text), md5('late')::uuid);
                UPDATE public.links SET ref = 'now-bad', expected = NULL WHERE id = 2;
                """)
            let run = ConcurrentWriterTests.apply(try writePlan("settings: {lock_timeout: 30s}\nsteps:\n  - \(options)\n"), on: database, snapshots: snapshots)
            do {
                try observer.waitForLockWaiter(on: "public.links")
            } catch {
                try app.execute("COMMIT")
                Issue.record("pgmend did not wait for the swap's lock: \(try run.value().message ?? "")")
                return
            }
            try app.execute("COMMIT")
            let report = try run.value()
            #expect(report.outcome == .ok, "\(report.message ?? "")")

            #expect(try observer.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.links'::regclass AND attname = 'ref'", as: String.self) == "uuid")
            #expect(try observer.scalar("SELECT count(*) FROM public.links", as: Int.self) == 1003)
            #expect(try observer.scalar("SELECT count(*) FROM public.links WHERE ref IS DISTINCT FROM expected", as: Int.self) == 0)
            let journaled = try observer.query(
                "SELECT key || ' ' || field || ' ' || reason || ' [' || column_value || ']' FROM pgmend.set_aside ORDER BY key::bigint"
            ).map { try $0.get(0, as: String.self) }
            var expected = (1...1000).filter { $0 % 100 == 0 || $0 % 250 == 1 || $0 == 2 }.map { id in
                "\(id) ref on_invalid: null [\(id == 2 ? "now-bad" : id % 100 == 0 ? "bad-\(id)" : "")]"
            }
            expected += ["2001 ref on_invalid: null [bad-before]", "2002 ref on_invalid: null [bad-while-waiting]"]
            #expect(journaled == expected)
            #expect(try observer.scalar("SELECT count(*) FROM pg_class WHERE relname LIKE '%pgmend%' AND relkind = 'i'", as: Int.self) == 0)

            let again = try ConcurrentWriterTests.apply(try writePlan("steps:\n  - \(options)\n"), on: database, snapshots: snapshots).value()
            #expect(again.outcome == .ok, "\(again.message ?? "")")
            #expect(again.steps.first?.actions.allSatisfy { !$0.executed } == true)
        }
    }

    /// `on_invalid: null` online while the application writes throughout: each transaction
    /// inserts a row and changes another (never the same row twice), every third with a value
    /// that is no UUID. Before the swap those commit (the trigger nulls their shadow); after it
    /// the uuid column refuses them and the writer rolls back. Every bad value committed, and
    /// every bad value there before, is journaled exactly once and NULL; every other is its uuid.
    @Test func badValuesWrittenThroughoutTheRunAreJournaledAndNulled() throws {
        let rows = 40_000
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            try observer.execute("""
                CREATE TABLE public.links (id bigint PRIMARY KEY, ref varchar(40), expected uuid);
                CREATE INDEX links_ref_idx ON public.links (ref);
                INSERT INTO public.links SELECT g, upper(md5(g::text)::uuid::text), md5(g::text)::uuid FROM generate_series(1, \(literal: rows)) g;
                UPDATE public.links SET ref = 'bad-' || id, expected = NULL WHERE id % 1000 = 0;
                """)
            let conninfo = database.conninfo
            let writer = { (stop: StopFlag) in Background { () -> [String] in
                let app = try ConcurrentWriterTests.session(conninfo)
                var committedBad: [String] = []
                var attempt = 0
                while !stop.isSet {
                    attempt += 1
                    let id = rows + attempt
                    // Distinct rows, none of the ones that start bad.
                    let moved = 1 + (attempt * 7919) % rows
                    if moved % 1000 == 0 { continue }
                    let bad = attempt % 3 == 0
                    let value = bad ? "bad-\(id)" : UUID().uuidString
                    let expected = bad ? "NULL" : "'\(value.lowercased())'"
                    do {
                        try app.execute("""
                            BEGIN;
                            INSERT INTO public.links VALUES (\(raw: id), '\(raw: value)', \(raw: expected));
                            UPDATE public.links SET ref = '\(raw: value)', expected = \(raw: expected) WHERE id = \(raw: moved);
                            COMMIT;
                            """)
                        if bad { committedBad += ["\(id) [\(value)]", "\(moved) [\(value)]"] }
                    } catch let error as PostgresError where error.sqlState == .invalidTextRepresentation && bad {
                        try app.execute("ROLLBACK")
                    }
                }
                return committedBad
            } }
            let (report, committedBad, _) = try ConcurrentWriterTests.runWhileWriting(
                "settings: {lock_timeout: 2s, batch_size: 2000}\nsteps:\n  - normalize_uuid: {columns: [links.ref], on_invalid: \"null\", method: online}\n",
                on: database, label: "uuid-online-null-writer", writer: writer)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(!committedBad.isEmpty, "no bad value committed before the swap")

            #expect(try observer.scalar("SELECT count(*) FROM public.links WHERE ref IS DISTINCT FROM expected", as: Int.self) == 0)
            let journaled = try observer.query("SELECT key || ' [' || column_value || ']' FROM pgmend.set_aside").map { try $0.get(0, as: String.self) }.sorted()
            let expected = (committedBad + (1...rows).filter { $0 % 1000 == 0 }.map { "\($0) [bad-\($0)]" }).sorted()
            #expect(journaled == expected)
            let swap = report.steps.first?.actions.first { $0.summary.hasPrefix("swap") }?.longestTransactionMs
            print("normalize_uuid online on_invalid: null, \(rows) rows, \(committedBad.count / 2) bad values committed meanwhile, \(journaled.count) journaled: swap \(swap ?? -1) ms")
        }
    }

    /// What blocks the step `yaml` on a fresh database after `setup` ([] and an issue when nothing does).
    static func blockingProblems(_ yaml: String, after setup: SQL, sourceLocation: SourceLocation = #_sourceLocation) throws -> [StepProblem] {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(setup)
            guard case .blocked(let problems) = try makeStep(yaml).assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected \(yaml) to be blocked", sourceLocation: sourceLocation)
                return []
            }
            return problems
        }
    }

    @Test func aNotNullColumnWithValuesThatAreNoUUIDsStaysBlockedOnline() throws {
        let problems = try Self.blockingProblems(
            "normalize_uuid: {columns: [t.ref], on_invalid: \"null\", method: online}",
            after: "CREATE TABLE public.t (id int PRIMARY KEY, ref text NOT NULL); INSERT INTO public.t VALUES (1, md5('a')::uuid::text), (2, 'nope');")
        #expect(problems.map(\.message) == ["values of t.ref that are not UUIDs (on_invalid: null cannot clear them: the column is NOT NULL)"])
        #expect(problems.first?.sample == ["2"])
    }

    @Test func aTableWithoutPrimaryKeyIsBlocked() throws {
        let problems = try Self.blockingProblems(
            "normalize_uuid: {columns: [t.ref], method: online}", after: "CREATE TABLE public.t (ref text); INSERT INTO public.t VALUES (md5('a')::uuid::text);")
        #expect(problems.map(\.message) == ["t has no primary key: method online backfills by it (use method: rewrite)"])
    }
}

extension ConcurrentWriterTests {
    /// Runs the plan `yaml` for real while the writer `start` returns writes, and stops that
    /// writer a moment after the run: the run's report, what the writer returned, and how long
    /// the run took.
    static func runWhileWriting<Value: Sendable>(
        _ yaml: String, on database: TestDatabase, label: String, writer start: (StopFlag) -> Background<Value>
    ) throws -> (report: RunReport, written: Value, seconds: Double) {
        let snapshots = scratch(label)
        defer { try? FileManager.default.removeItem(atPath: snapshots) }
        let stop = StopFlag()
        let writer = start(stop)
        Thread.sleep(forTimeInterval: 0.2)
        let plan = try writePlan(yaml)
        let started = Date()
        let report = try apply(plan, on: database, snapshots: snapshots).value(within: 300)
        let seconds = Date().timeIntervalSince(started)
        Thread.sleep(forTimeInterval: 0.2)
        stop.set()
        return (report, try writer.value(), seconds)
    }
}

/// Set once, read by another thread: tells a writer loop to end.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// What `method: online` gives the swapped column and its rebuilt indexes besides its values.
@Suite("normalize_uuid method: online carries a column's privileges, statistics and index storage")
struct OnlineCarriedSettingsTests {
    /// Privileges, statistics target, options and comment of the column; storage parameters
    /// and tablespace of the indexes on it, as the catalog prints them.
    static func carried(_ connection: Connection) throws -> [String] {
        try connection.query(
            """
            SELECT 'column ' || attname || ' acl ' || coalesce(attacl::text, '-') || ' statistics ' || attstattarget || ' options ' || coalesce(attoptions::text, '-')
                   || ' comment ' || coalesce(col_description(attrelid, attnum), '-')
            FROM pg_attribute WHERE attrelid = 'public.t'::regclass AND attname = 'ref'
            UNION ALL
            SELECT 'index ' || c.relname || ' ' || coalesce(c.reloptions::text, '-') || ' ' || coalesce(s.spcname, '-') || ' ' || pg_get_indexdef(c.oid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid LEFT JOIN pg_tablespace s ON s.oid = c.reltablespace
            WHERE i.indrelid = 'public.t'::regclass
            ORDER BY 1
            """
        ).map { try $0.get(0, as: String.self) }
    }

    @Test func privilegesStatisticsAndIndexStorageAreTheSameAfterTheSwap() throws {
        let tablespace = "pgmend_ts_\(UUID().uuidString.prefix(8).lowercased())"
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("SET allow_in_place_tablespaces = on")
            try connection.execute("CREATE TABLESPACE \(ident: tablespace) LOCATION ''")
            defer {
                _ = try? connection.execute("DROP TABLE IF EXISTS public.t")
                _ = try? connection.execute("DROP TABLESPACE IF EXISTS \(ident: tablespace)")
            }
            try connection.execute("""
                DO $$ BEGIN CREATE ROLE pgmend_carried_reader; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
                CREATE TABLE public.t (id int PRIMARY KEY, ref text NOT NULL, other text,
                                       CONSTRAINT t_ref_key UNIQUE (ref) WITH (fillfactor = 70));
                CREATE INDEX t_ref_other_idx ON public.t (ref, other) WITH (fillfactor = 60, deduplicate_items = off) TABLESPACE \(ident: tablespace);
                CREATE INDEX t_other_idx ON public.t (other) WITH (fillfactor = 50);
                CREATE UNIQUE INDEX t_other_ref_key ON public.t (other, ref) NULLS NOT DISTINCT;
                GRANT SELECT (ref), UPDATE (ref) ON public.t TO pgmend_carried_reader;
                GRANT INSERT (ref) ON public.t TO pgmend_carried_reader WITH GRANT OPTION;
                GRANT SELECT (ref) ON public.t TO PUBLIC;
                ALTER TABLE public.t ALTER COLUMN ref SET STATISTICS 500, ALTER COLUMN ref SET (n_distinct = -0.5);
                COMMENT ON COLUMN public.t.ref IS 'the reference';
                INSERT INTO public.t SELECT g, upper(md5(g::text)::uuid::text), 'o' || g FROM generate_series(1, 200) g;
                """)
            let before = try Self.carried(connection)
            #expect(before.contains { $0.contains("pgmend_carried_reader=arw*/") || $0.contains("pgmend_carried_reader=a*rw/") }, "\(before)")
            #expect(before.contains { $0.contains(tablespace) })
            #expect(before.contains { $0.hasSuffix("(other, ref) NULLS NOT DISTINCT") }, "\(before)")
            let step = try makeStep("normalize_uuid: {columns: [t.ref], method: online}")
            // The prediction (checked here) holds each index's definition, WITH (...) included.
            try applyAndCheckPrediction(step, on: connection)
            #expect(try connection.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.t'::regclass AND attname = 'ref'", as: String.self) == "uuid")
            let after = try Self.carried(connection)
            #expect(after == before)
        }
    }

    @Test func aPrivilegeGrantedByAnotherRoleBlocks() throws {
        let problems = try NormalizeUUIDOnlineTests.blockingProblems("normalize_uuid: {columns: [t.ref], method: online}", after: """
                DO $$ BEGIN CREATE ROLE pgmend_carried_reader; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
                DO $$ BEGIN CREATE ROLE pgmend_carried_granter; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
                CREATE TABLE public.t (id int PRIMARY KEY, ref text);
                GRANT SELECT (ref) ON public.t TO pgmend_carried_granter WITH GRANT OPTION;
                SET ROLE pgmend_carried_granter;
                GRANT SELECT (ref) ON public.t TO pgmend_carried_reader;
                RESET ROLE;
                INSERT INTO public.t VALUES (1, md5('a')::uuid::text);
                """)
        #expect(problems.map(\.message) == [
            "privileges on t.ref were granted by pgmend_carried_granter, not the table's owner: method online cannot grant them again as that role (use method: rewrite)"
        ])
    }
}
