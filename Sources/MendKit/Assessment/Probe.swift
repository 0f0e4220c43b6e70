import PostgresClient
import SchemaModel

/// Read access to the live database for assessing steps, and the server's canonical spelling
/// of types and expressions for predicting what the catalog will say after a step.
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

    public init(
        connection: Connection, archiveOverride: String? = nil, settings: PlanSettings = PlanSettings(), fingerprints: FingerprintMemo? = nil,
        readOnlySession: ReadOnlySession? = nil
    ) {
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
    /// The table's row count and content fingerprint: a full scan, so taken once per run
    /// when the runner shares a memo, and only until the run's first effect changes anything.
    public func liveFingerprint(_ table: ObjectName) throws -> TableData {
        if let known = fingerprints?.known[table.key] { return known }
        let live = try connection.transaction(isolation: .repeatableRead, readOnly: true) { connection in
            try DataStatistics.pinTextSettings(connection)
            return try DataStatistics(connection: connection).fingerprint(QualifiedName(schema: table.schema, table.name))
        }
        fingerprints?.known[table.key] = live
        return live
    }

    /// The archives under `folder` (or the rehearsal's stand-in folder).
    public func archiveStore(_ folder: String) -> ArchiveStore {
        ArchiveStore(directory: archiveOverride ?? folder)
    }

    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> QueryResult {
        try connection.query(sql, parameters)
    }

    public func scalar<T: PostgresDecodable>(
        _ sql: String, _ parameters: [(any PostgresEncodable)?] = [], as type: T.Type = T.self
    ) throws -> T? {
        try connection.scalar(sql, parameters, as: type)
    }

    public func query(_ sql: SQL) throws -> QueryResult { try connection.query(sql) }

    public func scalar<T: PostgresDecodable>(_ sql: SQL, as type: T.Type = T.self) throws -> T? {
        try connection.scalar(sql, as: type)
    }

    /// `memoizedCount` of a statement built as `SQL` (remembered by its text and values).
    public func memoizedCount(_ sql: SQL) throws -> Int {
        try memoized(sql.description) { try readOnly { try $0.scalar(sql, as: Int.self) ?? 0 } }
    }

    /// `memoizedCounts` of a statement built as `SQL`.
    public func memoizedCounts(_ sql: SQL, fallback: SQL? = nil, failing: SQLState? = nil) throws -> [Int] {
        func counts(_ statement: SQL) throws -> [Int] {
            try readOnly { probe -> [Int] in
                let result = try probe.query(statement)
                guard let row = result.first else { return [] }
                return try (0..<result.columnNames.count).map { try row.get(.index($0), as: Int.self) }
            }
        }
        return try memoized(sql.description) {
            do {
                return try counts(sql)
            } catch let error as PostgresError where fallback != nil && error.sqlState == failing {
                return try counts(fallback ?? sql)
            }
        }
    }

    /// The primary key of a live table, as `RowKey` (ctid when it has none).
    public func rowKey(of table: ObjectName) throws -> RowKey { RowKey(try primaryKey(of: table)) }

    /// `SELECT count(*) ...` read-only (it may hold plan text), once per run while no effect
    /// has run (see `FingerprintMemo`).
    public func memoizedCount(_ sql: String) throws -> Int {
        try memoized(sql) { try readOnly { try $0.scalar(sql, as: Int.self) ?? 0 } }
    }

    /// What `compute` read, once per run while no effect has run, by `key` (the SQL it sends):
    /// a real run assesses each step twice (the dry run it shows first, then the step itself),
    /// and a step that reads whole tables should not read them twice. A value read here may
    /// be as old as the run's start; effects must not depend on it for safety (they decide
    /// under their own locks).
    public func memoized<T>(_ key: String, _ compute: () throws -> T) throws -> T {
        if let known = fingerprints?.results[key] as? T { return known }
        let value = try compute()
        fingerprints?.results[key] = value
        return value
    }

    /// Whether PostgreSQL knows `zone` by name or abbreviation (`pg_timezone_names`,
    /// `pg_timezone_abbrevs`): not a POSIX offset such as `UTC+3`, whose sign reads the wrong
    /// way round. Those views read the time zone files (about 20 ms): once per run and zone.
    public func isKnownTimeZone(_ zone: String) throws -> Bool {
        let sql = "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) OR EXISTS (SELECT 1 FROM pg_timezone_abbrevs WHERE abbrev = $1)"
        return try memoized(sql + " -- " + zone) { try scalar(sql, [zone], as: Bool.self) ?? false }
    }

    /// One row of counts (`SELECT count(...), count(...) ...`) read-only, once per run while no
    /// effect has run, like `memoizedCount`.
    /// With `fallback`: when `sql` fails with the SQLSTATE `failing` (a fast query that casts,
    /// and meets a value that does not cast), the counts of `fallback` instead, remembered for both.
    public func memoizedCounts(_ sql: String, fallback: String? = nil, failing: SQLState? = nil) throws -> [Int] {
        func counts(_ text: String) throws -> [Int] {
            try readOnly { probe -> [Int] in
                let result = try probe.query(text)
                guard let row = result.first else { return [] }
                return try (0..<result.columnNames.count).map { try row.get(.index($0), as: Int.self) }
            }
        }
        return try memoized(sql) {
            do {
                return try counts(sql)
            } catch let error as PostgresError where fallback != nil && error.sqlState == failing {
                return try counts(fallback ?? sql)
            }
        }
    }

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
    private func rolledBack<T>(readOnly: Bool, _ body: (Probe) throws -> T) throws -> T {
        // The plan's statement_timeout covers every read that may hold plan text (a done_when,
        // a count by a where): set locally, it ends with the savepoint or transaction.
        let timeout = readOnly && settings.statementTimeout > 0 ? "; SET LOCAL statement_timeout = \(settings.statementTimeout)" : ""
        if connection.isInTransaction {
            // Nested probes reuse the name: ROLLBACK TO names the innermost one.
            try connection.execute("SAVEPOINT pgmend_probe" + (readOnly ? "; SET LOCAL transaction_read_only = on" + timeout : ""))
            defer { _ = try? connection.execute("ROLLBACK TO SAVEPOINT pgmend_probe; RELEASE SAVEPOINT pgmend_probe") }
            return try body(self)
        }
        try connection.execute(readOnly ? "BEGIN READ ONLY" + timeout : "BEGIN")
        defer { _ = try? connection.execute("ROLLBACK") }
        return try body(self)
    }

    /// Whether the table exists in the live database now.
    public func tableExists(_ table: ObjectName) throws -> Bool {
        try scalar("SELECT to_regclass($1) IS NOT NULL", [QualifiedName(schema: table.schema, table.name).quoted], as: Bool.self) ?? false
    }

    /// The primary key columns of a live table, to name offending rows by; empty without one.
    public func primaryKey(of table: ObjectName) throws -> [String] {
        try query(
            """
            SELECT a.attname FROM pg_index i
            JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) ON true
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY k.ord
            """, [QualifiedName(schema: table.schema, table.name).quoted]
        ).map { try $0.get(0, as: String.self) }
    }

    /// Rows of `table` for which `condition` (SQL over its columns) is true: how many, and the
    /// primary keys of the first `limit` in key order (the ctid when there is no key).
    public func offendingRows(in table: ObjectName, where condition: String, limit: Int = 10) throws -> (count: Int, sample: [String]) {
        let name = QualifiedName(schema: table.schema, table.name).quoted
        let key = try primaryKey(of: table)
        let keyText = key.isEmpty ? "ctid::text" : key.map { "\(SQLIdentifier($0).quoted)::text" }.joined(separator: " || ', ' || ")
        let order = key.isEmpty ? "ctid" : key.map { SQLIdentifier($0).quoted }.joined(separator: ", ")
        // The condition may hold plan text (a check expression): read-only, rolled back.
        return try readOnly { probe in
            let count = try probe.scalar("SELECT count(*) FROM \(name) WHERE \(condition)", as: Int.self) ?? 0
            guard count > 0 else { return (0, []) }
            // Named apart from the key's columns: `ORDER BY "id"` would otherwise sort the
            // output column `"id"::text` (named `id` too), as text: 150 before 3.
            let sample = try probe.query("SELECT \(keyText) AS pgmend_key FROM \(name) WHERE \(condition) ORDER BY \(order) LIMIT \(limit)")
                .map { try $0.get(0, as: String.self) }
            return (count, sample)
        }
    }

    // MARK: The server's canonical spelling

    /// `varchar(20)` -> `character varying(20)`, `int` -> `integer`, `mood` -> `public.mood`,
    /// as `format_type` prints it with `search_path = pg_catalog` (as snapshots are read).
    public func canonicalType(_ spelling: String) throws -> String {
        try Self.requireFragment(spelling, "a type name")
        return try readOnly { probe in
            // A type name and nothing else: `to_regtype` reads its argument (a value, never
            // SQL) as a type name only, and refuses anything more (`int FROM pg_class ...`, a
            // `COLLATE`, which is the column's, not the type's) as a syntax error.
            do {
                _ = try probe.scalar("SELECT to_regtype($1)::text", [spelling], as: String.self)
            } catch var error as PostgresError where error.kind == .server && error.sqlState == .syntaxError {
                error.message = "'\(spelling)' is not a type name (\(error.message))"
                throw error
            }
            // Parsed and described, never run: the type of the one column is all that is read.
            let result = try probe.connection.describe("SELECT NULL::\(spelling)")
            guard result.columnTypes.count == 1, let type = result.columnTypes.first, let modifier = result.columnTypeModifiers.first else {
                throw PostgresError(kind: .usage, message: "'\(spelling)' is not a type")
            }
            try probe.connection.setLocal("search_path", "pg_catalog")
            return try probe.scalar("SELECT format_type($1::oid, $2::int)", [type.rawValue, modifier == -1 ? nil : modifier], as: String.self) ?? spelling
        }
    }

    /// Plan loading refuses text that is not one fragment; this holds the line again where it
    /// meets SQL, for callers that did not come through a plan.
    static func requireFragment(_ text: String, _ what: String) throws {
        if let (_, message) = SQLFragment.problem(in: text) {
            throw PostgresError(kind: .usage, message: "'\(text)' is not \(what): it \(message)")
        }
    }

    /// How the catalog will print check constraints and column defaults once they are on
    /// `table`: they are put on a temporary table of the same columns, read back, and rolled
    /// back. Nothing outside this session's temporary schema is touched.
    ///
    /// In a read-only session (`readOnlySession`) no temporary table can be had, and there is
    /// no read-only way to make the server print an expression as the catalog will: the forms
    /// are the plan's own text (`fromPlan`), and the step's report says so.
    public func canonicalForms(
        columns: [Column], checks: [(name: String, expression: String)], defaults: [(column: String, expression: String)]
    ) throws -> CanonicalForms {
        for column in columns { try Self.requireFragment(column.type, "a type name") }
        for (_, expression) in checks + defaults.map({ ($0.column, $0.expression) }) { try Self.requireFragment(expression, "one expression") }
        guard !checks.isEmpty || !defaults.isEmpty else { return CanonicalForms() }
        if let session = readOnlySession {
            var forms = CanonicalForms(fromPlan: true)
            for (name, expression) in checks { forms.checks[name] = ("CHECK (\(expression))", expression) }
            for (column, expression) in defaults { forms.defaults[column] = expression }
            let what = checks.map { "check \($0.name)" } + defaults.map { "the default of \($0.column)" }
            session.note(
                "\(what.joined(separator: ", ")) predicted in the plan's spelling, not the server's: learning that needs a temporary table, and this session is \(session.reason)")
            return forms
        }
        // A temporary table cannot be created read-only, so this transaction is writable; it
        // is always rolled back, and every statement goes through the extended protocol, which
        // takes one statement only. Defaults and NOT VALID checks are stored, never evaluated.
        return try rolledBack(readOnly: false) { probe in
            let connection = probe.connection
            try connection.setLocal("search_path", "pg_catalog")
            let columnList = columns.map { "\(SQLIdentifier($0.name).quoted) \($0.type)" }.joined(separator: ", ")
            try connection.query("CREATE TEMP TABLE pgmend_canonical (\(columnList))")
            for (column, expression) in defaults {
                try connection.query("ALTER TABLE pg_temp.pgmend_canonical ALTER COLUMN \(SQLIdentifier(column).quoted) SET DEFAULT \(SQLFragment.parenthesized(expression))")
            }
            for (name, expression) in checks {
                try connection.query("ALTER TABLE pg_temp.pgmend_canonical ADD CONSTRAINT \(SQLIdentifier(name).quoted) CHECK \(SQLFragment.parenthesized(expression)) NOT VALID")
            }
            var forms = CanonicalForms()
            for row in try connection.query(
                """
                SELECT co.conname, pg_get_constraintdef(co.oid, true), pg_get_expr(co.conbin, co.conrelid, true),
                       ARRAY(SELECT a.attname FROM unnest(co.conkey) k(attnum)
                             JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum)::text[]
                FROM pg_constraint co WHERE co.conrelid = 'pg_temp.pgmend_canonical'::regclass AND co.contype = 'c'
                """)
            {
                let name = try row.get(0, as: String.self)
                let definition = try row.get(1, as: String.self)
                // Added NOT VALID here only so no row is needed; the step validates for real.
                let valid = definition.hasSuffix(" NOT VALID") ? String(definition.dropLast(" NOT VALID".count)) : definition
                forms.checks[name] = (valid, try row.get(2, as: String.self))
                forms.checkColumns[name] = try row.get(3, as: [String].self)
            }
            for row in try connection.query(
                """
                SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
                JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                WHERE d.adrelid = 'pg_temp.pgmend_canonical'::regclass
                """)
            {
                forms.defaults[try row.get(0, as: String.self)] = try row.get(1, as: String.self)
            }
            return forms
        }
    }
}

