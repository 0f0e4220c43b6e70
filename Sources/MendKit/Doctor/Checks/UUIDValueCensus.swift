import PostgresClient
import SchemaModel

/// What one read of a table found in its candidate UUID columns: per column, how many values
/// it holds, how many are UUIDs in `uuid`'s printing, in another form `uuid` accepts, as 32 hex
/// digits without hyphens, and the first rows (by key) of those that are no UUID at all.
struct UUIDValueCensus {
    struct Counts {
        var values: Int64 = 0
        var canonical: Int64 = 0
        var accepted: Int64 = 0
        /// 32 hex digits without a hyphen: what a digest (md5) looks like too.
        var undashed: Int64 = 0
        /// `key: 'value'` of the first values that are no UUID, in key order.
        var bad: [(key: String, value: String)] = []

        var nonCanonical: Int64 { accepted - canonical }
        var notUUID: Int64 { values - accepted }
    }

    var rows: Int64
    var columns: [String: Counts]
    var sample: SampleNote?

    static let shownBadRows = 5

    /// One scan counts every column; a second, bounded one (`LIMIT 5`) names the rows whose
    /// value is no UUID, only for columns that have some and are still mostly UUIDs.
    static func read(_ context: DoctorContext, _ table: Table, _ columns: [String]) throws -> UUIDValueCensus? {
        guard context.mayHoldRows(table) else { return nil }
        let read = context.read(table)
        let accepted = NormalizeUUIDStep.acceptedPattern
        let canonical = NormalizeUUIDStep.canonicalPattern
        var parts: [SQL] = ["count(*)"]
        for column in columns {
            let value: SQL = "\(ident: column)::text"
            // The canonical form first: the other patterns (the accepted one backtracks, 4 to 8
            // times as slow) run only on the values it does not match, rare in a UUID column.
            let other: SQL = "\(value) !~ \(bind: canonical)"
            parts += [
                "count(\(ident: column))",
                "count(*) FILTER (WHERE \(value) ~ \(bind: canonical))",
                "count(*) FILTER (WHERE \(value) ~ \(bind: canonical) OR (\(other) AND \(value) ~ \(bind: accepted)))",
                "count(*) FILTER (WHERE \(other) AND \(value) ~ \(bind: "^[0-9a-fA-F]{32}$"))",
            ]
        }
        let what = "uuid_as_text: values of \(table.objectName) (\(columns.joined(separator: ", ")))"
        guard let row = try context.measure(what, { try context.connection.query("SELECT \(parts, separator: ", ") FROM \(read.from)").first }),
              let row else { return nil }
        var census = UUIDValueCensus(rows: try row.get(0), columns: [:], sample: read.sample)
        for (number, column) in columns.enumerated() {
            let base = 1 + number * 4
            census.columns[column] = Counts(
                values: try row.get(.index(base)), canonical: try row.get(.index(base + 1)), accepted: try row.get(.index(base + 2)), undashed: try row.get(.index(base + 3)))
        }
        for column in columns {
            guard let counts = census.columns[column], counts.notUUID > 0, counts.accepted * 2 >= counts.values else { continue }
            let key = context.rowKey(table)
            let bad = try context.measure("uuid_as_text: values of \(table.objectName).\(column) that are no UUIDs") {
                try context.connection.query(
                    """
                    SELECT \(key.text()), \(ident: column)::text FROM \(read.from)
                    WHERE \(ident: column) IS NOT NULL AND \(ident: column)::text !~ \(bind: accepted)
                    ORDER BY \(key.order()) LIMIT \(literal: shownBadRows)
                    """
                ).map { (key: try $0.get(0, as: String.self), value: try $0.get(1, as: String.self)) }
            }
            census.columns[column]?.bad = bad ?? []
        }
        return census
    }
}
