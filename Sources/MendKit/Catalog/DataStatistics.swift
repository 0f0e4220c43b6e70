import Foundation
import PostgresClient
import SchemaModel

/// Exact row counts and order-independent content fingerprints, computed by the server.
///
/// The fingerprint of a table is the sum, over its rows, of the first 64 bits of the MD5 of the
/// row's text form. Equal contents give equal sums whatever the physical row order, and nothing
/// but two numbers per table crosses the network. MD5 rather than PostgreSQL's internal
/// `hashtextextended`: it is slower, but its value is the same on every server and platform,
/// so a fingerprint taken during a rehearsal can be checked in production.
///
/// The text form of a row depends on session settings (time zone, date style, float digits);
/// these are pinned for the transaction so two sessions print the same row identically.
public struct DataStatistics {
    let connection: Connection
    let progress: any ProgressReporter

    public init(connection: Connection, progress: any ProgressReporter = SilentProgress()) {
        self.connection = connection
        self.progress = progress
    }

    /// The settings that make a row's text form the same in every session.
    public static let stableTextSettings: [(String, String)] = [
        ("TimeZone", "UTC"), ("DateStyle", "ISO, YMD"), ("IntervalStyle", "postgres"),
        ("extra_float_digits", "1"), ("bytea_output", "hex"), ("lc_monetary", "C"),
    ]

    /// Pins the settings that decide a row's text form, for the current transaction.
    public static func pinTextSettings(_ connection: Connection) throws {
        for (name, value) in stableTextSettings { try connection.setLocal(name, value) }
    }

    /// Counts and fingerprints of the schema's ordinary tables (partitioned parents hold no
    /// rows of their own, and foreign tables are not read), within the caller's transaction.
    ///
    /// With `parallel`, the caller's transaction must be REPEATABLE READ: the tables are split
    /// by size between this connection and a second one reading under the same snapshot
    /// (`withSharedSnapshot`), so the server scans two tables at a time.
    public func readInCurrentTransaction(_ schema: Schema, parallel: Bool = false) throws -> [String: TableData] {
        try Self.pinTextSettings(connection)
        let tables = schema.tables.values.filter { $0.kind == .ordinary }.sorted { $0.objectName < $1.objectName }
            .map { QualifiedName(schema: $0.schema, $0.name) }
        let tally = TablesDone(total: tables.count, progress: progress)
        defer { progress.finish(task: TablesDone.task) }
        guard parallel, tables.count > 1 else { return try fingerprints(of: tables, on: connection, tally: tally) }

        // Largest first, each to the lighter side: the two halves take about as long.
        let sizes = try connection.query(
            "SELECT t, pg_relation_size(to_regclass(t)) FROM unnest(\(bind: tables.map(\.quoted))::text[]) t")
        var size: [String: Int64] = [:]
        for row in sizes { size[try row.get(0, as: String.self)] = try row.get(1, as: Int64.self) }
        var mine: [QualifiedName] = []
        var theirs: [QualifiedName] = []
        var (mineBytes, theirsBytes): (Int64, Int64) = (0, 0)
        for table in tables.sorted(by: { (size[$0.quoted] ?? 0) > (size[$1.quoted] ?? 0) }) {
            if mineBytes < theirsBytes || (mineBytes == theirsBytes && mine.count <= theirs.count) {
                mine.append(table)
                mineBytes += size[table.quoted] ?? 0
            } else {
                theirs.append(table)
                theirsBytes += size[table.quoted] ?? 0
            }
        }
        let (local, remote) = try withSharedSnapshot(on: connection, {
            try fingerprints(of: mine, on: connection, tally: tally)
        }, background: { [theirs] sibling in
            try Self.pinTextSettings(sibling)
            return try DataStatistics(connection: sibling).fingerprints(of: theirs, on: sibling, tally: tally)
        })
        return local.merging(remote) { first, _ in first }
    }

    private func fingerprints(of tables: [QualifiedName], on connection: Connection, tally: TablesDone) throws -> [String: TableData] {
        var statistics: [String: TableData] = [:]
        for table in tables {
            tally.starting(ObjectName(schema: table.schema ?? "public", name: table.name).description)
            statistics["\(table.schema ?? "public").\(table.name)"] = try DataStatistics(connection: connection).fingerprint(table)
            tally.finished()
        }
        return statistics
    }

    /// Tables fingerprinted so far, by this connection and its sibling: one task in progress.
    final class TablesDone: @unchecked Sendable {
        static let task = "fingerprint tables"
        private let lock = NSLock()
        private let total: Int
        private let progress: any ProgressReporter
        private var done = 0

        init(total: Int, progress: any ProgressReporter) {
            self.total = total
            self.progress = progress
        }

        func starting(_ table: String) {
            lock.withLock { progress.progress(task: Self.task, done: done, total: total, unit: "tables", detail: table) }
        }

        func finished() { lock.withLock { done += 1 } }
    }

    /// What a fingerprint hashes of each row.
    public enum RowText: Sendable {
        /// The row's text form, `(t.*)::text`.
        case wholeRow
        /// What archives before format 3 hashed, `t::text`: the row's text form too, unless
        /// the table has a column named `t`, which then stood for the row, alone (a bug: such
        /// a fingerprint saw one column). Kept to check those archives.
        case beforeArchiveFormat3
    }

    /// One table's count and fingerprint. `ONLY`: rows of inheritance children are theirs.
    /// With `condition` (SQL over the table's columns), of the rows it holds for only.
    public func fingerprint(_ table: QualifiedName, where condition: SQL? = nil, rowText: RowText = .wholeRow) throws -> TableData {
        let filter: SQL = condition.map { " WHERE \($0)" } ?? ""
        let text: SQL = rowText == .wholeRow ? "(t.*)::text" : "t::text"
        let statement: SQL = """
            SELECT count(*), coalesce(sum(('x' || substr(md5(\(text)), 1, 16))::bit(64)::bigint), 0)::text
            FROM ONLY \(table) t\(filter)
            """
        let row = try connection.query(statement)
        guard let first = row.first else { return TableData(rows: 0, fingerprint: "0") }
        return TableData(rows: try first.get(0), fingerprint: try first.get(1))
    }
}
