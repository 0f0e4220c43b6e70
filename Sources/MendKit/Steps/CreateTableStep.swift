import PostgresClient
import SchemaModel

/// `create_table`: a table the application expects and the database lacks (`goals`,
/// `checkins`, ...). Satisfied when a table of that definition exists; blocked, with the
/// differences, when a table of that name exists with another.
public struct CreateTableStep: RepairStep {
    public static let kind = "create_table"
    public static let summary = "create a missing table; an existing table of another shape blocks it"

    /// One column as the plan declares it.
    public struct ColumnSpec: Sendable {
        public var name: String
        public var type: PlanTypeName
        public var nullable: Bool
        public var defaultExpression: PlanExpression?
        public var primaryKey: Bool
        public var unique: Bool
        public var identity: Column.Identity?
        /// `table(column)` or `table.column`.
        public var references: (table: ObjectName, column: String)?
        public var onDelete: ForeignKey.Action
        public var check: PlanExpression?
    }

    /// An index the plan declares.
    public struct IndexSpec: Sendable {
        public var name: String?
        public var columns: [String]
        public var unique: Bool
    }

    public let table: ObjectName
    public let columns: [ColumnSpec]
    public let uniqueSets: [[String]]
    public let indexes: [IndexSpec]

    public init?(options: inout OptionReader) {
        let table = options.objectName("name")
        var columns: [ColumnSpec] = []
        // Every column named, even one with a problem of its own, so it is not also "missing".
        var declared: Set<String> = []
        for var reader in options.mapList("columns", itemOwner: "column") ?? [] {
            if let column = Self.readColumn(&reader) { columns.append(column) }
            if let name = reader.rawValue("name")?.text, !declared.insert(name).inserted {
                reader.report(reader.location(of: "name"), "column '\(name)' is declared twice")
            }
            options.absorb(reader)
        }
        var uniqueSets: [[String]] = []
        var mentioned: [(text: String, location: FileLocation)] = []
        if let value = options.rawValue("unique") {
            for item in value.list ?? [] {
                let names = item.list?.compactMap { name in name.text.map { (text: $0, location: name.location) } } ?? []
                if names.isEmpty { options.report(item.location, "each item of 'unique' in create_table must be a list of column names") }
                uniqueSets.append(names.map(\.text))
                mentioned += names
            }
            if value.list == nil { options.report(value.location, "option 'unique' of create_table must be a list of column lists") }
        }
        var indexes: [IndexSpec] = []
        for var reader in options.mapList("indexes", itemOwner: "index", required: false) ?? [] {
            let columns = reader.locatedTextList("columns") ?? []
            indexes.append(IndexSpec(name: reader.identifier("name", required: false), columns: columns.map(\.text), unique: reader.bool("unique", default: false)))
            mentioned += columns
            options.absorb(reader)
        }
        for (name, location) in mentioned where !declared.contains(name) {
            let owner = table.map { "create_table \($0)" } ?? "create_table"
            options.report(location, "\(owner) has no column '\(name)'\(Suggestion.hint(for: name, among: declared))")
        }
        if columns.filter(\.primaryKey).count > 1 {
            options.report(options.location(of: "columns"), "more than one column says primary_key: true; a composite key is not supported yet")
        }
        guard let table, !columns.isEmpty, options.problems.isEmpty else { return nil }
        self.table = table
        self.columns = columns
        self.uniqueSets = uniqueSets
        self.indexes = indexes
    }

    static func readColumn(_ reader: inout OptionReader) -> ColumnSpec? {
        let name = reader.identifier("name")
        let type = reader.typeName("type")
        let nullable = reader.bool("nullable", default: true)
        let defaultExpression = reader.expression("default", required: false)
        let primaryKey = reader.bool("primary_key", default: false)
        let unique = reader.bool("unique", default: false)
        var identity: Column.Identity?
        if let text = reader.optionalText("identity") {
            identity = Column.Identity(rawValue: text)
            if identity == nil { reader.report(reader.location(of: "identity"), "identity must be 'always' or 'by_default', not '\(text)'") }
        }
        var references: (ObjectName, String)?
        if let text = reader.optionalText("references") {
            references = parseReference(text)
            if let (table, column) = references {
                let parts = [("schema", table.schema), ("table", table.name), ("column", column)]
                if let (part, problem) = parts.lazy.compactMap({ part, name in PostgresName.problem(name).map { (part, $0) } }).first {
                    reader.report(reader.location(of: "references"), "option 'references' of column '\(text)': its \(part) name \(problem)")
                    references = nil
                }
            } else {
                reader.report(reader.location(of: "references"), "references must be written table(column), not '\(text)'")
            }
        }
        var onDelete = ForeignKey.Action.noAction
        if let text = reader.optionalText("on_delete") {
            if let action = ForeignKey.Action(rawValue: text.uppercased().replacingOccurrences(of: "_", with: " ")) {
                onDelete = action
            } else {
                reader.report(reader.location(of: "on_delete"), "on_delete must be one of cascade, set_null, set_default, restrict, no_action; not '\(text)'")
            }
        }
        let check = reader.expression("check", required: false)
        guard let name, let type else { return nil }
        if let text = type.text.lowercased().split(separator: "(").first, ["serial", "bigserial", "smallserial"].contains(String(text)) {
            reader.report(reader.location(of: "type"), "use an integer type with identity: by_default instead of \(type)")
            return nil
        }
        return ColumnSpec(
            name: name, type: type, nullable: nullable && !primaryKey, defaultExpression: defaultExpression,
            primaryKey: primaryKey, unique: unique, identity: identity, references: references, onDelete: onDelete, check: check)
    }

