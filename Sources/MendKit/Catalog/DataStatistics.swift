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

    /// Counts and fingerprints of the schema's ordinary tables (partitioned parents hold no
    /// rows of their own, and foreign tables are not read), within the caller's transaction.
    public func readInCurrentTransaction(_ schema: Schema) throws -> [String: TableData] {
        for (name, value) in Self.stableTextSettings { try connection.setLocal(name, value) }
        let tables = schema.tables.values.filter { $0.kind == .ordinary }.sorted { $0.objectName < $1.objectName }
        var statistics: [String: TableData] = [:]
        for (position, table) in tables.enumerated() {
            progress.progress(task: "data", done: position, total: tables.count, detail: table.objectName.description)
            statistics[table.objectName.key] = try fingerprint(QualifiedName(schema: table.schema, table.name))
        }
        progress.finish(task: "data")
        return statistics
    }

    /// One table's count and fingerprint. `ONLY`: rows of inheritance children are theirs.
    public func fingerprint(_ table: QualifiedName) throws -> TableData {
        let row = try connection.query(
            """
            SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0)::text
            FROM ONLY \(table.quoted) t
            """)
        guard let first = row.first else { return TableData(rows: 0, fingerprint: "0") }
        return TableData(rows: try first.get(0), fingerprint: try first.get(1))
    }
}
