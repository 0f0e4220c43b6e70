import PostgresClient
import SchemaModel

/// `backfill`: a safe bulk UPDATE. Satisfied when no row matches `where`; otherwise the rows
/// are updated in keyset batches over the primary key, each its own short transaction, with
/// checkpoints so a killed run resumes (the `Backfill` effect).
///
/// ```yaml
/// - backfill:
///     table: apps
///     set: {sync_status: "lower(trim(sync_status))"}
///     where: "sync_status <> lower(trim(sync_status))"
/// ```
/// Without `where`, a row needs it when any column differs from its expression
/// (`col IS DISTINCT FROM (expr)`).
public struct BackfillStep: RepairStep {
    public static let kind = "backfill"
    public static let summary = "update many rows in short keyset batches, resumable; satisfied when no row matches where"

    public let table: ObjectName
    public let assignments: [(column: String, expression: PlanExpression)]
    /// `where`, or (without one) "a column differs from its expression", built from `set`;
    /// without parentheses of its own (the `Backfill` effect adds them).
    public let condition: SQL
    /// `where` as the plan wrote it.
    let given: PlanExpression?
    /// Whether `where` was written in the plan (or derived from `set`).
    public let conditionGiven: Bool

    public init?(options: inout OptionReader) {
        let table = options.objectName("table")
        var assignments: [(column: String, expression: PlanExpression)] = []
        if let value = options.mapValue("set") {
            var reader = OptionReader(owner: "set of backfill", map: value, noun: "column")
            for (key, _) in value.pairs ?? [] {
                guard let column = key.text else { continue }
                let expression = reader.expression(column)
                if reader.checkName(column, at: key.location, what: "a column name in 'set' of backfill"), let expression {
                    assignments.append((column, expression))
                }
            }
            if assignments.isEmpty && reader.problems.isEmpty { options.report(value.location, "option 'set' of backfill names no column") }
            options.absorb(reader)
        } else {
            options.report(options.location, "backfill needs option 'set'")
        }
        let given = options.expression("where", required: false)
        guard let table, !assignments.isEmpty else { return nil }
        self.table = table
        self.assignments = assignments
        conditionGiven = given != nil
        self.given = given
        condition = given?.unparenthesized ?? assignments
            .map { assignment -> SQL in "\(ident: assignment.column) IS DISTINCT FROM \(assignment.expression)" }
            .joined(separator: " OR ")
    }

    public var scope: [ObjectName]? { [table] }

    public var settings: [(name: String, value: String)] {
        [("table", table.description)] + assignments.map { ("set \($0.column)", $0.expression.text) } + [("where", condition.description)]
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        guard let current = schema.tables[table.key] else {
            return .blocked([StepProblem("table \(table) does not exist", table: table)])
        }
        let missing = assignments.map(\.column).filter { current.column($0) == nil }
        if !missing.isEmpty {
            return .blocked([StepProblem("\(table) has no column \(missing.joined(separator: ", "))", table: table)])
        }
        guard let primaryKey = current.constraints.values.first(where: { $0.kind == .primaryKey }) else {
            return .blocked([StepProblem("\(table) has no primary key; a backfill walks the table by it in batches", table: table)])
        }
        guard try probe.tableExists(table) else {
            return .waiting("\(table) does not exist yet; an earlier step creates it")
        }
        let key = primaryKey.columns.map { name in (name: name, type: current.column(name)?.type ?? "text") }
        let quotedTable = table.sqlName
        // In parentheses of its own (a plan's `where` closes them on a line of its own after a
        // `--` comment).
        let whereClause: SQL = given.map { "\($0)" } ?? "(\(condition))"
        // The condition is plan text: counted read-only (and once, by the dry run a real run
        // shows first, while nothing has changed since), and only when it calls no volatile
        // function. Without `where`, the condition is built from `set`: a volatile `set`
        // (`gen_random_uuid()`) then needs a `where` saying which rows still need it.
        let count: SQL = "SELECT count(*) FROM \(quotedTable) WHERE \(whereClause)"
        if let instead = try probe.unlessPure(count, option: conditionGiven ? "where" : "set", table: table) { return instead }
        let matching = try probe.planText(conditionGiven ? "where" : "set") { try probe.memoizedCount(count) }
        guard matching > 0 else { return .satisfied("no row of \(table) matches where") }
        var effect: any Effect = Backfill(
            table: table, key: key, assignments: assignments.map { ($0.column, $0.expression.unparenthesized) }, condition: condition, matching: matching, sizing: probe.settings.batchSizing, workers: try probe.batchWorkers(rows: matching))
        // `set` runs only as the effect, in a real run as written; a rehearsal skips it when it
        // calls a function whose effects a rollback may not undo.
        let setList: [SQL] = assignments.map { "\(ident: $0.column) = \($0.expression)" }
        let update: SQL = "UPDATE \(quotedTable) SET \(setList) WHERE \(whereClause)"
        let purity = try probe.planText("set") { try probe.purity(of: update) }.allowing(Probe.effectFreeVolatile)
        if let reason = purity.rehearsalReason("set") { effect = NotRehearsedWhenVolatile(effect, reason: reason) }
        return .needed([effect], after: schema)
    }
}
