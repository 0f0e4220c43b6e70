import Foundation
import PostgresClient
import SchemaModel

extension Runner {
    /// Runs the plan's steps in order, each to its end, and stops at the first that is
    /// blocked or fails. `rehearsalArchives`: the rehearsal's private folder
    /// (`RehearsalFolder`); nil for real.
    func runSteps(_ report: inout RunReport, journal: Journal?, run: Int64, rehearsalArchives: String?) throws {
        let execution = StepExecution(self, journal: journal, run: run, rehearsalArchives: rehearsalArchives)
        for planned in plan.steps {
            progress.progress(task: "step", done: planned.number - 1, total: plan.steps.count, unit: "steps", detail: planned.kind)
            guard try execution.run(planned, into: &report) else { return }
        }
        progress.finish(task: "step")
        if report.statementsExecuted == 0 {
            report.message = "nothing to do: every step is satisfied (0 statements executed)"
        }
    }
}

/// What the attempts at one step have done so far: a retry after a lock timeout keeps the
/// actions that ran before it and counts the attempts.
struct StepAttempts {
    var failed = 0
    var executed: [RunReport.ActionReport] = []
}

/// How an attempt at a step ended.
enum StepEnding {
    /// The step is done (applied or satisfied): on to the next.
    case next
    /// Assess it again and retry (a lock was not granted in time).
    case retry
    /// The run stops here; the step's report and the run's message are written.
    case stop
}

/// The steps of one run (real or rehearsal): each assessed from the live database before every
/// attempt, its effects run by the `EffectExecutor`, its prediction checked afterwards.
final class StepExecution {
    let runner: Runner
    let journal: Journal?
    let run: Int64
    let rehearsal: Bool
    let probe: Probe
    let executor: EffectExecutor
    /// The catalog as the last read left it: a satisfied step changes nothing, and after a
    /// predicted step the read that checked the prediction is the state the next one needs.
    private var known: (scope: [ObjectName]?, schema: Schema)?

    init(_ runner: Runner, journal: Journal?, run: Int64, rehearsalArchives: String?) {
        self.runner = runner
        self.journal = journal
        self.run = run
        rehearsal = rehearsalArchives != nil
        let settings = runner.plan.settings
        probe = Probe(connection: runner.connection, archiveOverride: rehearsalArchives, settings: settings, fingerprints: runner.fingerprints, progress: runner.progress)
        let context = EffectContext(
            connection: runner.connection, settings: settings, rehearsal: rehearsal, journal: journal, run: run,
            planSHA256: runner.plan.sha256, progress: runner.progress, archiveOverride: rehearsalArchives, faults: runner.faults)
        executor = EffectExecutor(context: context, journal: journal, run: run, timeouts: runner.timeouts, fingerprints: runner.fingerprints)
    }

    /// Runs `planned` to its end; false when the run stops there.
    func run(_ planned: PlannedStep, into report: inout RunReport) throws -> Bool {
        executor.context.step = planned.number
        var attempts = StepAttempts()
        while true {
            switch try attempt(planned, &attempts, &report) {
            case .next: return true
            case .stop: return false
            case .retry: continue
            }
        }
    }

