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
    ///
    /// A step that is blocked stays blocked (exit 3) unless an earlier step of the plan changes
    /// what the problem is about, or runs raw SQL that could: then it is `waiting`, judged when
    /// the run gets to it, and the prediction is marked incomplete.
    ///
    /// It writes nothing and takes no advisory lock, so it runs on a hot standby and as a
    /// read-only role. There the server's spelling of a new check or default cannot be had
    /// (`Probe.canonicalForms`): the step's report carries a note and the prediction is
    /// marked incomplete.
    public func dryRun() throws -> RunReport {
        try dryRun(readOnlyAllowed: true)
    }

    /// Runs `body`, a read (catalog, snapshot) that may wait for a table's lock: a wait longer
    /// than `lock_timeout` is tried again after a backoff, `retries` times, then ends the run
    /// as `LockWaitTimedOut`, naming who is in the way. A dry run does not retry (`retries` 0):
    /// it shows at once what it could not read.
    func reading<T>(_ what: String, tables: [ObjectName]?, retries: Int, _ body: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try LockWaitTimedOut.naming(what, tables: tables, timeouts: timeouts, on: connection, body)
            } catch is LockWaitTimedOut where attempt < retries {
                attempt += 1
                Thread.sleep(forTimeInterval: Double(Self.backoff(attempt)) / 1000)
            }
        }
    }

    /// `readOnlyAllowed` false: as before a real run or a rehearsal, which need a session that
    /// can write; a read-only one fails here, before the journal or a snapshot is written.
    private func dryRun(readOnlyAllowed: Bool) throws -> RunReport {
        var report = newReport(.dryRun)
        // A new run: what an earlier one on this runner fingerprinted may be stale.
        fingerprints.forget()
        // The statements steps generate read whole tables through large expressions (a guarded
        // cast per JSON field): the server's JIT, which their cost estimate switches on, spent
        // more time compiling them than the scan took (15 s against 7 s on a million rows).
        // The results are the same either way; only the session of this run is concerned.
        if connection.isOpen && !connection.isInTransaction {
            try connection.pin("jit", "off")
            try timeouts.pin(on: connection)
        }
        let live = try reading("reading the catalog", tables: planScope, retries: readOnlyAllowed ? 0 : plan.settings.retries) {
            try CatalogReader(connection: connection).readSchema(tables: planScope)
        }
        let readOnly = try readOnlyAllowed ? ReadOnlySession.detect(connection) : nil
        let probe = Probe(connection: connection, settings: plan.settings, fingerprints: fingerprints, readOnlySession: readOnly)
        var predicted = live
        var pending = PendingChanges()
        for planned in plan.steps {
            var assessment: Assessment
            do {
                assessment = try probe.assessing { try planned.step.assess(predicted, $0) }
            } catch let error where pending.any && Self.serverError(error)?.sqlState?.isUndefinedObject == true {
                // A query of the plan's (done_when) reads what an earlier step creates or renames.
                assessment = .waiting("judged after the earlier steps run; today: \(Self.serverError(error)?.message ?? "\(error)")")
            } catch let error where RowSecurity.isRefusal(error) {
                // A policy would have filtered what the assessment read (row_security is off).
                assessment = .blocked([RowSecurity.problem(for: error, on: connection)])
            } catch {
                if let reason = completedBefore(planned, error, probe) {
                    assessment = .satisfied(reason)
                } else {
                    let failure = try assessmentFailure(planned, error)
                    report.steps.append(failedStepReport(planned, failure))
                    report.predictionComplete = false
                    if report.outcome != .badInput { report.outcome = failure.outcome }
                    report.message = report.message ?? failure.runMessage
                    continue
                }
            }
            if case .blocked(let problems) = assessment, let reason = pending.reason(for: problems) {
                assessment = .waiting(reason + "; today: " + problems.map(\.description).joined(separator: "; "))
            }
            var stepReport = stepReport(planned, assessment)
            if let notes = readOnly?.takeNotes(), !notes.isEmpty {
                stepReport.note = notes.joined(separator: "; ")
                report.predictionComplete = false
            }
            report.steps.append(stepReport)
            switch assessment {
            case .needed(let effects, let after):
                pending.record(planned.number, effects: effects, from: predicted, to: after)
                if let after { predicted = after } else { report.predictionComplete = false }
            case .waiting: report.predictionComplete = false
            case .blocked: if report.outcome == .ok { report.outcome = .blocked }
            case .satisfied: break
            }
        }
        report.predictedChanges = SchemaDiff.changes(from: live, to: predicted)
        return report
    }

    /// What the needed steps of a dry run so far will change, to tell a step that is blocked
    /// by today's database from one that is waiting for an earlier step.
    struct PendingChanges {
        /// Tables (`schema.table`) an earlier step creates, drops, alters, locks or archives.
        var tables: [String: Int] = [:]
        /// The first earlier step whose effect on the database cannot be known (raw SQL).
        var rawSQL: Int?

        var any: Bool { !tables.isEmpty || rawSQL != nil }

        mutating func record(_ step: Int, effects: [any Effect], from before: Schema, to after: Schema?) {
            guard let after else {
                rawSQL = rawSQL ?? step
                return
            }
            for table in effects.flatMap(\.touches) {
                tables[table.key] = tables[table.key] ?? step
                // A partition archived or dropped changes what its partitioned table holds.
                if let parent = before.tables[table.key]?.partitionOf { tables[parent] = tables[parent] ?? step }
            }
            for key in Set(before.tables.keys).union(after.tables.keys) where before.tables[key] != after.tables[key] {
                tables[key] = tables[key] ?? step
            }
        }

        /// Why `problems` may not hold once the earlier steps have run; nil when they will.
        func reason(for problems: [StepProblem]) -> String? {
            if let rawSQL { return "judged after step \(rawSQL) (raw SQL) runs" }
            let steps = problems.compactMap { $0.table.flatMap { tables[$0.key] } }
            guard let step = steps.min() else { return nil }
            return "judged after step \(step) runs, which changes what this step is blocked by"
        }
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
        let taker = SnapshotTaker(connection: connection)
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
        try journal.finishRun(run, status: report.outcome.rawValue, message: report.message)
        return report
    }

    // MARK: Rehearsal

    /// Runs the plan inside one transaction and rolls it back, reporting what happened. Takes
    /// the run lock as a real run does. Refuses when the tables it would touch are larger than `maxBytes` together.
    public func rehearse(maxBytes: Int64) throws -> RunReport {
        // Beside a real run, it would wait for that run's locks and report a state in between.
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
    private func readSchema(rehearsal: Bool, tables: [ObjectName]? = nil, related: Bool = true) throws -> Schema {
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
        if needed.contains(where: { $0.kind == SQLStep.kind }) {
            return try connection.scalar("SELECT pg_database_size(current_database())", as: Int64.self) ?? 0
        }
        let tables = Set(needed.flatMap { $0.actions.flatMap { $0.lockedTables.map { QualifiedName(schema: $0.schema, $0.name).quoted } } })
        guard !tables.isEmpty else { return 0 }
        return try connection.scalar(
            "SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM unnest($1::text[]) t",
            [Array(tables)], as: Int64.self) ?? 0
    }

    // MARK: Steps

    /// Milliseconds to wait before retry `n` (from 1): doubling from 100 ms, at most 5 s.
    static func backoff(_ attempt: Int) -> Int { min(5000, 100 << min(attempt - 1, 10)) }

    /// `rehearsalArchives`: the rehearsal's private folder (`RehearsalFolder`); nil for real.
    private func runSteps(_ report: inout RunReport, journal: Journal?, run: Int64, rehearsalArchives: String?) throws {
        let rehearsal = rehearsalArchives != nil
        let probe = Probe(connection: connection, archiveOverride: rehearsalArchives, settings: plan.settings, fingerprints: fingerprints)
        let context = EffectContext(
            connection: connection, settings: plan.settings, rehearsal: rehearsal, journal: journal, run: run,
            planSHA256: plan.sha256, progress: progress, archiveOverride: rehearsalArchives)
        // The catalog as the last read left it: a satisfied step changes nothing, and after a
        // predicted step the read that checked the prediction is the state the next one needs.
        var known: (scope: [ObjectName]?, schema: Schema)?
        steps: for planned in plan.steps {
            progress.progress(task: "step", done: planned.number - 1, total: plan.steps.count, detail: planned.kind)
            context.step = planned.number
            var failedAttempts = 0
            var executed: [RunReport.ActionReport] = []
            // Assessed again from the live database before every attempt: a retry after a lock
            // timeout does only what is still needed (an archive written, its DROP not done).
            attempts: while true {
                let scope = planned.step.scope
                /// The step could not be assessed: it fails, and the run stops there.
                func cannotAssess(_ failure: AssessmentFailure) throws {
                    var stepReport = failedStepReport(planned, failure)
                    stepReport.actions = executed
                    try journal?.recordStep(
                        run, number: planned.number, kind: planned.kind, status: StepStatus.failed.rawValue, message: failure.problem,
                        textSHA256: planned.textSHA256)
                    report.steps.append(stepReport)
                    report.outcome = failure.outcome
                    report.message = failure.runMessage
                }
                let current: Schema
                do {
                    current = try reading("could not be assessed: reading the catalog", tables: scope, retries: plan.settings.retries) {
                        try known.flatMap { $0.scope == scope ? $0.schema : nil } ?? readSchema(rehearsal: rehearsal, tables: scope)
                    }
                } catch let wait as LockWaitTimedOut {
                    return try cannotAssess(AssessmentFailure(
                        problem: wait.description, outcome: .locked, runMessage: "step \(planned.number) (\(planned.kind)) failed: \(wait)"))
                }
                known = nil
                let assessment: Assessment
                do {
                    assessment = try probe.assessing { try planned.step.assess(current, $0) }
                } catch let error where RowSecurity.isRefusal(error) {
                    assessment = .blocked([RowSecurity.problem(for: error, on: connection)])
                } catch {
                    // A read that waited lock_timeout behind an application's lock: as for a
                    // statement, assessed again after a backoff, `retries` times.
                    if LockWaitTimedOut.isLockTimeout(error) && failedAttempts < plan.settings.retries {
                        failedAttempts += 1
                        Thread.sleep(forTimeInterval: Double(Self.backoff(failedAttempts)) / 1000)
                        continue attempts
                    }
                    if let reason = completedBefore(planned, error, probe) {
                        assessment = .satisfied(reason)
                    } else {
                        return try cannotAssess(try assessmentFailure(planned, error))
                    }
                }
                var stepReport = stepReport(planned, assessment)
                stepReport.actions = executed + stepReport.actions
                func finish(_ status: StepStatus, _ message: String?, outcome: RunReport.Outcome? = nil) throws {
                    stepReport.status = status
                    try journal?.recordStep(
                        run, number: planned.number, kind: planned.kind, status: status.rawValue, message: message, textSHA256: planned.textSHA256)
                    report.steps.append(stepReport)
                    if let outcome { report.outcome = outcome }
                }
                switch assessment {
                case .satisfied(let reason):
                    try finish(executed.isEmpty ? .satisfied : .applied, reason)
                    known = (scope, current)
                    continue steps
                case .blocked(let problems):
                    try finish(.blocked, problems.map(\.description).joined(separator: "; "), outcome: .blocked)
                    report.message = "step \(planned.number) (\(planned.kind)) is blocked; nothing of it ran"
                    return
                case .waiting(let reason):
                    try finish(.blocked, reason, outcome: .blocked)
                    report.message = "step \(planned.number) (\(planned.kind)): \(reason)"
                    return
                case .needed(let effects, let predicted):
                    for (position, effect) in effects.enumerated() {
                        let index = executed.count + position
                        context.effectNumber += 1
                        let statement = try journal?.startStatement(run, step: planned.number, sql: effect.sql)
                        // It may change any table: later assessments fingerprint afresh.
                        fingerprints.forget()
                        do {
                            let outcome = try effect.apply(context)
                            if let statement { try journal?.finishStatement(statement, rowsAffected: outcome.rowsAffected, attempts: failedAttempts + 1, error: nil) }
                            stepReport.actions[index].executed = true
                            stepReport.actions[index].rowsAffected = outcome.rowsAffected
                            stepReport.actions[index].attempts = failedAttempts + 1
                            stepReport.actions[index].longestTransactionMs = outcome.longestTransaction.map { Int(($0 * 1000).rounded()) }
                            stepReport.actions[index].note = outcome.note
                            report.statementsExecuted += 1
                            context.fault(.after)
                        } catch let error as PostgresError where error.sqlState == .lockNotAvailable || error.sqlState == .deadlockDetected {
                            // A lock not granted in time, or a deadlock PostgreSQL broke by aborting
                            // this transaction: either way nothing of it committed, and the step is
                            // assessed again before it is retried.
                            failedAttempts += 1
                            guard failedAttempts <= plan.settings.retries else {
                                let failure = RunFailure.lockNotGranted(
                                    statement: effect.sql, attempts: failedAttempts, timeout: plan.settings.lockTimeout,
                                    holders: (try? lockHolders(of: effect.lockTargets, on: connection)) ?? [])
                                if let statement { try? journal?.finishStatement(statement, rowsAffected: nil, attempts: failedAttempts, error: failure.description) }
                                stepReport.actions[index].attempts = failedAttempts
                                try? finish(.failed, failure.description, outcome: .locked)
                                report.message = "step \(planned.number) (\(planned.kind)) failed: \(failure)"
                                return
                            }
                            if let statement { try? journal?.finishStatement(statement, rowsAffected: nil, attempts: failedAttempts, error: error.message) }
                            executed = Array(stepReport.actions[..<index])
                            Thread.sleep(forTimeInterval: Double(Self.backoff(failedAttempts)) / 1000)
                            continue attempts
                        } catch let changed as ChangedUnderLock {
                            // Nothing was dropped; the table is no longer what the step assessed.
                            if let statement { try? journal?.finishStatement(statement, rowsAffected: nil, attempts: failedAttempts + 1, error: changed.description) }
                            stepReport.problems.append(RunReport.ProblemReport(message: changed.description, count: nil, sample: []))
                            try? finish(.blocked, changed.description, outcome: .blocked)
                            report.message = "step \(planned.number) (\(planned.kind)) is blocked: \(changed)"
                            return
                        } catch let error where RowSecurity.isRefusal(error) {
                            // The server refused the effect's read of the table (row_security is
                            // off; policies came after the assessment): this effect read nothing, and
                            // the next run assesses the step again.
                            let problem = RowSecurity.problem(for: error, on: connection)
                            if let statement { try? journal?.finishStatement(statement, rowsAffected: nil, attempts: failedAttempts + 1, error: problem.message) }
                            stepReport.problems.append(RunReport.ProblemReport(message: problem.message, count: nil, sample: []))
                            try? finish(.blocked, problem.message, outcome: .blocked)
                            report.message = "step \(planned.number) (\(planned.kind)) is blocked: \(problem.message)"
                            return
                        } catch {
                            // What committed before the failure (a backfill's batches) stays
                            // committed: the report and the journal count it.
                            let partly = error as? PartlyCommitted
                            let error = partly?.error ?? error
                            var text = Self.text(of: error)
                            if let server = error as? PostgresError, let why = timeouts.explanation(of: server) { text += " (\(why))" }
                            if let partly {
                                text += "; \(partly.rows) row\(partly.rows == 1 ? "" : "s") committed before it stopped stay written, and the next run resumes"
                                stepReport.actions[index].rowsAffected = partly.rows
                                stepReport.actions[index].longestTransactionMs = partly.longestTransaction.map { Int(($0 * 1000).rounded()) }
                                stepReport.actions[index].note = "partly executed: \(partly.rows) rows committed"
                                report.statementsExecuted += 1
                            }
                            if let statement { try? journal?.finishStatement(statement, rowsAffected: partly?.rows, attempts: failedAttempts + 1, error: text) }
                            if let failed = error as? AssertionFailed {
                                stepReport.problems.append(RunReport.ProblemReport(message: failed.summary, count: failed.count, sample: failed.sample))
                            }
                            try? finish(.failed, text, outcome: .failed)
                            report.message = "step \(planned.number) (\(planned.kind)) failed: \(text)"
                            return
                        }
                    }
                    if let predicted {
                        // Exactly the relations read before the step, by name, and the step's
                        // own: the prediction was made from those.
                        let compared = scope.map { scope in
                            Array(Set(scope + current.tables.values.map(\.objectName)
                                + current.views.values.map { ObjectName(schema: $0.schema, name: $0.name) }))
                        }
                        let actual = try readSchema(rehearsal: rehearsal, tables: compared, related: false)
                        let differences = SchemaDiff.changes(from: predicted, to: actual)
                        if !differences.isEmpty {
                            let failure = RunFailure.predictionMismatch(step: planned.number, changes: differences)
                            try finish(.failed, failure.description, outcome: .failed)
                            report.message = failure.description
                            return
                        }
                        known = (scope, actual)
                    }
                    try finish(.applied, nil)
                    continue steps
                }
            }
        }
        progress.finish(task: "step")
        if report.statementsExecuted == 0 {
            report.message = "nothing to do: every step is satisfied (0 statements executed)"
        }
    }

    /// An error as the report and the journal give it: with the server's DETAIL and HINT,
    /// which name what is in the way (`Key (phone_number)=(+15550000005) is duplicated.`).
    static func text(of error: any Error) -> String {
        (error as? PostgresError)?.descriptionWithDetail ?? String(describing: error)
    }

    /// Why a step's assessment could not be made, as that step's problem.
    struct AssessmentFailure {
        var problem: String
        /// `badInput` when the plan's text is at fault, `failed` otherwise.
        var outcome: RunReport.Outcome
        var runMessage: String
    }

    /// The error an assessment threw, as the step's problem: the option whose text the server
    /// refused, where it is written, and the server's words. A connection that failed is no
    /// step's problem and is thrown on.
    func assessmentFailure(_ planned: PlannedStep, _ error: Error) throws -> AssessmentFailure {
        let problem: String
        var outcome = RunReport.Outcome.failed
        if LockWaitTimedOut.isLockTimeout(error) {
            let scope = planned.step.scope
            let holders = (try? LockWaitTimedOut.holders(on: connection, tables: scope)) ?? []
            problem = LockWaitTimedOut(what: "could not be assessed", timeout: timeouts.lockTimeout, source: timeouts.source, holders: holders).description
            outcome = .locked
        } else if let server = Self.serverError(error), let why = timeouts.explanation(of: server) {
            // A timeout is the run's limit, not the plan text's fault, whatever text was running.
            let option = (error as? PlanTextRefused).map { "evaluating \($0.option) (\(planned.location(of: $0.option))) " } ?? ""
            problem = "could not be assessed: \(option)was canceled: \(why)"
        } else if let refused = error as? PlanTextRefused {
            problem = "\(refused.option) (\(planned.location(of: refused.option))): the server refused it: \(refused.error.description)"
            if refused.isPlanTextAtFault { outcome = .badInput }
        } else if let error = error as? PostgresError, error.kind == .connection || error.kind == .connectionLost {
            throw error
        } else {
            problem = "could not be assessed: \(error)"
        }
        return AssessmentFailure(problem: problem, outcome: outcome, runMessage: "step \(planned.number) (\(planned.kind)) failed: \(problem)")
    }

    /// Why `planned` is satisfied although the server refused its text, or nil. A plan that
    /// ran must be able to run again: a `backfill` whose `where` calls `btrim(sync_status)`,
    /// followed by a `to_enum` of that column, no longer type-checks on the second run
    /// (`function btrim(app_sync_status) does not exist`). It is satisfied when the text is at
    /// fault (SQLSTATE class 42), a later step of this plan reads or changes a table this one
    /// reads (or is raw SQL), and the journal shows this step, with the same text, completed
    /// before such a later step did.
    func completedBefore(_ planned: PlannedStep, _ error: Error, _ probe: Probe) -> String? {
        guard let refused = error as? PlanTextRefused, refused.isPlanTextAtFault else { return nil }
        let mine = planned.step.scope.map { Set($0.map(\.key)) }
        let later = plan.steps.filter { other in
            guard other.number > planned.number else { return false }
            guard let mine, let theirs = other.step.scope else { return true }
            return theirs.contains { mine.contains($0.key) }
        }
        // Read in a savepoint that is rolled back: a missing journal or privilege is no answer.
        let found = try? probe.readOnly { probe in
            try Journal(connection: probe.connection).completedEarlier(textSHA256: planned.textSHA256, later: later.map(\.textSHA256))
        }
        guard let run = found ?? nil else { return nil }
        let steps = later.map { "step \($0.number) (\($0.kind))" }.joined(separator: ", ")
        return "\(refused.option) no longer type-checks (\(refused.error.description)) because a later step of this plan changed what it reads (\(steps)); "
            + "run \(run) completed this step with the same text"
    }

    /// The server's error behind an assessment's failure, when there is one.
    static func serverError(_ error: Error) -> PostgresError? {
        (error as? PlanTextRefused)?.error ?? (error as? PostgresError)
    }

    private func failedStepReport(_ planned: PlannedStep, _ failure: AssessmentFailure) -> RunReport.StepReport {
        var report = stepReport(planned, .blocked([]))
        report.status = .failed
        report.problems = [RunReport.ProblemReport(message: failure.problem, count: nil, sample: [])]
        return report
    }

    private func stepReport(_ planned: PlannedStep, _ assessment: Assessment) -> RunReport.StepReport {
        var report = RunReport.StepReport(
            number: planned.number, kind: planned.kind, location: planned.location.description, status: .needed, reason: nil,
            note: nil, actions: [], problems: [],
            settings: Dictionary(planned.step.settings.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first }))
        switch assessment {
        case .satisfied(let reason):
            report.status = .satisfied
            report.reason = reason
        case .needed(let effects, _):
            report.status = .needed
            report.actions = effects.map {
                RunReport.ActionReport(
                    summary: $0.summary, sql: $0.sql, transactional: $0.transactional, lock: $0.lock.rawValue,
                    table: $0.lockTargets.first?.key, tables: $0.lockTargets.map(\.key),
                    hazards: $0.hazards.map(\.rawValue), deletesRows: $0.deletesRows, executed: false, lockedTables: $0.lockTargets)
            }
        case .blocked(let problems):
            report.status = .blocked
            report.problems = problems.map { RunReport.ProblemReport(message: $0.message, count: $0.count, sample: $0.sample) }
        case .waiting(let reason):
            report.status = .waiting
            report.reason = reason
        }
        return report
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
