import Foundation
import PostgresClient
import SchemaModel

/// Runs a needed step's effects one after the other through one `EffectContext`, journals each
/// as a statement, and turns what an effect threw into the step's ending: a retry (decided by
/// `LockRetry` and the effect's `retryable`), a blocked step, or a failed one. It knows no
/// effect type: what an effect's own failure means for the report comes from `EffectFailure`.
struct EffectExecutor {
    let context: EffectContext
    let journal: Journal?
    let run: Int64
    let timeouts: SessionTimeouts
    let fingerprints: FingerprintMemo

    var settings: PlanSettings { context.settings }
    var connection: Connection { context.connection }

    /// How the step's effects ended.
    enum Ending {
        /// All of them ran.
        case done
        /// One's lock was not granted in time: assess the step again and retry.
        case retry
        /// The step stops here.
        case stopped(Stop)
    }

    /// A step stopped by one of its effects: its status and journal message, the run's
    /// outcome and message.
    struct Stop {
        var status: StepStatus
        var message: String
        var outcome: RunReport.Outcome
        var runMessage: String
    }

    /// Runs `effects`, the actions of `stepReport` after those `attempts` already ran.
    func run(
        _ effects: [any Effect], of planned: PlannedStep, _ stepReport: inout RunReport.StepReport, _ attempts: inout StepAttempts,
        _ report: inout RunReport
    ) throws -> Ending {
        for (position, effect) in effects.enumerated() {
            let index = attempts.executed.count + position
            context.effectNumber += 1
            let statement = try journal?.startStatement(run, step: planned.number, sql: effect.sql)
            // It may change any table: later assessments fingerprint afresh.
            fingerprints.forget()
            let started = ContinuousClock.now
            do {
                let outcome = try effect.apply(context)
                stepReport.actions[index].durationMs = Self.milliseconds(since: started)
                stepReport.actions[index].batches = outcome.batches
                stepReport.actions[index].batchP99Ms = Self.milliseconds(outcome.batchP99)
                if let statement { try journal?.finishStatement(statement, rowsAffected: outcome.rowsAffected, attempts: attempts.failed + 1, error: nil) }
                stepReport.actions[index].executed = true
                stepReport.actions[index].rowsAffected = outcome.rowsAffected
                stepReport.actions[index].attempts = attempts.failed + 1
                stepReport.actions[index].longestTransactionMs = Self.milliseconds(outcome.longestTransaction)
                stepReport.actions[index].note = outcome.note
                report.statementsExecuted += 1
                context.fault(.after)
            } catch {
                let step = "step \(planned.number) (\(planned.kind))"
                if effect.retryable && LockRetry.isRetryable(error) {
                    attempts.failed += 1
                    guard attempts.failed <= settings.retries else {
                        let failure = RunFailure.lockNotGranted(
                            statement: effect.sql, attempts: attempts.failed, timeout: settings.lockTimeout,
                            holders: (try? lockHolders(of: effect.lockTargets, on: connection)) ?? [])
                        if let statement { try? journal?.finishStatement(statement, rowsAffected: nil, attempts: attempts.failed, error: failure.description) }
                        stepReport.actions[index].attempts = attempts.failed
                        return .stopped(Stop(status: .failed, message: failure.description, outcome: .locked, runMessage: "\(step) failed: \(failure)"))
                    }
                    let message = (error as? PostgresError)?.message ?? String(describing: error)
                    if let statement { try? journal?.finishStatement(statement, rowsAffected: nil, attempts: attempts.failed, error: message) }
                    attempts.executed = Array(stepReport.actions[..<index])
                    LockRetry.pause(before: attempts.failed)
                    return .retry
                }
                let failure = failure(of: error)
                if let statement {
                    try? journal?.finishStatement(statement, rowsAffected: failure.rowsCommitted, attempts: attempts.failed + 1, error: failure.text)
                }
                if let problem = failure.problem { stepReport.problems.append(problem) }
                if let rows = failure.rowsCommitted {
                    stepReport.actions[index].rowsAffected = rows
                    stepReport.actions[index].longestTransactionMs = Self.milliseconds(failure.longestTransaction)
                    stepReport.actions[index].note = "partly executed: \(rows) rows committed"
                    report.statementsExecuted += 1
                }
                let runMessage = failure.outcome == .blocked ? "\(step) is blocked: \(failure.text)" : "\(step) failed: \(failure.text)"
                return .stopped(Stop(
                    status: failure.outcome == .blocked ? .blocked : .failed, message: failure.text, outcome: failure.outcome, runMessage: runMessage))
            }
        }
        return .done
    }

    /// An effect's failure as the step reports it.
    struct Failure {
        var text: String
        var outcome: RunReport.Outcome
        var problem: RunReport.ProblemReport?
        var rowsCommitted: Int?
        var longestTransaction: Double?
    }

    /// What `error` means for the step: an `EffectFailure` says it itself; a refused read of a
    /// table (row_security is off; policies came after the assessment) blocks it, this effect
    /// having read nothing; anything else fails it, with the server's DETAIL and why a timeout
    /// canceled it.
    func failure(of error: any Error) -> Failure {
        if RowSecurity.isRefusal(error) {
            let problem = RowSecurity.problem(for: error, on: connection)
            return Failure(
                text: problem.message, outcome: .blocked, problem: RunReport.ProblemReport(message: problem.message, count: nil, sample: []))
        }
        let effectFailure = error as? any EffectFailure
        if let effectFailure, effectFailure.runOutcome == .blocked {
            // Nothing changed; the database is no longer what the step assessed.
            return Failure(text: effectFailure.description, outcome: .blocked, problem: effectFailure.problem)
        }
        let cause = effectFailure?.cause ?? error
        var text = Runner.text(of: cause)
        if let server = cause as? PostgresError, let why = timeouts.explanation(of: server) { text += " (\(why))" }
        // What committed before the failure (a backfill's batches) stays committed: the
        // report and the journal count it.
        if let rows = effectFailure?.rowsCommitted {
            text += "; \(rows) row\(rows == 1 ? "" : "s") committed before it stopped stay written, and the next run resumes"
        }
        return Failure(
            text: text, outcome: .failed, problem: effectFailure?.problem, rowsCommitted: effectFailure?.rowsCommitted,
            longestTransaction: effectFailure?.longestTransaction)
    }

    static func milliseconds(_ seconds: Double?) -> Int? { seconds.map { Int(($0 * 1000).rounded()) } }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }
}
