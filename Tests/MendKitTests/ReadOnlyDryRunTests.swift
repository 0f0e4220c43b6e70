import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// A dry run against a replica or as a read-only role: it must write nothing (no temporary
/// table for canonical forms, no journal, no advisory lock), and where the server's spelling
/// of a check or default cannot be had without writing, the step says so and the prediction
/// is incomplete. `default_transaction_read_only` stands in for a hot standby: both refuse
/// every write, temporary tables included.
@Suite("A dry run in a read-only session")
struct ReadOnlyDryRunTests {
    static let setup: SQL = """
        CREATE TABLE public.users (id int PRIMARY KEY, status text NOT NULL DEFAULT 'active');
        INSERT INTO public.users SELECT g, 'active' FROM generate_series(1, 20) g;
        """

    /// A new table with a check and a default, and a check on an existing table.
    static let checksAndDefaults = """
        steps:
          - create_table:
              name: goals
              columns:
                - {name: id, type: int, primary_key: true}
                - {name: progress, type: int, nullable: false, default: "0", check: "progress BETWEEN 0 AND 100"}
          - add_check: {table: users, name: users_status_known, expression: "status IN ('active', 'paused')"}

        """

    /// A role whose every transaction is read-only unless it asks otherwise, as an operator
    /// would set one up for a replica-like dry run.
    static func readOnlyRole(_ database: TestDatabase) throws -> String {
        let role = "ro_\(database.name)"
        let admin = try database.connect()
        try admin.execute(
            """
            CREATE ROLE \(SQLIdentifier(role)) LOGIN;
            ALTER ROLE \(SQLIdentifier(role)) SET default_transaction_read_only = on;
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(SQLIdentifier(role));
            """)
        return role
    }

    @Test func checksAndDefaultsAreNotedAndThePredictionIsIncomplete() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute(Self.setup)
            let role = try Self.readOnlyRole(database)
            let connection = try Connection(database.cluster.conninfo(database: database.name, user: role))
            #expect(try connection.scalar("SHOW transaction_read_only", as: String.self) == "on")
            let plan = try writePlan(Self.checksAndDefaults)

            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            // The check is not evaluated against the rows: which functions it calls is learned
            // through a temporary function, which this session cannot create; a real run judges it.
            #expect(report.steps.map(\.status) == [.needed, .waiting])
            #expect(report.steps[1].reason?.contains("expression is not evaluated") == true, "\(report.steps[1].reason ?? "")")
            #expect(report.steps[1].reason?.contains("read-only (default_transaction_read_only is on)") == true)
            #expect(!report.predictionComplete)
            let createNote = try #require(report.steps[0].note)
            #expect(createNote.contains("check goals_progress_check, the default of progress predicted in the plan's spelling"))
            #expect(createNote.contains("read-only (default_transaction_read_only is on)"))
            #expect(report.steps[1].note?.contains("check users_status_known predicted in the plan's spelling") == true)
            // The SQL to run is the plan's, whatever the spelling predicted.
            #expect(report.steps[0].actions.first?.sql.contains("CHECK (progress BETWEEN 0 AND 100)") == true)

            let text = RunReportText(report).text
            #expect(text.contains("    note: check goals_progress_check"))
            #expect(text.contains("(incomplete: the steps with a note were predicted without the server's spelling"))

            // Nothing was left behind: no journal schema, no advisory lock held.
            let admin = try database.connect()
            #expect(try admin.scalar("SELECT to_regnamespace('pgmend') IS NULL", as: Bool.self) == true)
            #expect(try admin.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", as: Int.self) == 0)
        }
    }

    /// The same plan through a writable session: the server's spelling, no notes, complete.
    @Test func aWritableSessionIsUnchanged() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.setup)
            let report = try Runner(connection: connection, plan: try writePlan(Self.checksAndDefaults)).dryRun()
            #expect(report.outcome == .ok)
            #expect(report.predictionComplete)
            #expect(report.steps.allSatisfy { $0.note == nil })
        }
    }

    /// Through the connection's options rather than the role: the same.
    @Test func aPlanWithoutChecksOrDefaultsStaysComplete() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute(Self.setup)
            let connection = try Connection(database.conninfo + " options='-c default_transaction_read_only=on'")
            let plan = try writePlan(
                """
                steps:
                  - create_table: {name: notes, columns: [{name: id, type: int, primary_key: true}, {name: body, type: "varchar(200)"}]}
                  - rename_table: {from: users, to: members}

                """)
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(report.steps.map(\.status) == [.needed, .needed])
            #expect(report.steps.allSatisfy { $0.note == nil })
            #expect(report.predictionComplete)
            // canonicalType is read-only: the server's spelling of the type is still had.
            #expect(report.predictedChanges.map(\.description).contains { $0.contains("notes") })
        }
    }

    /// What exists already is compared by presence, not by the plan's spelling, which would
    /// differ from the catalog's and block a table or check that is just as the plan wants.
    @Test func anExistingTableAndCheckAreNotBlockedBySpelling() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let admin = try database.connect()
            try admin.execute(Self.setup)
            let plan = try writePlan(Self.checksAndDefaults)
            let applied = try Runner(connection: admin, plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(applied.outcome == .ok, "\(applied.message ?? "")")

            let connection = try Connection(database.conninfo + " options='-c default_transaction_read_only=on'")
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.outcome == .ok, "\(report.steps.flatMap(\.problems).map(\.message))")
            #expect(report.steps.map(\.status) == [.satisfied, .satisfied])
            #expect(report.steps[0].note?.contains("goals exists; check goals_progress_check, the default of progress compared by presence only") == true)
            #expect(report.steps[1].note?.contains("cannot be told without writing, so it is taken to be") == true)
            #expect(!report.predictionComplete)
        }
    }

    /// A real run and a rehearsal still need a session that can write, and say so as before.
    @Test func aRehearsalInAReadOnlySessionStillFails() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute(Self.setup)
            let connection = try Connection(database.conninfo + " options='-c default_transaction_read_only=on'")
            let runner = Runner(connection: connection, plan: try writePlan(Self.checksAndDefaults))
            // The step whose canonical forms need a temporary table fails, naming the reason.
            let report = try runner.rehearse(maxBytes: 1 << 30)
            #expect(report.outcome != .ok)
            #expect(report.message?.contains("read-only transaction") == true, "\(report.message ?? "")")
        }
    }
}
