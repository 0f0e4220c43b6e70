import SchemaModel

/// The SQLAlchemy constructs both generated files write for a table (column arguments,
/// constraints, indexes), so the models and the migration describe the same DDL.
struct SQLAlchemyParts {
    let generated: GeneratedTables
    let enums: EnumStyle
    var imports = PythonImports()

    init(_ generated: GeneratedTables, enums: EnumStyle) {
        self.generated = generated
        self.enums = enums
    }

    var schema: Schema { generated.schema }

    mutating func use(_ name: String) -> String {
        imports.from("sqlalchemy", name)
        return name
    }

    /// The column's type, with its collation when it has one other than its type's default
    /// (SQLAlchemy writes `COLLATE "name"` after string types).
    mutating func type(of column: Column) -> SQLAlchemyType {
        var type = SQLAlchemyType.of(column.type, in: schema, enums: enums, imports: &imports)
        if let collation = column.collation, let open = type.expression.firstIndex(of: "("),
            ["String", "Text", "CHAR"].contains(String(type.expression[..<open]))
        {
            let parts = SQLAlchemyType.identifierParts(collation)
            let name = parts.count == 2 && parts[0] == "pg_catalog" ? parts[1] : parts.joined(separator: ".")
            let existing = type.expression[type.expression.index(after: open)..<type.expression.index(before: type.expression.endIndex)]
            let arguments = (existing.isEmpty ? [] : [String(existing)]) + ["collation=\(PythonSource.literal(name))"]
            type.expression = "\(type.expression[..<open])(\(arguments.joined(separator: ", ")))"
        }
        return type
    }

    /// Whether the primary key is written as `primary_key=True` on its columns: when it has the
    /// name PostgreSQL would give it and lists its columns in table order. Otherwise it is a
    /// `PrimaryKeyConstraint` of its own.
    func primaryKeyOnColumns(_ table: Table) -> Bool {
        guard let key = table.primaryKey else { return false }
        let ordered = table.columns.map(\.name).filter { key.columns.contains($0) }
        return key.name == "\(table.name)_pkey" && ordered == key.columns && !key.deferrable
    }

    /// A single-column foreign key is written on its column in models.
    func isColumnForeignKey(_ constraint: Constraint) -> Bool {
        constraint.kind == .foreignKey && constraint.columns.count == 1
    }

