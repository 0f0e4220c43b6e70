import Crypto
import Foundation
import SchemaModel

/// An Alembic migration that creates tables a project's migration history lacks: `upgrade()`
/// creates the enum types and domains they use (when missing), the sequences their columns draw
/// from, the tables with every column, key, constraint (NOT VALID ones by ALTER TABLE), comment
/// and index, in dependency order; `downgrade()` drops them in reverse.
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

        var upgrade = types(generated, &parts)
        // Sequences that columns draw from (not as SERIAL) exist before the tables; one that a
        // generated column owns is created here, is made owned after its table, and goes with it.
        // One owned by no generated column may be shared: created when missing, and kept.
        let sequences = generated.explicitSequences
        for (sequence, owner) in sequences {
            parts.imports.module("sqlalchemy as sa")
            let object = parts.sequenceObject(sequence, callee: "sa.Sequence")
            let create = owner == nil ? "sa.schema.CreateSequence(\(object), if_not_exists=True)" : "sa.schema.CreateSequence(\(object))"
            upgrade.append(SQLAlchemyParts.call("op.execute", [create], indent: "    "))
        }
        // Foreign keys that close a cycle, or are NOT VALID, are added after every table: a
        // constraint in CREATE TABLE is validated whatever it says, so NOT VALID needs ALTER TABLE.
        var later = generated.deferredForeignKeys
        for table in generated.tables {
            for constraint in table.constraints.values.sorted(by: { $0.name < $1.name })
            where constraint.kind == .foreignKey && !constraint.validated
                && !later.contains(where: { $0.table.objectName == table.objectName && $0.constraint.name == constraint.name })
            {
                later.append((table, constraint))
            }
        }
        upgrade += tableCreations(generated, deferring: later, &parts)
        var downgrade: [String] = []
        for (table, constraint) in later {
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
        // Dropping its table drops an owned sequence already; IF EXISTS says so and covers a
        // sequence whose ownership was changed since.
        for (sequence, owner) in sequences where owner != nil {
            var arguments = [PythonSource.literal(sequence.name)]
            if sequence.schema != "public" { arguments.append("schema=\(PythonSource.literal(sequence.schema))") }
            downgrade.append("    op.execute(sa.schema.DropSequence(sa.Sequence(\(arguments.joined(separator: ", "))), if_exists=True))")
        }
        let shared = sequences.filter { $0.owner == nil }.map { ObjectName(schema: $0.sequence.schema, name: $0.sequence.name).description }
        if !shared.isEmpty {
            downgrade.append("    # The sequences \(shared.joined(separator: ", ")) stay: no table of this migration owns them.")
        }
        if !generated.enums.isEmpty {
            let names = generated.enums.map { ObjectName(schema: $0.type.schema, name: $0.type.name).description }
            downgrade.append("    # The enum types \(names.joined(separator: ", ")) stay: tables outside this migration may use them.")
        }
        if !generated.domains.isEmpty {
            let names = generated.domains.map { ObjectName(schema: $0.schema, name: $0.name).description }
            downgrade.append("    # The domains \(names.joined(separator: ", ")) stay: tables outside this migration may use them.")
        }

        return file(upgrade: upgrade, downgrade: downgrade, tables: generated.tables, revision: revision, downRevision: downRevision, &parts)
    }

    /// `upgrade()`'s first lines: the enum types, then the domains.
    private static func types(_ generated: GeneratedTables, _ parts: inout SQLAlchemyParts) -> [String] {
        var upgrade: [String] = []
        for (type, _) in generated.enums {
            var arguments = type.labels.map(PythonSource.literal) + ["name=\(PythonSource.literal(type.name))"]
            if type.schema != "public" { arguments.append("schema=\(PythonSource.literal(type.schema))") }
            parts.imports.from("sqlalchemy.dialects.postgresql", "ENUM")
            upgrade.append("    ENUM(\(arguments.joined(separator: ", "))).create(op.get_bind(), checkfirst=True)")
        }
        // Domains, after the enum types and domains they are based on. SQLAlchemy's DOMAIN takes
        // one check constraint; a domain with more (or a NOT VALID one) gets them by ALTER DOMAIN,
        // only when this migration created it.
        for domain in generated.domains {
            parts.imports.from("sqlalchemy.dialects.postgresql", "DOMAIN")
            let base = parts.type(of: Column(name: "", type: domain.baseType))
            var arguments = [PythonSource.literal(domain.name), base.expression]
            if domain.notNull { arguments.append("not_null=True") }
            if let expression = domain.defaultExpression {
                arguments.append("default=\(parts.use("text"))(\(PythonSource.literal(expression)))")
            }
            let checks = domain.checks.sorted { $0.key < $1.key }
            let inline = checks.first { !$0.value.hasSuffix(" NOT VALID") }
            if let (name, definition) = inline {
                arguments.append("constraint_name=\(PythonSource.literal(name))")
                arguments.append("check=\(parts.use("text"))(\(PythonSource.literal(SQLAlchemyParts.checkBody(definition))))")
            }
            if domain.schema != "public" { arguments.append("schema=\(PythonSource.literal(domain.schema))") }
            let others = checks.filter { $0.key != inline?.key }
            if others.isEmpty {
                upgrade.append(SQLAlchemyParts.call("DOMAIN", arguments, indent: "    ") + ".create(op.get_bind(), checkfirst=True)")
                continue
            }
            parts.imports.module("sqlalchemy as sa")
            let schemaArgument = domain.schema == "public" ? "" : ", schema=\(PythonSource.literal(domain.schema))"
            upgrade.append("    if not sa.inspect(op.get_bind()).has_type(\(PythonSource.literal(domain.name))\(schemaArgument)):")
            upgrade.append(SQLAlchemyParts.call("DOMAIN", arguments, indent: "        ") + ".create(op.get_bind())")
            for (name, definition) in others {
                let statement = "ALTER DOMAIN \(qualified(domain.schema, domain.name)) ADD CONSTRAINT \(SQLAlchemyParts.quoted(name)) \(definition)"
                upgrade.append(SQLAlchemyParts.call("op.execute", [PythonSource.literal(statement)], indent: "        "))
            }
        }
        return upgrade
    }

    /// `upgrade()`'s tables, each with its NOT VALID checks, owned sequences and indexes; the
    /// foreign keys in `later` are left out (added after every table).
    private static func tableCreations(
        _ generated: GeneratedTables, deferring later: [(table: Table, constraint: Constraint)], _ parts: inout SQLAlchemyParts
    ) -> [String] {
        var upgrade: [String] = []
        let sequences = generated.explicitSequences
        let deferred = Set(later.map { "\($0.table.objectName.key)|\($0.constraint.name)" })
        for table in generated.tables {
            _ = parts.use("Column")
            var arguments = [PythonSource.literal(table.name)]
            for column in table.columns {
                let type = parts.type(of: column)
                let columnArguments = [PythonSource.literal(column.name), type.expression]
                    + parts.columnArguments(column, of: table, inlineForeignKeys: false, primaryKeyFlags: false)
                arguments.append("Column(\(columnArguments.joined(separator: ", ")))")
            }
            let notValidChecks = table.constraints.values.filter { $0.kind == .check && !$0.validated }.sorted { $0.name < $1.name }
            let skipping = Set(table.constraints.values.filter { deferred.contains("\(table.objectName.key)|\($0.name)") }.map(\.name))
                .union(notValidChecks.map(\.name))
            arguments += parts.constraintArguments(table, allForeignKeys: true, skipping: skipping, explicitPrimaryKey: true)
            if table.schema != "public" { arguments.append("schema=\(PythonSource.literal(table.schema))") }
            if let comment = table.comment { arguments.append("comment=\(PythonSource.literal(comment))") }
            upgrade += parts.omissions(table).map { "    \($0)" }
            upgrade.append("    op.create_table(")
            upgrade += arguments.map { PythonSource.wrapped($0, indent: "        ") }
            upgrade.append("    )")
            for constraint in notValidChecks {
                var arguments = [PythonSource.literal(constraint.name), PythonSource.literal(table.name)]
                arguments.append(PythonSource.literal(constraint.checkExpression ?? SQLAlchemyParts.checkBody(constraint.definition)))
                if table.schema != "public" { arguments.append("schema=\(PythonSource.literal(table.schema))") }
                arguments.append("postgresql_not_valid=True")
                upgrade.append(SQLAlchemyParts.call("op.create_check_constraint", arguments, indent: "    "))
            }
            for (sequence, owner) in sequences {
                guard let owner, owner.table.objectName == table.objectName else { continue }
                let statement = "ALTER SEQUENCE \(qualified(sequence.schema, sequence.name)) OWNED BY "
                    + "\(qualified(table.schema, table.name)).\(SQLAlchemyParts.quoted(owner.column))"
                upgrade.append(SQLAlchemyParts.call("op.execute", [PythonSource.literal(statement)], indent: "    "))
            }
            for index in parts.indexes(table) {
                let (keys, options) = parts.indexParts(index)
                var arguments = [PythonSource.literal(index.name), PythonSource.literal(table.name), "[\(keys.joined(separator: ", "))]"]
                arguments += options
                if table.schema != "public" { arguments.append("schema=\(PythonSource.literal(table.schema))") }
                upgrade.append(SQLAlchemyParts.call("op.create_index", arguments, indent: "    "))
            }
        }
        return upgrade
    }

    /// The migration file: the helpers its text needs, `upgrade()` and `downgrade()`, and the
    /// header with the revision (derived from the body when not given).
    private static func file(
        upgrade: [String], downgrade: [String], tables: [Table], revision: String?, downRevision: String?, _ parts: inout SQLAlchemyParts
    ) -> String {
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
        let names = tables.map { $0.objectName.description }.joined(separator: ", ")
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

    /// `"name"` in public, `"schema"."name"` elsewhere, as the rest of the migration names things.
    private static func qualified(_ schema: String, _ name: String) -> String {
        (schema == "public" ? "" : SQLAlchemyParts.quoted(schema) + ".") + SQLAlchemyParts.quoted(name)
    }
}
