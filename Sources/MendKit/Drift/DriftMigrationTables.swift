import SchemaModel

/// What differs between a table of the migrations and the models' table of the same name, as
/// drift compares it (`DriftMatrix.comparable`): a constraint or index the other side has under
/// another name with the same definition is the same one; comments are not compared.
struct TableChanges {
    let old: Table
    /// With `old`'s names for the constraints and indexes both have.
    let new: Table
    var droppedConstraints: [Constraint] = []
    var addedConstraints: [Constraint] = []
    var droppedIndexes: [Index] = []
    var addedIndexes: [Index] = []
    var droppedColumns: [Column] = []
    var addedColumns: [Column] = []
    var changedColumns: [(old: Column, new: Column)] = []
    /// Triggers one side has and the other has not, or has otherwise.
    var triggers: [String] = []

    init(old: Table, new: Table) {
        (self.new, self.old) = DriftMatrix.comparable(source: new, database: old, docs: false)
        let (a, b) = (self.old, self.new)
        func same(_ x: Constraint, _ y: Constraint) -> Bool {
            x.kind == y.kind && x.definition == y.definition && x.validated == y.validated
        }
        droppedConstraints = a.constraints.values.filter { c in b.constraints[c.name].map { !same(c, $0) } ?? true }.sorted { $0.name < $1.name }
        addedConstraints = b.constraints.values.filter { c in a.constraints[c.name].map { !same(c, $0) } ?? true }.sorted { $0.name < $1.name }
        func plain(_ table: Table) -> [String: Index] { table.indexes.filter { $0.value.constraint == nil && !$0.value.primary } }
        func same(_ x: Index, _ y: Index) -> Bool {
            x.method == y.method && x.keys == y.keys && x.include == y.include && x.predicate == y.predicate && x.unique == y.unique
        }
        let (indexesA, indexesB) = (plain(a), plain(b))
        droppedIndexes = indexesA.values.filter { i in indexesB[i.name].map { !same(i, $0) } ?? true }.sorted { $0.name < $1.name }
        addedIndexes = indexesB.values.filter { i in indexesA[i.name].map { !same(i, $0) } ?? true }.sorted { $0.name < $1.name }
        droppedColumns = a.columns.filter { b.column($0.name) == nil }
        addedColumns = b.columns.filter { a.column($0.name) == nil }
        changedColumns = a.columns.compactMap { column in b.column(column.name).flatMap { $0 == column ? nil : (column, $0) } }
        let names = Set(a.triggers.keys).union(b.triggers.keys)
        triggers = names.filter { a.triggers[$0]?.definition != b.triggers[$0]?.definition }.sorted()
    }
}

extension RepairSteps {
    /// Columns dropped, changed, then added.
    mutating func columns(_ change: TableChanges) {
        let table = change.new
        let name = PythonSource.literal(table.name)
        for column in change.droppedColumns {
            lines.append(SQLAlchemyParts.call(
                "op.drop_column", [name, PythonSource.literal(column.name)] + Self.schemaArgument(table), indent: "    "))
        }
        for (before, after) in change.changedColumns { alter(before, after, of: table) }
        for column in change.addedColumns {
            let sequence = newSequence(column, of: table)
            lines += sequence.before
            var arguments = [PythonSource.literal(column.name), parts.type(of: column).expression]
            if let identity = column.identity { arguments.append("\(parts.use("Identity"))(always=\(identity == .always ? "True" : "False"))") }
            if let expression = column.generatedExpression {
                arguments.append("\(parts.use("Computed"))(\(PythonSource.literal(expression)), persisted=True)")
            }
            arguments.append("nullable=\(column.notNull ? "False" : "True")")
            if let expression = column.defaultExpression {
                arguments.append("server_default=\(parts.use("text"))(\(PythonSource.literal(expression)))")
            }
            if let comment = column.comment { arguments.append("comment=\(PythonSource.literal(comment))") }
            let definition = SQLAlchemyParts.call(parts.use("Column"), arguments, indent: "")
            lines.append(SQLAlchemyParts.call("op.add_column", [name, definition] + Self.schemaArgument(table), indent: "    "))
            lines += sequence.after
        }
    }

