import Foundation
import PostgresClient
import SchemaModel

/// What doctor knows of a table before it reads a row: from `pg_class` and
/// `pg_stat_user_tables`.
public struct TableFacts: Sendable, Hashable {
    /// `reltuples`: the planner's estimate; -1 when the table was never analyzed or vacuumed.
    public var estimatedRows: Int64
    /// The heap's size in bytes (of every partition, for a partitioned table): what a read costs.
    public var bytes: Int64
    /// With indexes and TOAST.
    public var totalBytes: Int64
    /// Rows inserted, updated and deleted since statistics began (`pg_stat_user_tables`).
    public var inserts: Int64
    public var updates: Int64
    public var deletes: Int64
    public var sequentialScans: Int64
    public var indexScans: Int64
    /// Other tables inherit from it (`relhassubclass`): a read of it reads theirs too.
    public var hasChildren = false

    public var writes: Int64 { inserts + updates + deletes }
}

/// `pg_stats` of one column (only what ANALYZE saw; nothing when it never ran).
public struct ColumnStats: Sendable, Hashable {
    public var nullFraction: Double
    /// `n_distinct`: a count when positive, minus the fraction of rows when negative.
    public var distinct: Double
    /// Text-like columns only: the most common values with their frequencies, and the
    /// histogram's bounds (a sample of the other values).
    public var commonValues: [String]
    public var commonFrequencies: [Double]
    public var histogram: [String]

    /// The number of distinct values among `rows` rows.
    public func distinctValues(rows: Int64) -> Double {
        distinct >= 0 ? distinct : -distinct * Double(max(rows, 0))
    }

    /// Every value the statistics hold: the common ones and the histogram's.
    public var sampleValues: [String] { commonValues + histogram }
}

/// How a data read takes a table: all of it, or a sample of its pages.
public struct TableRead: Sendable {
    /// `FROM` text: the table, or the table `TABLESAMPLE SYSTEM (p) REPEATABLE (0)`.
    public var from: SQL
    /// Percent of pages read; nil when the whole table is.
    public var percent: Double?

    public var sample: SampleNote? { percent.map(SampleNote.init(percent:)) }
}

/// A read doctor gave up on: it ran past the probe timeout or waited in vain for a lock.
public struct SkippedProbe: Sendable, Hashable, Encodable {
    public var what: String
    public var reason: String
}

/// Everything a check may use: the connection in doctor's one read-only transaction, the
/// catalog as a `Schema`, table facts and column statistics read once, and the rules that
/// keep doctor's reads bounded (a sample above a size, a timeout per probe).
public final class DoctorContext {
    public let connection: Connection
    public let schema: Schema
    /// Read everything, however large (`--exact`).
    public let exact: Bool
    /// Tables whose heap is larger are sampled.
    public let sampleAboveBytes: Int64
    /// Rows a sample aims at, at most.
    public static let sampleRows: Int64 = 50_000
    /// `statement_timeout` of each probe, in milliseconds.
    public let probeTimeout: Int
    public let progress: any ProgressReporter
    /// By `ObjectName.key`.
    public let facts: [String: TableFacts]
    /// By `schema.table.column`.
    public let columnStats: [String: ColumnStats]
    /// When the database's statistics began (`pg_stat_database.stats_reset`); nil: never reset.
    public let statisticsSince: String?
    public private(set) var skipped: [SkippedProbe] = []

    init(
        connection: Connection, schema: Schema, exact: Bool, sampleAboveBytes: Int64, probeTimeout: Int,
        progress: any ProgressReporter
    ) throws {
        self.connection = connection
        self.schema = schema
        self.exact = exact
        self.sampleAboveBytes = sampleAboveBytes
        self.probeTimeout = probeTimeout
        self.progress = progress
        facts = try Self.readFacts(connection, schema.namespaces)
        columnStats = try Self.readColumnStats(connection, schema.namespaces)
        statisticsSince = try connection.scalar(
            "SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()", as: String.self)
    }