    /// The arguments after a column's name and type: identity or sequence, generation, foreign
    /// key, key, nullability, default, comment. `models`: written for the models, which Alembic compares
    /// with the database as SQLAlchemy reflects it: a column drawing from a sequence names it as
    /// its `Sequence(...)` (the migration creates it apart), and a domain's NOT NULL and default
    /// count as the column's (the migration creates the column as it is, the domain holds them).
    mutating func columnArguments(
        _ column: Column, of table: Table, inlineForeignKeys: Bool, primaryKeyFlags: Bool, models: Bool = false
    ) -> [String] {
        var arguments: [String] = []
        let domain = models ? generated.domainConstraints(of: column.type) : (notNull: false, defaultExpression: nil)
        if models, let sequence = generated.explicitSequence(column, of: table) {
            arguments.append(sequenceObject(sequence, callee: use("Sequence")))
        }
        if let identity = column.identity {
            var options = ["always=\(identity == .always ? "True" : "False")"]
            let owner = "\(table.schema).\(table.name).\(column.name)"
            if let sequence = schema.sequences.values.first(where: { $0.ownedBy == owner }) {
                if sequence.start != 1 { options.append("start=\(sequence.start)") }
                if sequence.increment != 1 { options.append("increment=\(sequence.increment)") }
                if sequence.cycle { options.append("cycle=True") }
                if sequence.cache != 1 { options.append("cache=\(sequence.cache)") }
            }
            arguments.append("\(use("Identity"))(\(options.joined(separator: ", ")))")
        }
        if let generatedExpression = column.generatedExpression {
            arguments.append("\(use("Computed"))(\(PythonSource.literal(generatedExpression)), persisted=True)")
        }
        if inlineForeignKeys {
            for constraint in table.constraints.values.sorted(by: { $0.name < $1.name })
            where isColumnForeignKey(constraint) && constraint.columns == [column.name] {
                if let foreignKey = constraint.foreignKey {
                    let target = targetColumns(foreignKey)[0]
                    let options = foreignKeyOptions(constraint, foreignKey)
                    arguments.append("\(use("ForeignKey"))(\(([PythonSource.literal(target)] + options).joined(separator: ", ")))")
                }
            }
        }
        let serial = generated.isSerial(column, of: table)
        let autoincrementSerial = generated.isAutoincrementSerial(column, of: table)
        let isKeyColumn = table.primaryKey?.columns.contains(column.name) ?? false
        if primaryKeyFlags && isKeyColumn { arguments.append("primary_key=True") }
        if generated.autoincrementCandidate(table) == column.name && column.identity == nil && !serial {
            arguments.append("autoincrement=False")
        }
        if !(primaryKeyFlags && isKeyColumn) { arguments.append("nullable=\(column.notNull || domain.notNull ? "False" : "True")") }
        // Alembic reflects an integer column's nextval default from a sequence that column owns
        // as no default (it takes the column for a SERIAL), so the models leave it to the
        // column's Sequence(...) rather than report a difference that is not there.
        let ownsItsSequence = models && ["integer", "bigint"].contains(column.type)
            && generated.explicitSequence(column, of: table)?.ownedBy == "\(table.schema).\(table.name).\(column.name)"
        if let expression = column.defaultExpression ?? domain.defaultExpression, !autoincrementSerial, !ownsItsSequence {
            let spelling = models ? Self.alembicSpelling(expression) : expression
            arguments.append("server_default=\(use("text"))(\(PythonSource.literal(spelling)))")
        }
        if let comment = column.comment { arguments.append("comment=\(PythonSource.literal(comment))") }
        return arguments
    }

    /// `"sessions.id"`, `"audit.log.id"`: how SQLAlchemy names a referenced column.
    func targetColumns(_ foreignKey: ForeignKey) -> [String] {
        let target = ObjectName(parsing: foreignKey.referencedTable)
        let prefix = target.schema == "public" ? target.name : "\(target.schema).\(target.name)"
        return foreignKey.referencedColumns.map { "\(prefix).\($0)" }
    }

    func foreignKeyOptions(_ constraint: Constraint, _ foreignKey: ForeignKey) -> [String] {
        var options = ["name=\(PythonSource.literal(constraint.name))"]
        if foreignKey.onDelete != .noAction { options.append("ondelete=\(PythonSource.literal(foreignKey.onDelete.rawValue))") }
        if foreignKey.onUpdate != .noAction { options.append("onupdate=\(PythonSource.literal(foreignKey.onUpdate.rawValue))") }
        if foreignKey.match != .simple { options.append("match=\(PythonSource.literal(foreignKey.match.rawValue))") }
        options += deferrability(constraint)
        if !constraint.validated { options.append("postgresql_not_valid=True") }
        return options
    }

    /// `Sequence("name", start=..., ...)` with the options that differ from what
    /// `CREATE SEQUENCE name AS type` would give, so the sequence it creates is the same.
    mutating func sequenceObject(_ sequence: SequenceDefinition, callee: String) -> String {
        var arguments = [PythonSource.literal(sequence.name)]
        let bounds: (min: Int64, max: Int64) = switch sequence.type {
        case "smallint": (Int64(Int16.min), Int64(Int16.max))
        case "integer": (Int64(Int32.min), Int64(Int32.max))
        default: (Int64.min, Int64.max)
        }
        let ascending = sequence.increment > 0
        let defaultMin = ascending ? 1 : bounds.min
        let defaultMax = ascending ? bounds.max : -1
        let defaultStart = ascending ? sequence.minValue : sequence.maxValue
        if sequence.type != "bigint" {
            let typeName = ["smallint": "SmallInteger", "integer": "Integer"][sequence.type] ?? "Integer"
            arguments.append("data_type=\(use(typeName))()")
        }
        if sequence.start != defaultStart { arguments.append("start=\(sequence.start)") }
        if sequence.increment != 1 { arguments.append("increment=\(sequence.increment)") }
        if sequence.minValue != defaultMin { arguments.append("minvalue=\(sequence.minValue)") }
        if sequence.maxValue != defaultMax { arguments.append("maxvalue=\(sequence.maxValue)") }
        if sequence.cycle { arguments.append("cycle=True") }
        if sequence.cache != 1 { arguments.append("cache=\(sequence.cache)") }
        if sequence.schema != "public" { arguments.append("schema=\(PythonSource.literal(sequence.schema))") }
        return "\(callee)(\(arguments.joined(separator: ", ")))"
    }

