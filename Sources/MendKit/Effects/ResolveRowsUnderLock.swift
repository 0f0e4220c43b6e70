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
        /// Journal, then set `columns` to NULL; `reason` is what the journal says about it.
        /// The journal names each row by its primary key as `RowKey` writes it (read from the
        /// catalog under the lock), its `field` is
        /// the column (`a, b` for several) and its `column_value` the old value as text (the
        /// row of them, `(1,x)`, for several).
        case setNull(columns: [String], reason: String)
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

    /// Foreign keys that reference `table` with an ON DELETE action that changes their own
    /// rows: one line each, `memory_access_logs memory_access_logs_memory_id_fkey (ON DELETE CASCADE)`.
    public static func actingOnDelete(_ table: QualifiedName) -> SQL {
        """
        SELECT c.conrelid::regclass::text || ' ' || c.conname::text || ' (ON DELETE '
            || CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END || ')'
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.confrelid = to_regclass(\(bind: table.quoted)) AND c.confdeltype IN ('c', 'n', 'd')
        ORDER BY 1
        """
    }

    static func assignments(_ columns: [String]) -> SQL {
        columns.map { "\(ident: $0) = NULL" as SQL }.joined()
    }

    var name: QualifiedName { table.sqlName }
    var lockStatement: SQL {
        "LOCK TABLE \(lockTargets.map { "\($0.sqlName)" as SQL }) IN \(lock.modeSQL) MODE"
    }
    var countStatement: SQL { "SELECT count(*) FROM ONLY \(name) t WHERE \(selection.condition)" }
    var deleteStatement: SQL { "DELETE FROM ONLY \(name) t WHERE \(selection.condition)" }
    func updateStatement(_ columns: [String]) -> SQL { "UPDATE ONLY \(name) t SET \(Self.assignments(columns)) WHERE \(selection.condition)" }

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
        var lines: [(SQL, String)] = [(lockStatement, "in one REPEATABLE READ transaction; the rows are chosen after it")]
        switch resolution {
        case .delete(_, let target):
            lines.append(("COPY (SELECT * FROM ONLY \(name) t WHERE \(selection.condition)) TO STDOUT", "to \(target)data.copy.gz, read back and checked"))
            lines.append((deleteStatement, "as many rows as archived, or nothing happens"))
        case .setNull(let columns, _):
            lines.append(("INSERT INTO pgmend.set_aside (...) SELECT ... FROM ONLY \(name) t WHERE \(selection.condition)", "each row's key and old value"))
            lines.append((updateStatement(columns), ""))
        }
        lines += statements.map { ($0, "") }
        return lines.enumerated().map { index, line in
            let end = index == lines.count - 1 ? "" : ";"
            return line.0.description + end + (line.1.isEmpty ? "" : "  -- " + line.1)
        }.joined(separator: "\n")
    }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        try context.inTransaction(isolation: .repeatableRead) { connection in
            // First: nothing before it takes a snapshot, so what follows sees every writer
            // that held either table committed or rolled back (ChangedUnderLock).
            try connection.execute(lockStatement)
            let count = try connection.scalar(countStatement, as: Int.self) ?? 0
            var note: String?
            if count > 0 {
                switch resolution {
                case .delete(let folder, _):
                    note = try archiveAndDelete(count, to: folder, context, connection)
                case .setNull(let columns, let reason):
                    note = try journalAndSetNull(count, columns: columns, reason: reason, context, connection)
                }
            }
            for statement in statements { try connection.query(statement) }
            return EffectOutcome(rowsAffected: count, note: note)
        }
    }

    /// `delete`: the rows archived, read back, then deleted, as many as archived.
    private func archiveAndDelete(_ count: Int, to folder: String, _ context: EffectContext, _ connection: Connection) throws -> String {
        // Deleting would change these tables' rows, which no archive holds.
        let acting = try connection.query(Self.actingOnDelete(name)).map { try $0.get(0, as: String.self) }
        guard acting.isEmpty else {
            throw ChangedUnderLock(table: table, change: "references now act on its deletes (\(acting.joined(separator: ", "))), so its rows are not deleted")
        }
        let store = ArchiveStore(directory: context.archiveDirectory(folder))
        let writer = ArchiveWriter(connection: connection, store: store, progress: context.progress, parallel: false)
        let (directory, manifest) = try writer.archiveRows(table, selection)
        let deleted = try connection.query(deleteStatement).affectedRows ?? -1
        guard Int64(deleted) == manifest.rows else {
            throw ChangedUnderLock(table: table, change: "\(manifest.rows) rows archived to \(directory), \(deleted) to delete")
        }
        return "\(deleted) row\(deleted == 1 ? "" : "s") archived to \(context.rehearsal ? "a rehearsal folder" : directory), then deleted"
    }

    /// `setNull`: each row's old value journaled with its key (`RowKey`, read from the catalog
    /// under the lock), then the columns set to NULL, as many rows as journaled.
    private func journalAndSetNull(
        _ count: Int, columns: [String], reason: String, _ context: EffectContext, _ connection: Connection
    ) throws -> String? {
        var note: String?
        let values: [SQL] = columns.map { "t.\(ident: $0)" }
        let oldValue: SQL = columns.count == 1 ? "\(values[0])::text" : "ROW(\(values))::text"
        if context.journal != nil, !context.rehearsal {
            let key = try RowKey.primaryKey(of: name, on: connection)
            let journaled = try connection.query(
                """
                INSERT INTO pgmend.set_aside (run_id, step_number, table_name, key, field, reason, json_value, column_value)
                SELECT \(bind: context.run)::bigint, \(bind: context.step)::int, \(bind: table.description)::text, \(key.text(of: SQLIdentifier("t"))),
                       \(bind: columns.joined(separator: ", "))::text, \(bind: reason)::text, NULL, \(oldValue)
                FROM ONLY \(name) t WHERE \(selection.condition)
                """
            ).affectedRows
            guard journaled == count else {
                throw ChangedUnderLock(table: table, change: "\(count) rows to set to NULL, \(journaled ?? 0) journaled")
            }
        } else {
            note = "not journaled: no journal in a rehearsal"
        }
        let updated = try connection.query(updateStatement(columns)).affectedRows
        guard updated == count else {
            throw ChangedUnderLock(table: table, change: "\(count) rows to set to NULL, \(updated ?? 0) updated")
        }
        return note
    }
}