    /// `users(id)`, `public.users(id)` or `users.id`.
    static func parseReference(_ text: String) -> (ObjectName, String)? {
        if let open = text.firstIndex(of: "("), text.hasSuffix(")") {
            let column = text[text.index(after: open)..<text.index(before: text.endIndex)].trimmingCharacters(in: .whitespaces)
            return column.isEmpty ? nil : (ObjectName(parsing: String(text[..<open])), column)
        }
        let parts = text.split(separator: ".")
        switch parts.count {
        case 2: return (ObjectName(schema: "public", name: String(parts[0])), String(parts[1]))
        case 3: return (ObjectName(schema: String(parts[0]), name: String(parts[1])), String(parts[2]))
        default: return nil
        }
    }

    public var scope: [ObjectName]? { [table] + columns.compactMap { $0.references?.table } }

    public var settings: [(name: String, value: String)] {
        var lines: [(String, String)] = [("name", table.description)]
        for column in columns {
            var text = "\(column.type)\(column.nullable ? "" : " NOT NULL")"
            if column.primaryKey { text += " PRIMARY KEY" }
            if column.unique { text += " UNIQUE" }
            if let identity = column.identity { text += " identity \(identity.rawValue)" }
            if let value = column.defaultExpression { text += " DEFAULT \(value)" }
            if let (table, column) = column.references { text += " REFERENCES \(table)(\(column))" }
            if column.onDelete != .noAction { text += " ON DELETE \(column.onDelete.rawValue)" }
            if let check = column.check { text += " CHECK (\(check))" }
            lines.append(("column \(column.name)", text))
        }
        for set in uniqueSets { lines.append(("unique", set.joined(separator: ", "))) }
        for index in indexes {
            lines.append(("index \(index.name ?? defaultIndexName(index.columns))", "\(index.unique ? "unique " : "")(\(index.columns.joined(separator: ", ")))"))
        }
        return lines
    }

