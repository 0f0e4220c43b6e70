import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Plan text the server refuses while a step is assessed (a `done_when` that no longer fits
/// the schema, a type or expression it does not know) is that step's problem: the step fails,
/// named, at the option's `file:line:col`, with the server's message; the run reports and
/// journals it; exit 2 when the text is at fault. Before, the run died with a bare
/// `ERROR 42883`, nothing journaled, no report.
@Suite("A step whose assessment the server refuses")
struct AssessmentFailureTests {
    static let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-assessment-snapshots").path

    /// The issue's plan: step 1's `done_when` reads `status` as text; step 2 makes it an enum,
    /// after which `lower(status)` is an undefined function (42883).
    static let plan = """
        steps:
          - sql:
              run: UPDATE orders SET status = lower(status)
              done_when: SELECT NOT EXISTS (SELECT 1 FROM orders WHERE status::text <> lower(status))
          - to_enum: {table: orders, column: status, type: order_status, labels: [pending, paid]}

        """

    /// The plan ran once; its second run finds step 1's done_when refused because step 2 of
    /// the same plan changed what it reads, and the journal shows step 1 completed with the
    /// same text: satisfied, saying why (issue 19: a plan that ran runs again).
    @Test func aPlanThatRanIsSatisfiedOnItsSecondRun() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE orders (id int PRIMARY KEY, status text); INSERT INTO orders VALUES (1, 'PAID'), (2, 'pending')")
            let plan = try writePlan(Self.plan)
            let first = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(first.outcome == .ok, "\(first.message ?? "")")
            for report in [try Runner(connection: connection, plan: plan).dryRun(), try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)] {
                #expect(report.outcome == .ok, "\(report.message ?? "")")
                #expect(report.statementsExecuted == 0)
                let step = try #require(report.steps.first)
                #expect(step.status == .satisfied)
                #expect(step.reason?.hasPrefix("done_when no longer type-checks (ERROR 42883: function lower(order_status) does not exist) because a later step of this plan changed what it reads (step 2 (to_enum)); run ") == true, "\(step.reason ?? "")")
            }
        }
    }

    /// Without a journal that shows the step completed (the enum was made by hand), the same
    /// refusal fails the step at its option's place.
    @Test func aDoneWhenThatNoLongerFitsFailsItsStepAtItsLocation() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                "CREATE TYPE order_status AS ENUM ('pending', 'paid'); CREATE TABLE orders (id int PRIMARY KEY, status order_status); INSERT INTO orders VALUES (1, 'paid'), (2, 'pending')")
            let plan = try writePlan(Self.plan)

            let doneWhen = "\(plan.path):5:18"
            #expect(plan.steps[0].location(of: "done_when").description == doneWhen)
            for report in [try Runner(connection: connection, plan: plan).dryRun(), try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)] {
                #expect(report.outcome == .badInput)
                #expect(report.exitStatus == .badInput)
                let step = try #require(report.steps.first)
                #expect(step.status == .failed)
                let problem = try #require(step.problems.first?.message)
                #expect(problem.hasPrefix("done_when (\(doneWhen)): the server refused it: ERROR 42883: function lower(order_status) does not exist"), "\(problem)")
                #expect(report.message?.hasPrefix("step 1 (sql) failed: done_when (\(doneWhen))") == true, "\(report.message ?? "")")
                // The JSON report is the normal one, with the step and its problem in it.
                let json = try CanonicalJSON.encode(report)
                #expect(json.contains("\"outcome\": \"bad_input\"") && json.contains("\"exit_code\": 2") && json.contains("42883"))
            }
            // The run and the step are journaled.
            let row = try connection.query(
                "SELECT s.status, s.message, r.status FROM pgmend.steps s JOIN pgmend.runs r ON r.id = s.run_id ORDER BY r.id DESC, s.number LIMIT 1")
            let journaled = try #require(row.first)
            #expect(try journaled.get(0, as: String.self) == "failed")
            #expect(try journaled.get(1, as: String.self).contains("done_when (\(doneWhen))"))
            #expect(try journaled.get(2, as: String.self) == "bad_input")
        }
    }

    @Test func aRehearsalReportsItToo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TYPE order_status AS ENUM ('pending', 'paid'); CREATE TABLE orders (id int PRIMARY KEY, status order_status)")
            let report = try Runner(connection: connection, plan: try writePlan(Self.plan)).rehearse(maxBytes: 1 << 30)
            #expect(report.outcome == .badInput)
            #expect(report.steps.first?.status == .failed)
        }
    }

    /// Text the server refuses for a reason that is not the text (a division by zero here) is
    /// the same step's problem, but a failure (exit 1), not a bad plan.
    @Test func aDoneWhenThatFailsOtherwiseIsAFailure() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let plan = try writePlan("steps:\n  - sql: {run: SELECT 1, done_when: SELECT 1 / 0 = 1}\n")
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.outcome == .failed)
            #expect(report.exitStatus == .failed)
            #expect(report.steps.first?.problems.first?.message.contains("ERROR 22012: division by zero") == true)
        }
    }

    @Test(arguments: [
        // A type that does not exist (42704), at the step's columns.
        ("create_table: {name: goals, columns: [{name: id, type: no_such_type}]}", "columns", "ERROR 42704"),
        // A column that does not exist (42703), at the expression.
        ("add_check: {table: t, name: t_positive, expression: nosuch > 0}", "expression", "ERROR 42703"),
        // A function that does not exist (42883), at where.
        ("backfill: {table: t, set: {n: \"0\"}, where: \"no_such_function(n)\"}", "where", "ERROR 42883"),
    ])
    func planTextTheServerDoesNotKnowIsABadPlan(_ step: String, _ option: String, _ error: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: option) { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (id int PRIMARY KEY, n int); INSERT INTO t VALUES (1, 1)")
            let plan = try writePlan("steps:\n  - \(step)\n")
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.outcome == .badInput, "\(report.message ?? "")")
            let problem = try #require(report.steps.first?.problems.first?.message)
            #expect(problem.hasPrefix("\(option) (\(plan.steps[0].location(of: option))): the server refused it: \(error)"), "\(problem)")
        }
    }

    /// Kept: in a dry run, a query that reads what an earlier step creates is waiting for it.
    @Test func aDoneWhenReadingWhatAnEarlierStepCreatesIsStillWaiting() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let plan = try writePlan("""
                steps:
                  - create_table: {name: notes, columns: [{name: id, type: bigint, primary_key: true}]}
                  - sql: {run: INSERT INTO notes VALUES (1), done_when: SELECT count(*) = 1 FROM notes}

                """)
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.outcome == .ok)
            #expect(report.steps.map(\.status) == [.needed, .waiting])
        }
    }

    /// An archive that exists but no longer matches the table is not "no archive".
    @Test func dropTableSaysWhenItsArchiveNoLongerMatches() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10) g")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-stale-\(database.name)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            _ = try connection.transaction(isolation: .repeatableRead) { connection in
                try ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder)).archive(ObjectName(parsing: "t"), drop: false)
            }
            let step = try makeStep("drop_table: {table: t, archives: \(folder)}")
            try connection.execute("UPDATE t SET id = id + 100 WHERE id = 5")
            guard case .blocked(let changed) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("changed rows must not match the old archive"); return
            }
            let message = try #require(changed.first?.message)
            #expect(message.hasPrefix("t has 10 rows; an archive of it exists, but it no longer matches them: the newest, \(folder)/"), "\(message)")
            #expect(message.contains("holds the same number of rows (10) but other content (fingerprint "))
            #expect(!message.contains("no archive of them"))

            try connection.execute("INSERT INTO t VALUES (11)")
            guard case .blocked(let grown) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("more rows must not match the old archive"); return
            }
            #expect(grown.first?.message.contains("holds 10 rows, the table now 11") == true, "\(grown.first?.message ?? "")")
        }
    }
}