    /// A probe for code shared with the steps' assessments (`Probe` reads in savepoints of
    /// doctor's transaction).
    public var probe: Probe { Probe(connection: connection) }

    public var tables: [Table] { schema.tables.values.sorted { $0.objectName < $1.objectName } }

    public func facts(_ table: Table) -> TableFacts {
        facts[table.objectName.key] ?? TableFacts(estimatedRows: -1, bytes: 0, totalBytes: 0, inserts: 0, updates: 0, deletes: 0, sequentialScans: 0, indexScans: 0)
    }

    public func stats(_ table: Table, _ column: String) -> ColumnStats? {
        columnStats["\(table.objectName.key).\(column)"]
    }

    /// False when the table (with its partitions or children) has no page, so no row: its data
    /// need not be read. On a schema of 2,000 empty tables each read would still cost a round
    /// trip and a plan.
    public func mayHoldRows(_ table: Table) -> Bool {
        guard let facts = facts[table.objectName.key] else { return true }
        return facts.bytes > 0 || facts.hasChildren
    }

    /// The table's rows are named by its primary key (`ctid` without one).
    public func rowKey(_ table: Table) -> RowKey {
        RowKey(table.primaryKey?.columns ?? [])
    }

    /// How a data read takes `table`: whole under `sampleAboveBytes` or with `--exact`,
    /// otherwise a `TABLESAMPLE SYSTEM` of about `sampleAboveBytes` of its pages (at least
    /// 0.01%), the same pages on every read (`REPEATABLE (0)`).
    public func read(_ table: Table) -> TableRead {
        // The checks read the tables in this order: how far the current check got.
        let position = positions[table.objectName.key] ?? 0
        progress.progress(
            task: Self.readingTask, done: position, total: positions.count, unit: "tables", detail: table.objectName.description)
        return plannedRead(table)
    }

    /// The task of the current check's table reads; doctor finishes it after each check.
    static let readingTask = "doctor reads"

    /// Each table's place in `tables`, by `ObjectName.key`.
    private lazy var positions: [String: Int] = Dictionary(
        tables.enumerated().map { ($0.element.objectName.key, $0.offset) }, uniquingKeysWith: { first, _ in first })

    /// How `read` takes the table, without reporting it.
    func plannedRead(_ table: Table) -> TableRead {
        let facts = facts(table)
        let name = table.objectName.sqlName
        guard !exact, facts.bytes > sampleAboveBytes, sampleAboveBytes > 0 else { return TableRead(from: "\(name)", percent: nil) }
        // About `sampleAboveBytes` of pages, and no more than `sampleRows` rows when the
        // planner's estimate says how many a page holds: the checks' per-row work (a regular
        // expression, a JSON key's conversions) costs microseconds, so rows, not bytes, decide
        // how long a read takes.
        var fraction = Double(sampleAboveBytes) / Double(facts.bytes)
        if facts.estimatedRows > 0 { fraction = min(fraction, Double(Self.sampleRows) / Double(facts.estimatedRows)) }
        let percent = max(0.01, min(100, 100 * fraction))
        let rounded = (percent * 1000).rounded() / 1000
        return TableRead(from: "\(name) TABLESAMPLE SYSTEM (\(literal: String(rounded))) REPEATABLE (0)", percent: rounded)
    }

