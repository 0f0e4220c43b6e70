import Foundation
import MendTestSupport
import PostgresClient
import Testing

@testable import MendKit

/// `add_column`: done when the column is there as declared, blocked when it is there
/// otherwise, a volatile default refused, NOT NULL without a default blocked on a table with rows.
@Suite("add_column")
struct AddColumnTests {
    static func dryRun(_ setup: SQL, _ step: String, _ database: TestDatabase) throws -> RunReport.StepReport? {
        let connection = try database.connect()
        try connection.execute(setup)
        let plan = try writePlan("steps:\n  - add_column: \(step)\n")
        return try Runner(connection: connection, plan: plan).dryRun().steps.first
    }

    @Test func doneWhenTheColumnIsThereAsDeclared() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let step = try Self.dryRun(
                "CREATE TABLE public.t (id int PRIMARY KEY, n varchar(20) NOT NULL DEFAULT 'x'); INSERT INTO public.t VALUES (1)",
                "{table: t, column: n, type: \"VARCHAR (20)\", nullable: false, default: \"'x'\"}", database)
            #expect(step?.status == .satisfied, "\(String(describing: step))")
            #expect(step?.reason == "t.n exists as character varying(20) NOT NULL DEFAULT 'x'::character varying", "\(step?.reason ?? "")")
        }
    }

    @Test func blockedWhenTheColumnDiffers() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let step = try Self.dryRun(
                "CREATE TABLE public.t (id int PRIMARY KEY, n text DEFAULT 'y')",
                "{table: t, column: n, type: integer, nullable: false, default: \"0\"}", database)
            #expect(step?.status == .blocked)
            let message = step?.problems.first?.message ?? ""
            #expect(message.contains("its type is text, the plan wants integer"), "\(message)")
            #expect(message.contains("it is nullable, the plan wants it NOT NULL"), "\(message)")
            #expect(message.contains("its default is 'y'::text, the plan wants 0"), "\(message)")
        }
    }

    @Test(arguments: ["random()", "clock_timestamp()"])
    func aVolatileDefaultIsRefused(_ expression: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let type = expression == "random()" ? "double precision" : "timestamptz"
            let step = try Self.dryRun(
                "CREATE TABLE public.t (id int PRIMARY KEY)", "{table: t, column: v, type: \(type), default: \"\(expression)\"}", database)
            #expect(step?.status == .blocked)
            let message = step?.problems.first?.message ?? ""
            #expect(message.contains("volatile") && message.contains("rewrites the whole table"), "\(message)")
        }
    }

    @Test func aStableDefaultIsAdded() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let step = try Self.dryRun(
                "CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t VALUES (1)",
                "{table: t, column: seen_at, type: timestamptz, nullable: false, default: now()}", database)
            #expect(step?.status == .needed, "\(step?.problems.map(\.message) ?? [])")
            #expect(step?.actions.first?.sql == "ALTER TABLE \"public\".\"t\" ADD COLUMN \"seen_at\" timestamp with time zone NOT NULL DEFAULT (now())")
        }
    }

    @Test func notNullWithoutADefaultOnATableWithRowsIsBlockedWithTheCount() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t SELECT generate_series(1, 3)")
            let plan = try writePlan("steps:\n  - add_column: {table: t, column: v, type: int, nullable: false}\n")
            let folder = ConcurrentWriterTests.scratch("add-column")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder)
            #expect(report.outcome == .blocked)
            let problem = report.steps.first?.problems.first
            #expect(problem?.count == 3)
            #expect(problem?.message.contains("NOT NULL column v without a default") == true, "\(problem?.message ?? "")")
            #expect(try connection.scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.t'::regclass AND attname = 'v'", as: Int.self) == 0)

            // Empty, the same step adds it.
            try connection.execute("DELETE FROM public.t")
            let again = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder)
            #expect(again.outcome == .ok, "\(again.message ?? "") \(again.steps.map(\.problems))")
            #expect(try connection.scalar("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'public.t'::regclass AND attname = 'v'", as: Bool.self) == true)
        }
    }

    @Test func notNullWithANullDefaultOnATableWithRowsIsBlocked() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let step = try Self.dryRun(
                "CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t VALUES (1)",
                "{table: t, column: v, type: int, nullable: false, default: \"NULL::int\"}", database)
            #expect(step?.status == .blocked)
            #expect(step?.problems.first?.message.contains("is NULL") == true, "\(step?.problems.first?.message ?? "")")
        }
    }
}

/// Both kinds in a dry run as a read-only role (a replica-like dry run): no temporary table, so
/// defaults and predicates are the plan's spelling, compared by presence and noted.
@Suite("add_column and create_index, read-only")
struct AddColumnCreateIndexReadOnlyTests {
    @Test func aReadOnlyDryRunJudgesAndNotesWhatItCannotLearn() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("""
                CREATE TABLE public.t (id int PRIMARY KEY, n int DEFAULT 0, state text);
                INSERT INTO public.t SELECT g, g, 'a' FROM generate_series(1, 5) g;
                CREATE INDEX ix_t_state ON public.t (state) WHERE state IS NOT NULL;
                """)
            let role = try ReadOnlyDryRunTests.readOnlyRole(database)
            let connection = try Connection(database.cluster.conninfo(database: database.name, user: role))
            let plan = try writePlan("""
                steps:
                  - add_column: {table: t, column: v, type: int, nullable: false, default: "1"}
                  - add_column: {table: t, column: n, type: int4, default: "0"}
                  - create_index: {table: t, name: ix_t_n, columns: [n], unique: true}
                  - create_index: {table: t, name: ix_t_state, columns: [state], where: "state IS NOT NULL"}

                """)
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.steps.map(\.status) == [.needed, .satisfied, .needed, .satisfied], "\(report.steps.map { "\($0.status) \($0.reason ?? "") \($0.problems.map(\.message))" })")
            #expect(report.steps[1].note?.contains("compared by presence only") == true, "\(report.steps[1].note ?? "")")
            #expect(report.steps[3].note?.contains("compared by presence only") == true, "\(report.steps[3].note ?? "")")
        }
    }
}
