import Foundation
import PostgresClient

/// The record of every run, in schema `pgmend` of the repaired database: runs, their steps,
/// every statement executed (with rows affected and attempts), and checkpoints for batched
/// work. It is a record for people; what a step still has to do is always judged from the
/// live database, never from here.
public struct Journal {
    let connection: Connection

    public init(connection: Connection) {
        self.connection = connection
    }

    /// The names of the journal's tables (schema `pgmend`), as `tablesSQL` creates them.
    static let tables: [String] = tablesSQL.text.components(separatedBy: "CREATE TABLE IF NOT EXISTS pgmend.").dropFirst().map { statement in
        String(statement.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
    }

    /// Why this session cannot keep the journal, or nil when it can: asked before a real run
    /// starts (nothing written yet), so the operator reads what to do instead of the server's
    /// `cannot execute CREATE SCHEMA in a read-only transaction` or `permission denied for
    /// database`. Run outside a transaction: `transaction_read_only` then says what a new one
    /// would be.
    public func obstacle() throws -> JournalUnavailable? {
        guard let row = try connection.query(
            """
            SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on', current_user::text, current_database()::text,
                   to_regnamespace('pgmend') IS NOT NULL, has_database_privilege(current_database(), 'CREATE'),
                   CASE WHEN to_regnamespace('pgmend') IS NOT NULL THEN has_schema_privilege('pgmend', 'CREATE') END,
                   (SELECT count(*) FROM pg_class WHERE relnamespace = to_regnamespace('pgmend') AND relname = ANY (\(bind: Self.tables)::text[]))::int,
                   CASE WHEN to_regnamespace('pgmend') IS NOT NULL THEN has_schema_privilege('pgmend', 'USAGE') END,
                   (SELECT coalesce(bool_and(has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE')), true) FROM pg_class c
                    WHERE c.relnamespace = to_regnamespace('pgmend') AND c.relname = ANY (\(bind: Self.tables)::text[]))
            """).first
        else { return nil }
        let role = try row.get(2, as: String.self)
        let database = try row.get(3, as: String.self)
        if try row.get(0, as: Bool.self) { return .standby }
        if try row.get(1, as: Bool.self) { return .readOnly(role: role) }
        let schemaExists = try row.get(4, as: Bool.self)
        if !schemaExists, try !row.get(5, as: Bool.self) { return .cannotCreateSchema(role: role, database: database) }
        let complete = try row.get(7, as: Int.self) == Self.tables.count
        if schemaExists, try row.get(8, as: Bool?.self) == false { return .cannotUseSchema(role: role) }
        if schemaExists, !complete, try row.get(6, as: Bool?.self) == false { return .cannotCreateTables(role: role) }
        if try !row.get(9, as: Bool.self) { return .cannotWriteTables(role: role) }
        return nil
    }

    /// Creates the journal tables if they are missing. Idempotent. What exists already is not
    /// created again: `CREATE SCHEMA IF NOT EXISTS` asks for CREATE on the database even when
    /// the schema is there (created for this role by its owner, `obstacle`).
    public func prepare() throws {
        let present = try connection.scalar(
            "SELECT count(*)::int FROM pg_class WHERE relnamespace = to_regnamespace('pgmend') AND relname = ANY (\(bind: Self.tables)::text[])",
            as: Int.self) ?? 0
        if present < Self.tables.count { try createTables() }
        // Columns added since the first journals: looked up first, so that an up-to-date
        // journal is not locked (ALTER TABLE takes ACCESS EXCLUSIVE even when it adds nothing).
        let missing = try connection.scalar(
            "SELECT count(*) < 2 FROM pg_attribute WHERE attrelid = 'pgmend.runs'::regclass AND attname IN ('pre_snapshot', 'post_snapshot') AND NOT attisdropped",
            as: Bool.self) ?? true
        if missing {
            try connection.execute("ALTER TABLE pgmend.runs ADD COLUMN IF NOT EXISTS pre_snapshot text, ADD COLUMN IF NOT EXISTS post_snapshot text")
        }
        let stepText = try connection.scalar(
            "SELECT count(*) = 1 FROM pg_attribute WHERE attrelid = 'pgmend.steps'::regclass AND attname = 'text_sha256' AND NOT attisdropped",
            as: Bool.self) ?? false
        if !stepText {
            try connection.execute("ALTER TABLE pgmend.steps ADD COLUMN IF NOT EXISTS text_sha256 text")
        }
    }

    private func createTables() throws {
        let schemaExists = try connection.scalar("SELECT to_regnamespace('pgmend') IS NOT NULL", as: Bool.self) ?? false
        try connection.execute((schemaExists ? "" : "CREATE SCHEMA IF NOT EXISTS pgmend;\n") + Self.tablesSQL)
    }

    /// The journal's tables; `tables` is read from it, so a table added here is created on
    /// a journal that lacks it.
    static let tablesSQL: SQL = """
            CREATE TABLE IF NOT EXISTS pgmend.runs (
                id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                plan_name     text NOT NULL,
                plan_path     text NOT NULL,
                plan_sha256   text NOT NULL,
                mode          text NOT NULL,
                pgmend_version text NOT NULL,
                operator      text NOT NULL DEFAULT current_user,
                backend_pid   integer NOT NULL DEFAULT pg_backend_pid(),
                started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
                finished_at   timestamptz,
                status        text NOT NULL DEFAULT 'running',
                message       text
            );
            CREATE TABLE IF NOT EXISTS pgmend.steps (
                run_id        bigint NOT NULL REFERENCES pgmend.runs (id) ON DELETE CASCADE,
                number        integer NOT NULL,
                kind          text NOT NULL,
                status        text NOT NULL,
                message       text,
                started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
                finished_at   timestamptz,
                text_sha256   text,
                PRIMARY KEY (run_id, number)
            );
            CREATE TABLE IF NOT EXISTS pgmend.statements (
                id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                run_id        bigint NOT NULL REFERENCES pgmend.runs (id) ON DELETE CASCADE,
                step_number   integer NOT NULL,
                sql           text NOT NULL,
                started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
                finished_at   timestamptz,
                rows_affected bigint,
                attempts      integer NOT NULL DEFAULT 1,
                error         text
            );
            CREATE TABLE IF NOT EXISTS pgmend.checkpoints (
                run_id        bigint NOT NULL REFERENCES pgmend.runs (id) ON DELETE CASCADE,
                step_number   integer NOT NULL,
                key           text NOT NULL,
                value         text NOT NULL,
                updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
                PRIMARY KEY (run_id, step_number, key)
            );
            -- Values a step left out of where it moved them (extract_json_fields' on_invalid,
            -- on_conflict, prefer), with what the row held, written before the move.
            CREATE TABLE IF NOT EXISTS pgmend.set_aside (
                run_id        bigint NOT NULL REFERENCES pgmend.runs (id) ON DELETE CASCADE,
                step_number   integer NOT NULL,
                table_name    text NOT NULL,
                key           text NOT NULL,
                field         text NOT NULL,
                reason        text NOT NULL,
                json_value    jsonb,
                column_value  text,
                recorded_at   timestamptz NOT NULL DEFAULT clock_timestamp()
            );
        """

    /// Records where the run's snapshot files are (NULL: none written).
    public func recordSnapshots(_ run: Int64, pre: String?, post: String?) throws {
        try connection.query("UPDATE pgmend.runs SET pre_snapshot = \(bind: pre), post_snapshot = \(bind: post) WHERE id = \(bind: run)")
    }

    /// Starts a run and returns its id. Runs still marked running were cut off (killed, or
    /// their connection lost): the caller holds the run lock, so none of them is running now.
    public func startRun(_ plan: Plan, mode: String) throws -> Int64 {
        try connection.query(
            "UPDATE pgmend.runs SET status = 'interrupted', message = 'the run stopped before it finished; a later run resumed' WHERE status = 'running'")
        return try connection.scalar(
            """
            INSERT INTO pgmend.runs (plan_name, plan_path, plan_sha256, mode, pgmend_version)
            VALUES (\(bind: plan.name), \(bind: plan.path), \(bind: plan.sha256), \(bind: mode), \(bind: PgMendVersion.string)) RETURNING id
            """, as: Int64.self) ?? 0
    }

    public func finishRun(_ run: Int64, status: String, message: String?) throws {
        try connection.query(
            "UPDATE pgmend.runs SET finished_at = clock_timestamp(), status = \(bind: status), message = \(bind: message) WHERE id = \(bind: run)")
    }

    /// `textSHA256`: the step's text (`PlannedStep.textSHA256`), so a later run can tell that
    /// this very step completed (`completedEarlier`).
    public func recordStep(_ run: Int64, number: Int, kind: String, status: String, message: String?, textSHA256: String? = nil) throws {
        try connection.query(
            """
            INSERT INTO pgmend.steps (run_id, number, kind, status, message, finished_at, text_sha256)
            VALUES (\(bind: run), \(bind: number), \(bind: kind), \(bind: status), \(bind: message), clock_timestamp(), \(bind: textSHA256))
            ON CONFLICT (run_id, number) DO UPDATE SET status = excluded.status, message = excluded.message, finished_at = excluded.finished_at,
                text_sha256 = excluded.text_sha256
            """)
    }

    /// The run that completed (applied, or found satisfied) a step of text `textSHA256`, with
    /// a step of one of the texts `later` completed after it (later in that run, or in a later
    /// run); the newest such run, or nil. Without a journal (or one from before steps had
    /// their text recorded) nil: call it in a savepoint, it may fail (no privilege on it).
    public func completedEarlier(textSHA256: String, later: [String]) throws -> Int64? {
        guard !later.isEmpty,
            try connection.scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('pgmend.steps') AND attname = 'text_sha256' AND NOT attisdropped)",
                as: Bool.self) == true
        else { return nil }
        return try connection.scalar(
            """
            SELECT s.run_id FROM pgmend.steps s
            WHERE s.text_sha256 = \(bind: textSHA256) AND s.status IN ('applied', 'satisfied')
              AND EXISTS (SELECT 1 FROM pgmend.steps l
                          WHERE l.text_sha256 = ANY (\(bind: later)::text[]) AND l.status IN ('applied', 'satisfied')
                            AND (l.run_id > s.run_id OR (l.run_id = s.run_id AND l.number > s.number)))
            ORDER BY s.run_id DESC LIMIT 1
            """, as: Int64.self)
    }

    /// Writes a checkpoint of step `step` of run `run`: call it inside the transaction whose
    /// work it records, so the two commit together or not at all.
    public func checkpoint(_ run: Int64, step: Int, key: String, value: String) throws {
        try connection.query(
            """
            INSERT INTO pgmend.checkpoints (run_id, step_number, key, value) VALUES (\(bind: run), \(bind: step), \(bind: key), \(bind: value))
            ON CONFLICT (run_id, step_number, key) DO UPDATE SET value = excluded.value, updated_at = clock_timestamp()
            """)
    }

    /// The newest checkpoint under `key` for step `step` of an earlier run of the same plan
    /// file that did not finish (killed, lost its connection, failed): where to resume.
    public func resumePoint(before run: Int64, planSHA256: String, step: Int, key: String) throws -> String? {
        try connection.scalar(
            """
            SELECT c.value FROM pgmend.checkpoints c JOIN pgmend.runs r ON r.id = c.run_id
            WHERE c.run_id < \(bind: run) AND r.plan_sha256 = \(bind: planSHA256) AND c.step_number = \(bind: step) AND c.key = \(bind: key)
              AND r.status <> 'ok'
            ORDER BY c.run_id DESC LIMIT 1
            """, as: String.self)
    }

    /// Records a statement before it runs; `finishStatement` completes the row.
    public func startStatement(_ run: Int64, step: Int, sql: String) throws -> Int64 {
        try connection.scalar(
            "INSERT INTO pgmend.statements (run_id, step_number, sql) VALUES (\(bind: run), \(bind: step), \(bind: sql)) RETURNING id",
            as: Int64.self) ?? 0
    }

    public func finishStatement(_ id: Int64, rowsAffected: Int?, attempts: Int, error: String?) throws {
        try connection.query(
            """
            UPDATE pgmend.statements SET finished_at = clock_timestamp(), rows_affected = \(bind: rowsAffected), attempts = \(bind: attempts),
                error = \(bind: error) WHERE id = \(bind: id)
            """)
    }
}

