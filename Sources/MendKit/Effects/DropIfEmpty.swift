import PostgresClient
import SchemaModel

/// Drops a table that was empty when assessed, only if it holds no row under an ACCESS
/// EXCLUSIVE lock taken first in the dropping transaction (READ COMMITTED: the count's snapshot
/// comes after the lock). A row committed meanwhile keeps the table (`ChangedUnderLock`).
public struct DropIfEmpty: Effect {
    public var table: ObjectName

    public init(_ table: ObjectName) { self.table = table }

    var name: QualifiedName { table.sqlName }
    public var summary: String { "drop the empty table \(table), if it is still empty under its lock" }
    public var sql: String { "\(lockStatement);\n-- not dropped if a row was committed meanwhile\n\(dropStatement)" }
    var lockStatement: SQL { "LOCK TABLE \(name) IN ACCESS EXCLUSIVE MODE" }
    var dropStatement: SQL { "DROP TABLE \(name)" }
    public var lock: LockLevel { .accessExclusive }
    public var lockTarget: ObjectName? { table }
    public var hazards: [Hazard] { [.accessExclusiveLock] }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        try context.inTransaction { connection in
            try connection.execute(lockStatement)
            // A partition attached or a child added since the assessment: DROP TABLE would take
            // a partition with it (and refuse a child); the assessment decides again.
            let children = try connection.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass(\(bind: name.quoted))", as: Int64.self) ?? 0
            guard children == 0 else {
                throw ChangedUnderLock(table: table, change: "it was empty when assessed and has \(children) partition\(children == 1 ? "" : "s") or inheritance child\(children == 1 ? "" : "ren") now")
            }
            let rows = try connection.scalar("SELECT count(*) FROM ONLY \(name)" as SQL, as: Int64.self) ?? 0
            guard rows == 0 else {
                throw ChangedUnderLock(table: table, change: "it was empty when assessed and holds \(rows) row\(rows == 1 ? "" : "s") now")
            }
            try connection.execute(dropStatement)
            return EffectOutcome(rowsAffected: 0)
        }
    }
}