    // MARK: Assessing

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        for column in columns {
            if let (target, key) = column.references {
                guard let referenced = schema.tables[target.key], referenced.column(key) != nil else {
                    return .blocked([StepProblem("\(table).\(column.name) references \(target)(\(key)), which does not exist", table: target)])
                }
            }
        }
        let expected = try expectedTable(probe)
        if let existing = schema.tables[table.key] {
            var wanted = expected.table
            if expected.checksAndDefaultsFromPlan {
                // Read-only, the plan's spelling of a check or default cannot be told from the
                // catalog's: only that they are there is compared, and the report says so.
                let skipped = Self.takeExpressions(of: existing, into: &wanted)
                if !skipped.isEmpty {
                    probe.noteApproximation(
                        "\(table) exists; \(skipped.joined(separator: ", ")) compared by presence only, not by expression")
                }
            }
            var before = Schema(); before.tables[table.key] = wanted
            var now = Schema(); now.tables[table.key] = existing
            let differences = SchemaDiff.changes(from: before, to: now)
            if differences.isEmpty { return .satisfied("\(table) exists with this definition") }
            return .blocked(differences.map { StepProblem("\(table) exists with another definition: \($0.description)", table: table) })
        }
        var after = schema
        after.tables[table.key] = expected.table
        for sequence in expected.sequences { after.sequences["\(sequence.schema).\(sequence.name)"] = sequence }
        // One transaction: killed between the table and an index, the next run would find a
        // table of another definition and be blocked for good.
        // The types as the server printed them: what was checked to be a type name is what runs.
        let statements = [createStatement(types: expected.table.columns.map(\.type))] + indexes.map(indexStatement)
        let names = indexes.map { $0.name ?? defaultIndexName($0.columns) }
        var referenced: [ObjectName] = []
        for case let (target, _)? in columns.map(\.references) where !referenced.contains(target) { referenced.append(target) }
        let effect = AtomicSQL(
            names.isEmpty ? "create table \(table)" : "create table \(table) with index\(names.count == 1 ? "" : "es") \(names.joined(separator: ", "))",
            statements,
            // SHARE ROW EXCLUSIVE on the referenced tables, for the foreign keys.
            lock: referenced.isEmpty ? .none : .shareRowExclusive, on: referenced, hazards: names.isEmpty ? [] : [.indexBuild])
        return .needed([effect], after: after)
    }

    /// `types`: each column's type as the server prints it (`Probe.canonicalType`), in order:
    /// what was checked to be a type name is what runs, never the plan's spelling.
    func createStatement(types: [String]) -> SQL {
        var lines: [SQL] = []
        for (column, type) in zip(columns, types) {
            var line: SQL = "\(ident: column.name) \(SQL.catalogText(type))"
            if let identity = column.identity {
                line += identity == .always ? " GENERATED ALWAYS AS IDENTITY" : " GENERATED BY DEFAULT AS IDENTITY"
                let sequence = GeneratedName.make([table.name, column.name], suffix: "seq")
                if GeneratedName.isCut(sequence, [table.name, column.name], suffix: "seq") {
                    line += " (SEQUENCE NAME \(QualifiedName(schema: table.schema, sequence)))"
                }
            }
            if !column.nullable && !column.primaryKey { line += " NOT NULL" }
            if let value = column.defaultExpression { line += " DEFAULT \(value)" }
            if column.primaryKey { line += spelled([table.name], "pkey") + " PRIMARY KEY" }
            if column.unique { line += spelled([table.name, column.name], "key") + " UNIQUE" }
            if let check = column.check { line += spelled([table.name, column.name], "check") + " CHECK \(check)" }
            if let (target, key) = column.references {
                line += spelled([table.name, column.name], "fkey") + " REFERENCES \(target.sqlName) (\(ident: key))"
                if column.onDelete != .noAction { line += " ON DELETE \(Self.action(column.onDelete))" }
            }
            lines.append(line)
        }
        for set in uniqueSets {
            let constraint = spelled([table.name] + set, "key")
            lines.append("\(constraint)\(constraint.isEmpty ? "" : " " as SQL)UNIQUE (\(set.map(SQLIdentifier.init)))")
        }
        return "CREATE TABLE \(table.sqlName) (\n    \(lines, separator: ",\n    ")\n)"
    }

    func indexStatement(_ index: IndexSpec) -> SQL {
        let name = SQLIdentifier(index.name ?? defaultIndexName(index.columns))
        return "CREATE \(index.unique ? "UNIQUE " : "" as SQL)INDEX \(name) ON \(table.sqlName) (\(index.columns.map(SQLIdentifier.init)))"
    }

    /// `ON DELETE` spelled as the plan's (closed) list of actions allows.
    static func action(_ action: ForeignKey.Action) -> SQL {
        switch action {
        case .noAction: "NO ACTION"
        case .restrict: "RESTRICT"
        case .cascade: "CASCADE"
        case .setNull: "SET NULL"
        case .setDefault: "SET DEFAULT"
        }
    }

    /// PostgreSQL's own name for an unnamed index: table_col1_col2_idx.
    func defaultIndexName(_ columns: [String]) -> String {
        GeneratedName.make([table.name] + columns, suffix: "idx")
    }

    /// ` CONSTRAINT "name"` when the generated name is not the one PostgreSQL would choose
    /// (it was cut to 63 bytes); otherwise nothing, and the server names it the same.
    func spelled(_ parts: [String], _ suffix: String) -> SQL {
        let name = GeneratedName.make(parts, suffix: suffix)
        return GeneratedName.isCut(name, parts, suffix: suffix) ? " CONSTRAINT \(ident: name)" : ""
    }

    /// Puts the expressions of `existing`'s checks and defaults in place of `wanted`'s where
    /// both have one (by constraint name, by column); returns what it took, for the report.
    static func takeExpressions(of existing: Table, into wanted: inout Table) -> [String] {
        var taken: [String] = []
        for (name, constraint) in wanted.constraints where constraint.kind == .check {
            guard let found = existing.constraints[name], found.kind == .check else { continue }
            wanted.constraints[name]?.definition = found.definition
            wanted.constraints[name]?.checkExpression = found.checkExpression
            wanted.constraints[name]?.columns = found.columns
            taken.append("check \(name)")
        }
        for position in wanted.columns.indices where wanted.columns[position].defaultExpression != nil {
            let name = wanted.columns[position].name
            guard let found = existing.column(name)?.defaultExpression else { continue }
            wanted.columns[position].defaultExpression = found
            taken.append("the default of \(name)")
        }
        return taken.sorted()
    }

    /// The table as the catalog will describe it, with the server's spelling of types,
    /// defaults and checks, and PostgreSQL's names for the constraints it creates.
    /// `checksAndDefaultsFromPlan`: a read-only session had only the plan's spelling of them.
    func expectedTable(_ probe: Probe) throws -> (table: Table, sequences: [SequenceDefinition], checksAndDefaultsFromPlan: Bool) {
        let printedTable = PrintedNames.qualified(table)
        var built = Table(schema: table.schema, name: table.name)
        var sequences: [SequenceDefinition] = []
        for column in columns {
            built.columns.append(Column(
                name: column.name, type: try probe.planText("columns") { try probe.canonicalType(column.type) },
                notNull: !column.nullable || column.identity != nil, identity: column.identity))
        }
        let checks = columns.compactMap { column in column.check.map { (GeneratedName.make([table.name, column.name], suffix: "check"), $0) } }
        let defaults = columns.compactMap { column in column.defaultExpression.map { (column.name, $0) } }
        let forms = try probe.planText("columns") { try probe.canonicalForms(columns: built.columns, checks: checks, defaults: defaults) }
        for (position, column) in columns.enumerated() {
            built.columns[position].defaultExpression = forms.defaults[column.name]
            let printedColumn = PrintedNames.identifier(column.name)
            if column.primaryKey {
                let name = GeneratedName.make([table.name], suffix: "pkey")
                built.constraints[name] = Constraint(name: name, kind: .primaryKey, columns: [column.name], definition: "PRIMARY KEY (\(printedColumn))", index: name)
                built.indexes[name] = uniqueIndex(name, columns: [column.name], primary: true)
            }
            if column.unique {
                let name = GeneratedName.make([table.name, column.name], suffix: "key")
                built.constraints[name] = Constraint(name: name, kind: .unique, columns: [column.name], definition: "UNIQUE (\(printedColumn))", index: name)
                built.indexes[name] = uniqueIndex(name, columns: [column.name], primary: false)
            }
            if column.check != nil {
                let name = GeneratedName.make([table.name, column.name], suffix: "check")
                built.constraints[name] = Constraint(
                    name: name, kind: .check, columns: forms.checkColumns[name] ?? [column.name],
                    definition: forms.checks[name]?.definition ?? "", checkExpression: forms.checks[name]?.expression)
            }
            if let (target, key) = column.references {
                let name = GeneratedName.make([table.name, column.name], suffix: "fkey")
                var definition = "FOREIGN KEY (\(printedColumn)) REFERENCES \(PrintedNames.qualified(target))(\(PrintedNames.identifier(key)))"
                if column.onDelete != .noAction { definition += " ON DELETE \(column.onDelete.rawValue)" }
                built.constraints[name] = Constraint(
                    name: name, kind: .foreignKey, columns: [column.name], definition: definition,
                    foreignKey: ForeignKey(referencedTable: target.key, referencedColumns: [key], onDelete: column.onDelete))
            }
            if column.identity != nil {
                let type = built.columns[position].type
                sequences.append(SequenceDefinition(
                    schema: table.schema, name: GeneratedName.make([table.name, column.name], suffix: "seq"), type: type,
                    maxValue: type == "integer" ? Int64(Int32.max) : type == "smallint" ? Int64(Int16.max) : Int64.max,
                    ownedBy: "\(table.key).\(column.name)"))
            }
        }
        for set in uniqueSets {
            let name = GeneratedName.make([table.name] + set, suffix: "key")
            built.constraints[name] = Constraint(
                name: name, kind: .unique, columns: set,
                definition: "UNIQUE (\(set.map(PrintedNames.identifier).joined(separator: ", ")))", index: name)
            built.indexes[name] = uniqueIndex(name, columns: set, primary: false)
        }
        for index in indexes {
            let name = index.name ?? defaultIndexName(index.columns)
            built.indexes[name] = Index(
                name: name,
                definition: "CREATE \(index.unique ? "UNIQUE " : "")INDEX \(PrintedNames.identifier(name)) ON \(printedTable) USING btree (\(index.columns.map(PrintedNames.identifier).joined(separator: ", ")))",
                keys: index.columns.map { IndexKey(expression: $0) }, unique: index.unique)
        }
        return (built, sequences, forms.fromPlan)

        func uniqueIndex(_ name: String, columns: [String], primary: Bool) -> Index {
            Index(
                name: name,
                definition: "CREATE UNIQUE INDEX \(PrintedNames.identifier(name)) ON \(printedTable) USING btree (\(columns.map(PrintedNames.identifier).joined(separator: ", ")))",
                keys: columns.map { IndexKey(expression: $0) }, unique: true, primary: primary, constraint: name)
        }
    }
}