/// Check constraints and defaults as the catalog prints them.
public struct CanonicalForms {
    /// True when they are the plan's own text, the server's being out of reach without
    /// writing (`Probe.readOnlySession`): they may differ from the catalog's only in spelling,
    /// so they are not to be compared with what the catalog holds.
    public var fromPlan = false
    /// By constraint name: the `pg_get_constraintdef` text and the bare expression.
    public var checks: [String: (definition: String, expression: String)] = [:]
    /// By constraint name: the columns the check reads.
    public var checkColumns: [String: [String]] = [:]
    /// By column name: the default expression.
    public var defaults: [String: String] = [:]
}

/// A session that cannot create a temporary table: a hot standby, a read-only transaction
/// (`default_transaction_read_only`, for a role or in the connection's options), or a role
/// without the TEMPORARY privilege. Found once per dry run; it collects what each step's
/// assessment could only approximate, for the runner to put in that step's report.
public final class ReadOnlySession {
    /// Why, as the end of "this session is ...": `a hot standby (in recovery)`.
    public let reason: String
    private var notes: [String] = []

    init(reason: String) {
        self.reason = reason
    }

    /// The session's read-only state, or nil when it can create a temporary table. Run
    /// outside a transaction: `transaction_read_only` then says what a new one would be.
    public static func detect(_ connection: Connection) throws -> ReadOnlySession? {
        let reason = try connection.scalar(
            """
            SELECT CASE WHEN pg_is_in_recovery() THEN 'a hot standby (in recovery)'
                        WHEN current_setting('transaction_read_only') = 'on' THEN 'read-only (default_transaction_read_only is on)'
                        WHEN NOT has_database_privilege(current_database(), 'TEMPORARY') THEN 'without the TEMPORARY privilege on this database'
                   END
            """, as: String.self)
        return reason.map(ReadOnlySession.init(reason:))
    }

    func note(_ text: String) {
        if !notes.contains(text) { notes.append(text) }
    }

    /// The notes of the assessment just made, forgotten here so the next step starts afresh.
    func takeNotes() -> [String] {
        defer { notes = [] }
        return notes
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
