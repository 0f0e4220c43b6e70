import SchemaModel

/// One function of the migration `DriftMigration` writes: the `op.*` lines that take a database
/// whose tables are `old`'s to `new`'s. `upgrade()` is old = the migrations, new = the models;
/// `downgrade()` the same with the two swapped and the renames reversed.
///
/// Order, so each line finds what it needs: renames, constraints and indexes that go (foreign
/// keys first), tables that go (referencing ones first), columns (dropped, changed, added),
/// the shared tables' new keys, checks and indexes, the new tables (`AlembicMigration`), and
/// last the shared tables' new foreign keys, which may reference the new tables.
struct RepairSteps {
    let old: Schema
    let new: Schema
    var parts: SQLAlchemyParts
    var lines: [String] = []

    static func write(from original: Schema, to new: Schema, renames: [DriftMigration.Rename]) throws -> (lines: [String], imports: PythonImports) {
        var renamed: [String: String] = [:]
        for rename in renames where original.tables[rename.from.key] != nil && new.tables[rename.to.key] != nil
            && new.tables[rename.from.key] == nil && original.tables[rename.to.key] == nil && !renamed.values.contains(rename.to.key)
        {
            renamed[rename.from.key] = rename.to.key
        }
        let (old, renameLines) = TableRenaming.apply(renamed, to: original)
        let dropped = old.tables.keys.filter { new.tables[$0] == nil }.sorted().compactMap { old.tables[$0] }
        let created = new.tables.keys.filter { old.tables[$0] == nil }.sorted()
        let generated = created.isEmpty
            ? GeneratedTables(typesOf: new) : try GeneratedTables(new, tables: created.map { ObjectName(parsing: $0) })
        var steps = RepairSteps(old: old, new: new, parts: AlembicMigration.migrationParts(generated))
        let changes = old.tables.keys.sorted().compactMap { key in
            old.tables[key].flatMap { a in new.tables[key].map { TableChanges(old: a, new: $0) } }
        }

        steps.lines += renameLines
        for change in changes { steps.dropConstraints(change, foreignKeys: true) }
        for change in changes { steps.dropConstraints(change, foreignKeys: false) }
        steps.dropTables(dropped)
        steps.createEnumTypes(changes)
        for change in changes { steps.columns(change) }
        for change in changes { steps.addConstraints(change, foreignKeys: false) }
        if !created.isEmpty {
            steps.lines += AlembicMigration.creation(generated, &steps.parts).upgrade
        }
        for change in changes { steps.addConstraints(change, foreignKeys: true) }
        return (steps.lines, steps.parts.imports)
    }

    /// `schema=...` for a table outside `public`, else nothing.
    static func schemaArgument(_ table: Table, _ keyword: String = "schema") -> [String] {
        table.schema == "public" ? [] : ["\(keyword)=\(PythonSource.literal(table.schema))"]
    }

    /// `op.execute("...")`: a line of the migration's Python text, which Alembic runs, never pgmend.
    static func opExecute(_ pythonText: String) -> String {
        SQLAlchemyParts.call("op.execute", [PythonSource.literal(pythonText)], indent: "    ")
    }

    static func qualified(_ table: Table) -> String {
        (table.schema == "public" ? "" : SQLAlchemyParts.quoted(table.schema) + ".") + SQLAlchemyParts.quoted(table.name)
    }

    private mutating func dropConstraints(_ change: TableChanges, foreignKeys: Bool) {
        let table = change.old
        for constraint in change.droppedConstraints where (constraint.kind == .foreignKey) == foreignKeys {
            let type: String? = switch constraint.kind {
            case .foreignKey: "foreignkey"
            case .primaryKey: "primary"
            case .unique: "unique"
            case .check: "check"
            case .exclusion: nil
            }
            let arguments = [PythonSource.literal(constraint.name), PythonSource.literal(table.name)]
                + (type.map { ["type_=\(PythonSource.literal($0))"] } ?? []) + Self.schemaArgument(table)
            lines.append(SQLAlchemyParts.call("op.drop_constraint", arguments, indent: "    "))
        }
        guard !foreignKeys else { return }
        for index in change.droppedIndexes {
            let arguments = [PythonSource.literal(index.name), "table_name=\(PythonSource.literal(table.name))"] + Self.schemaArgument(table)
            lines.append(SQLAlchemyParts.call("op.drop_index", arguments, indent: "    "))
        }
    }

