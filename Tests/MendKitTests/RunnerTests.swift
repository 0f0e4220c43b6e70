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
    let folder = try ScratchFolder.make("plan")
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
            #expect(try connection.scalar("SELECT count(*) FROM pgmend.runs WHERE plan_sha256 = \(bind: plan.sha256) AND status = 'ok'", as: Int.self) == 2)
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

    /// A rehearsal beside a real run would wait for its locks and report a state in between.
    @Test func aRehearsalTakesTheRunLock() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let holder = try Connection(database.conninfo, applicationName: "pgmend (bob)")
            #expect(try holder.tryAdvisoryLock(Runner.lockKey))
            let plan = try writePlan("steps:\n  - create_table: {name: t, columns: [{name: id, type: int}]}\n")
            let failure = try #require(throws: RunFailure.self) {
                try Runner(connection: try database.connect(), plan: plan).rehearse(maxBytes: 1 << 30)
            }
            #expect(failure.isLock)
            #expect(failure.description.contains("pid \(holder.backendPID) (pgmend (bob)"), "\(failure)")
            try holder.advisoryUnlock(Runner.lockKey)
            let report = try Runner(connection: try database.connect(), plan: plan).rehearse(maxBytes: 1 << 30)
            #expect(report.outcome == .ok)
            // Released afterwards: a run can take it.
            #expect(try holder.tryAdvisoryLock(Runner.lockKey))
        }
    }

    /// The run lock held by a pgmend backend without its "client alive" lock (what a pgmend
    /// killed mid-statement leaves) is waited for, with the plan's lock_timeout and retries.
    @Test func aRunLockHeldByAPgmendWhoseClientHasGoneIsWaitedFor() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let locked = DispatchSemaphore(value: 0)
            let holderPID = LockedBox<Int32>(0)
            let conninfo = database.conninfo
            // The holder's statement waits for the gate's lock: it ends when the test says so
            // (once the run has said it waits), not after a fixed time the run may need more
            // than on a loaded machine.
            try database.connect().execute("CREATE TABLE public.gate (id int)")
            let gate = try NamedSession("gate", conninfo: conninfo)
            try gate.execute("BEGIN; LOCK TABLE public.gate IN ACCESS EXCLUSIVE MODE")
            defer { gate.rollbackIfOpen() }
            let thread = Thread {
                // As a killed pgmend's backend: the run lock, busy in a statement, no alive lock.
                guard let holder = try? Connection(conninfo, applicationName: "pgmend"),
                    (try? holder.tryAdvisoryLock(Runner.lockKey)) == true
                else {
                    locked.signal()
                    return
                }
                holderPID.value = holder.backendPID
                locked.signal()
                _ = try? holder.execute("SELECT count(*) FROM public.gate")
                // The connection closes here, and the run lock with it.
            }
            thread.start()
            locked.wait()
            let pid = holderPID.value
            #expect(pid != 0)
            let plan = try writePlan("""
                settings: {lock_timeout: 500ms, retries: 10}
                steps:
                  - create_table: {name: t, columns: [{name: id, type: int}]}
                """)
            let notes = NoteRecorder { note in
                if note.contains("whose client has gone; waiting for it to end") { gate.rollbackIfOpen() }
            }
            let report = try Runner(connection: try database.connect(), plan: plan, progress: notes).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(notes.all.contains { $0.contains("held by pgmend pid \(pid) whose client has gone; waiting for it to end") }, "\(notes.all)")
        }
    }

    /// A live pgmend holds its alive lock: a second run is refused at once, not made to wait.
    @Test func aRunLockHeldByALiveRunIsRefusedAtOnce() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let live = try database.connect()
            let alive = try database.connect()
            #expect(try alive.tryAdvisoryLock(AdvisoryLockKey(name: "pgmend client alive \(live.backendPID)")))
            #expect(try live.tryAdvisoryLock(Runner.lockKey))
            let plan = try writePlan("settings: {lock_timeout: 2s, retries: 10}\nsteps:\n  - create_table: {name: t, columns: [{name: id, type: int}]}\n")
            let started = Date()
            let failure = try #require(throws: RunFailure.self) {
                try Runner(connection: try database.connect(), plan: plan).apply(snapshotDirectory: Self.snapshots)
            }
            #expect(Date().timeIntervalSince(started) < 1.5)
            #expect(failure.description.contains("another pgmend run holds this database's lock: pid \(live.backendPID)"), "\(failure)")
        }
    }
}

/// Notes a runner gives while it works, from any thread.
final class NoteRecorder: ProgressReporter, @unchecked Sendable {
    private let lock = NSLock()
    private var notes: [String] = []
    /// Told every note as it comes, on the runner's thread: the moment a test acts.
    private let onNote: (@Sendable (String) -> Void)?
    init(onNote: (@Sendable (String) -> Void)? = nil) { self.onNote = onNote }
    func progress(task: String, done: Int, total: Int, unit: String, detail: String) {}
    func finish(task: String) {}
    func note(_ message: String) {
        lock.withLock { notes.append(message) }
        onNote?(message)
    }
    var all: [String] { lock.withLock { notes } }
}
