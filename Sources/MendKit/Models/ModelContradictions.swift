import SchemaModel

/// A change of a plan that the application's models contradict: the next
/// `alembic revision --autogenerate` (or `create_all` on a new database) would undo it.
public struct ModelWarning: Encodable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Encodable, Sendable {
        case indexDropped = "index_dropped"
        case constraintDropped = "constraint_dropped"
        case columnType = "column_type"
        case columnDropped = "column_dropped"
        case tableDropped = "table_dropped"
        case tableRenamed = "table_renamed"
    }

    public var kind: Kind
    /// The step whose change it is, when the dry run could tell.
    public var step: Int?
    /// The table as the models name it (`api_keys`, `audit.log`).
    public var table: String
    /// The column, index or constraint, when the warning is about one.
    public var object: String?
    /// What the models declare (`index idx_apikey_user_id`, `character varying(36)`).
    public var models: String
    /// The change, as the dry run words it.
    public var change: String
    /// Where the models declare it, when their source says.
    public var declaredAt: ModelDeclaration?
    /// What to change in the models for the repair to stay.
    public var advice: String
    /// The predicted change's object type and object, to find the step that makes it (not encoded).
    var changeType = ""
    var changeObject = ""

    /// The line an operator reads.
    public var description: String {
        let contradiction = kind == .columnType ? "but the models declare \(models)" : "which the models declare"
        return (step.map { "step \($0): " } ?? "") + "\(change), \(contradiction); \(advice)"
    }

    enum CodingKeys: String, CodingKey {
        case kind, step, table, object, models, change, declaredAt = "declared_at", advice, message
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encodeIfPresent(step, forKey: .step)
        try container.encode(table, forKey: .table)
        try container.encodeIfPresent(object, forKey: .object)
        try container.encode(models, forKey: .models)
        try container.encode(change, forKey: .change)
        try container.encodeIfPresent(declaredAt, forKey: .declaredAt)
        try container.encode(advice, forKey: .advice)
        try container.encode(description, forKey: .message)
    }
}

/// "Repairs that the models would undo": the predicted changes of a dry run that the models'
/// schema contradicts. Pure: the models' snapshot, the changes, and (for the class and line)
/// the models' source.
///
/// What it finds: an index or constraint a step drops that the models declare (by name, as
/// Alembic compares them); a column whose type a step changes to another than the models'; a
/// column or table a step drops (or renames away) that the models have. What it does not: a
/// default, nullability or check the models spell otherwise, and objects a step adds that the
/// models lack (autogenerate would drop those).
public enum ModelContradictions {
    public static func find(models: Schema, changes: [SchemaChange], source: ModelSource? = nil) -> [ModelWarning] {
        changes.compactMap { change in
            let warning: ModelWarning? = switch (change.objectType, change.action, change.property) {
            case ("index", .removed, _): indexDropped(change, models, source)
            case ("constraint", .removed, _): constraintDropped(change, models, source)
            case ("column", .changed, "type"?): columnRetyped(change, models, source)
            case ("column", .removed, _): columnDropped(change, models, source)
            case ("table", .removed, _): tableGone(change.object, change, models, source, kind: .tableDropped)
            case ("table", .changed, "name"?): change.before.flatMap { tableGone($0, change, models, source, kind: .tableRenamed) }
            default: nil
            }
            return warning.map { warning in
                var warning = warning
                (warning.changeType, warning.changeObject) = (change.objectType, change.object)
                return warning
            }
        }
    }

    private static func indexDropped(_ change: SchemaChange, _ models: Schema, _ source: ModelSource?) -> ModelWarning? {
        let name = ObjectName(parsing: change.object)
        guard let table = models.tables.values.first(where: { $0.schema == name.schema && $0.indexes[name.name] != nil }),
              table.indexes[name.name]?.constraint == nil  // a constraint's index: the constraint's warning says it
        else { return nil }
        let tableName = ObjectName(schema: table.schema, name: table.name).description
        var warning = ModelWarning(
            kind: .indexDropped, table: tableName, object: name.name, models: "index \(name.name) on \(tableName)",
            change: change.description, advice: "")
        if let declared = source?.namedObject(name.name, of: table.name) {
            warning.declaredAt = declared
            warning.advice = "remove Index(\"\(name.name)\") from \(declared)"
        } else if let (column, declared, _) = flaggedColumn(table, name.name, prefix: "ix_\(table.name)_", suffix: "", flag: "index=True", source) {
            warning.declaredAt = declared
            warning.advice = "remove index=True from \(declared)" + (declared.attribute == column ? "" : " (column \(column))")
        } else {
            warning.advice = notFound(table, source)
        }
        return warning
    }

