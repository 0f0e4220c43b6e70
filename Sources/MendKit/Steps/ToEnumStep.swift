import PostgresClient
import SchemaModel

/// `to_enum`: turn a free-text status column into an enum type with the given labels. Values
/// outside the labels block the step and are listed by primary key.
public struct ToEnumStep: RepairStep {
    public static let kind = "to_enum"
    public static let summary = "convert a text column to an enum type; values outside the labels block it"

    public let table: ObjectName
    public let column: String
    public let type: ObjectName
    public let labels: [String]

    public init?(options: inout OptionReader) {
        let table = options.objectName("table")
        let column = options.identifier("column")
        let typeText = options.qualifiedName("type", part: "type")
        let labelItems = options.locatedTextList("labels") ?? []
        var seen: Set<String> = []
        var badLabel = false
        for item in labelItems where !seen.insert(item.text).inserted {
            options.report(item.location, "label '\(item.text)' of to_enum is repeated")
            badLabel = true
        }
        // Labels are values, not names, but the server holds them to a name's length and
        // refuses a longer one only when the type is created, mid-run.
        for item in labelItems where item.text.utf8.count > PostgresName.maxBytes {
            options.report(item.location, "label '\(item.text)' of to_enum is \(item.text.utf8.count) bytes long; PostgreSQL allows at most \(PostgresName.maxBytes) bytes in an enum label")
            badLabel = true
        }
        let labels = labelItems.map(\.text)
        guard let table, let column, let typeText, !labels.isEmpty, !badLabel else { return nil }
        self.table = table
        self.column = column
        var type = ObjectName(parsing: typeText)
        if !typeText.contains(".") { type.schema = table.schema }
        self.type = type
        self.labels = labels
    }

    public var scope: [ObjectName]? { [table] }

    public var settings: [(name: String, value: String)] {
        [("table", table.description), ("column", column), ("type", type.description), ("labels", labels.joined(separator: ", "))]
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        guard let current = schema.tables[table.key], let existingColumn = current.column(column) else {
            return .blocked([StepProblem("column \(table).\(column) does not exist", table: table)])
        }
        let printedType = PrintedNames.qualified(type)
        if let existing = schema.enums[type.key], existing.labels != labels {
            return .blocked([StepProblem("enum type \(type) exists with labels (\(existing.labels.joined(separator: ", "))), not (\(labels.joined(separator: ", ")))", table: table)])
        }
        if existingColumn.type == printedType, schema.enums[type.key] != nil {
            return .satisfied("\(table).\(column) is of enum type \(type)")
        }
        let checks = current.constraints.values.filter { $0.kind == .check && $0.columns.contains(column) }.map(\.name).sorted()
        if !checks.isEmpty {
            return .blocked([StepProblem("check constraints on \(table).\(column) would not survive the type change: \(checks.joined(separator: ", ")); drop them in an earlier step", table: table)])
        }
        guard try probe.tableExists(table) else {
            return .waiting("\(table) does not exist yet; an earlier step creates it")
        }
        let dependants = try Self.dependants(of: table, column: column, probe)
        if !dependants.isEmpty {
            return .blocked(dependants.map {
                StepProblem("\($0) \(table).\(column): ALTER COLUMN ... TYPE cannot carry it over; drop it in an earlier step and create it again after", table: table)
            })
        }
        let quotedColumn: SQL = "\(ident: column)"
        let quotedTable = table.sqlName
        let outsideLabels: SQL = "\(quotedColumn)::text <> ALL (\(bind: labels)::text[])"
        let outside = try probe.offendingRows(in: table, where: "\(quotedColumn) IS NOT NULL AND \(outsideLabels)")
        if outside.count > 0 {
            let values = try probe.query("SELECT DISTINCT \(quotedColumn)::text FROM \(quotedTable) WHERE \(outsideLabels) ORDER BY 1 LIMIT 10" as SQL)
                .map { "'\(try $0.get(0, as: String.self))'" }
            return .blocked([StepProblem(
                "values of \(table).\(column) outside (\(labels.joined(separator: ", "))): \(values.joined(separator: ", "))",
                count: outside.count, sample: outside.sample, table: table)])
        }

        let quotedType = type.sqlName
        var statements: [SQL] = []
        var after = schema
        if schema.enums[type.key] == nil {
            let labelList: [SQL] = labels.map { "\(literal: $0)" }
            statements.append("CREATE TYPE \(quotedType) AS ENUM (\(labelList, separator: ", "))")
            after.enums[type.key] = EnumType(schema: type.schema, name: type.name, labels: labels)
        }
        // A default of the old type would not cast by itself: drop it, convert, put it back.
        let defaultLabel = existingColumn.defaultExpression.flatMap(Self.quotedLiteral)
        var alter: [SQL] = []
        if existingColumn.defaultExpression != nil { alter.append("ALTER COLUMN \(quotedColumn) DROP DEFAULT") }
        alter.append("ALTER COLUMN \(quotedColumn) TYPE \(quotedType) USING \(quotedColumn)::text::\(quotedType)")
        if let defaultLabel { alter.append("ALTER COLUMN \(quotedColumn) SET DEFAULT \(literal: defaultLabel)::\(quotedType)") }
        statements.append("ALTER TABLE \(quotedTable) \(alter, separator: ", ")")
        // The type is created in the transaction that uses it: a failed ALTER leaves no type.
        let effect = AtomicSQL(
            statements.count == 1 ? "convert \(table).\(column) to \(type) (rewrites the table)"
                : "create enum type \(type) and convert \(table).\(column) to it (rewrites the table)",
            statements, lock: .accessExclusive, on: table, hazards: [.accessExclusiveLock, .tableRewrite])
        if existingColumn.defaultExpression != nil && defaultLabel == nil {
            return .blocked([StepProblem("the default of \(table).\(column), \(existingColumn.defaultExpression ?? ""), is not a plain label; change it in an earlier step", table: table)])
        }

        if let position = current.columns.firstIndex(where: { $0.name == column }) {
            after.tables[table.key]?.columns[position].type = printedType
            // The default as the catalog will print it: the label as a literal, cast to the type.
            after.tables[table.key]?.columns[position].defaultExpression = defaultLabel.map { "\(SQLLiteral.quoted($0))::\(printedType)" }
        }
        return .needed([effect], after: after)
    }

