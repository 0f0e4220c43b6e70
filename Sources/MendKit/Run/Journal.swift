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

    /// Creates the journal tables if they are missing. Idempotent.
    public func prepare() throws {
        try connection.execute(
            """
            CREATE SCHEMA IF NOT EXISTS pgmend;
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
            """)
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

    /// Records where the run's snapshot files are (NULL: none written).
    public func recordSnapshots(_ run: Int64, pre: String?, post: String?) throws {
        try connection.query("UPDATE pgmend.runs SET pre_snapshot = $2, post_snapshot = $3 WHERE id = $1", [run, pre, post])
    }

    /// Starts a run and returns its id. Runs still marked running were cut off (killed, or
    /// their connection lost): the caller holds the run lock, so none of them is running now.
    public func startRun(_ plan: Plan, mode: String) throws -> Int64 {
        try connection.query(
            "UPDATE pgmend.runs SET status = 'interrupted', message = 'the run stopped before it finished; a later run resumed' WHERE status = 'running'")
        return try connection.scalar(
            "INSERT INTO pgmend.runs (plan_name, plan_path, plan_sha256, mode, pgmend_version) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            [plan.name, plan.path, plan.sha256, mode, PgMendVersion.string], as: Int64.self) ?? 0
    }

    public func finishRun(_ run: Int64, status: String, message: String?) throws {
        try connection.query(
            "UPDATE pgmend.runs SET finished_at = clock_timestamp(), status = $2, message = $3 WHERE id = $1",
            [run, status, message])
    }

    /// `textSHA256`: the step's text (`PlannedStep.textSHA256`), so a later run can tell that
    /// this very step completed (`completedEarlier`).
    public func recordStep(_ run: Int64, number: Int, kind: String, status: String, message: String?, textSHA256: String? = nil) throws {
        try connection.query(
            """
            INSERT INTO pgmend.steps (run_id, number, kind, status, message, finished_at, text_sha256) VALUES ($1, $2, $3, $4, $5, clock_timestamp(), $6)
            ON CONFLICT (run_id, number) DO UPDATE SET status = excluded.status, message = excluded.message, finished_at = excluded.finished_at,
                text_sha256 = excluded.text_sha256
            """, [run, number, kind, status, message, textSHA256])
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
            WHERE s.text_sha256 = $1 AND s.status IN ('applied', 'satisfied')
              AND EXISTS (SELECT 1 FROM pgmend.steps l
                          WHERE l.text_sha256 = ANY ($2::text[]) AND l.status IN ('applied', 'satisfied')
                            AND (l.run_id > s.run_id OR (l.run_id = s.run_id AND l.number > s.number)))
            ORDER BY s.run_id DESC LIMIT 1
            """, [textSHA256, later], as: Int64.self)
    }

    /// Writes a checkpoint of step `step` of run `run`: call it inside the transaction whose
    /// work it records, so the two commit together or not at all.
    public func checkpoint(_ run: Int64, step: Int, key: String, value: String) throws {
        try connection.query(
            """
            INSERT INTO pgmend.checkpoints (run_id, step_number, key, value) VALUES ($1, $2, $3, $4)
            ON CONFLICT (run_id, step_number, key) DO UPDATE SET value = excluded.value, updated_at = clock_timestamp()
            """, [run, step, key, value])
    }

    /// The newest checkpoint under `key` for step `step` of an earlier run of the same plan
    /// file that did not finish (killed, lost its connection, failed): where to resume.
    public func resumePoint(before run: Int64, planSHA256: String, step: Int, key: String) throws -> String? {
        try connection.scalar(
            """
            SELECT c.value FROM pgmend.checkpoints c JOIN pgmend.runs r ON r.id = c.run_id
            WHERE c.run_id < $1 AND r.plan_sha256 = $2 AND c.step_number = $3 AND c.key = $4 AND r.status <> 'ok'
            ORDER BY c.run_id DESC LIMIT 1
            """, [run, planSHA256, step, key], as: String.self)
    }

    /// Records a statement before it runs; `finishStatement` completes the row.
    public func startStatement(_ run: Int64, step: Int, sql: String) throws -> Int64 {
        try connection.scalar(
            "INSERT INTO pgmend.statements (run_id, step_number, sql) VALUES ($1, $2, $3) RETURNING id",
            [run, step, sql], as: Int64.self) ?? 0
    }

    public func finishStatement(_ id: Int64, rowsAffected: Int?, attempts: Int, error: String?) throws {
        try connection.query(
            "UPDATE pgmend.statements SET finished_at = clock_timestamp(), rows_affected = $2, attempts = $3, error = $4 WHERE id = $1",
            [id, rowsAffected, attempts, error])
    }
}