    /// Default dropped (when it changes, or the type does: an old default may not cast), type,
    /// nullability, identity, then the new default.
    private mutating func alter(_ before: Column, _ after: Column, of table: Table) {
        let head = [PythonSource.literal(table.name), PythonSource.literal(after.name)]
        let schema = Self.schemaArgument(table)
        let typeChanged = before.type != after.type || before.collation != after.collation
        let resetDefault = before.defaultExpression != after.defaultExpression || (typeChanged && before.defaultExpression != nil)
        let column = "\(Self.qualified(table)) ALTER COLUMN \(SQLAlchemyParts.quoted(after.name))"
        if resetDefault && before.defaultExpression != nil {
            lines.append(SQLAlchemyParts.call("op.alter_column", head + ["server_default=None"] + schema, indent: "    "))
        }
        if before.identity != nil && before.identity != after.identity {
            lines.append(Self.opExecute("ALTER TABLE \(column) DROP IDENTITY"))
        }
        if typeChanged {
            let using = "\(SQLAlchemyParts.quoted(after.name))::\(after.type)"
            lines.append(SQLAlchemyParts.call("op.alter_column", head + [
                "existing_type=\(parts.type(of: before).expression)", "type_=\(parts.type(of: after).expression)",
                "postgresql_using=\(PythonSource.literal(using))",
            ] + schema, indent: "    "))
        }
        if before.notNull != after.notNull {
            lines.append(SQLAlchemyParts.call(
                "op.alter_column", head + ["existing_type=\(parts.type(of: after).expression)", "nullable=\(after.notNull ? "False" : "True")"]
                    + schema, indent: "    "))
        }
        if let identity = after.identity, identity != before.identity {
            lines.append(Self.opExecute("ALTER TABLE \(column) ADD GENERATED \(identity == .always ? "ALWAYS" : "BY DEFAULT") AS IDENTITY"))
        }
        if resetDefault, let expression = after.defaultExpression {
            let sequence = newSequence(after, of: table)
            lines += sequence.before
            lines.append(SQLAlchemyParts.call(
                "op.alter_column", head + ["server_default=\(parts.use("text"))(\(PythonSource.literal(expression)))"] + schema, indent: "    "))
            lines += sequence.after
        }
        if before.generatedExpression != after.generatedExpression {
            lines.append("    # not written: the generation expression of \(table.objectName).\(after.name) differs; change it by hand")
        }
    }

    /// The sequence a column's `nextval` default draws from when `old` lacks it: created before
    /// the column, and owned by it afterwards when it is in the new schema.
    private mutating func newSequence(_ column: Column, of table: Table) -> (before: [String], after: [String]) {
        guard let expression = column.defaultExpression, expression.hasPrefix("nextval('"), expression.hasSuffix("'::regclass)") else {
            return ([], [])
        }
        let quoted = expression.dropFirst("nextval('".count).dropLast("'::regclass)".count)
        let names = SQLAlchemyType.identifierParts(String(quoted.replacingOccurrences(of: "''", with: "'")))
        let name = names.count == 2 ? ObjectName(schema: names[0], name: names[1]) : ObjectName(schema: table.schema, name: names.last ?? "")
        guard old.sequences[name.key] == nil, let sequence = new.sequences[name.key] else { return ([], []) }
        parts.imports.module("sqlalchemy as sa")
        let create = "sa.schema.CreateSequence(\(parts.sequenceObject(sequence, callee: "sa.Sequence")), if_not_exists=True)"
        let before = [SQLAlchemyParts.call("op.execute", [create], indent: "    ")]
        guard sequence.ownedBy == "\(table.schema).\(table.name).\(column.name)" else { return (before, []) }
        let qualifiedSequence = (sequence.schema == "public" ? "" : SQLAlchemyParts.quoted(sequence.schema) + ".") + SQLAlchemyParts.quoted(sequence.name)
        return (before, [Self.opExecute("ALTER SEQUENCE \(qualifiedSequence) OWNED BY \(Self.qualified(table)).\(SQLAlchemyParts.quoted(column.name))")])
    }
}

