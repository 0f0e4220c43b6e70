import Foundation
import SchemaModel

/// Reads the tables and columns a Markdown schema document lists.
///
/// A table is a heading that names one (`## users`, `### \`users\``, `## Table: users`,
/// `## users table`, `## audit.log`, `### 3. Goals Table - **missing**`) followed, before the
/// next heading, by a column table (a pipe table whose header has a name column, `Column`,
/// `Name`, `Field`..., and a type column, `Type`, `Data type`...) or a column list
/// (`- id (uuid, PK)`, ``- `email`: varchar(255)``, `* name — text`). A heading that says it is
/// a table (`Table: x`, `x table`) counts without columns too; any other heading without a
/// column table or list (`## Core`, `## Memory`) is a section, not a table. Sections that hold
/// other objects (`Views`, `Enum types`, `Sequences`, `Contents`, ...) and their subsections
/// are passed over. Unquoted names fold to lower case as PostgreSQL folds them, except in the
/// document `pgmend docs` writes, whose names are exact.
public enum MarkdownSchemaParser {
    /// Reads and parses a document; a file that cannot be read, or lists no table, is an error.
    public static func read(path: String) throws -> MarkdownSchema {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MarkdownSchemaError(path: path, problem: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MarkdownSchemaError(path: path, problem: "not UTF-8 text")
        }
        let schema = parse(text)
        if schema.tables.isEmpty {
            throw MarkdownSchemaError(
                path: path,
                problem: "no tables found: a table is a heading (`## users`, `## Table: users`) followed by a column table "
                    + "(| Column | Type |) or a column list (- id (uuid))")
        }
        return schema
    }

    /// The tables the text documents, in document order.
    public static func parse(_ text: String) -> MarkdownSchema {
        var tables: [DocumentedTable] = []
        var notes: [String] = []
        var skipBelowLevel: Int?
        for section in MarkdownSections(text).sections {
            guard let heading = section.heading else { continue }
            if let level = skipBelowLevel, heading.level > level { continue }
            skipBelowLevel = nil
            if isOtherObjectsSection(heading.text) {
                skipBelowLevel = heading.level
                continue
            }
            guard let table = documentedTable(heading, section.blocks, notes: &notes) else { continue }
            if let earlier = tables.first(where: { $0.name == table.name }) {
                notes.append("line \(table.line): \(table.name) is documented again (first at line \(earlier.line)); the first is used")
                continue
            }
            tables.append(table)
        }
        return MarkdownSchema(tables: tables, notes: notes)
    }

    /// The table a heading and the blocks under it document, if they document one.
    static func documentedTable(
        _ heading: MarkdownSections.Heading, _ blocks: [MarkdownSections.Block], notes: inout [String]
    ) -> DocumentedTable? {
        guard let title = HeadingTitle(heading.text) else { return nil }
        let found = blocks.lazy.compactMap { columnBlock($0) }.first
        let pgmendWithoutColumns = found == nil && blocks.first == .noColumns
        guard found != nil || title.saysTable || pgmendWithoutColumns else { return nil }
        let exact = found?.writtenByPgmend ?? pgmendWithoutColumns
        guard let name = title.objectName(exact: exact) else { return nil }
        var columns: [DocumentedColumn] = []
        for column in found?.columns ?? [] {
            let folded = exact ? column.name.text : column.name.folded
            if let earlier = columns.first(where: { $0.name == folded }) {
                notes.append("line \(column.line): column \(name).\(folded) is listed again (first at line \(earlier.line)); the first is used")
                continue
            }
            columns.append(DocumentedColumn(name: folded, type: column.type, line: column.line))
        }
        return DocumentedTable(name: name, columns: columns, line: heading.line)
    }

    /// Sections that list other things than tables, in pgmend's own documents and hand-written ones.
    static let otherObjectsSections: Set<String> = [
        "contents", "table of contents", "toc", "index", "views", "materialized views", "enum types", "enums",
        "types", "custom types", "domains", "sequences", "extensions", "functions", "procedures", "triggers",
        "indexes", "indices", "constraints", "foreign keys", "relationships", "migrations", "changelog",
    ]

