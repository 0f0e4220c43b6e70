import Foundation
import PostgresClient
import SchemaModel

extension Runner {
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

    func failedStepReport(_ planned: PlannedStep, _ failure: AssessmentFailure) -> RunReport.StepReport {
        var report = stepReport(planned, .blocked([]))
        report.status = .failed
        report.problems = [RunReport.ProblemReport(message: failure.problem, count: nil, sample: [])]
        return report
    }

    func stepReport(_ planned: PlannedStep, _ assessment: Assessment) -> RunReport.StepReport {
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
                    hazards: $0.hazards.map(\.rawValue), deletesRows: $0.deletesRows, executed: false, lockedTables: $0.lockTargets, raw: $0.raw,
                    writesFile: $0 is WriteFile)
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
