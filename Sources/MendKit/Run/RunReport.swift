import SchemaModel

/// Where a step stands: what its assessment said (satisfied, needed, blocked, waiting), or,
/// once the run got to it, what happened (applied, failed; blocked when it could not go on).
public enum StepStatus: String, Encodable, Sendable {
    case satisfied, needed, blocked, waiting, applied, failed
}

/// What a run (dry run, rehearsal or the real thing) found and did, for people and as JSON.
public struct RunReport: Encodable, Sendable {
    public enum Mode: String, Encodable, Sendable { case dryRun = "dry-run", rehearsal, apply }
    /// How the run ended.
    public enum Outcome: String, Encodable, Sendable {
        /// Every step satisfied (dry run: or would be once its actions run).
        case ok
        /// A step is blocked by data or schema problems; nothing of it ran.
        case blocked
        /// A statement failed, or the database differs from the prediction.
        case failed
        /// The run's or a table's lock could not be had.
        case locked
        /// The server refused the plan's own text (a `done_when`, an expression, a type) as
        /// wrong for this database: a syntax error, an undefined function, column or type.
        case badInput = "bad_input"
    }

    public struct PlanInfo: Encodable, Sendable {
        public var name: String
        public var path: String
        public var sha256: String
    }

    public struct StepReport: Encodable, Sendable {
        public var number: Int
        public var kind: String
        public var location: String
        public var status: StepStatus
        public var reason: String?
        /// The earlier step a waiting step is judged after, when one is known.
        public var waitsFor: Int? = nil
        /// What the assessment could only approximate, when there is something to say: in a
        /// read-only dry run, checks and defaults in the plan's spelling, not the server's.
        public var note: String?
        public var actions: [ActionReport]
        public var problems: [ProblemReport]
        public var settings: [String: String]
    }

    public struct ActionReport: Encodable, Sendable {
        public var summary: String
        public var sql: String
        public var transactional: Bool
        public var lock: String
        /// The table whose lock it waits for (`schema.table`, unquoted), when there is one:
        /// the first of `tables`.
        public var table: String?
        /// Every table it takes `lock` on (`schema.table`, unquoted): a new foreign key locks
        /// each table it references.
        public var tables: [String]
        public var hazards: [String]
        /// Rows the `deletes_data` hazard is about: deleted, or values set to NULL.
        public var deletesRows: Int? = nil
        public var executed: Bool
        public var rowsAffected: Int?
        public var attempts: Int?
        /// Milliseconds of its longest transaction (a backfill's longest batch).
        public var longestTransactionMs: Int?
        /// How it ran, when there is something to say ("not rehearsed: ...").
        public var note: String?
        /// Milliseconds it took, once it ran.
        public var durationMs: Int? = nil
        /// Transactions its statements ran in, when it ran them more than once (a backfill's
        /// batches): the statements shown ran once per batch.
        public var batches: Int? = nil
        /// Milliseconds of the 99th percentile of those batches' transactions.
        public var batchP99Ms: Int? = nil
        /// The tables of `tables` as names, for SQL (not encoded).
        var lockedTables: [ObjectName] = []
        /// Plan text run as written (`Effect.raw`), whose changes cannot be predicted (not encoded).
        var raw = false
        /// It writes a file, not the database (`write_file`): not counted as a statement for
        /// people (not encoded).
        var writesFile = false
    }

    public struct ProblemReport: Encodable, Sendable {
        public var message: String
        public var count: Int?
        public var sample: [String]
    }