    static func isOtherObjectsSection(_ text: String) -> Bool {
        let plain = MarkdownInline.plain(text).lowercased().trimmingWhitespace()
        return otherObjectsSections.contains(plain)
    }

    // MARK: - Column blocks

    struct ParsedColumn {
        var name: Identifier
        var type: String?
        var line: Int
    }

    /// The columns a block lists, if it is a column table or a column list.
    static func columnBlock(_ block: MarkdownSections.Block) -> (columns: [ParsedColumn], writtenByPgmend: Bool)? {
        switch block {
        case .table(let header, let rows, _):
            let normalised = header.map { MarkdownInline.plain($0).lowercased().replacingOccurrences(of: "_", with: " ").trimmingWhitespace() }
            guard let nameColumn = normalised.firstIndex(where: nameHeaders.contains),
                  let typeColumn = normalised.firstIndex(where: typeHeaders.contains)
            else { return nil }
            let pgmend = header == ["Column", "Type", "Nullable", "Default", "Notes"]
            let columns = rows.compactMap { row -> ParsedColumn? in
                guard nameColumn < row.cells.count else { return nil }
                let nameCell = row.cells[nameColumn]
                let name = pgmend ? Identifier(text: nameCell, quoted: true) : MarkdownInline.leadingName(nameCell)?.name
                guard let name, !name.text.isEmpty else { return nil }
                let typeCell = typeColumn < row.cells.count ? row.cells[typeColumn] : ""
                let type = pgmend ? MarkdownInline.codeContent(typeCell) ?? typeCell : ColumnType.cleaned(typeCell)
                return ParsedColumn(name: name, type: type.isEmpty ? nil : type, line: row.line)
            }
            return columns.isEmpty ? nil : (columns, pgmend)
        case .list(let items):
            var columns: [ParsedColumn] = []
            for item in items {
                guard let column = listColumn(item.text, line: item.line) else { return nil }
                columns.append(column)
            }
            // A list of bare names is as likely a list of tables or topics as of columns.
            guard columns.contains(where: { $0.type != nil }) else { return nil }
            return (columns, false)
        case .noColumns:
            return nil
        }
    }

    static let nameHeaders: Set<String> = [
        "column", "columns", "column name", "name", "field", "field name", "attribute", "col",
    ]
    static let typeHeaders: Set<String> = [
        "type", "data type", "datatype", "sql type", "postgres type", "postgresql type", "pg type", "column type",
    ]

    /// One item of a column list: `id (uuid, PK)`, `` `email`: varchar(255) ``, `name — text`,
    /// `**id** uuid`, or a bare `id`. Anything else (prose, a link) means the list is not one of
    /// columns.
    static func listColumn(_ text: String, line: Int) -> ParsedColumn? {
        guard let (name, delimited, rest) = MarkdownInline.leadingName(text) else { return nil }
        var remainder = Substring(rest).drop { $0.isWhitespace }
        if remainder.isEmpty { return ParsedColumn(name: name, type: nil, line: line) }
        if remainder.first == "(" {
            guard let inside = MarkdownInline.parenthesised(remainder) else { return nil }
            let first = MarkdownInline.splitAtTopLevelCommas(inside).first ?? ""
            let type = ColumnType.cleaned(first)
            return ParsedColumn(name: name, type: type.isEmpty ? nil : type, line: line)
        }
        var separated = false
        for separator in [":", "—", "–", "-", "=", "|"] where remainder.hasPrefix(separator) {
            remainder = remainder.dropFirst(separator.count)
            separated = true
            break
        }
        // `id uuid` without a separator reads like prose unless the name was marked up.
        guard separated || delimited else { return nil }
        let type = ColumnType.cleaned(ColumnType.beforeDescription(String(remainder)))
        return ParsedColumn(name: name, type: type.isEmpty ? nil : type, line: line)
    }
}
