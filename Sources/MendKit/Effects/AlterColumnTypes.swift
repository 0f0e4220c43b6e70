import Foundation
import PostgresClient
import SchemaModel

/// Changes the type of columns in one transaction under ACCESS EXCLUSIVE locks on every table
/// involved, taken first, so everything after sees every writer that held them: values the
/// step leaves out are journaled (decided under the locks), then the statements run (dependent
/// views and foreign keys dropped, columns altered, keys re-added NOT VALID, views recreated).
/// A value committed while pgmend waited that the conversion refuses rolls all of it back
/// (`ChangedUnderLock`): the cast itself is the check, so the table is not read twice.
public struct AlterColumnTypes: Effect {
    /// What the journal gets before the change: a query returning `key`, `field`, `reason`,
    /// `json_value` and `column_value`, as `JournalSetAside` takes it.
    public struct SetAside: Sendable {
        public var table: ObjectName
        public var query: SQL
    }

    public var summary: String
    /// Every table locked, in the order they are locked.
    public var tables: [ObjectName]
    /// Settings pinned with SET LOCAL after the locks (`TimeZone`).
    public var pinned: [(name: String, value: String)]
    /// What it means when the conversion refuses a value (SQLSTATE 22P02) under the locks: a
    /// row committed while pgmend waited, which the assessment could not see. The change then
    /// stops, nothing changed (`ChangedUnderLock`). nil: such an error fails the step.
    public var refusal: String?
    public var setAside: [SetAside]
    public var statements: [SQL]
    public var hazards: [Hazard]
    /// Values the change sets to NULL, as the assessment counted them (`deletes_data`).
    public var deletesRows: Int?

    public var lock: LockLevel { .accessExclusive }
    public var lockTargets: [ObjectName] { tables }
    public var lockTarget: ObjectName? { tables.first }

    var lockStatement: SQL {
        "LOCK TABLE \(tables.map { "\($0.sqlName)" as SQL }) IN ACCESS EXCLUSIVE MODE"
    }

    public var sql: String {
        var lines = [lockStatement.description]
        // For people: what `Connection.setLocal` sends.
        lines += pinned.map { "SET LOCAL \($0.name) = " + ("\(literal: $0.value)" as SQL).description }
        if let refusal { lines.append("-- a value the conversion refuses stops it here, nothing changed: \(refusal)") }
        lines += setAside.map { "-- journal in pgmend.set_aside what \($0.table) leaves out:\n\($0.query)" }
        return (lines + statements.map(\.description)).joined(separator: ";\n")
    }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        var locked = Date()
        var outcome = try context.inTransaction { connection in
            // The lock first: everything after it sees every writer that held the tables.
            try connection.execute(lockStatement)
            locked = Date()
            for (name, value) in pinned { try connection.setLocal(name, value) }
            var journaled = 0
            if context.journal != nil, !context.rehearsal {
                for item in setAside {
                    journaled += try connection.query(
                        JournalSetAside.statement(item.query, run: context.run, step: context.step, table: item.table)
                    ).affectedRows ?? 0
                }
            }
            do {
                for statement in statements { try connection.query(statement) }
            } catch let error as PostgresError where error.sqlState == .invalidTextRepresentation && refusal != nil {
                throw ChangedUnderLock(table: tables.first ?? ObjectName(schema: "public", name: "?"), change: "\(refusal ?? ""): \(error.message)", outcome: "no column was changed")
            }
            return EffectOutcome(note: journaled > 0 ? "\(journaled) value\(journaled == 1 ? "" : "s") journaled in pgmend.set_aside" : nil)
        }
        // From the lock granted to the commit: how long reads and writes of the tables waited.
        outcome.longestTransaction = Date().timeIntervalSince(locked)
        return outcome
    }
}
