import Foundation
import PostgresClient
import SchemaModel

extension Runner {
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
        try pinSession()
        return try dryRun(readOnlyAllowed: true)
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
                LockRetry.pause(before: attempt)
            }
        }
    }

    /// The settings every statement of this run relies on, pinned before its first statement
    /// (the journal check, the run lock), so none runs under the role's own `statement_timeout`:
    /// first thing in `dryRun()`, `apply` and `rehearse`.
    /// The statements steps generate read whole tables through large expressions (a guarded
    /// cast per JSON field): the server's JIT, which their cost estimate switches on, spent
    /// more time compiling them than the scan took (15 s against 7 s on a million rows).
    /// The results are the same either way; only the session of this run is concerned.
    func pinSession() throws {
        guard connection.isOpen && !connection.isInTransaction else { return }
        try connection.pin("jit", "off")
        try timeouts.pin(on: connection)
    }

    /// `readOnlyAllowed` false: as before a real run or a rehearsal, which need a session that
    /// can write; a read-only one fails here, before the journal or a snapshot is written.
    func dryRun(readOnlyAllowed: Bool) throws -> RunReport {
        var report = newReport(.dryRun)
        // First, so a plan whose models cannot be read stops before anything else.
        let models = try modelsExpectation()
        var changesByStep: [(step: Int, changes: [SchemaChange])] = []
        // A new run: what an earlier one on this runner fingerprinted may be stale.
        fingerprints.forget()
        // Before a run, over two connections: this is the run's first catalog read, on new
        // server processes whose caches are cold, and the second connection is the one the
        // run's snapshots use next. A dry run alone stays on one (a standby may not export
        // the snapshot the two would share).
        let live = try reading("reading the catalog", tables: planScope, retries: readOnlyAllowed ? 0 : plan.settings.retries) {
            try CatalogReader(connection: connection).readSchema(tables: planScope, parallel: !readOnlyAllowed)
        }
        let readOnly = try readOnlyAllowed ? ReadOnlySession.detect(connection) : nil
        let probe = Probe(connection: connection, settings: plan.settings, fingerprints: fingerprints, readOnlySession: readOnly, progress: progress)
        var predicted = live
        var pending = PendingChanges()
        defer { progress.finish(task: "dry run") }
        for planned in plan.steps {
            progress.progress(task: "dry run", done: planned.number - 1, total: plan.steps.count, unit: "steps", detail: planned.kind)
            var assessment: Assessment
            var waitsFor: Int?
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
            if case .blocked(let problems) = assessment, let (reason, step) = pending.reason(for: problems) {
                assessment = .waiting(reason + "; today: " + problems.map(\.description).joined(separator: "; "))
                waitsFor = step
            }
            var stepReport = stepReport(planned, assessment)
            stepReport.waitsFor = waitsFor
            if let notes = readOnly?.takeNotes(), !notes.isEmpty {
                stepReport.note = notes.joined(separator: "; ")
                report.predictionComplete = false
            }
            report.steps.append(stepReport)
            switch assessment {
            case .needed(let effects, let after):
                pending.record(planned.number, effects: effects, from: predicted, to: after)
                if let after, models != nil { changesByStep.append((planned.number, SchemaDiff.changes(from: predicted, to: after))) }
                if let after { predicted = after } else { report.predictionComplete = false }
            case .waiting: report.predictionComplete = false
            case .blocked: if report.outcome == .ok { report.outcome = .blocked }
            case .satisfied: break
            }
        }
        report.predictedChanges = SchemaDiff.changes(from: live, to: predicted)
        report.warnings = models?.warnings(net: report.predictedChanges, byStep: changesByStep) ?? []
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

        /// Why `problems` may not hold once the earlier steps have run, and the step they
        /// wait for; nil when they will.
        func reason(for problems: [StepProblem]) -> (String, Int)? {
            if let rawSQL { return ("judged after step \(rawSQL) (raw SQL) runs", rawSQL) }
            let steps = problems.compactMap { $0.table.flatMap { tables[$0.key] } }
            guard let step = steps.min() else { return nil }
            return ("judged after step \(step) runs, which changes what this step is blocked by", step)
        }
    }
}