    /// Referencing tables first; foreign keys in a cycle among them dropped before any.
    private mutating func dropTables(_ tables: [Table]) {
        let (ordered, cycle) = GeneratedTables.creationOrder(tables)
        for (table, constraint) in cycle {
            let arguments = [PythonSource.literal(constraint.name), PythonSource.literal(table.name), "type_=\"foreignkey\""]
                + Self.schemaArgument(table)
            lines.append(SQLAlchemyParts.call("op.drop_constraint", arguments, indent: "    "))
        }
        for table in ordered.reversed() {
            lines.append(SQLAlchemyParts.call("op.drop_table", [PythonSource.literal(table.name)] + Self.schemaArgument(table), indent: "    "))
        }
    }

    /// The enum types that columns added or retyped use and `old` lacks: `ENUM(...)` in a
    /// column of `op.add_column` does not create its type, as `op.create_table` does.
    private mutating func createEnumTypes(_ changes: [TableChanges]) {
        var done: Set<String> = []
        let columns = changes.flatMap { $0.addedColumns + $0.changedColumns.filter { $0.old.type != $0.new.type }.map(\.new) }
        for column in columns {
            let spelling = column.type.hasSuffix("[]") ? String(column.type.dropLast(2)) : column.type
            guard let type = SQLAlchemyType.enumType(spelling, in: new) else { continue }
            let key = ObjectName(schema: type.schema, name: type.name).key
            guard old.enums[key] == nil, done.insert(key).inserted else { continue }
            var arguments = type.labels.map(PythonSource.literal) + ["name=\(PythonSource.literal(type.name))"]
            if type.schema != "public" { arguments.append("schema=\(PythonSource.literal(type.schema))") }
            parts.imports.from("sqlalchemy.dialects.postgresql", "ENUM")
            lines.append(SQLAlchemyParts.call("ENUM", arguments, indent: "    ") + ".create(op.get_bind(), checkfirst=True)")
        }
    }

    private mutating func addConstraints(_ change: TableChanges, foreignKeys: Bool) {
        let table = change.new
        let name = PythonSource.literal(table.name)
        for constraint in change.addedConstraints where (constraint.kind == .foreignKey) == foreignKeys {
            let plain = !constraint.deferrable && constraint.validated && !constraint.definition.contains("NULLS NOT DISTINCT")
            let label = PythonSource.literal(constraint.name)
            switch constraint.kind {
            case .primaryKey where plain:
                lines.append(SQLAlchemyParts.call(
                    "op.create_primary_key", [label, name, PythonSource.list(constraint.columns)] + Self.schemaArgument(table), indent: "    "))
            case .unique where plain:
                lines.append(SQLAlchemyParts.call(
                    "op.create_unique_constraint", [label, name, PythonSource.list(constraint.columns)] + Self.schemaArgument(table),
                    indent: "    "))
            case .check where !constraint.deferrable:
                var arguments = [label, name, PythonSource.literal(CheckSource.expression(constraint))]
                arguments += Self.schemaArgument(table)
                if !constraint.validated { arguments.append("postgresql_not_valid=True") }
                lines.append(SQLAlchemyParts.call("op.create_check_constraint", arguments, indent: "    "))
            case .foreignKey:
                guard let foreignKey = constraint.foreignKey else { continue }
                let target = ObjectName(parsing: foreignKey.referencedTable)
                var arguments = [label, name, PythonSource.literal(target.name), PythonSource.list(constraint.columns),
                                 PythonSource.list(foreignKey.referencedColumns)]
                arguments += Self.schemaArgument(table, "source_schema")
                if target.schema != "public" { arguments.append("referent_schema=\(PythonSource.literal(target.schema))") }
                arguments += parts.foreignKeyOptions(constraint, foreignKey).filter { !$0.hasPrefix("name=") }
                lines.append(SQLAlchemyParts.call("op.create_foreign_key", arguments, indent: "    "))
            default:
                // Deferrable, NOT VALID or NULLS NOT DISTINCT keys and exclusion constraints: as
                // the server prints them, which says everything.
                lines.append(Self.opExecute(
                    "ALTER TABLE \(Self.qualified(table)) ADD CONSTRAINT \(SQLAlchemyParts.quoted(constraint.name)) \(constraint.definition)"))
            }
        }
        guard !foreignKeys else { return }
        for index in change.addedIndexes {
            let (keys, options) = parts.indexParts(index)
            let arguments = [PythonSource.literal(index.name), name, "[\(keys.joined(separator: ", "))]"] + options + Self.schemaArgument(table)
            lines.append(SQLAlchemyParts.call("op.create_index", arguments, indent: "    "))
        }
        for trigger in change.triggers {
            lines.append("    # not written: trigger \(trigger) of \(table.objectName) differs; add or drop it by hand")
        }
    }
}