/// Why a real run cannot keep its journal (schema `pgmend`), and what would let it: said
/// before anything is written, in place of the server's error.
public enum JournalUnavailable: Error, Sendable, CustomStringConvertible {
    case standby
    case readOnly(role: String)
    case cannotCreateSchema(role: String, database: String)
    case cannotCreateTables(role: String)
    case cannotUseSchema(role: String)
    case cannotWriteTables(role: String)

    public var description: String {
        let intro = "a run records what it does in its journal, schema pgmend of this database"
        switch self {
        case .standby:
            return "\(intro), and this server is a hot standby (in recovery), where nothing can be written: run against the primary (a dry run, --dry-run, works here)"
        case .readOnly(let role):
            return "\(intro), and this session is read-only (default_transaction_read_only is on, for role \(role) or in the connection's options): connect as a role that may write, or with options='-c default_transaction_read_only=off' (a dry run, --dry-run, works as is)"
        case .cannotCreateSchema(let role, let database):
            return "\(intro), which does not exist, and role \(role) may not create it (no CREATE privilege on database \(database)): have the database owner or a superuser create it for this role once, `CREATE SCHEMA pgmend AUTHORIZATION \(SQLIdentifier(role).quoted);`, or grant the privilege, `GRANT CREATE ON DATABASE \(SQLIdentifier(database).quoted) TO \(SQLIdentifier(role).quoted);`"
        case .cannotCreateTables(let role):
            return "\(intro), which exists but is incomplete, and role \(role) may not create the journal's tables in it (no CREATE privilege on schema pgmend): have its owner or a superuser run `ALTER SCHEMA pgmend OWNER TO \(SQLIdentifier(role).quoted);` or `GRANT USAGE, CREATE ON SCHEMA pgmend TO \(SQLIdentifier(role).quoted);`"
        case .cannotUseSchema(let role):
            return "\(intro), which exists, and role \(role) may not use it (no USAGE privilege on schema pgmend): have its owner or a superuser run `GRANT USAGE ON SCHEMA pgmend TO \(SQLIdentifier(role).quoted);` (with the tables' privileges, `GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pgmend TO \(SQLIdentifier(role).quoted);`)"
        case .cannotWriteTables(let role):
            return "\(intro), whose tables role \(role) may not write (it needs SELECT, INSERT and UPDATE on them): have their owner or a superuser run `GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pgmend TO \(SQLIdentifier(role).quoted);`"
        }
    }
}