/// Renames tables in a schema as `op.rename_table` and the statements after it leave the
/// database: the table, its constraints, indexes and owned sequences named after it
/// (`calendar_pkey` -> `calendar_events_pkey`, as a plan's `rename_dependents` does), and the
/// foreign keys that reference it.
enum TableRenaming {
    static func apply(_ renamed: [String: String], to original: Schema) -> (schema: Schema, lines: [String]) {
        var schema = original
        var lines: [String] = []
        for (oldKey, newKey) in renamed.sorted(by: { $0.key < $1.key }) {
            guard var table = schema.tables.removeValue(forKey: oldKey) else { continue }
            let target = ObjectName(parsing: newKey)
            let from = table.name
            lines.append(SQLAlchemyParts.call(
                "op.rename_table", [PythonSource.literal(from), PythonSource.literal(target.name)] + RepairSteps.schemaArgument(table), indent: "    "))
            table.name = target.name
            func renaming(_ name: String) -> String? { name.hasPrefix(from + "_") ? target.name + name.dropFirst(from.count) : nil }
            let prefix = table.schema == "public" ? "" : SQLAlchemyParts.quoted(table.schema) + "."
            for constraint in table.constraints.values.sorted(by: { $0.name < $1.name }) {
                guard let name = renaming(constraint.name), table.constraints[name] == nil else { continue }
                lines.append(RepairSteps.opExecute("ALTER TABLE \(RepairSteps.qualified(table)) RENAME CONSTRAINT "
                    + "\(SQLAlchemyParts.quoted(constraint.name)) TO \(SQLAlchemyParts.quoted(name))"))
                var renamedConstraint = table.constraints.removeValue(forKey: constraint.name) ?? constraint
                renamedConstraint.name = name
                // Renaming a key's constraint renames its index too.
                if let indexName = constraint.index, indexName == constraint.name, var index = table.indexes.removeValue(forKey: indexName) {
                    index.name = name
                    renamedConstraint.index = name
                    table.indexes[name] = index
                }
                if let indexName = renamedConstraint.index { table.indexes[indexName]?.constraint = name }
                table.constraints[name] = renamedConstraint
            }
            for index in table.indexes.values.sorted(by: { $0.name < $1.name }) where index.constraint == nil {
                guard let name = renaming(index.name), table.indexes[name] == nil else { continue }
                lines.append(RepairSteps.opExecute("ALTER INDEX \(prefix)\(SQLAlchemyParts.quoted(index.name)) RENAME TO \(SQLAlchemyParts.quoted(name))"))
                table.indexes[index.name] = nil
                var renamedIndex = index
                renamedIndex.name = name
                table.indexes[name] = renamedIndex
            }
            for (key, sequence) in schema.sequences.sorted(by: { $0.key < $1.key }) where sequence.ownedBy?.hasPrefix(oldKey + ".") == true {
                var moved = sequence
                moved.ownedBy = newKey + "." + (sequence.ownedBy?.dropFirst(oldKey.count + 1) ?? "")
                if let name = renaming(sequence.name), schema.sequences[ObjectName(schema: sequence.schema, name: name).key] == nil {
                    lines.append(RepairSteps.opExecute("ALTER SEQUENCE \(prefix)\(SQLAlchemyParts.quoted(sequence.name)) RENAME TO \(SQLAlchemyParts.quoted(name))"))
                    moved.name = name
                    for position in table.columns.indices {
                        table.columns[position].defaultExpression = table.columns[position].defaultExpression.map {
                            $0.replacingOccurrences(of: "'\(sequence.schema).\(sequence.name)'::regclass", with: "'\(sequence.schema).\(name)'::regclass")
                                .replacingOccurrences(of: "'\(sequence.name)'::regclass", with: "'\(name)'::regclass")
                        }
                    }
                }
                schema.sequences[key] = nil
                schema.sequences[ObjectName(schema: moved.schema, name: moved.name).key] = moved
            }
            schema.tables[newKey] = table
        }
        for (key, table) in schema.tables {
            for (name, constraint) in table.constraints {
                guard let foreignKey = constraint.foreignKey, let newKey = renamed[foreignKey.referencedTable] else { continue }
                var updated = constraint
                updated.foreignKey?.referencedTable = newKey
                let (before, after) = (ObjectName(parsing: foreignKey.referencedTable), ObjectName(parsing: newKey))
                updated.definition = constraint.definition.replacingOccurrences(of: "REFERENCES \(before.key)(", with: "REFERENCES \(after.key)(")
                    .replacingOccurrences(of: "REFERENCES \(before.name)(", with: "REFERENCES \(after.name)(")
                schema.tables[key]?.constraints[name] = updated
            }
        }
        return (schema, lines)
    }
}
