import PostgresClient

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
