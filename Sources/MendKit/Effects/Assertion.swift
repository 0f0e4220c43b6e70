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

    /// How the sample is read: the offending rows' count and their first keys in key order.
    /// Nil: in the order of `key`'s text (a query over several tables, whose keys differ).
    var orderedSample: SQL?

    /// `query` may span several tables (a UNION of them): its sample is in the order of the
    /// keys' text. Prefer `init(_:table:key:where:)` for one table.
    public init(_ summary: String, query: SQL, on table: ObjectName? = nil) {
        self.summary = summary
        self.query = query
        self.table = table
    }

    /// The rows of `table` where `condition` holds, each named by `key` (`RowKey`), the sample
    /// in key order.
    public init(_ summary: String, table: ObjectName, key: RowKey, where condition: SQL) {
        let name = table.sqlName
        self.init(summary, query: "SELECT \(key.text()) AS key FROM \(name) WHERE \(condition)", on: table)
        orderedSample = "SELECT count(*) OVER (), \(key.text()) FROM \(name) WHERE \(condition) ORDER BY \(key.order()) LIMIT 10"
    }

    public var sql: String { query.description }
    public var lock: LockLevel { .accessShare }
    public var lockTarget: ObjectName? { table }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        let connection = context.connection
        let begin: SQL = connection.isInTransaction ? "SAVEPOINT pgmend_assert; SET LOCAL transaction_read_only = on" : "BEGIN READ ONLY"
        let end: SQL = connection.isInTransaction ? "ROLLBACK TO SAVEPOINT pgmend_assert; RELEASE SAVEPOINT pgmend_assert" : "ROLLBACK"
        try connection.execute(begin)
        defer { _ = try? connection.execute(end) }
        let rows = try connection.query(orderedSample ?? "SELECT count(*) OVER (), q.key FROM (\(query)) q ORDER BY q.key LIMIT 10")
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
