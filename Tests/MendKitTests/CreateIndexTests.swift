import Foundation
import MendTestSupport
import PostgresClient
import Testing

@testable import MendKit

/// `create_index`: done when the index (or another of the same definition) is there, blocked
/// when the name holds another definition or a unique index meets duplicates, an invalid
/// leftover of an interrupted build dropped and built again, and a build while another session
/// writes the table.
@Suite("create_index")
struct CreateIndexTests {
    static let table: SQL = """
        CREATE TABLE public.t (id int PRIMARY KEY, email text, state text);
        INSERT INTO public.t SELECT g, 'u' || g || '@x', CASE WHEN g % 2 = 0 THEN 'active' END FROM generate_series(1, 10) g;
        """

    static func dryRun(_ setup: SQL, _ step: String, _ database: TestDatabase) throws -> RunReport.StepReport? {
        let connection = try database.connect()
        try connection.execute(setup)
        let plan = try writePlan("steps:\n  - create_index: \(step)\n")
        return try Runner(connection: connection, plan: plan).dryRun().steps.first
    }

    @Test func doneWhenTheIndexIsThere() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let step = try Self.dryRun(
                Self.table + "CREATE INDEX ix_t_state ON public.t (state, email) WHERE state IS NOT NULL",
                "{table: t, name: ix_t_state, columns: [state, email], where: \"(state is not null)\"}", database)
            #expect(step?.status == .satisfied, "\(String(describing: step))")
        }
    }

    @Test func blockedWhenTheNameHoldsAnotherDefinition() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let step = try Self.dryRun(
                Self.table + "CREATE INDEX ix_t_state ON public.t (state)",
                "{table: t, name: ix_t_state, columns: [state, email]}", database)
            #expect(step?.status == .blocked)
            let message = step?.problems.first?.message ?? ""
            #expect(message.contains("already has an index named ix_t_state with another definition"), "\(message)")
            #expect(message.contains("USING btree (state, email)"), "\(message)")
        }
    }

    @Test func anotherIndexOfTheSameDefinitionIsEnough() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let step = try Self.dryRun(
                Self.table + "CREATE UNIQUE INDEX t_email_key ON public.t (email)",
                "{table: t, name: ix_t_email, columns: [email], unique: true}", database)
            #expect(step?.status == .satisfied)
            #expect(step?.reason?.hasPrefix("done: t_email_key already indexes this") == true, "\(step?.reason ?? "")")
        }
    }

    @Test func aUniqueIndexOverDuplicatesIsBlockedListingTheKeys() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.table + "UPDATE public.t SET email = 'same@x' WHERE id IN (3, 7); UPDATE public.t SET email = 'twice@x' WHERE id IN (5, 10)")
            let plan = try writePlan("steps:\n  - create_index: {table: t, name: ix_t_email, columns: [email], unique: true}\n")
            let folder = ConcurrentWriterTests.scratch("create-index")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder)
            #expect(report.outcome == .blocked)
            let problem = report.steps.first?.problems.first
            #expect(problem?.count == 4)
            #expect(problem?.sample == ["3", "5", "7", "10"])
            #expect(try connection.scalar("SELECT to_regclass('public.ix_t_email') IS NULL", as: Bool.self) == true)

            // Within the predicate there are none: the partial unique index is built.
            let partial = try writePlan("steps:\n  - create_index: {table: t, name: ix_t_email, columns: [email], unique: true, where: \"id < 5\"}\n")
            let built = try Runner(connection: connection, plan: partial).apply(snapshotDirectory: folder)
            #expect(built.outcome == .ok, "\(built.message ?? "") \(built.steps.map(\.problems))")
        }
    }

    /// An index predicate must be immutable: `now()` (stable) is refused at `where`, before
    /// any change, as the plan's fault.
    @Test func aPredicateThatIsNotImmutableIsRefusedAtWhere() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.table + "ALTER TABLE public.t ADD COLUMN seen timestamptz")
            let plan = try writePlan("steps:\n  - create_index: {table: t, name: ix_t_seen, columns: [seen], where: \"seen > now()\"}\n")
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.outcome == .badInput, "\(report.outcome)")
            let message = report.steps.first?.problems.first?.message ?? report.message ?? ""
            #expect(message.contains("where") && message.contains("IMMUTABLE"), "\(message)")
        }
    }

    /// A column an earlier step of the plan adds: the dry run waits for it; the run builds it.
    @Test func anIndexOnAColumnAnEarlierStepAdds() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.table)
            let plan = try writePlan("""
                steps:
                  - add_column: {table: t, column: code, type: text}
                  - create_index: {table: t, name: ix_t_code, columns: [code], unique: true}

                """)
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.steps.map(\.status) == [.needed, .waiting], "\(dry.steps.map { "\($0.status) \($0.reason ?? "")" })")
            let folder = ConcurrentWriterTests.scratch("create-index-after-add-column")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder)
            #expect(report.outcome == .ok, "\(report.message ?? "") \(report.steps.map(\.problems))")
        }
    }

    /// A unique build that met a duplicate left an invalid index: the step is blocked by the
    /// duplicates, and says the leftover stays until they are gone.
    @Test func anInvalidUniqueLeftoverWithDuplicatesIsBlocked() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let step = try Self.dryRun(
                Self.table + """
                    CREATE INDEX ix_t_email ON public.t (email);
                    UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'public.ix_t_email'::regclass;
                    UPDATE public.t SET email = 'same@x' WHERE id IN (4, 6);
                    """,
                "{table: t, name: ix_t_email, columns: [email], unique: true}", database)
            #expect(step?.status == .blocked)
            #expect(step?.problems.first?.sample == ["4", "6"])
            #expect(step?.problems.first?.message.contains("the invalid ix_t_email a failed build left stays") == true, "\(step?.problems.first?.message ?? "")")
        }
    }

    @Test func anInvalidLeftoverIsDroppedAndBuiltAgain() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.table + """
                CREATE INDEX ix_t_email ON public.t (email);
                UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'public.ix_t_email'::regclass;
                """)
            let plan = try writePlan("steps:\n  - create_index: {table: t, name: ix_t_email, columns: [email]}\n")
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.steps.first?.status == .needed)
            #expect(dry.steps.first?.actions.first?.summary.contains("invalid") == true)
            let folder = ConcurrentWriterTests.scratch("create-index-leftover")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder)
            #expect(report.outcome == .ok, "\(report.message ?? "") \(report.steps.map(\.problems))")
            #expect(try connection.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.ix_t_email'::regclass", as: Bool.self) == true)
            let again = try Runner(connection: connection, plan: plan).dryRun()
            #expect(again.steps.first?.status == .satisfied)
        }
    }

    /// Another session inserts into the table, one row per transaction, throughout the run:
    /// every committed row is in the table and found through the index, which is valid.
    @Test func builtWhileAnotherSessionWrites() throws {
        let rows = 200_000
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            try observer.execute("""
                CREATE TABLE public.events (id bigint PRIMARY KEY, k bigint NOT NULL);
                INSERT INTO public.events SELECT g, g * 7 FROM generate_series(1, \(literal: rows)) g;
                """)
            let conninfo = database.conninfo
            let writer = { (stop: StopFlag) in Background { () -> [Int] in
                let app = try ConcurrentWriterTests.session(conninfo)
                var committed: [Int] = []
                var id = rows
                while !stop.isSet {
                    id += 1
                    try app.execute("INSERT INTO public.events VALUES (\(literal: id), \(literal: id * 7))")
                    committed.append(id)
                }
                return committed
            } }
            let (report, committed, _) = try ConcurrentWriterTests.runWhileWriting(
                "steps:\n  - create_index: {table: events, name: ix_events_k, columns: [k]}\n", on: database, label: "create-index-writer", writer: writer)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(!committed.isEmpty)
            #expect(try observer.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.ix_events_k'::regclass", as: Bool.self) == true)
            #expect(try observer.scalar("SELECT count(*) FROM public.events WHERE id > \(literal: rows)", as: Int.self) == committed.count)
            // Through the index only: every row, old and new, is in it.
            try observer.execute("SET enable_seqscan = off")
            let plan = try observer.query("EXPLAIN SELECT count(*) FROM public.events WHERE k > 0").map { try $0.get(0, as: String.self) }.joined(separator: "\n")
            #expect(plan.contains("ix_events_k"), "\(plan)")
            #expect(try observer.scalar("SELECT count(*) FROM public.events WHERE k > 0", as: Int.self) == rows + committed.count)
            let missing = try observer.scalar("SELECT count(*) FROM unnest(\(bind: committed.map(String.init))::bigint[]) c(id) WHERE NOT EXISTS (SELECT FROM public.events e WHERE e.k = c.id * 7)", as: Int.self)
            #expect(missing == 0)
        }
    }
}

/// `Plans/phone-columns.yaml` says what it does on the demo database, and that after
/// `metadata-columns` it has nothing to do.
@Suite("Plans/phone-columns.yaml on the demo database")
struct PhoneColumnsPlanTests {
    @Test func itAddsMigration002sColumnsAndIndexAndHasNothingToDoAfterMetadataColumns() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let plan = try PlanLoader.load(path: packagePath("Plans/phone-columns.yaml"))
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.steps.map(\.status) == [.needed, .needed, .needed, .needed], "\(dry.steps.map { "\($0.status) \($0.problems.map(\.message))" })")

            let metadata = try PlanLoader.load(path: packagePath("Plans/metadata-columns.yaml"))
            let moved = try Runner(connection: connection, plan: metadata).apply(snapshotDirectory: ExtractJSONFieldsTests.snapshots)
            #expect(moved.outcome == .ok, "\(moved.message ?? "")")
            let after = try Runner(connection: connection, plan: plan).dryRun()
            #expect(after.steps.map(\.status) == [.satisfied, .satisfied, .satisfied, .satisfied], "\(after.steps.map { "\($0.status) \($0.reason ?? "") \($0.problems.map(\.message))" })")
        }
    }
}