    func deferrability(_ constraint: Constraint) -> [String] {
        guard constraint.deferrable else { return [] }
        return ["deferrable=True"] + (constraint.initiallyDeferred ? ["initially=\"DEFERRED\""] : [])
    }

    /// The table-level constraints, in a fixed order: primary key (when not on the columns),
    /// foreign keys (all, or only those not written on a column), unique, check; exclusion
    /// constraints, which SQLAlchemy cannot declare portably, as comments.
    mutating func constraintArguments(_ table: Table, allForeignKeys: Bool, skipping: Set<String> = [], explicitPrimaryKey: Bool) -> [String] {
        var arguments: [String] = []
        let sorted = table.constraints.values.sorted { $0.name < $1.name }
        if let key = table.primaryKey, explicitPrimaryKey {
            let options = [PythonSource.literal(key.name)].map { "name=\($0)" } + deferrability(key)
            arguments.append("\(use("PrimaryKeyConstraint"))(\((key.columns.map(PythonSource.literal) + options).joined(separator: ", ")))")
        }
        for constraint in sorted where constraint.kind == .foreignKey && !skipping.contains(constraint.name) {
            guard allForeignKeys || !isColumnForeignKey(constraint), let foreignKey = constraint.foreignKey else { continue }
            arguments.append(foreignKeyConstraint(constraint, foreignKey))
        }
        for constraint in sorted where constraint.kind == .unique {
            var options = constraint.columns.map(PythonSource.literal) + ["name=\(PythonSource.literal(constraint.name))"]
            options += deferrability(constraint)
            if constraint.definition.contains("NULLS NOT DISTINCT") { options.append("postgresql_nulls_not_distinct=True") }
            arguments.append("\(use("UniqueConstraint"))(\(options.joined(separator: ", ")))")
        }
        for constraint in sorted where constraint.kind == .check {
            let expression = CheckSource.expression(constraint)
            guard !skipping.contains(constraint.name) else { continue }
            let validity = constraint.validated ? "" : ", postgresql_not_valid=True"
            arguments.append("\(use("CheckConstraint"))(\(PythonSource.literal(expression)), name=\(PythonSource.literal(constraint.name))\(validity))")
        }
        return arguments
    }

    mutating func foreignKeyConstraint(_ constraint: Constraint, _ foreignKey: ForeignKey) -> String {
        let options = [PythonSource.list(constraint.columns), PythonSource.list(targetColumns(foreignKey))]
            + foreignKeyOptions(constraint, foreignKey)
        return "\(use("ForeignKeyConstraint"))(\(options.joined(separator: ", ")))"
    }

    /// Exclusion constraints and invalid indexes are left out; these lines say so.
    func omissions(_ table: Table) -> [String] {
        var lines: [String] = []
        for constraint in table.constraints.values.sorted(by: { $0.name < $1.name }) where constraint.kind == .exclusion {
            lines.append("# not generated: exclusion constraint \(constraint.name) \(constraint.definition)")
        }
        for index in indexes(table, includeInvalid: true) where !index.valid {
            lines.append("# not generated: index \(index.name) is invalid (a failed CREATE INDEX CONCURRENTLY)")
        }
        return lines
    }

    /// The indexes no constraint owns, by name.
    func indexes(_ table: Table, includeInvalid: Bool = false) -> [Index] {
        table.indexes.values
            .filter { $0.constraint == nil && !$0.primary && (includeInvalid || $0.valid) }
            .sorted { $0.name < $1.name }
    }

