import PostgresClient
import SchemaModel

/// Rows that stand in the way of a constraint (a new foreign key's orphans) taken out of the
/// way, and the constraint's statements run, in one REPEATABLE READ transaction whose first
/// statement locks every table that could make such a row (the referencing table and the
/// referenced one: an INSERT there, a DELETE here). Which rows go is decided under that lock,
/// so a row that gained its parent while pgmend waited stays, and one that lost it is handled.
///
/// - `delete`: the rows are written to a verified archive (as `archive_table` writes one, with
///   the selection in its manifest), then deleted; the deleted count must be the archived one.
/// - `setNull`: each row's old value is journaled in `pgmend.set_aside` with its primary key
///   (outside a rehearsal), then the column is set to NULL.
public struct ResolveRowsUnderLock: Effect {
    public enum Resolution: Sendable {
        /// Archive to `folder` (`target` for people), then delete.
        case delete(folder: String, target: String)
        /// Journal, then set `columns` to NULL; `key` is the SQL text of a row's primary key
        /// (alias `t`) and `reason` what the journal says about it. The journal's `field` is
        /// the column (`a, b` for several) and its `column_value` the old value as text (the
        /// row of them, `(1,x)`, for several).
        case setNull(columns: [String], key: String, reason: String)
    }

    public var summary: String
    public var table: ObjectName
    /// The rows to take out: SQL over the table's columns, the table aliased `t`.
    public var selection: ArchiveWriter.RowSelection
    public var resolution: Resolution
    /// Run after the rows are out, in the same transaction (DROP / ADD CONSTRAINT ... NOT VALID).
    public var statements: [SQL]
    public var lock: LockLevel
    public var lockTargets: [ObjectName]
    public var lockTarget: ObjectName? { lockTargets.first }
    public var touches: [ObjectName] { [table] }
    /// The rows the assessment counted (more or fewer may be chosen under the lock).
    public var counted: Int?

    public init(
        _ summary: String, table: ObjectName, selection: ArchiveWriter.RowSelection, resolution: Resolution, then statements: [SQL],
        lock: LockLevel, on tables: [ObjectName], counted: Int? = nil
    ) {
        self.counted = counted
        self.summary = summary
        self.table = table
        self.selection = selection
        self.resolution = resolution
        self.statements = statements
        self.lock = lock
        self.lockTargets = tables
    }

    /// Foreign keys that reference a table (`$1`, quoted) with an ON DELETE action that changes
    /// their own rows: one line each, `memory_access_logs memory_access_logs_memory_id_fkey (ON DELETE CASCADE)`.
    public static let referencesActingOnDelete = """
        SELECT c.conrelid::regclass::text || ' ' || c.conname::text || ' (ON DELETE '
            || CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END || ')'
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.confrelid = to_regclass($1) AND c.confdeltype IN ('c', 'n', 'd')
        ORDER BY 1
        """

    static func assignments(_ columns: [String]) -> String {
        columns.map { "\(SQLIdentifier($0).quoted) = NULL" }.joined(separator: ", ")
    }

    var quoted: String { QualifiedName(schema: table.schema, table.name).quoted }
    var lockStatement: String {
        "LOCK TABLE \(lockTargets.map { QualifiedName(schema: $0.schema, $0.name).quoted }.joined(separator: ", ")) IN \(lock.rawValue) MODE"
    }

    public var hazards: [Hazard] {
        var hazards: [Hazard] = lock == .accessExclusive ? [.accessExclusiveLock] : []
        switch resolution {
        case .delete: hazards.append(.deletesData)
        case .setNull:
            // Values set to NULL are gone from the table (their old text is in the journal).
            hazards.append(.rowUpdates)
            if (counted ?? 0) > 0 { hazards.append(.deletesData) }
        }
        return hazards
    }

    public var deletesRows: Int? { (counted ?? 0) > 0 ? counted : nil }

