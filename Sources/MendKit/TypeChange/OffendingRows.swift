import PostgresClient
import SchemaModel

/// Rows of a table that block a step: how many, and a sample of their keys (`RowKey`), in key
/// order. The SQL counterpart of `Probe.offendingRows`, for conditions built as `SQL`.
enum OffendingRows {
    /// Rows of `table` for which `condition` (SQL over its columns) is true: how many, and the
    /// keys of the first `limit` in key order (the ctid when there is no primary key).
    static func find(in table: ObjectName, where condition: SQL, limit: Int = 10, _ probe: Probe) throws -> (count: Int, sample: [String]) {
        let name = ColumnTypeChange.qualified(table)
        let key = try probe.rowKey(of: table)
        // The condition may hold plan text (a check expression): read-only, rolled back.
        return try probe.readOnly { probe in
            let count = try probe.scalar("SELECT count(*) FROM \(name) WHERE \(condition)" as SQL, as: Int.self) ?? 0
            guard count > 0 else { return (0, []) }
            // Named apart from the key's columns: `ORDER BY "id"` would otherwise sort the
            // output column `"id"::text` (named `id` too), as text: 150 before 3.
            let sample = try probe.query(
                "SELECT \(key.text()) AS pgmend_key FROM \(name) WHERE \(condition) ORDER BY \(key.order()) LIMIT \(literal: limit)"
            ).map { try $0.get(0, as: String.self) }
            return (count, sample)
        }
    }
}