    /// What reads the column in a way `ALTER COLUMN ... TYPE` refuses or cannot rebuild, each as
    /// "view v reads", "index i reads ... in its expression or predicate": views and
    /// materialized views, rules, generated columns, row-level security policies, triggers
    /// (`UPDATE OF` or `WHEN`), and indexes whose expressions, predicate or operator class are
    /// written for the old type. An index whose key is the plain column with its default
    /// operator class is rebuilt by the ALTER itself and is not listed.
    static func dependants(of table: ObjectName, column: String, _ probe: Probe) throws -> [String] {
        // Check constraints are named before this, from the schema; exclusion constraints
        // are on an index, listed as one.
        try ColumnUser.of([ColumnName(table: table, column: column)], probe).compactMap { user in
            switch user.kind {
            case .indexExpression: "index \(user.owner) reads in its expression or predicate"
            case .indexOperatorClass: "index \(user.owner) has an operator class for the old type of"
            case .generatedColumn: "generated column \(user.owner).\(user.member ?? "") reads"
            case .view, .materializedView: "\(user.kind.rawValue) \(user.owner) reads"
            case .rule, .policy, .trigger: "\(user.kind.rawValue) \(user.member ?? "") on \(user.owner) reads"
            case .checkConstraint, .exclusionConstraint: nil
            }
        }
    }

    /// `'pending'::character varying` -> `pending`; nil for anything but a quoted literal.
    static func quotedLiteral(_ expression: String) -> String? {
        guard expression.hasPrefix("'"), let end = expression.dropFirst().range(of: "'::") else { return nil }
        let body = expression[expression.index(after: expression.startIndex)..<end.lowerBound]
        guard !body.contains("'") || body.contains("''") else { return nil }
        return body.replacingOccurrences(of: "''", with: "'")
    }
}
