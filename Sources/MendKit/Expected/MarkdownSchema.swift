import SchemaModel

/// The tables and columns a Markdown schema document lists, as written, before any server has
/// said which of its types it knows.
///
/// `MarkdownSchemaParser` reads it from the text; `MarkdownSchemaSnapshot` turns it into a
/// `Snapshot` with `source` `.docs(path)`.
public struct MarkdownSchema: Sendable, Hashable {
    /// In document order.
    public var tables: [DocumentedTable]
    /// What the reader passed over and why (a table documented twice, a column listed twice),
    /// one line each with its line number.
    public var notes: [String]

    public init(tables: [DocumentedTable], notes: [String] = []) {
        self.tables = tables
        self.notes = notes
    }

    /// The documented table called `name` (`users` is `public.users`).
    public func table(_ name: String) -> DocumentedTable? {
        let key = ObjectName(parsing: name).key
        return tables.first { $0.name.key == key }
    }
}

/// A table as a document describes it: its name and, when the document lists them, its columns.
public struct DocumentedTable: Sendable, Hashable {
    public var name: ObjectName
    /// In the document's order; empty when the document names the table without listing its
    /// columns (then only its presence is compared).
    public var columns: [DocumentedColumn]
    /// The heading's line, from 1.
    public var line: Int

    public init(name: ObjectName, columns: [DocumentedColumn], line: Int) {
        self.name = name
        self.columns = columns
        self.line = line
    }

    public func column(_ name: String) -> DocumentedColumn? { columns.first { $0.name == name } }
}

/// A column as a document describes it.
public struct DocumentedColumn: Sendable, Hashable {
    public var name: String
    /// The type text, cleaned of Markdown and of what is not the type (`PK`, `NOT NULL`,
    /// `enum` before an enum's name); nil when the document gives none.
    public var type: String?
    public var line: Int

    public init(name: String, type: String?, line: Int) {
        self.name = name
        self.type = type
        self.line = line
    }
}

/// A document pgmend cannot read as a schema (no tables in it, or not readable at all).
public struct MarkdownSchemaError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "\(path): \(problem)" }

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }
}
