import Foundation
import PostgresClient
import SchemaModel

/// Runs a plan against a database: as a dry run (changes nothing), as a rehearsal (everything
/// in one transaction, rolled back), or for real.
///
/// Every step is assessed from the live database just before it runs, so a plan interrupted
/// anywhere resumes where it stopped, and a second run executes nothing. After each step the
/// catalog must equal the step's prediction.
public struct Runner {
    /// The advisory lock that keeps two runs off one database at once.
    public static let lockKey = RunLock.key

    let connection: Connection
    let plan: Plan
    let progress: any ProgressReporter
    /// Shared by the dry run that `apply` and `rehearse` show first and the assessments of the
    /// steps themselves, so a table is fingerprinted once per run, not once per assessment.
    let fingerprints = FingerprintMemo()
    /// Every statement of the run's session runs under the plan's timeouts, not the role's.
    var timeouts: SessionTimeouts { SessionTimeouts(plan.settings) }
    /// Test hook: called with a run snapshot's path before it is written; throwing
    /// `ArchiveError.io` makes the write fail as a full disk would.
    var snapshotWriteHook: ((String) throws -> Void)?
    /// Test hook: where the run kills itself (`PGMEND_FAULT`, read by the command line).
    public var faults = FaultPoints.none
    /// Makes the snapshot of the plan's models (`models:` in its settings) for the dry run's
    /// warnings about repairs they would undo; a plan that names models needs one.
    public var modelsSnapshot: (any ModelsSnapshotProvider)?

    public init(connection: Connection, plan: Plan, progress: any ProgressReporter = SilentProgress()) {
        self.connection = connection
        self.plan = plan
        self.progress = progress
    }

    func newReport(_ mode: RunReport.Mode) -> RunReport {
        RunReport(
            mode: mode, plan: .init(name: plan.name, path: plan.path, sha256: plan.sha256),
            database: connection.database, serverVersion: connection.serverVersion)
    }

    // MARK: For real

    /// Takes the run lock (see `RunLock`), journals, snapshots before and after, and runs each step that is
    /// needed, stopping at the first that is blocked or fails.
    ///
    /// A run whose dry run finds nothing needed is journaled but writes no snapshots: there is
    /// no change to record. A post-snapshot that cannot be written (a full disk) does not undo
    /// the steps: the report and the journal say they were applied, and the run ends `failed`.
    /// - Parameter includeData: snapshots with row counts and fingerprints (`run --data`).
    /// - Parameter confirm: shown the dry run; returns false to stop before any change.
    public func apply(snapshotDirectory: String, includeData: Bool = false, confirm: (RunReport) -> Bool = { _ in true }) throws -> RunReport {
        // Before the lock, the dry run and the prompt: a session that cannot keep the journal
        // (a standby, a read-only or unprivileged role) is told so, and what would do.
        try pinSession()
        if let obstacle = try Journal(connection: connection).obstacle() { throw obstacle }
        let lock = try RunLock.acquire(on: connection, settings: plan.settings, note: progress.note)
        defer { lock.release() }

        let preview = try dryRun(readOnlyAllowed: false)
        let needed = preview.steps.contains { $0.status == .needed }
        guard !needed || confirm(preview) else {
            var report = preview
            report.message = "stopped before any change: not confirmed"
            return report
        }

        var report = newReport(.apply)
        let journal = Journal(connection: connection)
        try journal.prepare()
        let run = try journal.startRun(plan, mode: "apply")
        let taker = SnapshotTaker(connection: connection, progress: includeData ? progress : SilentProgress())
        let files = RunSnapshots(directory: snapshotDirectory, database: connection.database, plan: plan.name, run: run)
        var pre: Snapshot?
        if needed {
            do {
                let taken = try reading("taking the pre-snapshot", tables: nil, retries: plan.settings.retries) {
                    try taker.take(includeData: includeData)
                }
                report.preSnapshot = try files.write(taken, .pre, hook: snapshotWriteHook)
                pre = taken
                try journal.recordSnapshots(run, pre: report.preSnapshot, post: nil)
            } catch {
                let message = error is SnapshotNotWritten ? "nothing was changed; \(error)" : String(describing: error)
                try? journal.finishRun(run, status: RunReport.Outcome.failed.rawValue, message: message)
                throw error
            }
        }

        do {
            try runSteps(&report, journal: journal, run: run, rehearsalArchives: nil)
        } catch {
            // Statement failures are reported by runSteps; this is anything else (an
            // assessment's query, a lost connection): the run did not finish.
            try? journal.finishRun(run, status: RunReport.Outcome.failed.rawValue, message: Self.text(of: error))
            throw error
        }
        // Without a pre-snapshot a post-snapshot is still taken if something ran after all
        // (the database changed between the dry run and the steps).
        if pre != nil || report.statementsExecuted > 0 {
            do {
                let post = try reading("taking the post-snapshot", tables: nil, retries: plan.settings.retries) {
                    try taker.take(includeData: includeData)
                }
                report.postSnapshot = try files.write(post, .post, hook: snapshotWriteHook)
                if let pre { report.actualChanges = SchemaDiff.changes(from: pre.schema, to: post.schema) }
            } catch let failure as any Error & CustomStringConvertible where failure is SnapshotNotWritten || failure is LockWaitTimedOut {
                // The steps stay applied; what is missing is the record of the result.
                if report.outcome == .ok {
                    report.message = "the steps were applied; \(failure)"
                } else {
                    report.message = [report.message, failure.description].compactMap { $0 }.joined(separator: "; ")
                }
                // A step that could not have its lock stays the run's outcome (exit 4).
                if report.outcome != .locked { report.outcome = .failed }
            }
            try journal.recordSnapshots(run, pre: report.preSnapshot, post: report.postSnapshot)
        } else {
            report.actualChanges = []
        }
        report.predictedChanges = preview.predictedChanges
        report.predictionComplete = preview.predictionComplete
        report.warnings = preview.warnings
        try journal.finishRun(run, status: report.outcome.rawValue, message: report.message)
        return report
    }

