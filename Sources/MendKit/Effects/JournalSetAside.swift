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
    public var sql: String { Self.statement(query, run: "$1", step: "$2", table: "$3").description }
    public var lock: LockLevel { .accessShare }
    public var lockTarget: ObjectName? { table }

    /// The INSERT that journals what `query` returns for `table` (`schema.table`, unquoted) in
    /// step `step` of run `run`.
    static func statement(_ query: SQL, run: Int64, step: Int, table: ObjectName) -> SQL {
        statement(query, run: "\(bind: run)", step: "\(bind: step)", table: "\(bind: table.description)")
    }

    /// The INSERT with `run`, `step` and `table` as given: bound values, or (for people) `$1`,
    /// `$2`, `$3`.
    static func statement(_ query: SQL, run: SQL, step: SQL, table: SQL) -> SQL {
        """
        INSERT INTO pgmend.set_aside (run_id, step_number, table_name, key, field, reason, json_value, column_value)
        SELECT \(run)::bigint, \(step)::int, \(table)::text, s.key, s.field, s.reason, s.json_value, s.column_value FROM (\(query)) s
        WHERE NOT EXISTS (SELECT 1 FROM pgmend.set_aside j WHERE j.table_name = \(table)::text AND j.key = s.key AND j.field = s.field
          AND j.json_value IS NOT DISTINCT FROM s.json_value AND j.column_value IS NOT DISTINCT FROM s.column_value)
        """
    }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        guard context.journal != nil, !context.rehearsal else { return EffectOutcome(note: "not journaled: no journal in a rehearsal") }
        return try context.inTransaction { connection in
            EffectOutcome(rowsAffected: try connection.query(Self.statement(query, run: context.run, step: context.step, table: table)).affectedRows)
        }
    }
}