    /// One attempt: the step assessed from the live database, then what the assessment says.
    private func attempt(_ planned: PlannedStep, _ attempts: inout StepAttempts, _ report: inout RunReport) throws -> StepEnding {
        let scope = planned.step.scope
        let current: Schema
        do {
            current = try runner.reading("could not be assessed: reading the catalog", tables: scope, retries: runner.plan.settings.retries) {
                try known.flatMap { $0.scope == scope ? $0.schema : nil } ?? runner.readSchema(rehearsal: rehearsal, tables: scope)
            }
        } catch let wait as LockWaitTimedOut {
            let failure = Runner.AssessmentFailure(
                problem: wait.description, outcome: .locked, runMessage: "step \(planned.number) (\(planned.kind)) failed: \(wait)")
            try cannotAssess(planned, failure, attempts, &report)
            return .stop
        }
        known = nil
        let assessment: Assessment
        switch try assess(planned, current, &attempts) {
        case .assessed(let found): assessment = found
        case .retry: return .retry
        case .failed(let failure):
            try cannotAssess(planned, failure, attempts, &report)
            return .stop
        }
        var stepReport = runner.stepReport(planned, assessment)
        stepReport.actions = attempts.executed + stepReport.actions
        switch assessment {
        case .satisfied(let reason):
            try finish(planned, &stepReport, attempts.executed.isEmpty ? .satisfied : .applied, reason, into: &report)
            known = (scope, current)
            return .next
        case .blocked(let problems):
            try finish(planned, &stepReport, .blocked, problems.map(\.description).joined(separator: "; "), outcome: .blocked, into: &report)
            report.message = "step \(planned.number) (\(planned.kind)) is blocked; nothing of it ran"
            return .stop
        case .waiting(let reason):
            try finish(planned, &stepReport, .blocked, reason, outcome: .blocked, into: &report)
            report.message = "step \(planned.number) (\(planned.kind)): \(reason)"
            return .stop
        case .needed(let effects, let predicted):
            switch try executor.run(effects, of: planned, &stepReport, &attempts, &report) {
            case .retry: return .retry
            case .stopped(let stop):
                try? finish(planned, &stepReport, stop.status, stop.message, outcome: stop.outcome, into: &report)
                report.message = stop.runMessage
                return .stop
            case .done: break
            }
            if let predicted, let mismatch = try checkPrediction(predicted, scope: scope, current: current) {
                try finish(planned, &stepReport, .failed, mismatch.description, outcome: .failed, into: &report)
                report.message = mismatch.description
                return .stop
            }
            try finish(planned, &stepReport, .applied, nil, into: &report)
            return .next
        }
    }

    private enum AssessmentResult {
        case assessed(Assessment)
        case retry
        case failed(Runner.AssessmentFailure)
    }

    /// The step's assessment; a read that waited `lock_timeout` behind an application's lock
    /// is, as for a statement, assessed again after a backoff, `retries` times.
    private func assess(_ planned: PlannedStep, _ current: Schema, _ attempts: inout StepAttempts) throws -> AssessmentResult {
        do {
            return .assessed(try probe.assessing { try planned.step.assess(current, $0) })
        } catch let error where RowSecurity.isRefusal(error) {
            return .assessed(.blocked([RowSecurity.problem(for: error, on: runner.connection)]))
        } catch {
            if LockWaitTimedOut.isLockTimeout(error) && attempts.failed < runner.plan.settings.retries {
                attempts.failed += 1
                LockRetry.pause(before: attempts.failed)
                return .retry
            }
            if let reason = runner.completedBefore(planned, error, probe) { return .assessed(.satisfied(reason)) }
            return .failed(try runner.assessmentFailure(planned, error))
        }
    }

    /// The step could not be assessed: it fails, and the run stops there.
    private func cannotAssess(
        _ planned: PlannedStep, _ failure: Runner.AssessmentFailure, _ attempts: StepAttempts, _ report: inout RunReport
    ) throws {
        var stepReport = runner.failedStepReport(planned, failure)
        stepReport.actions = attempts.executed
        try journal?.recordStep(
            run, number: planned.number, kind: planned.kind, status: StepStatus.failed.rawValue, message: failure.problem,
            textSHA256: planned.textSHA256)
        report.steps.append(stepReport)
        report.outcome = failure.outcome
        report.message = failure.runMessage
    }

    /// The step's end: its status journaled, its report added to the run's.
    private func finish(
        _ planned: PlannedStep, _ stepReport: inout RunReport.StepReport, _ status: StepStatus, _ message: String?,
        outcome: RunReport.Outcome? = nil, into report: inout RunReport
    ) throws {
        stepReport.status = status
        try journal?.recordStep(
            run, number: planned.number, kind: planned.kind, status: status.rawValue, message: message, textSHA256: planned.textSHA256)
        report.steps.append(stepReport)
        if let outcome { report.outcome = outcome }
    }

    /// The prediction check: the catalog after the step against what the step predicted.
    /// Exactly the relations read before the step, by name, and the step's own: the
    /// prediction was made from those. Nil when they agree (the read is then what the next
    /// step starts from).
    private func checkPrediction(_ predicted: Schema, scope: [ObjectName]?, current: Schema) throws -> RunFailure? {
        let compared = scope.map { scope in
            Array(Set(scope + current.tables.values.map(\.objectName)
                + current.views.values.map { ObjectName(schema: $0.schema, name: $0.name) }))
        }
        let actual = try runner.readSchema(rehearsal: rehearsal, tables: compared, related: false)
        let differences = SchemaDiff.changes(from: predicted, to: actual)
        guard differences.isEmpty else {
            return RunFailure.predictionMismatch(step: executor.context.step, changes: differences)
        }
        known = (scope, actual)
        return nil
    }
}
