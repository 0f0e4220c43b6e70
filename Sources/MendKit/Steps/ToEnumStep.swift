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
            statements.map(SQL.legacy), lock: .accessExclusive, on: table, hazards: [.accessExclusiveLock, .tableRewrite])
        if existingColumn.defaultExpression != nil && defaultLabel == nil {
            return .blocked([StepProblem("the default of \(table).\(column), \(existingColumn.defaultExpression ?? ""), is not a plain label; change it in an earlier step", table: table)])
        }

        if let position = current.columns.firstIndex(where: { $0.name == column }) {
            after.tables[table.key]?.columns[position].type = printedType
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
        // pg_depend records who depends on the column (refobjsubid = its attnum), but not how:
        // a plain index key and an index predicate look alike there. Which columns an index's
        // expressions and predicate read is only in their node trees, where a column of the
        // indexed table is `{VAR :varno 1 :varattno N ...}`; no SQL function lists them.
        let rows = try probe.query(
            """
            WITH target AS (
                SELECT a.attrelid AS relid, a.attnum FROM pg_attribute a
                WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped
            ), used AS (
                SELECT d.classid, d.objid FROM target t JOIN pg_depend d
                  ON d.refclassid = 'pg_class'::regclass AND d.refobjid = t.relid AND d.refobjsubid = t.attnum
            )
            SELECT CASE WHEN r.rulename <> '_RETURN' THEN 'rule' WHEN c.relkind = 'm' THEN 'materialized view' ELSE 'view' END,
                   n.nspname, c.relname, CASE WHEN r.rulename <> '_RETURN' THEN r.rulename END
            FROM used u JOIN pg_rewrite r ON u.classid = 'pg_rewrite'::regclass AND r.oid = u.objid
            JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
            UNION
            SELECT 'generated column', n.nspname, c.relname, a.attname
            FROM used u JOIN pg_attrdef ad ON u.classid = 'pg_attrdef'::regclass AND ad.oid = u.objid
            JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum AND a.attgenerated <> ''
            JOIN pg_class c ON c.oid = ad.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            UNION
            SELECT 'policy', n.nspname, c.relname, p.polname
            FROM used u JOIN pg_policy p ON u.classid = 'pg_policy'::regclass AND p.oid = u.objid
            JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            UNION
            SELECT 'trigger', n.nspname, c.relname, tg.tgname
            FROM used u JOIN pg_trigger tg ON u.classid = 'pg_trigger'::regclass AND tg.oid = u.objid
            JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            UNION
            SELECT CASE WHEN coalesce(i.indexprs::text, '') || coalesce(i.indpred::text, '') ~ ('[{]VAR :varno 1 :varattno ' || t.attnum || '[ }]')
                        THEN 'index (expression or predicate)' ELSE 'index (operator class)' END,
                   n.nspname, ic.relname, NULL
            FROM target t JOIN pg_index i ON i.indrelid = t.relid
            JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
            WHERE coalesce(i.indexprs::text, '') || coalesce(i.indpred::text, '') ~ ('[{]VAR :varno 1 :varattno ' || t.attnum || '[ }]')
               OR EXISTS (SELECT FROM unnest(i.indkey::int2[], i.indclass::oid[]) k(attnum, opclass)
                          JOIN pg_opclass oc ON oc.oid = k.opclass
                          WHERE k.attnum = t.attnum AND NOT oc.opcdefault)
            ORDER BY 1, 2, 3, 4
            """, [QualifiedName(schema: table.schema, table.name).quoted, column])
        return try rows.map { row in
            let kind = try row.get(0, as: String.self)
            let owner = ObjectName(schema: try row.get(1, as: String.self), name: try row.get(2, as: String.self))
            let member = try row.get(3, as: String?.self)
            switch kind {
            case "index (expression or predicate)": return "index \(owner) reads in its expression or predicate"
            case "index (operator class)": return "index \(owner) has an operator class for the old type of"
            case "generated column": return "generated column \(owner).\(member ?? "") reads"
            case "view", "materialized view": return "\(kind) \(owner) reads"
            default: return "\(kind) \(member ?? "") on \(owner) reads"
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