    public var mode: Mode
    public var plan: PlanInfo
    public var database: String
    public var serverVersion: String
    public var steps: [StepReport] = []
    /// From the live schema at the start to the predicted schema at the end.
    public var predictedChanges: [SchemaChange] = []
    /// False when a raw `sql` step, a step waiting for an earlier one, or a step with a note
    /// (a read-only dry run) makes the prediction incomplete.
    public var predictionComplete = true
    /// Predicted changes the plan's models contradict (`models:` in its settings): the models
    /// would undo them. Encoded only when there are some.
    public var warnings: [ModelWarning] = []
    /// From the schema at the start to the schema at the end (rehearsal and apply).
    public var actualChanges: [SchemaChange]?
    public var statementsExecuted = 0
    public var outcome: Outcome = .ok
    public var message: String?
    public var preSnapshot: String?
    public var postSnapshot: String?

    public var exitStatus: ExitStatus {
        switch outcome {
        case .ok: .ok
        case .blocked: .blocked
        case .failed: .failed
        case .locked: .unreachable
        case .badInput: .badInput
        }
    }

    enum CodingKeys: String, CodingKey {
        case mode, plan, database, serverVersion = "server_version", steps
        case predictedChanges = "predicted_changes", predictionComplete = "prediction_complete", warnings
        case actualChanges = "actual_changes", statementsExecuted = "statements_executed"
        case outcome, message, preSnapshot = "pre_snapshot", postSnapshot = "post_snapshot", exitCode = "exit_code"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mode, forKey: .mode)
        try container.encode(plan, forKey: .plan)
        try container.encode(database, forKey: .database)
        try container.encode(serverVersion, forKey: .serverVersion)
        try container.encode(steps, forKey: .steps)
        try container.encode(predictedChanges, forKey: .predictedChanges)
        try container.encode(predictionComplete, forKey: .predictionComplete)
        if !warnings.isEmpty { try container.encode(warnings, forKey: .warnings) }
        try container.encodeIfPresent(actualChanges, forKey: .actualChanges)
        try container.encode(statementsExecuted, forKey: .statementsExecuted)
        try container.encode(outcome, forKey: .outcome)
        try container.encodeIfPresent(message, forKey: .message)
        try container.encodeIfPresent(preSnapshot, forKey: .preSnapshot)
        try container.encodeIfPresent(postSnapshot, forKey: .postSnapshot)
        try container.encode(exitStatus.rawValue, forKey: .exitCode)
    }
}

extension RunReport.StepReport {
    enum CodingKeys: String, CodingKey { case number, kind, location, status, reason, waitsFor = "waits_for", note, actions, problems, settings }
}

extension RunReport.ActionReport {
    enum CodingKeys: String, CodingKey {
        case summary, sql, transactional, lock, table, tables, hazards, deletesRows = "deletes_rows", executed, rowsAffected = "rows_affected", attempts
        case longestTransactionMs = "longest_transaction_ms", note, durationMs = "duration_ms", batches, batchP99Ms = "batch_p99_ms"
    }
}

extension RunReport {
    /// What running the plan now would do, for people (a dry run's footer, the confirmation):
    /// "12 statements now, and steps 12 and 14 once steps 11 and 13 have run"; nil when
    /// nothing is needed or waiting.
    public var pendingWork: String? {
        let now = steps.filter { $0.status == .needed }.flatMap(\.actions)
        let waiting = steps.filter { $0.status == .waiting }
        guard !now.isEmpty || !waiting.isEmpty else { return nil }
        var parts = [RunReportText.tally(now) + " now"]
        // Grouped by the step they wait for, in plan order.
        var groups: [(after: Int?, steps: [Int])] = []
        for step in waiting {
            if let index = groups.firstIndex(where: { $0.after == step.waitsFor }) {
                groups[index].steps.append(step.number)
            } else {
                groups.append((step.waitsFor, [step.number]))
            }
        }
        for group in groups {
            let which = (group.steps.count == 1 ? "step " : "steps ") + Self.list(group.steps.map(String.init))
            parts.append("\(which) once " + (group.after.map { "step \($0) has run" } ?? "the earlier steps have run"))
        }
        return parts.joined(separator: ", and ")
    }

    /// "a", "a and b", "a, b and c".
    static func list(_ items: [String]) -> String {
        guard let last = items.last, items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + last
    }
}
