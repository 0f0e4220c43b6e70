import PostgresClient
import SchemaModel

/// Writes to the journal (`pgmend.set_aside`) the values a step is about to leave out of where
/// it moves them, with what each row held, in one transaction before the move: a value that
/// does not convert, a row a unique group sets aside, a column value `prefer` overrules. The
/// query returns `key`, `field`, `reason`, `json_value` (jsonb) and `column_value` (text); a
/// row already journaled with the same values (by a killed run) is not written twice. Outside
/// a run with a journal (a rehearsal) there is nowhere to write, and it says so.
public struct JournalSetAside: Effect {
    public var table: ObjectName
    public var query: SQL
    /// Rows found when assessed, for the dry run.
    public var count: Int

    public init(table: ObjectName, query: SQL, count: Int) {
        self.table = table
        self.query = query
        self.count = count
    }

    public var summary: String { "journal \(count) value\(count == 1 ? "" : "s") of \(table) set aside, with the row's column value, in pgmend.set_aside" }
    public var sql: String { statement }
    public var lock: LockLevel { .accessShare }
    public var lockTarget: ObjectName? { table }

    var statement: String { Self.statement(query.description) }

    /// The INSERT that journals what `query` returns; `$1` run, `$2` step, `$3` table.
    static func statement(_ query: String) -> String {
        """
        INSERT INTO pgmend.set_aside (run_id, step_number, table_name, key, field, reason, json_value, column_value)
        SELECT $1::bigint, $2::int, $3::text, s.key, s.field, s.reason, s.json_value, s.column_value FROM (\(query)) s
        WHERE NOT EXISTS (SELECT 1 FROM pgmend.set_aside j WHERE j.table_name = $3::text AND j.key = s.key AND j.field = s.field
          AND j.json_value IS NOT DISTINCT FROM s.json_value AND j.column_value IS NOT DISTINCT FROM s.column_value)
        """
    }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        guard context.journal != nil, !context.rehearsal else { return EffectOutcome(note: "not journaled: no journal in a rehearsal") }
        return try context.inTransaction { connection in
            EffectOutcome(rowsAffected: try connection.query(statement, [context.run, context.step, table.description]).affectedRows)
        }
    }
}
