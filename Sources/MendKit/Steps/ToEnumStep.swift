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
        let table = options.text("table").map(ObjectName.init(parsing:))
        let column = options.text("column")
        let typeText = options.text("type")
        let labelItems = options.locatedTextList("labels") ?? []
        var seen: Set<String> = []
        var repeated = false
        for item in labelItems where !seen.insert(item.text).inserted {
            options.report(item.location, "label '\(item.text)' of to_enum is repeated")
            repeated = true
        }
        let labels = labelItems.map(\.text)
        guard let table, let column, let typeText, !labels.isEmpty, !repeated else { return nil }
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
        let quotedColumn = SQLIdentifier(column).quoted
        let labelList = labels.map(SQLLiteral.quoted).joined(separator: ", ")
        let outside = try probe.offendingRows(in: table, where: "\(quotedColumn) IS NOT NULL AND \(quotedColumn)::text <> ALL (ARRAY[\(labelList)])")
        if outside.count > 0 {
            let values = try probe.query(
                "SELECT DISTINCT \(quotedColumn)::text FROM \(QualifiedName(schema: table.schema, table.name).quoted) WHERE \(quotedColumn)::text <> ALL (ARRAY[\(labelList)]) ORDER BY 1 LIMIT 10")
                .map { "'\(try $0.get(0, as: String.self))'" }
            return .blocked([StepProblem(
                "values of \(table).\(column) outside (\(labels.joined(separator: ", "))): \(values.joined(separator: ", "))",
                count: outside.count, sample: outside.sample, table: table)])
        }

        let quotedTable = QualifiedName(schema: table.schema, table.name).quoted
        let quotedType = QualifiedName(schema: type.schema, type.name).quoted
        var statements: [String] = []
        var after = schema
        if schema.enums[type.key] == nil {
            statements.append("CREATE TYPE \(quotedType) AS ENUM (\(labelList))")
            after.enums[type.key] = EnumType(schema: type.schema, name: type.name, labels: labels)
        }
        // A default of the old type would not cast by itself: drop it, convert, put it back.
        let defaultLabel = existingColumn.defaultExpression.flatMap(Self.quotedLiteral)
        var alter = "ALTER TABLE \(quotedTable) "
        if existingColumn.defaultExpression != nil { alter += "ALTER COLUMN \(quotedColumn) DROP DEFAULT, " }
        alter += "ALTER COLUMN \(quotedColumn) TYPE \(quotedType) USING \(quotedColumn)::text::\(quotedType)"
        if let defaultLabel { alter += ", ALTER COLUMN \(quotedColumn) SET DEFAULT \(SQLLiteral.quoted(defaultLabel))::\(quotedType)" }
        statements.append(alter)
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
            after.tables[table.key]?.columns[position].defaultExpression = defaultLabel.map { "\(SQLLiteral.quoted($0))::\(printedType)" }
        }
        return .needed([effect], after: after)
    }

    /// `'pending'::character varying` -> `pending`; nil for anything but a quoted literal.
    static func quotedLiteral(_ expression: String) -> String? {
        guard expression.hasPrefix("'"), let end = expression.dropFirst().range(of: "'::") else { return nil }
        let body = expression[expression.index(after: expression.startIndex)..<end.lowerBound]
        guard !body.contains("'") || body.contains("''") else { return nil }
        return body.replacingOccurrences(of: "''", with: "'")
    }
}
