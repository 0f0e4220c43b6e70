import PostgresClient
import SchemaModel

/// The columns that name a row of a table, its primary key (`ctid` when it has none), and the
/// one way pgmend writes a row's key for people: in reports, samples, `pgmend.set_aside` and the
/// journal. One column is its value's text (`42`); several are PostgreSQL's row text
/// (`(7,abc)`, a value with a comma or a space in double quotes), which reads back unambiguously.
/// Rows are listed in key order, the columns compared with their own types, never as text.
public struct RowKey: Sendable, Hashable, CustomStringConvertible {
    /// The key's columns in key order; empty when the table has no primary key (then `ctid`).
    public let columns: [String]

    public init(_ columns: [String]) { self.columns = columns }

    /// The key's column names as a report writes them: `id`, `(app_id, name)`, `ctid`.
    public var description: String {
        switch columns.count {
        case 0: "ctid"
        case 1: columns[0]
        default: "(" + columns.joined(separator: ", ") + ")"
        }
    }

    private func column(_ name: String, of alias: SQLIdentifier?) -> SQL {
        alias.map { "\($0).\(ident: name)" } ?? "\(ident: name)"
    }

    /// The columns, each qualified by `alias` when given.
    public func columnList(of alias: SQLIdentifier? = nil) -> SQL {
        columns.isEmpty ? column("ctid", of: alias) : columns.map { column($0, of: alias) }.joined()
    }

    /// A text expression naming the row: `"id"::text`, `ROW("a", "b")::text`, `ctid::text`.
    public func text(of alias: SQLIdentifier? = nil) -> SQL {
        columns.count > 1 ? "ROW(\(columnList(of: alias)))::text" : "\(columnList(of: alias))::text"
    }

    /// An expression that sorts rows in key order: the column itself, or a row of them, which
    /// PostgreSQL compares column by column with each column's type.
    public func order(of alias: SQLIdentifier? = nil) -> SQL {
        columns.count > 1 ? "ROW(\(columnList(of: alias)))" : columnList(of: alias)
    }
}

extension RowKey {
    /// The primary key of `table` as the catalog has it now, in key order (no columns: the
    /// table has none, and rows are named by `ctid`).
    static func primaryKey(of table: QualifiedName, on connection: Connection) throws -> RowKey {
        let columns = try connection.query(
            """
            SELECT a.attname::text FROM pg_index i
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = to_regclass(\(bind: table.quoted)) AND i.indisprimary
            ORDER BY k.position
            """
        ).map { try $0.get(0, as: String.self) }
        return RowKey(columns)
    }
}

extension ObjectName {
    /// The name as statements write it: schema and name, each quoted.
    var sqlName: QualifiedName { QualifiedName(schema: schema, name) }
}
