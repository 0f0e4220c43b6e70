import SchemaModel

extension SchemaDocs {
    // MARK: - Other objects

    static func viewBlocks(_ view: View, anchors: inout HeadingAnchors) -> [String] {
        let name = ObjectName(schema: view.schema, name: view.name).description
        anchors.register(name)
        var blocks = ["### \(name)"]
        if view.materialized { blocks.append("Materialized view.") }
        if let comment = view.comment, let quote = MarkdownText.blockquote(comment) { blocks.append(quote) }
        if !view.columns.isEmpty {
            var rows = ["| Column | Type | Notes |", "| --- | --- | --- |"]
            for column in view.columns {
                let cells = [
                    MarkdownText.cell(column.name), MarkdownText.cell(MarkdownText.code(column.type)),
                    MarkdownText.cell(column.comment.map(MarkdownText.singleLine) ?? ""),
                ]
                rows.append("| " + cells.joined(separator: " | ") + " |")
            }
            blocks.append(rows.joined(separator: "\n"))
        }
        if !view.dependsOn.isEmpty {
            let columns = view.dependsOn.sorted().map { ObjectName(parsing: $0).description }
            blocks.append(MarkdownText.singleLine("Reads " + columns.joined(separator: ", ") + "."))
        }
        blocks.append(MarkdownText.fencedCode(view.definition, language: "sql"))
        let indexes = sortedByName(view.indexes) { $0.name }
        if !indexes.isEmpty {
            blocks.append("**Indexes**")
            blocks.append(indexes.map(indexItem).joined(separator: "\n"))
        }
        return blocks
    }

    static func enumList(_ enums: [EnumType]) -> String {
        enums.map { type in
            let name = ObjectName(schema: type.schema, name: type.name).description
            let labels = type.labels.isEmpty ? "no labels" : type.labels.map(MarkdownText.code).joined(separator: ", ")
            return "- \(MarkdownText.code(name)): \(labels)"
        }.joined(separator: "\n")
    }

    static func domainList(_ domains: [Domain]) -> String {
        domains.map { domain in
            let name = ObjectName(schema: domain.schema, name: domain.name).description
            var parts = [MarkdownText.code(domain.baseType)]
            if domain.notNull { parts.append("NOT NULL") }
            if let defaultExpression = domain.defaultExpression {
                parts.append("default \(MarkdownText.code(defaultExpression))")
            }
            for (checkName, definition) in domain.checks.sorted(by: { $0.key < $1.key }) {
                parts.append("\(MarkdownText.code(checkName)) \(MarkdownText.code(definition))")
            }
            return "- \(MarkdownText.code(name)): " + parts.joined(separator: ", ")
        }.joined(separator: "\n")
    }

    static func sequenceList(_ sequences: [SequenceDefinition]) -> String {
        sequences.map { sequence in
            let name = ObjectName(schema: sequence.schema, name: sequence.name).description
            var parts = [MarkdownText.singleLine(sequence.type)]
            if sequence.increment != 1 { parts.append("increment \(sequence.increment)") }
            if sequence.cycle { parts.append("cycles") }
            if let owner = sequence.ownedBy {
                // `schema.table.column`: splitting at the first dot leaves `table.column` as the name.
                parts.append(MarkdownText.singleLine("owned by \(ObjectName(parsing: owner).description)"))
            } else {
                parts.append("not owned by a column")
            }
            return "- \(MarkdownText.code(name)): " + parts.joined(separator: ", ")
        }.joined(separator: "\n")
    }

    static func extensionList(_ extensions: [Extension]) -> String {
        extensions.map { installed in
            let version = MarkdownText.singleLine(installed.version)
            let schema = MarkdownText.singleLine(installed.schema)
            return "- \(MarkdownText.code(installed.name)) \(version), in schema \(schema)"
        }.joined(separator: "\n")
    }
}