    /// An index's keys (a column name, or `text("...")` for an expression or a key with an
    /// order or collation) and its options (unique, method, predicate, INCLUDE, operator classes).
    mutating func indexParts(_ index: Index) -> (keys: [String], options: [String]) {
        var keys: [String] = []
        var operatorClasses: [(String, String)] = []
        for key in index.keys {
            let plain = key.isColumn && !key.descending && !key.nullsFirst && key.collation == nil
            if plain {
                keys.append(PythonSource.literal(key.expression))
                if let operatorClass = key.operatorClass { operatorClasses.append((key.expression, operatorClass)) }
                continue
            }
            var text = key.isColumn ? Self.quoted(key.expression) : key.expression
            if let collation = key.collation { text += " COLLATE \(Self.quoted(collation))" }
            if let operatorClass = key.operatorClass { text += " \(operatorClass)" }
            if key.descending { text += " DESC" }
            if key.nullsFirst != key.descending { text += key.nullsFirst ? " NULLS FIRST" : " NULLS LAST" }
            keys.append("\(use("text"))(\(PythonSource.literal(text)))")
        }
        var options: [String] = []
        if index.unique { options.append("unique=True") }
        if index.method != "btree" { options.append("postgresql_using=\(PythonSource.literal(index.method))") }
        if !index.include.isEmpty { options.append("postgresql_include=\(PythonSource.list(index.include))") }
        if let predicate = index.predicate { options.append("postgresql_where=\(use("text"))(\(PythonSource.literal(predicate)))") }
        if !operatorClasses.isEmpty {
            let pairs = operatorClasses.map { "\(PythonSource.literal($0.0)): \(PythonSource.literal($0.1))" }
            options.append("postgresql_ops={\(pairs.joined(separator: ", "))}")
        }
        if index.definition.contains(" NULLS NOT DISTINCT") { options.append("postgresql_nulls_not_distinct=True") }
        return (keys, options)
    }

    /// `nextval('public.s'::regclass)` -> `nextval('s')`, the spelling Alembic compares a
    /// reflected nextval default in: reflected with the usual `search_path` (the catalog is read
    /// with `pg_catalog` alone, so a sequence in `public` comes qualified), `::regclass` removed.
    /// Both name the same sequence; PostgreSQL stores the same default for either.
    static func alembicSpelling(_ expression: String) -> String {
        guard expression.hasPrefix("nextval('"), expression.hasSuffix("'::regclass)") else { return expression }
        var name = expression.dropFirst("nextval('".count).dropLast("'::regclass)".count)
        if name.hasPrefix("public.") { name = name.dropFirst("public.".count) }
        return "nextval('\(name)')"
    }

    /// `CHECK ((a > 0))` -> `(a > 0)`, for a constraint read without its expression.
    static func checkBody(_ definition: String) -> String {
        var body = definition
        if body.hasPrefix("CHECK ") { body = String(body.dropFirst(6)) }
        if body.hasSuffix(" NOT VALID") { body = String(body.dropLast(10)) }
        return body
    }

    /// An SQL identifier, always double-quoted.
    static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Wraps `call(arguments)` one argument per line when it does not fit on one line of
    /// `width` after `indent`.
    static func call(_ callee: String, _ arguments: [String], indent: String, prefix: String = "", width: Int = 100) -> String {
        let single = "\(indent)\(prefix)\(callee)(\(arguments.joined(separator: ", ")))"
        if single.count <= width || arguments.isEmpty { return single }
        let inner = indent + "    "
        return "\(indent)\(prefix)\(callee)(\n" + arguments.map { "\(inner)\($0),\n" }.joined() + "\(indent))"
    }

    /// The class that stands for a type SQLAlchemy does not know (see `SQLAlchemyType.verbatim`).
    static let verbatimTypeClass = """
        class PgType(UserDefinedType):
            \"\"\"A PostgreSQL type SQLAlchemy has no class for, written as PostgreSQL spells it.\"\"\"

            cache_ok = True

            def __init__(self, spelling: str) -> None:
                self.spelling = spelling

            def get_col_spec(self, **kw: Any) -> str:
                return self.spelling
        """
}
