/// An effect's own failure, as the runner reports it: every effect-specific error reaches the
/// runner through this protocol, so the runner has one way to report them all.
public protocol EffectFailure: Error, CustomStringConvertible {
    /// `.blocked` when nothing changed and the database is no longer what the step assessed
    /// (the next run assesses it again); `.failed` otherwise.
    var runOutcome: RunReport.Outcome { get }
    /// The step's problem for the report: what broke, and the rows, by primary key, that did.
    var problem: RunReport.ProblemReport? { get }
    /// Rows that committed before it stopped (a backfill's batches): they stay written.
    var rowsCommitted: Int? { get }
    /// Seconds of its longest committed transaction, with `rowsCommitted`.
    var longestTransaction: Double? { get }
    /// The error behind it, as the report names it (itself, unless it wraps another).
    var cause: any Error { get }
}

extension EffectFailure {
    public var runOutcome: RunReport.Outcome { .failed }
    public var problem: RunReport.ProblemReport? { nil }
    public var rowsCommitted: Int? { nil }
    public var longestTransaction: Double? { nil }
    public var cause: any Error { self }
}

extension ChangedUnderLock: EffectFailure {
    public var runOutcome: RunReport.Outcome { .blocked }
    public var problem: RunReport.ProblemReport? { RunReport.ProblemReport(message: description, count: nil, sample: []) }
}

extension AssertionFailed: EffectFailure {
    public var problem: RunReport.ProblemReport? { RunReport.ProblemReport(message: summary, count: count, sample: sample) }
}

extension PartlyCommitted: EffectFailure {
    public var problem: RunReport.ProblemReport? { (error as? any EffectFailure)?.problem }
    public var rowsCommitted: Int? { rows }
    public var cause: any Error { error }
}