    // MARK: Rehearsal

    /// Runs the plan inside one transaction and rolls it back, reporting what happened. Takes
    /// the run lock as a real run does. Refuses when the tables it would touch are larger than `maxBytes` together.
    public func rehearse(maxBytes: Int64) throws -> RunReport {
        // Beside a real run, it would wait for that run's locks and report a state in between.
        try pinSession()
        let lock = try RunLock.acquire(on: connection, settings: plan.settings, note: progress.note)
        defer { lock.release() }
        let preview = try dryRun(readOnlyAllowed: false)
        let size = try rehearsalSize(preview)
        if size > maxBytes {
            throw RehearsalRefused(size: size, limit: maxBytes)
        }
        var report = newReport(.rehearsal)
        report.predictedChanges = preview.predictedChanges
        report.predictionComplete = preview.predictionComplete
        report.warnings = preview.warnings
        // Archives and files the rehearsal writes go to a private folder, removed however it ends.
        let archives = try RehearsalFolder()
        try connection.execute("BEGIN")
        defer {
            _ = try? connection.execute("ROLLBACK")
            archives.remove()
        }
        let before = try readSchema(rehearsal: true)
        try runSteps(&report, journal: nil, run: 0, rehearsalArchives: archives.path)
        if report.outcome == .ok || report.outcome == .blocked {
            report.actualChanges = SchemaDiff.changes(from: before, to: try readSchema(rehearsal: true))
        }
        return report
    }

    /// The live schema; in a rehearsal, as the rehearsal's transaction sees it, with the
    /// reader's session settings undone afterwards so the plan's SQL runs as written.
    /// With `tables`, only what steps about those tables need (`RepairStep.scope`): a run costs
    /// what its plan touches, not the whole catalog.
    func readSchema(rehearsal: Bool, tables: [ObjectName]? = nil, related: Bool = true) throws -> Schema {
        let reader = CatalogReader(connection: connection)
        guard rehearsal else { return try reader.readSchema(tables: tables, related: related) }
        try connection.execute("SAVEPOINT pgmend_read")
        defer { _ = try? connection.execute("ROLLBACK TO SAVEPOINT pgmend_read; RELEASE SAVEPOINT pgmend_read") }
        return try reader.readSchemaInCurrentTransaction(tables: tables, related: related)
    }

    /// The tables the plan's steps read or change; nil when one of them may touch anything.
    var planScope: [ObjectName]? {
        var tables: [ObjectName] = []
        for planned in plan.steps {
            guard let scope = planned.step.scope else { return nil }
            tables += scope
        }
        return tables
    }

    /// Bytes of the tables the dry run's needed actions lock; the whole database when raw SQL
    /// (which could touch anything) is needed.
    func rehearsalSize(_ preview: RunReport) throws -> Int64 {
        let needed = preview.steps.filter { $0.status == .needed }
        if needed.contains(where: { $0.actions.contains(where: \.raw) }) {
            return try connection.scalar("SELECT pg_database_size(current_database())" as SQL, as: Int64.self) ?? 0
        }
        let tables = Set(needed.flatMap { $0.actions.flatMap { $0.lockedTables.map { $0.sqlName.quoted } } })
        guard !tables.isEmpty else { return 0 }
        return try connection.scalar(
            "SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM unnest(\(bind: tables.sorted())::text[]) t",
            as: Int64.self) ?? 0
    }
}

/// A rehearsal that would hold too much in one transaction.
public struct RehearsalRefused: Error, Sendable, CustomStringConvertible {
    public var size: Int64
    public var limit: Int64
    public var description: String {
        let (size, limit) = ByteSize.texts(size, limit)
        return "rehearsal refused: the tables it would change hold \(size), over the limit of \(limit) (raise it with --max-rehearsal-size)"
    }
}
