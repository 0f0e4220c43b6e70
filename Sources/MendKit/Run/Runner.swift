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
    public static let lockKey = AdvisoryLockKey(name: "pgmend run")

    let connection: Connection
    let plan: Plan
    let progress: any ProgressReporter

    public init(connection: Connection, plan: Plan, progress: any ProgressReporter = SilentProgress()) {
        self.connection = connection
        self.plan = plan
        self.progress = progress
    }

    private func newReport(_ mode: RunReport.Mode) -> RunReport {
        RunReport(
            mode: mode, plan: .init(name: plan.name, path: plan.path, sha256: plan.sha256),
            database: connection.database, serverVersion: connection.serverVersion)
    }

    // MARK: Dry run

    /// Assesses every step against the schema the earlier steps will leave; executes nothing.
    public func dryRun() throws -> RunReport {
        var report = newReport(.dryRun)
        let live = try CatalogReader(connection: connection).readSchema()
        let probe = Probe(connection: connection)
        var predicted = live
        // After raw SQL that has not run yet, the live data is not what later steps will see.
        var pendingRawSQL: Int?
        for planned in plan.steps {
            var assessment = try planned.step.assess(predicted, probe)
            if case .blocked(let problems) = assessment, let sqlStep = pendingRawSQL {
                assessment = .waiting("judged after step \(sqlStep) runs; today: " + problems.map(\.description).joined(separator: "; "))
            }
            report.steps.append(stepReport(planned, assessment))
            switch assessment {
            case .needed(let actions, let after):
                if let after { predicted = after } else { report.predictionComplete = false }
                // Raw SQL and archives change what later steps find (data, archive folders)
                // beyond the schema the prediction carries.
                if after == nil || actions.contains(where: { if case .sql = $0.operation { return false } else { return true } }) {
                    pendingRawSQL = planned.number
                }
            case .blocked: report.outcome = .blocked
            case .satisfied, .waiting: break
            }
        }
        report.predictedChanges = SchemaDiff.changes(from: live, to: predicted)
        return report
    }

    // MARK: For real

    /// Takes the run lock, journals, snapshots before and after, and runs each step that is
    /// needed, stopping at the first that is blocked or fails.
    /// - Parameter confirm: shown the dry run; returns false to stop before any change.
    public func apply(snapshotDirectory: String, confirm: (RunReport) -> Bool = { _ in true }) throws -> RunReport {
        guard try connection.tryAdvisoryLock(Self.lockKey) else {
            throw RunFailure.alreadyRunning(holders: try connection.advisoryLockHolders(Self.lockKey))
        }
        defer { _ = try? connection.advisoryUnlock(Self.lockKey) }

        let preview = try dryRun()
        let needed = preview.steps.contains { $0.status == "needed" }
        guard !needed || confirm(preview) else {
            var report = preview
            report.message = "stopped before any change: not confirmed"
            return report
        }

        var report = newReport(.apply)
        let journal = Journal(connection: connection)
        try journal.prepare()
        let run = try journal.startRun(plan, mode: "apply")
        let taker = SnapshotTaker(connection: connection)
        let pre = try taker.take()
        report.preSnapshot = try write(pre, directory: snapshotDirectory, suffix: "pre")

        do {
            try runSteps(&report, journal: journal, run: run, rehearsal: false)
        } catch {
            // Statement failures are reported by runSteps; this is anything else (an
            // assessment's query, a lost connection): the run did not finish.
            try? journal.finishRun(run, status: RunReport.Outcome.failed.rawValue, message: String(describing: error))
            throw error
        }
        let post = try taker.take()
        report.postSnapshot = try write(post, directory: snapshotDirectory, suffix: "post")
        report.actualChanges = SchemaDiff.changes(from: pre.schema, to: post.schema)
        report.predictedChanges = preview.predictedChanges
        report.predictionComplete = preview.predictionComplete
        try journal.finishRun(run, status: report.outcome.rawValue, message: report.message)
        return report
    }

    // MARK: Rehearsal

    /// Runs the plan inside one transaction and rolls it back, reporting what happened.
    /// Refuses when the tables it would touch are larger than `maxBytes` together.
    public func rehearse(maxBytes: Int64) throws -> RunReport {
        let preview = try dryRun()
        let size = try rehearsalSize(preview)
        if size > maxBytes {
            throw RehearsalRefused(size: size, limit: maxBytes)
        }
        var report = newReport(.rehearsal)
        report.predictedChanges = preview.predictedChanges
        report.predictionComplete = preview.predictionComplete
        try connection.execute("BEGIN")
        defer {
            _ = try? connection.execute("ROLLBACK")
            try? FileManager.default.removeItem(atPath: rehearsalArchives)
        }
        let before = try readSchema(rehearsal: true)
        try runSteps(&report, journal: nil, run: 0, rehearsal: true)
        if report.outcome == .ok || report.outcome == .blocked {
            report.actualChanges = SchemaDiff.changes(from: before, to: try readSchema(rehearsal: true))
        }
        return report
    }

    /// The live schema; in a rehearsal, as the rehearsal's transaction sees it, with the
    /// reader's session settings undone afterwards so the plan's SQL runs as written.
    private func readSchema(rehearsal: Bool) throws -> Schema {
        let reader = CatalogReader(connection: connection)
        guard rehearsal else { return try reader.readSchema() }
        try connection.execute("SAVEPOINT pgmend_read")
        defer { _ = try? connection.execute("ROLLBACK TO SAVEPOINT pgmend_read; RELEASE SAVEPOINT pgmend_read") }
        return try reader.readSchemaInCurrentTransaction()
    }

    /// Bytes of the tables the dry run's needed actions lock; the whole database when raw SQL
    /// (which could touch anything) is needed.
    func rehearsalSize(_ preview: RunReport) throws -> Int64 {
        let needed = preview.steps.filter { $0.status == "needed" }
        if needed.contains(where: { $0.kind == SQLStep.kind }) {
            return try connection.scalar("SELECT pg_database_size(current_database())", as: Int64.self) ?? 0
        }
        let tables = Set(needed.flatMap { $0.actions.compactMap(\.table) })
        guard !tables.isEmpty else { return 0 }
        return try connection.scalar(
            "SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM unnest($1::text[]) t",
            [Array(tables)], as: Int64.self) ?? 0
    }

    // MARK: Steps

    private func runSteps(_ report: inout RunReport, journal: Journal?, run: Int64, rehearsal: Bool) throws {
        let probe = Probe(connection: connection, archiveOverride: rehearsal ? rehearsalArchives : nil)
        let executor = StatementExecutor(connection: connection, settings: plan.settings)
        // The catalog as the last read left it: a satisfied step changes nothing, and after a
        // predicted step the read that checked the prediction is the state the next one needs.
        var known: Schema?
        for planned in plan.steps {
            progress.progress(task: "step", done: planned.number - 1, total: plan.steps.count, detail: planned.kind)
            let current = try known ?? readSchema(rehearsal: rehearsal)
            known = nil
            let assessment = try planned.step.assess(current, probe)
            var stepReport = stepReport(planned, assessment)
            switch assessment {
            case .satisfied(let reason):
                try journal?.recordStep(run, number: planned.number, kind: planned.kind, status: "satisfied", message: reason)
                report.steps.append(stepReport)
                known = current
            case .blocked(let problems):
                try journal?.recordStep(run, number: planned.number, kind: planned.kind, status: "blocked", message: problems.map(\.description).joined(separator: "; "))
                report.steps.append(stepReport)
                report.outcome = .blocked
                report.message = "step \(planned.number) (\(planned.kind)) is blocked; nothing of it ran"
                return
            case .waiting(let reason):
                stepReport.status = "blocked"
                try journal?.recordStep(run, number: planned.number, kind: planned.kind, status: "blocked", message: reason)
                report.steps.append(stepReport)
                report.outcome = .blocked
                report.message = "step \(planned.number) (\(planned.kind)): \(reason)"
                return
            case .needed(let actions, let predicted):
                for (position, action) in actions.enumerated() {
                    let sql = rehearsal && !action.transactional ? (action.rehearsalSQL ?? action.sql) : action.sql
                    let statement = try journal?.startStatement(run, step: planned.number, sql: sql)
                    do {
                        let outcome = try perform(action, sql: sql, executor: executor, rehearsal: rehearsal)
                        if let statement { try journal?.finishStatement(statement, rowsAffected: outcome.rowsAffected, attempts: outcome.attempts, error: nil) }
                        stepReport.actions[position].executed = true
                        stepReport.actions[position].rowsAffected = outcome.rowsAffected
                        stepReport.actions[position].attempts = outcome.attempts
                        report.statementsExecuted += 1
                    } catch let changed as ChangedUnderLock {
                        // Nothing was dropped; the table is no longer what the step assessed.
                        if let statement { try? journal?.finishStatement(statement, rowsAffected: nil, attempts: 1, error: changed.description) }
                        try? journal?.recordStep(run, number: planned.number, kind: planned.kind, status: "blocked", message: changed.description)
                        stepReport.status = "blocked"
                        stepReport.problems.append(RunReport.ProblemReport(message: changed.description, count: nil, sample: []))
                        report.steps.append(stepReport)
                        report.outcome = .blocked
                        report.message = "step \(planned.number) (\(planned.kind)) is blocked: \(changed)"
                        return
                    } catch {
                        if let statement { try? journal?.finishStatement(statement, rowsAffected: nil, attempts: 0, error: String(describing: error)) }
                        try? journal?.recordStep(run, number: planned.number, kind: planned.kind, status: "failed", message: String(describing: error))
                        stepReport.status = "failed"
                        report.steps.append(stepReport)
                        report.outcome = (error as? RunFailure).map { if case .lockNotGranted = $0 { return .locked } else { return .failed } } ?? .failed
                        report.message = "step \(planned.number) (\(planned.kind)) failed: \(error)"
                        return
                    }
                }
                if let predicted {
                    let actual = try readSchema(rehearsal: rehearsal)
                    let differences = SchemaDiff.changes(from: predicted, to: actual)
                    if !differences.isEmpty {
                        stepReport.status = "failed"
                        report.steps.append(stepReport)
                        report.outcome = .failed
                        let failure = RunFailure.predictionMismatch(step: planned.number, changes: differences)
                        report.message = failure.description
                        try journal?.recordStep(run, number: planned.number, kind: planned.kind, status: "failed", message: failure.description)
                        return
                    }
                    known = actual
                }
                stepReport.status = "applied"
                try journal?.recordStep(run, number: planned.number, kind: planned.kind, status: "applied", message: nil)
                report.steps.append(stepReport)
            }
        }
        progress.finish(task: "step")
        if report.statementsExecuted == 0 {
            report.message = "nothing to do: every step is satisfied (0 statements executed)"
        }
    }

    /// Runs one action: its SQL, or the archive operation it stands for.
    private func perform(_ action: Action, sql: String, executor: StatementExecutor, rehearsal: Bool) throws -> StatementExecutor.Outcome {
        switch action.operation {
        case .sql:
            return try executor.run(sql, transactional: action.transactional && !rehearsal, lockTarget: action.lockTarget)
        case .archive(let table, let folder, let drop):
            // A rehearsal proves the archive can be written, to a folder removed at its end.
            let store = ArchiveStore(directory: rehearsal ? rehearsalArchives : folder)
            return try executor.run(transactional: true, isolation: .repeatableRead, lockTarget: table, describing: sql) { connection in
                let outcome = try ArchiveWriter(connection: connection, store: store, progress: progress, parallel: !rehearsal).archive(table, drop: drop)
                return Int(outcome.manifest.rows)
            }
        case .dropArchived(let table, let archive):
            return try executor.run(transactional: true, isolation: .repeatableRead, lockTarget: table, describing: sql) { connection in
                try GuardedDrop.dropIfMatching(table, archiveAt: archive, on: connection)
                return nil
            }
        case .dropEmpty(let table):
            return try executor.run(transactional: true, lockTarget: table, describing: sql) { connection in
                try GuardedDrop.dropIfEmpty(table, on: connection)
                return nil
            }
        }
    }

    private var rehearsalArchives: String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-rehearsal-archives-\(getpid())").path
    }

    private func stepReport(_ planned: PlannedStep, _ assessment: Assessment) -> RunReport.StepReport {
        var report = RunReport.StepReport(
            number: planned.number, kind: planned.kind, location: planned.location.description, status: "", reason: nil,
            actions: [], problems: [],
            settings: Dictionary(planned.step.settings.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first }))
        switch assessment {
        case .satisfied(let reason):
            report.status = "satisfied"
            report.reason = reason
        case .needed(let actions, _):
            report.status = "needed"
            report.actions = actions.map {
                RunReport.ActionReport(
                    summary: $0.summary, sql: $0.sql, transactional: $0.transactional, lock: $0.lock.rawValue,
                    table: $0.lockTarget.map { QualifiedName(schema: $0.schema, $0.name).quoted },
                    hazards: $0.hazards.map(\.rawValue), executed: false)
            }
        case .blocked(let problems):
            report.status = "blocked"
            report.problems = problems.map { RunReport.ProblemReport(message: $0.message, count: $0.count, sample: $0.sample) }
        case .waiting(let reason):
            report.status = "waiting"
            report.reason = reason
        }
        return report
    }

    private func write(_ snapshot: Snapshot, directory: String, suffix: String) throws -> String {
        let path = "\(directory)/\(snapshot.database)-\(plan.name)-\(FileStamp.now())-\(suffix).json"
        try OutputFile.write(Data(try snapshot.jsonText().utf8), to: path)
        return path
    }
}

/// A rehearsal that would hold too much in one transaction.
public struct RehearsalRefused: Error, Sendable, CustomStringConvertible {
    public var size: Int64
    public var limit: Int64
    public var description: String {
        "rehearsal refused: the tables it would change hold \(size / 1_048_576) MiB, over the limit of \(limit / 1_048_576) MiB (raise it with --max-rehearsal-size)"
    }
}
