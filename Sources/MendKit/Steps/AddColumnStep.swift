import PostgresClient
import SchemaModel

/// `add_column`: a column the application's models declare and the table lacks. Satisfied
/// when the column exists with that type, nullability and default; blocked, naming what
/// differs, when it exists otherwise (an existing column is never altered here).
public struct AddColumnStep: RepairStep {
    public static let kind = "add_column"
    public static let summary = "add a missing column (brief lock, no rewrite); an existing column of another definition blocks it"

    public let table: ObjectName
    public let column: String
    public let type: PlanTypeName
    public let nullable: Bool
    public let defaultExpression: PlanExpression?

    public init?(options: inout OptionReader) {
        let table = options.objectName("table")
        let column = options.identifier("column")
        let type = options.typeName("type")
        let nullable = options.bool("nullable", default: true)
        let defaultExpression = options.expression("default", required: false)
        guard let table, let column, let type else { return nil }
        if let text = type.text.lowercased().split(separator: "(").first, ["serial", "bigserial", "smallserial"].contains(String(text)) {
            options.report(options.location(of: "type"), "\(type) creates a sequence, which add_column does not: use an integer type")
            return nil
        }
        self.table = table
        self.column = column
        self.type = type
        self.nullable = nullable
        self.defaultExpression = defaultExpression
    }

    public var scope: [ObjectName]? { [table] }

    public var settings: [(name: String, value: String)] {
        var lines = [("table", table.description), ("column", column), ("type", type.text), ("nullable", "\(nullable)")]
        if let defaultExpression { lines.append(("default", defaultExpression.text)) }
        return lines
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        guard let current = schema.tables[table.key] else {
            return .blocked([StepProblem("table \(table) does not exist", table: table)])
        }
        // The type as the server prints it: what was checked to be a type is what runs.
        let printedType = try probe.planText("type") { try probe.canonicalType(type) }
        // A volatile default gives each existing row its own value: the whole table is
        // rewritten under the ACCESS EXCLUSIVE lock. Refused before anything else reads it.
        var defaultIsPure = true
        if let defaultExpression {
            switch try probe.planText("default", { try probe.purity(of: "SELECT \(defaultExpression)") }) {
            case .pure: break
            case .volatile(let functions):
                return .blocked([StepProblem(
                    "default \(defaultExpression) calls \(functions.joined(separator: ", ")), volatile: ADD COLUMN with a volatile default "
                        + "rewrites the whole table under an ACCESS EXCLUSIVE lock (every row gets a value of its own); add the column "
                        + "without it (or with an immutable or stable default), backfill it, and set the default afterwards",
                    table: table)])
            case .unknown(let why):
                guard probe.readOnlySession != nil else {
                    return .blocked([StepProblem("default \(defaultExpression) cannot be inspected: \(why)", table: table)])
                }
                probe.noteApproximation("whether the default of \(table).\(column) is volatile is not known: \(why)")
                defaultIsPure = false
            }
        }
        var wanted = Column(name: column, type: printedType, notNull: !nullable)
        var defaultFromPlan = false
        if let defaultExpression {
            // Stored on a temporary table of the column, never evaluated: the server's spelling
            // (and its refusal of a default the type cannot take).
            let forms = try probe.planText("default") {
                try probe.canonicalForms(columns: [wanted], checks: [], defaults: [(column, defaultExpression)])
            }
            wanted.defaultExpression = forms.defaults[column] ?? defaultExpression.text
            defaultFromPlan = forms.fromPlan
        }
        if let existing = current.column(column) {
            let differences = Self.differences(existing, wanted, defaultFromPlan: defaultFromPlan)
            if differences.isEmpty {
                if defaultFromPlan { probe.noteApproximation("the default of \(table).\(column) compared by presence only, not by expression") }
                return .satisfied("\(table).\(column) exists as \(Self.describe(existing))")
            }
            return .blocked([StepProblem(
                "\(table).\(column) exists with another definition: \(differences.joined(separator: "; ")); add_column never alters a column",
                table: table)])
        }
        guard try probe.tableExists(table) else {
            return .waiting("\(table) does not exist yet; an earlier step creates it")
        }
        if let problem = try notNullProblem(probe, evaluateDefault: defaultIsPure) { return .blocked([problem]) }

        var statement: SQL = "ALTER TABLE \(table.sqlName) ADD COLUMN \(ident: column) \(SQL.catalogText(printedType))"
        if !nullable { statement += " NOT NULL" }
        if let defaultExpression { statement += " DEFAULT \(defaultExpression)" }
        let effect = AtomicSQL(
            "add column \(column) \(printedType)\(nullable ? "" : " NOT NULL") to \(table)", [statement],
            lock: .accessExclusive, on: table, hazards: [.accessExclusiveLock])
        var after = schema
        after.tables[table.key]?.columns.append(wanted)
        return .needed([effect], after: after)
    }

    /// NOT NULL on a table with rows needs a default that is not NULL: PostgreSQL would fail.
    private func notNullProblem(_ probe: Probe, evaluateDefault: Bool) throws -> StepProblem? {
        guard !nullable else { return nil }
        let name = table.sqlName
        let hasRows = try probe.readOnly { try $0.scalar("SELECT EXISTS (SELECT FROM \(name))", as: Bool.self) } ?? false
        guard hasRows else { return nil }
        if let defaultExpression {
            guard evaluateDefault else { return nil }
            let isNull = try probe.planText("default") {
                try probe.readOnly { try $0.scalar("SELECT \(defaultExpression) IS NULL", as: Bool.self) }
            }
            guard isNull == true else { return nil }
            return StepProblem(
                "\(table) has rows and the default \(defaultExpression) is NULL: a NOT NULL column cannot be added with it (PostgreSQL would fail)",
                table: table)
        }
        let rows = try probe.readOnly { try $0.scalar("SELECT count(*) FROM \(name)", as: Int.self) } ?? 0
        return StepProblem(
            "\(table) has rows: a NOT NULL column \(column) without a default cannot be added to it (PostgreSQL would fail); "
                + "give it a default, or add it nullable, backfill it and set NOT NULL in later steps",
            count: rows, table: table)
    }

    /// What differs between the existing column and the plan's, each as "X is A, the plan wants B".
    static func differences(_ existing: Column, _ wanted: Column, defaultFromPlan: Bool) -> [String] {
        var found: [String] = []
        if existing.type != wanted.type { found.append("its type is \(existing.type), the plan wants \(wanted.type)") }
        if existing.notNull != wanted.notNull {
            found.append("it is \(existing.notNull ? "NOT NULL" : "nullable"), the plan wants it \(wanted.notNull ? "NOT NULL" : "nullable")")
        }
        if let identity = existing.identity { found.append("it is an identity column (\(identity.rawValue))") }
        if let generated = existing.generatedExpression { found.append("it is generated (\(generated))") }
        let sameDefault = defaultFromPlan
            ? (existing.defaultExpression == nil) == (wanted.defaultExpression == nil)
            : existing.defaultExpression == wanted.defaultExpression
        if existing.identity == nil, existing.generatedExpression == nil, !sameDefault {
            found.append("its default is \(existing.defaultExpression ?? "none"), the plan wants \(wanted.defaultExpression ?? "none")")
        }
        return found
    }

    static func describe(_ column: Column) -> String {
        column.type + (column.notNull ? " NOT NULL" : "") + (column.defaultExpression.map { " DEFAULT \($0)" } ?? "")
    }
}
