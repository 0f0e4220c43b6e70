import SchemaModel

/// Renders a Schema as a Markdown reference, the document a team keeps as DATABASE_SCHEMA.md.
///
/// The output depends on nothing but the schema: every list is sorted by name and nothing records
/// when it was made, so regenerating the file for an unchanged database changes no byte, and a
/// real change to the database shows up as a small diff in review.
public enum SchemaDocs {
    /// The whole document: a summary, a table of contents, one section per table, then views,
    /// enum types, domains, sequences and extensions (each only when the schema has some).
    public static func markdown(_ schema: Schema, title: String) -> String {
        let tables = sortedByObjectName(schema.tables) { ObjectName(schema: $0.schema, name: $0.name) }
        let views = sortedByObjectName(schema.views) { ObjectName(schema: $0.schema, name: $0.name) }
        let enums = sortedByObjectName(schema.enums) { ObjectName(schema: $0.schema, name: $0.name) }
        let domains = sortedByObjectName(schema.domains) { ObjectName(schema: $0.schema, name: $0.name) }
        let sequences = sortedByObjectName(schema.sequences) { ObjectName(schema: $0.schema, name: $0.name) }
        let extensions = sortedByName(schema.extensions) { $0.name }
        let referencedBy = incomingReferences(tables)

        // Headings are registered in document order so each link uses the anchor a Markdown
        // renderer will give it, even when a table is called `views` or two names slug alike.
        var anchors = HeadingAnchors()
        let heading = MarkdownText.singleLine(title)
        anchors.register(heading)
        let hasContents = !tables.isEmpty || !views.isEmpty || !enums.isEmpty || !domains.isEmpty
            || !sequences.isEmpty || !extensions.isEmpty
        if hasContents { anchors.register("Contents") }

        var body: [String] = []
        var contents: [String] = []
        if !tables.isEmpty { contents.append("- Tables") }
        for table in tables {
            let name = table.objectName.description
            let anchor = anchors.register(name)
            contents.append("  - [\(MarkdownText.linkText(name))](#\(anchor))")
            body += tableSection(table, referencedBy: referencedBy[table.objectName.key] ?? [])
        }
        func startSection(_ title: String) {
            contents.append("- [\(title)](#\(anchors.register(title)))")
            body.append("## \(title)")
        }
        if !views.isEmpty {
            startSection("Views")
            for view in views { body += viewBlocks(view, anchors: &anchors) }
        }
        if !enums.isEmpty {
            startSection("Enum types")
            body.append(enumList(enums))
        }
        if !domains.isEmpty {
            startSection("Domains")
            body.append(domainList(domains))
        }
        if !sequences.isEmpty {
            startSection("Sequences")
            body.append(sequenceList(sequences))
        }
        if !extensions.isEmpty {
            startSection("Extensions")
            body.append(extensionList(extensions))
        }

        var blocks = ["# \(heading)", summary(schema)]
        if hasContents { blocks += ["## Contents", contents.joined(separator: "\n")] }
        blocks += body
        return blocks.joined(separator: "\n\n") + "\n"
    }

    // MARK: - Summary

    static func summary(_ schema: Schema) -> String {
        var counts = [counted(schema.tables.count, "table")]
        let others: [(Int, String)] = [
            (schema.views.count, "view"), (schema.enums.count, "enum type"), (schema.domains.count, "domain"),
            (schema.sequences.count, "sequence"), (schema.extensions.count, "extension"),
        ]
        counts += others.filter { $0.0 > 0 }.map { counted($0.0, $0.1) }
        var line = counts.joined(separator: ", ")
        if !schema.namespaces.isEmpty {
            let label = schema.namespaces.count == 1 ? "schema" : "schemas"
            line += " in \(label) " + schema.namespaces.sorted().joined(separator: ", ")
        }
        return MarkdownText.singleLine(line) + "."
    }

