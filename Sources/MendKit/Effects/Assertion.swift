import PostgresClient
import SchemaModel

/// A query that must return no rows ("every new column equals its JSON source"). It returns
/// one text column, `key`: the primary key of each offending row; when there are any, the
/// step fails and names them. Runs read-only.
public struct Assertion: Effect {
    public var summary: String
    /// Returns the primary keys (a text column named `key`) of the rows that break the rule.
    public var query: SQL
    public var table: ObjectName?

    public init(_ summary: String, query: SQL, on table: ObjectName? = nil) {
        self.summary = summary
        self.query = query
        self.table = table
    }

    public var sql: String { query.description }
    public var lock: LockLevel { .accessShare }
    public var lockTarget: ObjectName? { table }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        let connection = context.connection
        let begin = connection.isInTransaction ? "SAVEPOINT pgmend_assert; SET LOCAL transaction_read_only = on" : "BEGIN READ ONLY"
        let end = connection.isInTransaction ? "ROLLBACK TO SAVEPOINT pgmend_assert; RELEASE SAVEPOINT pgmend_assert" : "ROLLBACK"
        try connection.execute(begin)
        defer { _ = try? connection.execute(end) }
        let rows = try connection.query("SELECT count(*) OVER (), q.key FROM (\(query)) q ORDER BY q.key LIMIT 10")
        context.fault(.inside)
        guard let first = rows.first else { return EffectOutcome(rowsAffected: 0) }
        let count = try first.get(0, as: Int.self)
        let keys = try rows.map { try $0.get(1, as: String.self) }
        throw AssertionFailed(summary: summary, count: count, sample: keys)
    }
}

/// An assertion found rows that break its rule.
public struct AssertionFailed: Error, Sendable, CustomStringConvertible {
    public var summary: String
    public var count: Int
    public var sample: [String]

    public var description: String {
        "\(summary): \(count) row\(count == 1 ? "" : "s") break it (primary keys: \(sample.joined(separator: ", "))\(count > sample.count ? ", ..." : ""))"
    }
}
