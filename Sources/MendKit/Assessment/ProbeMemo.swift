import PostgresClient
import SchemaModel

/// What a step reads once per run: full-table reads (fingerprints, counts) that a real run's two
/// assessments of each step (the dry run it shows first, then the step itself) would otherwise
/// take twice. `FingerprintMemo` holds them; the runner forgets them before any effect runs.
extension Probe {
    /// The table's row count and content fingerprint: a full scan, so taken once per run
    /// when the runner shares a memo, and only until the run's first effect changes anything.
    /// `rowText` as an archive's manifest says; the two ways differ only for a table with a
    /// column named `t`, so any other is read once whichever its archives ask for.
    public func liveFingerprint(_ table: ObjectName, rowText asked: DataStatistics.RowText = .wholeRow) throws -> TableData {
        let rowText = try asked == .wholeRow || !hasColumnNamedT(table) ? DataStatistics.RowText.wholeRow : asked
        let key = rowText == .wholeRow ? table.key : "\(table.key) before archive format 3"
        if let known = fingerprints?.known[key] { return known }
        let live = try readingWhole("fingerprint \(table)") {
            try connection.transaction(isolation: .repeatableRead, readOnly: true) { connection in
                try DataStatistics.pinTextSettings(connection)
                return try DataStatistics(connection: connection).fingerprint(table.sqlName, rowText: rowText)
            }
        }
        fingerprints?.known[key] = live
        return live
    }

    private func hasColumnNamedT(_ table: ObjectName) throws -> Bool {
        try connection.scalar(
            """
            SELECT EXISTS (SELECT 1 FROM pg_attribute
                           WHERE attrelid = to_regclass(\(bind: table.sqlName.quoted)) AND attname = 't' AND attnum > 0 AND NOT attisdropped)
            """, as: Bool.self) ?? false
    }

    /// What `compute` read, once per run while no effect has run, by `key` (the SQL it sends):
    /// a real run assesses each step twice (the dry run it shows first, then the step itself),
    /// and a step that reads whole tables should not read them twice. A value read here may
    /// be as old as the run's start; effects must not depend on it for safety (they decide
    /// under their own locks).
    public func memoized<T>(_ key: String, _ compute: () throws -> T) throws -> T {
        // Unwrapped before the cast: a missing `Any?` would otherwise cast to any optional `T`.
        if let found = fingerprints?.results[key], let known = found as? T { return known }
        let value = try compute()
        fingerprints?.results[key] = value
        return value
    }

    /// `SELECT count(*) ...` read-only (it may hold plan text), once per run while no effect
    /// has run (remembered by its text and values, see `FingerprintMemo`).
    public func memoizedCount(_ sql: SQL) throws -> Int {
        try memoized(sql.description) { try readingWhole("count rows") { try readOnly { try $0.scalar(sql, as: Int.self) ?? 0 } } }
    }

    /// One row of counts (`SELECT count(...), count(...) ...`) read-only, once per run while no
    /// effect has run, like `memoizedCount`.
    /// With `fallback`: when `sql` fails with the SQLSTATE `failing` (a fast query that casts,
    /// and meets a value that does not cast), the counts of `fallback` instead, remembered for both.
    public func memoizedCounts(_ sql: SQL, fallback: SQL? = nil, failing: SQLState? = nil) throws -> [Int] {
        func counts(_ statement: SQL) throws -> [Int] {
            try readOnly { probe -> [Int] in
                let result = try probe.query(statement)
                guard let row = result.first else { return [] }
                return try (0..<result.columnNames.count).map { try row.get(.index($0), as: Int.self) }
            }
        }
        return try memoized(sql.description) {
            try readingWhole("count rows") {
                do {
                    return try counts(sql)
                } catch let error as PostgresError where fallback != nil && error.sqlState == failing {
                    return try counts(fallback ?? sql)
                }
            }
        }
    }

    /// `body`, a read of a whole table that may take long, told to the progress reporter: it
    /// reports no count of its own, so the reporter says how long it has run.
    func readingWhole<T>(_ task: String, _ body: () throws -> T) throws -> T {
        progress.progress(task: task, done: 0, total: 0, unit: "rows", detail: "")
        defer { progress.finish(task: task) }
        return try body()
    }

    /// Whether PostgreSQL knows `zone` by name or abbreviation (`pg_timezone_names`,
    /// `pg_timezone_abbrevs`): not a POSIX offset such as `UTC+3`, whose sign reads the wrong
    /// way round. Those views read the time zone files (about 20 ms): once per run and zone.
    public func isKnownTimeZone(_ zone: String) throws -> Bool {
        let sql: SQL = """
            SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = \(bind: zone))
                OR EXISTS (SELECT 1 FROM pg_timezone_abbrevs WHERE abbrev = \(bind: zone))
            """
        return try memoized(sql.description) { try scalar(sql, as: Bool.self) ?? false }
    }
}

/// Full-table reads taken during one run: fingerprints by `schema.table`, and row counts by
/// the query that counted them. The runner assesses each step twice when it applies a plan
/// (the dry run it shows first, then just before the step runs); without this an archive step
/// that is already satisfied scans its whole table twice, and a backfill counts its rows
/// twice. The runner forgets them all before it applies any effect, since an effect can change
/// any table. What they spare is only a decision that is checked again where it matters: every
/// DROP recomputes the fingerprint under its lock, and a backfill's batches are driven by its
/// condition, not by its count.
public final class FingerprintMemo {
    var known: [String: TableData] = [:]
    var results: [String: Any] = [:]

    public init() {}

    /// Drops what is known: the tables may have changed.
    public func forget() {
        known = [:]
        results = [:]
    }
}