    static func counted(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    // MARK: - Tables

    static func tableSection(_ table: Table, referencedBy: [IncomingReference]) -> [String] {
        var blocks = ["## \(table.objectName.description)"]
        if let kind = tableKind(table) { blocks.append(kind) }
        if let comment = table.comment, let quote = MarkdownText.blockquote(comment) { blocks.append(quote) }
        blocks.append(columnTable(table))

        let constraints = sortedByName(table.constraints) { $0.name }
        let keys = constraints.filter { $0.kind != .foreignKey }
        let foreignKeys = constraints.filter { $0.kind == .foreignKey }
        if !keys.isEmpty {
            blocks.append("**Keys and constraints**")
            blocks.append(keys.map(constraintItem).joined(separator: "\n"))
        }
        let indexes = sortedByName(table.indexes) { $0.name }
        if !indexes.isEmpty {
            blocks.append("**Indexes**")
            blocks.append(indexes.map(indexItem).joined(separator: "\n"))
        }
        if !foreignKeys.isEmpty {
            blocks.append("**Foreign keys**")
            blocks.append(foreignKeys.map(foreignKeyItem).joined(separator: "\n"))
        }
        if !referencedBy.isEmpty {
            blocks.append("**Referenced by**")
            blocks.append(referencedBy.map(referencedByItem).joined(separator: "\n"))
        }
        let triggers = sortedByName(table.triggers) { $0.name }
        if !triggers.isEmpty {
            blocks.append("**Triggers**")
            blocks.append(triggers.map(triggerItem).joined(separator: "\n"))
        }
        return blocks
    }

    /// A sentence for anything but an ordinary permanent table, since that changes how it is
    /// maintained (an unlogged table is emptied after a crash; a partition's rows live elsewhere).
    static func tableKind(_ table: Table) -> String? {
        var sentences: [String] = []
        let persistence: String? = switch table.persistence {
        case .permanent: nil
        case .unlogged: "Unlogged"
        case .temporary: "Temporary"
        }
        let kind: String? = switch table.kind {
        case .ordinary: nil
        case .partitioned: "partitioned table"
        case .foreign: "foreign table"
        }
        if persistence != nil || kind != nil {
            let noun = kind ?? "table"
            let phrase = persistence.map { "\($0) \(noun)" } ?? noun.prefix(1).uppercased() + noun.dropFirst()
            if let key = table.partitionKey, !key.isEmpty {
                sentences.append("\(phrase): \(MarkdownText.code(key)).")
            } else {
                sentences.append("\(phrase).")
            }
        } else if let key = table.partitionKey, !key.isEmpty {
            sentences.append("Partitioned: \(MarkdownText.code(key)).")
        }
        if let parent = table.partitionOf {
            let parentName = MarkdownText.singleLine(ObjectName(parsing: parent).description)
            if let bound = table.partitionBound, !bound.isEmpty {
                sentences.append("Partition of \(parentName): \(MarkdownText.code(bound)).")
            } else {
                sentences.append("Partition of \(parentName).")
            }
        }
        return sentences.isEmpty ? nil : sentences.joined(separator: " ")
    }

    static func columnTable(_ table: Table) -> String {
        guard !table.columns.isEmpty else { return "No columns." }
        var rows = ["| Column | Type | Nullable | Default | Notes |", "| --- | --- | --- | --- | --- |"]
        for column in table.columns {
            let cells = [
                MarkdownText.cell(column.name),
                MarkdownText.cell(MarkdownText.code(column.type)),
                column.notNull ? "no" : "yes",
                MarkdownText.cell(column.defaultExpression.map(MarkdownText.code) ?? ""),
                MarkdownText.cell(columnNotes(column, in: table).joined(separator: "; ")),
            ]
            rows.append("| " + cells.joined(separator: " | ") + " |")
        }
        return rows.joined(separator: "\n")
    }

    /// What an operator wants to know about a column at a glance: keys first, then how its value
    /// is produced, then what the team wrote about it.
    static func columnNotes(_ column: Column, in table: Table) -> [String] {
        var notes: [String] = []
        let constraints = sortedByName(table.constraints) { $0.name }
        if let primaryKey = table.primaryKey, primaryKey.columns.contains(column.name) {
            notes.append("PK")
        }
        for constraint in constraints where constraint.kind == .foreignKey && constraint.columns == [column.name] {
            guard let foreignKey = constraint.foreignKey else { continue }
            let target = ObjectName(parsing: foreignKey.referencedTable).description
            if foreignKey.referencedColumns.count == 1, let referenced = foreignKey.referencedColumns.first {
                notes.append("FK -> \(target).\(referenced)")
            } else {
                notes.append("FK -> \(target)")
            }
        }
        if isUnique(column.name, in: table, constraints: constraints) { notes.append("unique") }
        switch column.identity {
        case .always: notes.append("identity (always)")
        case .byDefault: notes.append("identity (by default)")
        case nil: break
        }
        if let generated = column.generatedExpression {
            notes.append("generated: \(MarkdownText.code(generated))")
        }
        if let collation = column.collation { notes.append("collation \(MarkdownText.code(collation))") }
        if let comment = column.comment, !comment.isEmpty { notes.append(MarkdownText.singleLine(comment)) }
        return notes
    }

    /// A single-column unique constraint, or a unique index that behaves like one (valid, whole
    /// table, plain column): either way the database refuses a duplicate value.
    static func isUnique(_ column: String, in table: Table, constraints: [Constraint]) -> Bool {
        if constraints.contains(where: { $0.kind == .unique && $0.columns == [column] }) { return true }
        return table.indexes.values.contains { index in
            index.unique && !index.primary && index.valid && index.predicate == nil && index.keys.count == 1
                && index.keys.first.map { $0.isColumn && $0.expression == column } == true
        }
    }

    static func constraintItem(_ constraint: Constraint) -> String {
        let kind = switch constraint.kind {
        case .primaryKey: "primary key"
        case .unique: "unique"
        case .foreignKey: "foreign key"
        case .check: "check"
        case .exclusion: "exclusion"
        }
        var item = "- \(MarkdownText.code(constraint.name)) (\(kind)): "
            + MarkdownText.code(definitionWithoutNotValid(constraint))
        if !constraint.validated { item += " NOT VALID" }
        return item
    }

    /// `pg_get_constraintdef` already ends an unvalidated constraint with `NOT VALID`; the flag
    /// is printed outside the code span so it is not said twice.
    static func definitionWithoutNotValid(_ constraint: Constraint) -> String {
        let suffix = " NOT VALID"
        guard !constraint.validated, constraint.definition.hasSuffix(suffix) else { return constraint.definition }
        return String(constraint.definition.dropLast(suffix.count))
    }

    static func indexItem(_ index: Index) -> String {
        let flag = index.valid ? "" : " (invalid)"
        return "- \(MarkdownText.code(index.name))\(flag): \(MarkdownText.code(index.definition))"
    }

    static func foreignKeyItem(_ constraint: Constraint) -> String {
        guard let foreignKey = constraint.foreignKey else {
            return "- \(MarkdownText.code(constraint.name)): \(MarkdownText.code(constraint.definition))"
        }
        let source = columnList(constraint.columns)
        let target = reference(foreignKey.referencedTable, foreignKey.referencedColumns)
        let details = foreignKeyDetails(constraint, foreignKey)
        return "- " + ([MarkdownText.singleLine("\(source) -> \(target)")] + details).joined(separator: ", ")
            + " (\(MarkdownText.code(constraint.name)))"
    }

    static func referencedByItem(_ incoming: IncomingReference) -> String {
        let source = reference(incoming.table.objectName.key, incoming.constraint.columns)
        let target = reference(incoming.foreignKey.referencedTable, incoming.foreignKey.referencedColumns)
        let details = foreignKeyDetails(incoming.constraint, incoming.foreignKey)
        return "- " + ([MarkdownText.singleLine("\(source) -> \(target)")] + details).joined(separator: ", ")
            + " (\(MarkdownText.code(incoming.constraint.name)))"
    }

    /// Only what differs from PostgreSQL's defaults: `NO ACTION` and `MATCH SIMPLE` on every
    /// line would hide the one `CASCADE` that deletes rows.
    static func foreignKeyDetails(_ constraint: Constraint, _ foreignKey: ForeignKey) -> [String] {
        var details: [String] = []
        if foreignKey.onDelete != .noAction { details.append("ON DELETE \(foreignKey.onDelete.rawValue)") }
        if foreignKey.onUpdate != .noAction { details.append("ON UPDATE \(foreignKey.onUpdate.rawValue)") }
        if foreignKey.match != .simple { details.append("MATCH \(foreignKey.match.rawValue)") }
        if constraint.deferrable {
            details.append(constraint.initiallyDeferred ? "DEFERRABLE INITIALLY DEFERRED" : "DEFERRABLE")
        }
        if !constraint.validated { details.append("NOT VALID") }
        return details
    }

    /// `users.id` for one column, `users (tenant_id, id)` for several.
    static func reference(_ qualifiedTable: String, _ columns: [String]) -> String {
        let table = ObjectName(parsing: qualifiedTable).description
        if columns.count == 1, let column = columns.first { return "\(table).\(column)" }
        return columns.isEmpty ? table : "\(table) \(columnList(columns))"
    }

    static func columnList(_ columns: [String]) -> String {
        if columns.count == 1, let column = columns.first { return column }
        return "(" + columns.joined(separator: ", ") + ")"
    }

    static func triggerItem(_ trigger: Trigger) -> String {
        let state = switch trigger.enabled {
        case "D": " (disabled)"
        case "R": " (fires only on replicas)"
        case "A": " (fires always, also on replicas)"
        default: ""
        }
        return "- \(MarkdownText.code(trigger.name))\(state): \(MarkdownText.code(trigger.definition))"
    }

    // MARK: - Ordering

    /// Dictionary values in name order; the key breaks ties so the order never depends on hashing.
    static func sortedByName<Value>(_ values: [String: Value], _ name: (Value) -> String) -> [Value] {
        values.sorted { (name($0.value), $0.key) < (name($1.value), $1.key) }.map(\.value)
    }

    static func sortedByObjectName<Value>(
        _ values: [String: Value], _ name: (Value) -> ObjectName
    ) -> [Value] {
        values.sorted { lhs, rhs in
            let (left, right) = (name(lhs.value), name(rhs.value))
            return left != right ? left < right : lhs.key < rhs.key
        }.map(\.value)
    }

    /// Every foreign key, filed under the table it points at, in (referencing table, constraint)
    /// order: the "what breaks if I delete this row" list a table's own definition cannot show.
    static func incomingReferences(_ tables: [Table]) -> [String: [IncomingReference]] {
        var references: [String: [IncomingReference]] = [:]
        for table in tables {
            for constraint in sortedByName(table.constraints, { $0.name }) where constraint.kind == .foreignKey {
                guard let foreignKey = constraint.foreignKey else { continue }
                let target = ObjectName(parsing: foreignKey.referencedTable).key
                references[target, default: []].append(
                    IncomingReference(table: table, constraint: constraint, foreignKey: foreignKey))
            }
        }
        return references
    }

    /// A foreign key seen from the table it references.
    struct IncomingReference {
        let table: Table
        let constraint: Constraint
        let foreignKey: ForeignKey
    }

}

extension String {
    func replacingPipes() -> String {
        var escaped = ""
        for character in self {
            if character == "|" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
