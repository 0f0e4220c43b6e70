import PostgresClient
import SchemaModel

/// Changes the type of columns in one transaction under ACCESS EXCLUSIVE locks on every table
/// involved, taken first: the data the step assessed is checked again under the locks (a row
/// a writer committed while pgmend waited may hold a value that does not convert), values the
/// step leaves out are journaled, then the statements run (dependent views and foreign keys
/// dropped, columns altered, keys re-added NOT VALID, views recreated). A value that no longer
/// passes the check stops it before any change (`ChangedUnderLock`).
public struct AlterColumnTypes: Effect {
    /// A condition that must hold for no row of `table` once the locks are held.
    public struct UnderLockCheck: Sendable {
        public var table: ObjectName
        /// SQL over the table's columns: true for a row that would be lost or refused.
        public var condition: String
        /// What such a row is, after "row(s)", for the message: "whose user_id is not a UUID".
        public var what: String
    }

    /// What the journal gets before the change: a query returning `key`, `field`, `reason`,
    /// `json_value` and `column_value`, as `JournalSetAside` takes it.
    public struct SetAside: Sendable {
        public var table: ObjectName
        public var query: String
    }

    public var summary: String
    /// Every table locked, in the order they are locked.
    public var tables: [ObjectName]
    /// Settings pinned with SET LOCAL after the locks (`TimeZone`).
    public var pinned: [(name: String, value: String)]
    public var checks: [UnderLockCheck]
    public var setAside: [SetAside]
    public var statements: [String]
    public var hazards: [Hazard]

    public var lock: LockLevel { .accessExclusive }
    public var lockTargets: [ObjectName] { tables }
    public var lockTarget: ObjectName? { tables.first }

    var lockStatement: String {
        "LOCK TABLE " + tables.map { QualifiedName(schema: $0.schema, $0.name).quoted }.joined(separator: ", ") + " IN ACCESS EXCLUSIVE MODE"
    }

    public var sql: String {
        var lines = [lockStatement]
        lines += pinned.map { "SET LOCAL \($0.name) = \(SQLLiteral.quoted($0.value))" }
        lines += checks.map { "-- stops here if a row of \($0.table) \($0.what) (committed while pgmend waited)" }
        lines += setAside.map { "-- journal in pgmend.set_aside what \($0.table) leaves out:\n\($0.query)" }
        return (lines + statements).joined(separator: ";\n")
    }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        try context.inTransaction { connection in
            // The lock first: everything after it sees every writer that held the tables.
            try connection.execute(lockStatement)
            for (name, value) in pinned { try connection.setLocal(name, value) }
            for check in checks {
                let quoted = QualifiedName(schema: check.table.schema, check.table.name).quoted
                let rows = try connection.scalar("SELECT count(*) FROM \(quoted) WHERE \(check.condition)", as: Int.self) ?? 0
                if rows > 0 {
                    throw ChangedUnderLock(table: check.table, change: "\(rows) row\(rows == 1 ? "" : "s") \(check.what) now", outcome: "no column was changed")
                }
            }
            var journaled = 0
            if context.journal != nil, !context.rehearsal {
                for item in setAside {
                    journaled += try connection.query(
                        JournalSetAside.statement(item.query), [context.run, context.step, item.table.description]
                    ).affectedRows ?? 0
                }
            }
            for statement in statements { try connection.query(statement) }
            return EffectOutcome(note: journaled > 0 ? "\(journaled) value\(journaled == 1 ? "" : "s") journaled in pgmend.set_aside" : nil)
        }
    }
}