    public var sql: String {
        // A statement and what it does beyond its text, as a comment after its semicolon.
        var lines = [(lockStatement, "in one REPEATABLE READ transaction; the rows are chosen after it")]
        switch resolution {
        case .delete(_, let target):
            lines.append(("COPY (SELECT * FROM ONLY \(quoted) t WHERE \(selection.condition)) TO STDOUT", "to \(target)data.copy.gz, read back and checked"))
            lines.append(("DELETE FROM ONLY \(quoted) t WHERE \(selection.condition)", "as many rows as archived, or nothing happens"))
        case .setNull(let columns, _, _):
            lines.append(("INSERT INTO pgmend.set_aside (...) SELECT ... FROM ONLY \(quoted) t WHERE \(selection.condition)", "each row's key and old value"))
            lines.append(("UPDATE ONLY \(quoted) t SET \(Self.assignments(columns)) WHERE \(selection.condition)", ""))
        }
        lines += statements.map { ($0.description, "") }
        return lines.enumerated().map { index, line in
            let end = index == lines.count - 1 ? "" : ";"
            return line.0 + end + (line.1.isEmpty ? "" : "  -- " + line.1)
        }.joined(separator: "\n")
    }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        try context.inTransaction(isolation: .repeatableRead) { connection in
            // First: nothing before it takes a snapshot, so what follows sees every writer
            // that held either table committed or rolled back (ChangedUnderLock).
            try connection.execute(lockStatement)
            let count = try connection.scalar("SELECT count(*) FROM ONLY \(quoted) t WHERE \(selection.condition)", as: Int.self) ?? 0
            var note: String?
            if count > 0 {
                switch resolution {
                case .delete(let folder, _):
                    // Deleting would change these tables' rows, which no archive holds.
                    let acting = try connection.query(Self.referencesActingOnDelete, [quoted]).map { try $0.get(0, as: String.self) }
                    guard acting.isEmpty else {
                        throw ChangedUnderLock(table: table, change: "references now act on its deletes (\(acting.joined(separator: ", "))), so its rows are not deleted")
                    }
                    let store = ArchiveStore(directory: context.archiveDirectory(folder))
                    let writer = ArchiveWriter(connection: connection, store: store, progress: context.progress, parallel: false)
                    let (directory, manifest) = try writer.archiveRows(table, selection)
                    let deleted = try connection.query("DELETE FROM ONLY \(quoted) t WHERE \(selection.condition)").affectedRows ?? -1
                    guard Int64(deleted) == manifest.rows else {
                        throw ChangedUnderLock(table: table, change: "\(manifest.rows) rows archived to \(directory), \(deleted) to delete")
                    }
                    note = "\(deleted) row\(deleted == 1 ? "" : "s") archived to \(context.rehearsal ? "a rehearsal folder" : directory), then deleted"
                case .setNull(let columns, let key, let reason):
                    let quotedColumns = columns.map { "t.\(SQLIdentifier($0).quoted)" }
                    let oldValue = columns.count == 1 ? "\(quotedColumns[0])::text" : "ROW(\(quotedColumns.joined(separator: ", ")))::text"
                    if context.journal != nil, !context.rehearsal {
                        let journaled = try connection.query(
                            """
                            INSERT INTO pgmend.set_aside (run_id, step_number, table_name, key, field, reason, json_value, column_value)
                            SELECT $1::bigint, $2::int, $3::text, \(key), $4::text, $5::text, NULL, \(oldValue)
                            FROM ONLY \(quoted) t WHERE \(selection.condition)
                            """, [context.run, context.step, table.description, columns.joined(separator: ", "), reason]
                        ).affectedRows
                        guard journaled == count else {
                            throw ChangedUnderLock(table: table, change: "\(count) rows to set to NULL, \(journaled ?? 0) journaled")
                        }
                    } else {
                        note = "not journaled: no journal in a rehearsal"
                    }
                    let updated = try connection.query("UPDATE ONLY \(quoted) t SET \(Self.assignments(columns)) WHERE \(selection.condition)").affectedRows
                    guard updated == count else {
                        throw ChangedUnderLock(table: table, change: "\(count) rows to set to NULL, \(updated ?? 0) updated")
                    }
                }
            }
            for statement in statements { try connection.query(statement) }
            return EffectOutcome(rowsAffected: count, note: note)
        }
    }
}
