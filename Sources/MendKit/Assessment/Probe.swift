import PostgresClient
import SchemaModel

/// What a step may ask of the live database while it is assessed. Its questions come in a few
/// groups, each in a file of its own:
/// - reading rows and counts, read-only and rolled back (here): `query`, `scalar`,
///   `offendingRows`, `tableExists`, `primaryKey`;
/// - what was read once per run (`ProbeMemo.swift`): `memoized`, `memoizedCount(s)`, fingerprints;
/// - the server's spelling of types and expressions (`CanonicalSpelling.swift`);
/// - what a read-only session cannot learn (`ReadOnlySession`), and whether plan text is pure
///   (`PlanTextPurity.swift`).
public struct Probe {
    let connection: Connection
    /// In a rehearsal, archives go to (and are looked for in) this folder instead.
    let archiveOverride: String?
    /// The plan's settings: a backfill's batches are sized by them.
    public let settings: PlanSettings
    /// Fingerprints already taken in this run, shared by the runner's dry-run preview and the
    /// assessments that follow it (nil: every fingerprint is taken afresh).
    let fingerprints: FingerprintMemo?
    /// Set when the session cannot create the temporary table that `canonicalForms` learns
    /// the server's spelling from (a dry run on a replica or as a read-only role): the forms
    /// are then the plan's own, and the step's assessment is noted as approximate.
    public let readOnlySession: ReadOnlySession?
    /// Told of each whole-table read (a count, a fingerprint) while it runs.
    let progress: any ProgressReporter

    public init(
        connection: Connection, archiveOverride: String? = nil, settings: PlanSettings = PlanSettings(), fingerprints: FingerprintMemo? = nil,
        readOnlySession: ReadOnlySession? = nil, progress: any ProgressReporter = SilentProgress()
    ) {
        self.progress = progress
        self.connection = connection
        self.archiveOverride = archiveOverride
        self.settings = settings
        self.fingerprints = fingerprints
        self.readOnlySession = readOnlySession
    }

    /// Records that the step being assessed judged or predicted something approximately,
    /// for its report; without a read-only session there is nothing approximate to say.
    public func noteApproximation(_ text: String) {
        readOnlySession?.note(text)
    }

    /// The archives under `folder` (or the rehearsal's stand-in folder).
    public func archiveStore(_ folder: String) -> ArchiveStore {
        ArchiveStore(directory: archiveOverride ?? folder)
    }

    // MARK: Reading rows

    public func query(_ sql: SQL) throws -> QueryResult { try connection.query(sql) }

    public func scalar<T: PostgresDecodable>(_ sql: SQL, as type: T.Type = T.self) throws -> T? {
        try connection.scalar(sql, as: type)
    }

    /// The connections a backfill of `rows` rows runs its first pass on (`batch_workers`).
    public func batchWorkers(rows: Int) throws -> Int {
        try settings.batchWorkers.resolved(rows: rows, on: connection)
    }

    /// Whether the table exists in the live database now.
    public func tableExists(_ table: ObjectName) throws -> Bool {
        try scalar("SELECT to_regclass(\(bind: table.sqlName.quoted)) IS NOT NULL", as: Bool.self) ?? false
    }

    /// The primary key columns of a live table, to name offending rows by; empty without one.
    public func primaryKey(of table: ObjectName) throws -> [String] { try rowKey(of: table).columns }

    /// The primary key of a live table, as `RowKey` (ctid when it has none).
    public func rowKey(of table: ObjectName) throws -> RowKey { try RowKey.primaryKey(of: table.sqlName, on: connection) }

    /// Rows of `table` for which `condition` (SQL over its columns) is true: how many, and the
    /// keys (`RowKey`) of the first `limit` in key order.
    public func offendingRows(in table: ObjectName, where condition: SQL, limit: Int = 10) throws -> (count: Int, sample: [String]) {
        let name = table.sqlName
        let key = try rowKey(of: table)
        // The condition may hold plan text (a check expression): read-only, rolled back.
        return try readOnly { probe in
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

    // MARK: Transactions that leave nothing behind

    /// Runs `body` read-only and rolls it back: for SQL from the plan (a `done_when` query, a
    /// check expression) that must not change anything. Inside a rehearsal's transaction it
    /// is a savepoint, and what it set is undone with it.
    public func readOnly<T>(_ body: (Probe) throws -> T) throws -> T {
        try rolledBack(readOnly: true, body)
    }

    /// Runs a step's assessment: in a transaction (a savepoint in a rehearsal) that is always
    /// rolled back, so nothing it reads, sets or creates (a temporary table for canonical
    /// forms, settings pinned for a fingerprint) outlives it. Plan text inside it runs in
    /// `readOnly`.
    public func assessing<T>(_ body: (Probe) throws -> T) throws -> T {
        try rolledBack(readOnly: false, body)
    }

    /// Runs `body` in a transaction (a savepoint inside one) that is always rolled back.
    func rolledBack<T>(readOnly: Bool, _ body: (Probe) throws -> T) throws -> T {
        let nested = connection.isInTransaction
        // Nested probes reuse the name: ROLLBACK TO names the innermost one.
        var begin: SQL = nested ? "SAVEPOINT pgmend_probe" : readOnly ? "BEGIN READ ONLY" : "BEGIN"
        if nested && readOnly { begin += "; SET LOCAL transaction_read_only = on" }
        // The plan's statement_timeout covers every read that may hold plan text (a done_when,
        // a count by a where): set locally, it ends with the savepoint or transaction.
        if readOnly && settings.statementTimeout > 0 { begin += "; SET LOCAL statement_timeout = \(literal: settings.statementTimeout)" }
        try connection.execute(begin)
        let end: SQL = nested ? "ROLLBACK TO SAVEPOINT pgmend_probe; RELEASE SAVEPOINT pgmend_probe" : "ROLLBACK"
        defer { _ = try? connection.execute(end) }
        return try body(self)
    }
}