    private static func constraintDropped(_ change: SchemaChange, _ models: Schema, _ source: ModelSource?) -> ModelWarning? {
        guard let (table, constraintName) = member(change.object, models), let constraint = table.constraints[constraintName] else { return nil }
        let tableName = ObjectName(schema: table.schema, name: table.name).description
        var warning = ModelWarning(
            kind: .constraintDropped, table: tableName, object: constraintName,
            models: "constraint \(constraintName) (\(constraint.definition))", change: change.description, advice: "")
        if let declared = source?.namedObject(constraintName, of: table.name) {
            warning.declaredAt = declared
            warning.advice = "remove it from \(declared)"
        } else if let (column, declared, _) = flaggedColumn(table, constraintName, prefix: "\(table.name)_", suffix: "_key", flag: "unique=True", source) {
            warning.declaredAt = declared
            warning.advice = "remove unique=True from \(declared)" + (declared.attribute == column ? "" : " (column \(column))")
        } else if let column = singleColumn(of: constraint, table), let (declared, _) = source?.column(column, of: table.name) {
            warning.declaredAt = declared
            warning.advice = "change \(declared), which declares it"
        } else {
            warning.advice = notFound(table, source)
        }
        return warning
    }

    private static func columnRetyped(_ change: SchemaChange, _ models: Schema, _ source: ModelSource?) -> ModelWarning? {
        guard let (table, columnName) = member(change.object, models), let column = table.column(columnName),
              let after = change.after, column.type != after else { return nil }
        let tableName = ObjectName(schema: table.schema, name: table.name).description
        var warning = ModelWarning(
            kind: .columnType, table: tableName, object: columnName, models: "\(tableName).\(columnName) as \(column.type)",
            change: change.description, advice: "")
        if let (declared, _) = source?.column(columnName, of: table.name) {
            warning.declaredAt = declared
            warning.advice = "declare \(declared) as \(after)"
        } else {
            warning.advice = notFound(table, source)
        }
        return warning
    }

    private static func columnDropped(_ change: SchemaChange, _ models: Schema, _ source: ModelSource?) -> ModelWarning? {
        guard let (table, columnName) = member(change.object, models), table.column(columnName) != nil else { return nil }
        let tableName = ObjectName(schema: table.schema, name: table.name).description
        var warning = ModelWarning(
            kind: .columnDropped, table: tableName, object: columnName, models: "column \(tableName).\(columnName)",
            change: change.description, advice: "")
        if let (declared, _) = source?.column(columnName, of: table.name) {
            warning.declaredAt = declared
            warning.advice = "remove \(declared)"
        } else {
            warning.advice = notFound(table, source)
        }
        return warning
    }

    private static func tableGone(_ name: String, _ change: SchemaChange, _ models: Schema, _ source: ModelSource?, kind: ModelWarning.Kind) -> ModelWarning? {
        guard let table = models.tables[ObjectName(parsing: name).key] else { return nil }
        let tableName = ObjectName(schema: table.schema, name: table.name).description
        // A rename to another table the models also have is theirs to sort out, still a warning.
        var warning = ModelWarning(kind: kind, table: tableName, models: "table \(tableName)", change: change.description, advice: "")
        if let declared = source?.table(table.name) {
            warning.declaredAt = declared
            warning.advice = kind == .tableRenamed
                ? "set __tablename__ = \"\(change.after.map { ObjectName(parsing: $0).name } ?? "")\" in \(declared)"
                : "remove class \(declared)"
        } else {
            warning.advice = notFound(table, source)
        }
        return warning
    }

    /// The column whose `flag` (`index=True`, `unique=True`) gives an object this name, as
    /// SQLAlchemy and PostgreSQL name them: `ix_<table>_<column>`, `<table>_<column>_key`.
    private static func flaggedColumn(
        _ table: Table, _ name: String, prefix: String, suffix: String, flag: String, _ source: ModelSource?
    ) -> (String, ModelDeclaration, String)? {
        guard let source, name.hasPrefix(prefix), name.hasSuffix(suffix), name.count > prefix.count + suffix.count else { return nil }
        let column = String(name.dropFirst(prefix.count).dropLast(suffix.count))
        guard table.column(column) != nil, let (declared, text) = source.column(column, of: table.name), text.contains(flag) else { return nil }
        return (column, declared, text)
    }

    private static func singleColumn(of constraint: Constraint, _ table: Table) -> String? {
        constraint.columns.count == 1 ? constraint.columns.first : nil
    }

    /// The models' table and the member name of `object` (`api_keys.user_id`,
    /// `audit.log.id`): the longest table name it starts with.
    private static func member(_ object: String, _ models: Schema) -> (Table, String)? {
        let candidates = models.tables.values.compactMap { table -> (Table, String)? in
            let shown = ObjectName(schema: table.schema, name: table.name).description + "."
            return object.hasPrefix(shown) ? (table, String(object.dropFirst(shown.count))) : nil
        }
        return candidates.max { $0.0.name.count < $1.0.name.count }
    }

    private static func notFound(_ table: Table, _ source: ModelSource?) -> String {
        let name = ObjectName(schema: table.schema, name: table.name).description
        return source?.table(table.name).map { "change the model \($0)" }
            ?? "change the model of table \(name) (its class was not found in the models' source)"
    }
}
