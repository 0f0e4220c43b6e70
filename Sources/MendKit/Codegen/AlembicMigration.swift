import Crypto
import Foundation
import SchemaModel

/// An Alembic migration that creates tables a project's migration history lacks: `upgrade()`
/// creates the enum types they use (when missing), the tables with every column, key,
/// constraint, comment and index, in dependency order; `downgrade()` drops them in reverse.
///
/// Like the models, the text depends only on the schema and the options. Without a revision
/// id, one is derived from the text of the migration itself, so it is stable too.
public enum AlembicMigration {
    /// The migration file for `tables` of `schema`. `revision`: Alembic's id for it (default:
    /// the first 12 hex digits of the SHA-256 of its body); `downRevision`: the revision it
    /// follows, nil for the first of a history.
    public static func render(
        _ schema: Schema, tables: [ObjectName], revision: String? = nil, downRevision: String? = nil
    ) throws -> String {
        let generated = try GeneratedTables(schema, tables: tables)
        var parts = SQLAlchemyParts(generated, enums: .labels)
        parts.imports.annotations = false
        parts.imports.from("alembic", "op")

        var upgrade: [String] = []
        for (type, _) in generated.enums {
            var arguments = type.labels.map(PythonSource.literal) + ["name=\(PythonSource.literal(type.name))"]
            if type.schema != "public" { arguments.append("schema=\(PythonSource.literal(type.schema))") }
            parts.imports.from("sqlalchemy.dialects.postgresql", "ENUM")
            upgrade.append("    ENUM(\(arguments.joined(separator: ", "))).create(op.get_bind(), checkfirst=True)")
        }
        let deferred = Set(generated.deferredForeignKeys.map { "\($0.table.objectName.key)|\($0.constraint.name)" })
        for table in generated.tables {
            _ = parts.use("Column")
            var arguments = [PythonSource.literal(table.name)]
            for column in table.columns {
                let type = parts.type(of: column)
                let columnArguments = [PythonSource.literal(column.name), type.expression]
                    + parts.columnArguments(column, of: table, inlineForeignKeys: false, primaryKeyFlags: false)
                arguments.append("Column(\(columnArguments.joined(separator: ", ")))")
            }
            let skipping = Set(table.constraints.values.filter { deferred.contains("\(table.objectName.key)|\($0.name)") }.map(\.name))
            arguments += parts.constraintArguments(table, allForeignKeys: true, skipping: skipping, explicitPrimaryKey: true)
            if table.schema != "public" { arguments.append("schema=\(PythonSource.literal(table.schema))") }
            if let comment = table.comment { arguments.append("comment=\(PythonSource.literal(comment))") }
            upgrade += parts.omissions(table).map { "    \($0)" }
            upgrade.append("    op.create_table(")
            upgrade += arguments.map { PythonSource.wrapped($0, indent: "        ") }
            upgrade.append("    )")
            for index in parts.indexes(table) {
                let (keys, options) = parts.indexParts(index)
                var arguments = [PythonSource.literal(index.name), PythonSource.literal(table.name), "[\(keys.joined(separator: ", "))]"]
                arguments += options
                if table.schema != "public" { arguments.append("schema=\(PythonSource.literal(table.schema))") }
                upgrade.append(SQLAlchemyParts.call("op.create_index", arguments, indent: "    "))
            }
        }
        var downgrade: [String] = []
        for (table, constraint) in generated.deferredForeignKeys {
            guard let foreignKey = constraint.foreignKey else { continue }
            let target = ObjectName(parsing: foreignKey.referencedTable)
            var arguments = [
                PythonSource.literal(constraint.name), PythonSource.literal(table.name), PythonSource.literal(target.name),
                PythonSource.list(constraint.columns), PythonSource.list(foreignKey.referencedColumns),
            ]
            if table.schema != "public" { arguments.append("source_schema=\(PythonSource.literal(table.schema))") }
            if target.schema != "public" { arguments.append("referent_schema=\(PythonSource.literal(target.schema))") }
            arguments += parts.foreignKeyOptions(constraint, foreignKey).filter { !$0.hasPrefix("name=") }
            upgrade.append(SQLAlchemyParts.call("op.create_foreign_key", arguments, indent: "    "))
            var dropArguments = [PythonSource.literal(constraint.name), PythonSource.literal(table.name), "type_=\"foreignkey\""]
            if table.schema != "public" { dropArguments.append("schema=\(PythonSource.literal(table.schema))") }
            downgrade.append("    op.drop_constraint(\(dropArguments.joined(separator: ", ")))")
        }
        for table in generated.tables.reversed() {
            var arguments = [PythonSource.literal(table.name)]
            if table.schema != "public" { arguments.append("schema=\(PythonSource.literal(table.schema))") }
            downgrade.append("    op.drop_table(\(arguments.joined(separator: ", ")))")
        }
        if !generated.enums.isEmpty {
            let names = generated.enums.map { ObjectName(schema: $0.type.schema, name: $0.type.name).description }
            downgrade.append("    # The enum types \(names.joined(separator: ", ")) stay: tables outside this migration may use them.")
        }

        var helpers: [String] = []
        if upgrade.joined().contains("PgType(") {
            parts.imports.from("sqlalchemy.types", "UserDefinedType")
            parts.imports.from("typing", "Any")
            helpers.append(SQLAlchemyParts.verbatimTypeClass)
        }
        let body = (helpers.map { $0 + "\n\n\n" }.joined())
            + "def upgrade() -> None:\n" + upgrade.joined(separator: "\n") + "\n\n\n"
            + "def downgrade() -> None:\n" + downgrade.joined(separator: "\n") + "\n"
        let id = revision ?? String(hex(SHA256.hash(data: Data(body.utf8))).prefix(12))

        parts.imports.from("typing", "Sequence")
        parts.imports.from("typing", "Union")
        let names = generated.tables.map { $0.objectName.description }.joined(separator: ", ")
        var header = [
            "\"\"\"Create \(names.replacingOccurrences(of: "\"", with: "'")).",
            "",
            "Revision ID: \(id)",
            downRevision.map { "Revises: \($0)" } ?? "Revises:",
            "",
            "Generated by pgmend from the database schema.",
            "\"\"\"",
            "",
        ]
        header += parts.imports.lines()
        header += [
            "",
            "revision: str = \(PythonSource.literal(id))",
            "down_revision: Union[str, None] = \(downRevision.map(PythonSource.literal) ?? "None")",
            "branch_labels: Union[str, Sequence[str], None] = None",
            "depends_on: Union[str, Sequence[str], None] = None",
        ]
        return header.joined(separator: "\n") + "\n\n\n" + body
    }
}
