import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// A file of this package, wherever the tests run from.
func packagePath(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(relative).path
}

/// Writes a plan file for one test and loads it.
func writePlan(_ yaml: String, name: String = "t") throws -> Plan {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-plans-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let path = folder.appendingPathComponent("\(name).yaml").path
    try "name: \(name)\n\(yaml)".write(toFile: path, atomically: true, encoding: .utf8)
    return try PlanLoader.load(path: path)
}

@Suite("The runner")
struct RunnerTests {
    static let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-runner-snapshots").path

    @Test func aDryRunChangesNothing() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let before = try SnapshotTaker(connection: connection).take(includeData: true)
            let plan = try PlanLoader.load(path: packagePath("Plans/schema-cleanup.yaml"))
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.steps.map(\.status).filter { $0 == .needed }.count >= 8)
            #expect(!report.predictedChanges.isEmpty)
            let after = try SnapshotTaker(connection: connection).take(includeData: true)
            #expect(after.schema == before.schema)
            #expect(after.data == before.data)
            #expect(try connection.scalar("SELECT to_regnamespace('pgmend') IS NULL", as: Bool.self) == true)
        }
    }

    @Test func aSecondRunExecutesNothing() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let plan = try PlanLoader.load(path: packagePath("Plans/schema-cleanup.yaml"))
            defer { try? FileManager.default.removeItem(atPath: "Snapshots/archive/\(database.name)") }
            let first = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(first.outcome == .ok, "\(first.message ?? "")")
            #expect(first.statementsExecuted == 16)
            #expect(first.steps.allSatisfy { $0.status == .applied })
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(second.outcome == .ok)
            #expect(second.statementsExecuted == 0)
            #expect(second.message == "nothing to do: every step is satisfied (0 statements executed)")
            #expect(second.steps.allSatisfy { $0.status == .satisfied })
            // The journal: two runs, the first one's statements, the plan's hash.
            #expect(try connection.scalar("SELECT count(*) FROM pgmend.runs WHERE plan_sha256 = $1 AND status = 'ok'", [plan.sha256], as: Int.self) == 2)
            #expect(try connection.scalar("SELECT count(*) FROM pgmend.statements WHERE error IS NULL AND finished_at IS NOT NULL", as: Int.self) == 16)
            // The post-snapshot is what verify checks the database against.
            let post = try Snapshot.read(path: try #require(first.postSnapshot))
            #expect(try Verifier(connection: connection).verify(post, includeData: false).matches)
        }
    }

    @Test func aBlockedStepStopsTheRunAndTheNextRunResumes() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE tasks (id int PRIMARY KEY, priority int); INSERT INTO tasks VALUES (1, 3), (2, 9), (3, 7)")
            let blocked = try writePlan("""
                steps:
                  - create_table: {name: notes, columns: [{name: id, type: bigint, primary_key: true}]}
                  - add_check: {table: tasks, name: tasks_priority_range, expression: priority BETWEEN 1 AND 5}
                  - rename_table: {from: notes, to: task_notes}
                """)
            let report = try Runner(connection: connection, plan: blocked).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .blocked)
            #expect(report.exitStatus == .blocked)
            #expect(report.steps.map(\.status) == [.applied, .blocked])
            #expect(report.steps.last?.problems.first?.sample == ["2", "3"])
            #expect(try connection.scalar("SELECT to_regclass('notes') IS NOT NULL", as: Bool.self) == true)
            #expect(try connection.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'tasks_priority_range'", as: Int.self) == 0)

            try connection.execute("UPDATE tasks SET priority = 5 WHERE priority > 5")
            let resumed = try Runner(connection: connection, plan: blocked).apply(snapshotDirectory: Self.snapshots)
            #expect(resumed.outcome == .ok)
            #expect(resumed.steps.map(\.status) == [.satisfied, .applied, .applied])
        }
    }

    @Test func aLockHeldByAnotherSessionIsRetriedThenNamed() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE calendar (id int)")
            let blocker = try Connection(database.conninfo, applicationName: "nightly-report")
            try blocker.execute("BEGIN; LOCK TABLE calendar IN ACCESS SHARE MODE")
            let plan = try writePlan("""
                settings: {lock_timeout: 100ms, retries: 2}
                steps:
                  - rename_table: {from: calendar, to: calendar_events}
                """)
            let started = Date()
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .locked)
            #expect(report.exitStatus == .unreachable)
            let message = report.message ?? ""
            #expect(message.contains("in 3 attempts of lock_timeout 100ms"), "\(message)")
            #expect(message.contains("pid \(blocker.backendPID) (nightly-report, AccessShareLock"), "\(message)")
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(try connection.scalar("SELECT to_regclass('calendar') IS NOT NULL", as: Bool.self) == true)
            // One journal row per attempt, each assessed afresh; the last names the holder.
            #expect(try connection.scalar("SELECT string_agg(attempts::text, ',' ORDER BY id) FROM pgmend.statements", as: String.self) == "1,2,3")
            #expect(try connection.scalar("SELECT error FROM pgmend.statements ORDER BY id DESC LIMIT 1", as: String.self)?.contains("nightly-report") == true)
            try blocker.execute("ROLLBACK")
            let retried = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(retried.outcome == .ok)
        }
    }

    @Test func aSecondOperatorIsRefusedAndToldWhoHoldsTheLock() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let holder = try Connection(database.conninfo, applicationName: "pgmend (alice)")
            #expect(try holder.tryAdvisoryLock(Runner.lockKey))
            let plan = try writePlan("steps:\n  - create_table: {name: t, columns: [{name: id, type: int}]}\n")
            let failure = try #require(throws: RunFailure.self) {
                try Runner(connection: try database.connect(), plan: plan).apply(snapshotDirectory: Self.snapshots)
            }
            #expect(failure.description.contains("pid \(holder.backendPID) (pgmend (alice)"))
            #expect(try database.connect().scalar("SELECT to_regclass('t') IS NULL", as: Bool.self) == true)
        }
    }

    @Test func aRehearsalRunsEverythingAndRollsBack() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let before = try SnapshotTaker(connection: connection).take(includeData: true)
            let plan = try PlanLoader.load(path: packagePath("Plans/schema-cleanup.yaml"))
            let refused = try #require(throws: RehearsalRefused.self) {
                try Runner(connection: connection, plan: plan).rehearse(maxBytes: 1024)
            }
            #expect(refused.description.contains("raise it with --max-rehearsal-size"))
            let report = try Runner(connection: connection, plan: plan).rehearse(maxBytes: 1 << 30)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(report.statementsExecuted == 16)
            #expect(report.actualChanges?.contains { $0.description == "table tasks: constraint tasks_priority_range added: CHECK (priority >= 1 AND priority <= 5)" } == true)
            let after = try SnapshotTaker(connection: connection).take(includeData: true)
            #expect(after.schema == before.schema)
            #expect(after.data == before.data)
        }
    }
}
