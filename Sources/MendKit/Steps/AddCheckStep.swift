import PostgresClient
import SchemaModel

/// `add_check`: a CHECK constraint, added NOT VALID (a brief lock) and then validated (no
/// lock on writes). Rows that would violate it block the step and are listed by primary key.
public struct AddCheckStep: RepairStep {
    public static let kind = "add_check"
    public static let summary = "add a CHECK constraint without a long lock; violating rows block it"

    public let table: ObjectName
    public let name: String
    public let expression: PlanExpression

    public init?(options: inout OptionReader) {
        let table = options.objectName("table")
        let name = options.identifier("name")
        let expression = options.expression("expression")
        guard let table, let name, let expression else { return nil }
        self.table = table
        self.name = name
        self.expression = expression
    }

    public var scope: [ObjectName]? { [table] }

    public var settings: [(name: String, value: String)] {
        [("table", table.description), ("name", name), ("expression", expression.text)]
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        guard let current = schema.tables[table.key] else {
            return .blocked([StepProblem("table \(table) does not exist", table: table)])
        }
        let existing = current.constraints[name]
        if let existing, existing.kind != .check {
            return .blocked([StepProblem("\(table) already has a \(existing.kind.rawValue) constraint named \(name)", table: table)])
        }
        // The server's printing of the wanted expression, to compare with the existing one's:
        // the name alone says nothing of what a constraint checks.
        var forms = existing == nil ? nil : try canonicalForms(current, probe)
        if let existing, forms?.fromPlan == true {
            // Read-only, the plan's spelling cannot be told from the catalog's; a real run
            // compares them, and blocks there when they differ.
            probe.noteApproximation(
                "\(table) already has the check \(name), \(existing.definition): whether that is the plan's CHECK (\(expression)) cannot be told without writing, so it is taken to be")
        } else if let existing, let canonical = forms?.checks[name], existing.checkExpression != canonical.expression {
            return .blocked([StepProblem(
                "\(table) already has a check named \(name) with another expression: it is \(existing.definition), the plan wants \(canonical.definition); drop or rename it in an earlier step",
                table: table)])
        }
        if existing?.validated == true {
            return .satisfied("\(table) has the validated check \(name)")
        }
        guard try probe.tableExists(table) else {
            return .waiting("\(table) does not exist yet; an earlier step creates it")
        }
        // Its form first: put on a temporary table NOT VALID, the server refuses what a CHECK
        // cannot hold (a subquery, an aggregate, a window or set-returning function, another
        // table's column) before any row is read. (Read-only, no temporary table can be had;
        // then nothing is evaluated either, below.)
        if forms == nil { forms = try canonicalForms(current, probe) }
        // Evaluated against the rows only when every function it calls is immutable or stable.
        let quotedTable = table.sqlName
        let condition: SQL = "NOT \(expression)"
        if let instead = try probe.unlessPure("SELECT count(*) FROM \(quotedTable) WHERE \(condition)", option: "expression", table: table) {
            return instead
        }
        let violations = try probe.planText("expression") {
            try probe.offendingRows(in: table, where: condition)
        }
        if violations.count > 0 {
            return .blocked([StepProblem("rows of \(table) violate CHECK (\(expression))", count: violations.count, sample: violations.sample, table: table)])
        }
        let constraint = SQLIdentifier(name)
        // Two transactions: the brief ACCESS EXCLUSIVE lock to add, then the scan under SHARE
        // UPDATE EXCLUSIVE (reads and writes go on). Killed between them, the next run finds
        // the NOT VALID constraint and only validates.
        var effects: [any Effect] = []
        if existing == nil {
            effects.append(AtomicSQL(
                "add CHECK \(name) NOT VALID (existing rows are checked next)",
                ["ALTER TABLE \(quotedTable) ADD CONSTRAINT \(constraint) CHECK \(expression) NOT VALID"],
                lock: .accessExclusive, on: table, hazards: [.accessExclusiveLock]))
        }
        effects.append(AtomicSQL(
            "validate \(name) against existing rows", ["ALTER TABLE \(quotedTable) VALIDATE CONSTRAINT \(constraint)"],
            lock: .shareUpdateExclusive, on: table, hazards: [.fullTableScan]))

        // Read-only, an existing constraint is as good a spelling as the plan's, and better.
        let canonical = existing.flatMap { existing in
            forms?.fromPlan == true ? (existing.definition, existing.checkExpression ?? expression.text) : nil
        } ?? forms?.checks[name]
        let checkColumns = forms?.fromPlan == true ? existing?.columns : forms?.checkColumns[name]
        var after = schema
        after.tables[table.key]?.constraints[name] = Constraint(
            name: name, kind: .check,
            columns: current.columns.map(\.name).filter { checkColumns?.contains($0) ?? false },
            definition: canonical?.definition ?? "CHECK (\(expression))",
            checkExpression: canonical?.expression ?? expression.text)
        return .needed(effects, after: after)
    }

    /// The server's spelling of the check, which is where it first reads the expression.
    private func canonicalForms(_ table: Table, _ probe: Probe) throws -> CanonicalForms {
        try probe.planText("expression") { try probe.canonicalForms(columns: table.columns, checks: [(name, expression)], defaults: []) }
    }
}
