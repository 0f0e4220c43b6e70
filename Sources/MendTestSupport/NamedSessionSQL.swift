import PostgresClient

extension NamedSession {
    /// Runs a statement built as `SQL` (its values bound) in the session.
    public func execute(_ sql: SQL) throws {
        try run { _ = try sql.hasBindings ? $0.query(sql) : $0.execute(sql) }
    }

    public func scalar<T: PostgresDecodable>(_ sql: SQL, as type: T.Type = T.self) throws -> T? {
        try run { try $0.scalar(sql, as: type) }
    }

    /// Every row's first column as text.
    public func column(_ sql: SQL) throws -> [String] {
        try run { try $0.query(sql).map { try $0.get(0, as: String.self) } }
    }
}