    /// Runs one bounded read: in a savepoint, under the probe timeout. A read that runs past
    /// it, or waits in vain for a lock, is recorded in `skipped` (named by `what`) and gives
    /// nil; doctor goes on with the next. Any other error ends doctor.
    ///
    /// The savepoint is rolled back after a read that succeeded too: a RELEASE would keep the
    /// probe's `SET LOCAL statement_timeout` for the rest of the transaction (catalog reads of
    /// later checks then ran under a 1ms `--probe-timeout`), and it would keep the read's
    /// table locks until doctor ends. A read-only read has nothing else to undo.
    public func measure<T>(_ what: String, _ body: () throws -> T) throws -> T? {
        try connection.execute("SAVEPOINT pgmend_doctor; SET LOCAL statement_timeout = \(literal: probeTimeout)")
        do {
            let value = try body()
            try connection.execute("ROLLBACK TO SAVEPOINT pgmend_doctor; RELEASE SAVEPOINT pgmend_doctor")
            return value
        } catch let error as PostgresError where error.sqlState == .queryCanceled || error.sqlState == .lockNotAvailable {
            try connection.execute("ROLLBACK TO SAVEPOINT pgmend_doctor; RELEASE SAVEPOINT pgmend_doctor")
            let reason = error.sqlState == .queryCanceled
                ? "ran past the probe timeout of \(PlanDuration.text(milliseconds: probeTimeout)) (--probe-timeout)"
                : "waited in vain for a lock (--lock-timeout)"
            skipped.append(SkippedProbe(what: what, reason: reason))
            return nil
        } catch {
            _ = try? connection.execute("ROLLBACK TO SAVEPOINT pgmend_doctor; RELEASE SAVEPOINT pgmend_doctor")
            throw error
        }
    }

    static func readFacts(_ connection: Connection, _ namespaces: [String]) throws -> [String: TableFacts] {
        var facts: [String: TableFacts] = [:]
        for row in try connection.query(
            """
            SELECT n.nspname || '.' || c.relname, c.reltuples::int8,
                   CASE WHEN c.relkind = 'p'
                        THEN coalesce((SELECT sum(pg_relation_size(t.relid))::int8 FROM pg_partition_tree(c.oid) t), 0)
                        ELSE pg_relation_size(c.oid) END,
                   pg_total_relation_size(c.oid),
                   coalesce(s.n_tup_ins, 0), coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_del, 0),
                   coalesce(s.seq_scan, 0), coalesce(s.idx_scan, 0), c.relhassubclass
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(\(bind: namespaces)::text[])
            """)
        {
            facts[try row.get(0, as: String.self)] = TableFacts(
                estimatedRows: try row.get(1), bytes: try row.get(2), totalBytes: try row.get(3), inserts: try row.get(4), updates: try row.get(5),
                deletes: try row.get(6), sequentialScans: try row.get(7), indexScans: try row.get(8), hasChildren: try row.get(9))
        }
        return facts
    }

    /// Statistics of every column; values only for text-like columns (what the checks that
    /// look at values need), a partitioned table's from its whole tree.
    static func readColumnStats(_ connection: Connection, _ namespaces: [String]) throws -> [String: ColumnStats] {
        var stats: [String: ColumnStats] = [:]
        for row in try connection.query(
            """
            SELECT DISTINCT ON (s.schemaname, s.tablename, s.attname)
                   s.schemaname || '.' || s.tablename || '.' || s.attname, s.null_frac::float8, s.n_distinct::float8,
                   CASE WHEN a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype) THEN s.most_common_vals::text::text[] END,
                   CASE WHEN a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype) THEN s.most_common_freqs::text[] END,
                   CASE WHEN a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype) THEN s.histogram_bounds::text::text[] END
            FROM pg_stats s
            JOIN pg_namespace n ON n.nspname = s.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = s.attname
            WHERE s.schemaname = ANY(\(bind: namespaces)::text[])
            ORDER BY s.schemaname, s.tablename, s.attname, s.inherited = (c.relkind = 'p') DESC
            """)
        {
            stats[try row.get(0, as: String.self)] = ColumnStats(
                nullFraction: try row.get(1), distinct: try row.get(2),
                commonValues: try row.get(3, as: [String]?.self) ?? [],
                commonFrequencies: (try row.get(4, as: [String]?.self) ?? []).compactMap(Double.init),
                histogram: try row.get(5, as: [String]?.self) ?? [])
        }
        return stats
    }
}
