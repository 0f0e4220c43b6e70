import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// pgmend's reads wait for a table's lock at most `lock_timeout` and say for which table and
/// whom; its statements run under the plan's `statement_timeout`, not the role's; a timeout is
/// reported as one; what committed before a failure is counted.
@Suite("Session timeouts")
struct SessionTimeoutTests {
    static let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-timeout-snapshots").path

    static let backfillPlan = """
        settings: {lock_timeout: 500ms, retries: 1, batch_size: 1000}
        steps:
          - backfill: {table: tasks, set: {priority: 0}, where: priority IS NULL}
        """

    /// An application's transaction that holds ACCESS EXCLUSIVE on `table` for `seconds`.
    static func holdLock(_ session: NamedSession, on table: String, seconds: Double) -> Background<Void> {
        try? session.execute("BEGIN; LOCK TABLE \(raw: table) IN ACCESS EXCLUSIVE MODE")
        return Background {
            Thread.sleep(forTimeInterval: seconds)
            try session.execute("COMMIT")
        }
    }

    @Test func aDryRunBehindAnApplicationsLockGivesUpAfterLockTimeoutNamingTheTable() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE tasks (id int PRIMARY KEY, priority int); INSERT INTO tasks SELECT g, NULL FROM generate_series(1, 100) g")
            let app = try NamedSession("app", conninfo: database.conninfo)
            let held = Self.holdLock(app, on: "tasks", seconds: 6)
            defer { _ = try? held.value() }
            let started = Date()
            // Without a lock_timeout on its reads the dry run waited the 6 s the lock was held,
            // then reported the step needed.
            let error = #expect(throws: LockWaitTimedOut.self) { try Runner(connection: connection, plan: try writePlan(Self.backfillPlan)).dryRun() }
            let waited = Date().timeIntervalSince(started)
            #expect(waited < 4, "the dry run waited \(waited) s")
            let text = error?.description ?? ""
            #expect(text.hasPrefix("reading the catalog: waited lock_timeout 500ms (the plan's settings)"), "\(text)")
            #expect(text.contains("public.tasks: pid"), "\(text)")
            #expect(text.contains("(app, AccessExclusiveLock, idle in transaction"), "\(text)")
        }
    }

    /// Takes the application's lock when the run gets to its first step: after the catalog
    /// and the pre-snapshot are read, before the step's assessment.
    final class LockAtFirstStep: ProgressReporter, @unchecked Sendable {
        let app: NamedSession
        let seconds: Double
        var held: Background<Void>?
        init(_ app: NamedSession, seconds: Double) {
            self.app = app
            self.seconds = seconds
        }
        func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
            if task == "step" && done == 0 && held == nil { held = SessionTimeoutTests.holdLock(app, on: "tasks", seconds: seconds) }
        }
        func finish(task: String) {}
    }

    @Test func anAssessmentBehindAnApplicationsLockSaysSoAndWhose() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE tasks (id int PRIMARY KEY, priority int); INSERT INTO tasks SELECT g, NULL FROM generate_series(1, 100) g")
            let locker = LockAtFirstStep(try NamedSession("app", conninfo: database.conninfo), seconds: 6)
            let started = Date()
            let report = try Runner(connection: connection, plan: try writePlan(Self.backfillPlan), progress: locker)
                .apply(snapshotDirectory: Self.snapshots)
            let waited = Date().timeIntervalSince(started)
            _ = try locker.held?.value()
            // Before: the assessment waited for the 6 s lock, then the step ran.
            #expect(waited < 4, "the run waited \(waited) s")
            #expect(report.outcome == .locked)
            let problem = report.steps.first?.problems.first?.message ?? ""
            #expect(problem.hasPrefix("could not be assessed"), "\(problem)")
            #expect(problem.contains("waited lock_timeout 500ms (the plan's settings) for a table's lock and gave up"), "\(problem)")
            #expect(problem.contains("public.tasks: pid"), "\(problem)")
            #expect(problem.contains("(app, AccessExclusiveLock"), "\(problem)")
            #expect(try connection.scalar("SELECT count(*) FROM tasks WHERE priority IS NULL", as: Int.self) == 100)
        }
    }

    @Test func aRealRunAssessesAgainOnceTheApplicationsLockIsGone() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE tasks (id int PRIMARY KEY, priority int); INSERT INTO tasks SELECT g, NULL FROM generate_series(1, 100) g")
            let plan = try writePlan(Self.backfillPlan.replacingOccurrences(of: "retries: 1", with: "retries: 6"))
            let runner = Runner(connection: connection, plan: plan)
            let app = try NamedSession("app", conninfo: database.conninfo)
            let conninfo = database.conninfo
            // Held until the run has waited for it and given up once (pg_locks: pgmend's session
            // waits, then no longer, the lock still held), then released: the retry finds it gone.
            var held: Background<Void>?
            let report = try runner.apply(snapshotDirectory: Self.snapshots) { _ in
                try? app.execute("BEGIN; LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
                held = Background {
                    defer { app.rollbackIfOpen() }
                    let observer = try Connection(conninfo, applicationName: "observer")
                    _ = try observer.waitForLockWait(by: "pgmend", seconds: 60)
                    try observer.waitForNoLockWait(by: "pgmend", seconds: 60)
                    try app.execute("COMMIT")
                }
                return true
            }
            _ = try held?.value()
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try connection.scalar("SELECT count(*) FROM tasks WHERE priority IS NULL", as: Int.self) == 0)
        }
    }

    @Test func theRolesStatementTimeoutDoesNotCancelPgmendsStatements() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let admin = try database.connect()
            let role = String("pgmend_hurried_\(database.name)".prefix(63))
            try admin.execute(
                """
                CREATE ROLE \(ident: role) LOGIN; ALTER ROLE \(ident: role) SET statement_timeout = '5ms';
                GRANT CREATE ON DATABASE \(ident: database.name) TO \(ident: role); GRANT CREATE ON SCHEMA public TO \(ident: role)
                """)
            let connection = try Connection(database.conninfo + " user=\(role)")
            #expect(try connection.scalar("SHOW statement_timeout", as: String.self) == "5ms")
            try connection.execute("SET statement_timeout = 0")
            try connection.execute("CREATE TABLE tasks (id int PRIMARY KEY, priority int, note text)")
            try connection.execute("INSERT INTO tasks SELECT g, NULL, repeat('x', 200) FROM generate_series(1, 200000) g")
            try connection.execute("RESET statement_timeout")
            #expect(try connection.scalar("SHOW statement_timeout", as: String.self) == "5ms")
            let report = try Runner(connection: connection, plan: try writePlan(Self.backfillPlan.replacingOccurrences(of: "batch_size: 1000", with: "batch_size: 20000")))
                .apply(snapshotDirectory: Self.snapshots)
            // Before: the reads of the table (the assessment's count, the proof) ran under the
            // role's 5 ms and were canceled.
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            try connection.execute("SET statement_timeout = 0")
            #expect(try connection.scalar("SELECT count(*) FROM tasks WHERE priority IS NULL", as: Int.self) == 0)
            try admin.execute("DROP OWNED BY \"\(raw: role)\"; DROP ROLE \"\(raw: role)\"")
        }
    }

    @Test func theTimeoutIsNamedNotThePlansText() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE tasks (id int PRIMARY KEY, priority int, note text)")
            try connection.execute("INSERT INTO tasks SELECT g, NULL, md5(g::text) FROM generate_series(1, 2000) g")
            // The condition builds a 6.4 MB string per row: seconds for the table, far past 300ms.
            let plan = try writePlan("""
                settings: {statement_timeout: 300ms}
                steps:
                  - backfill: {table: tasks, set: {priority: 0}, where: "priority IS NULL AND length(repeat(note, 200000)) > 10"}
                """)
            let report = try Runner(connection: connection, plan: plan).dryRun()
            let problem = report.steps.first?.problems.first?.message ?? ""
            #expect(report.outcome == .failed)
            // Before: "where (...): the server refused it: canceling statement due to statement timeout".
            #expect(problem.contains("ran past statement_timeout 300ms (the plan's settings)"), "\(problem)")
            #expect(!problem.contains("refused"), "\(problem)")
        }
    }

    @Test func rowsCommittedBeforeABatchFailsAreCountedInTheReportAndTheJournal() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE TABLE tasks (id int PRIMARY KEY, priority int);
                INSERT INTO tasks SELECT g, NULL FROM generate_series(1, 10000) g;
                -- The application refuses one row's new value: the batch holding it fails.
                CREATE FUNCTION refuse_7777() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.id = 7777 THEN RAISE EXCEPTION 'task 7777 is frozen'; END IF; RETURN NEW; END $$;
                CREATE TRIGGER refuse BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION refuse_7777()
                """)
            let report = try Runner(connection: connection, plan: try writePlan(Self.backfillPlan)).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .failed)
            let written = try connection.scalar("SELECT count(*) FROM tasks WHERE priority = 0", as: Int.self) ?? -1
            #expect(written == 7000)
            let action = try #require(report.steps.first?.actions.first)
            // Before: rows_affected nil and "0 statements executed", though 7,000 rows were written.
            #expect(action.rowsAffected == written)
            #expect(report.statementsExecuted == 1)
            #expect(report.message?.contains("task 7777 is frozen") == true)
            #expect(report.message?.contains("7000 rows committed before it stopped stay written") == true, "\(report.message ?? "")")
            #expect(try connection.scalar("SELECT rows_affected FROM pgmend.statements ORDER BY id DESC LIMIT 1", as: Int.self) == written)
        }
    }
}
