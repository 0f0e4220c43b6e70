import PostgresClient
import SchemaModel

/// One or more statements in one transaction: all of them happen or none does (CREATE TABLE
/// with its indexes; CREATE TYPE with the ALTER that uses it).
public struct AtomicSQL: Effect {
    public var summary: String
    public var statements: [SQL]
    public var lock: LockLevel
    public var lockTargets: [ObjectName]
    public var lockTarget: ObjectName? { lockTargets.first }
    public var hazards: [Hazard]
    /// Plan text run as written (an `sql` step): sent as one script, which may hold several
    /// statements. Otherwise each statement is one protocol message that takes one only.
    public var raw: Bool

    public init(_ summary: String, _ statements: [SQL], lock: LockLevel, on table: ObjectName? = nil, hazards: [Hazard] = [], raw: Bool = false) {
        self.init(summary, statements, lock: lock, on: table.map { [$0] } ?? [], hazards: hazards, raw: raw)
    }

    /// With every table it locks (`lock` on each), the first named when one cannot be had.
    public init(_ summary: String, _ statements: [SQL], lock: LockLevel, on tables: [ObjectName], hazards: [Hazard] = [], raw: Bool = false) {
        self.summary = summary
        self.statements = statements
        self.lock = lock
        self.lockTargets = tables
        self.hazards = hazards
        self.raw = raw
    }

    public var sql: String { statements.joined(separator: ";\n").description }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        try context.inTransaction { connection in
            var rows: Int?
            for statement in statements {
                let result = raw ? try connection.execute(statement) : try connection.query(statement)
                rows = result.affectedRows ?? rows
            }
            return EffectOutcome(rowsAffected: rows)
        }
    }
}
