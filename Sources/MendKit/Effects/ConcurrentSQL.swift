import Foundation
import PostgresClient
import SchemaModel

/// A statement that cannot run in a transaction block: `CREATE INDEX CONCURRENTLY`, `DROP
/// INDEX CONCURRENTLY`, `VACUUM`. Its timeouts are set for the session around it and put back
/// after. A concurrent index build that was cancelled, timed out or killed leaves an INVALID
/// index behind: when `index` names the index it builds, an invalid one of that name is found
/// and dropped (concurrently) before the build, so a retry or the next run starts clean. A
/// rehearsal runs `rehearsalSQL`, its transactional form.
public struct ConcurrentSQL: Effect {
    public var summary: String
    public var statement: SQL
    public var rehearsalSQL: SQL?
    public var lock: LockLevel
    public var lockTarget: ObjectName?
    public var hazards: [Hazard]
    /// The index the statement builds, to find an invalid leftover of it.
    public var index: ObjectName?

    public init(
        _ summary: String, _ statement: SQL, rehearsalSQL: SQL? = nil, lock: LockLevel, on table: ObjectName? = nil,
        hazards: [Hazard] = [], builds index: ObjectName? = nil
    ) {
        self.summary = summary
        self.statement = statement
        self.rehearsalSQL = rehearsalSQL
        self.lock = lock
        self.lockTarget = table
        self.hazards = hazards
        self.index = index
    }

    public var sql: String { statement.description }
    public var transactional: Bool { false }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        if context.rehearsal || context.connection.isInTransaction {
            // Without a transactional form there is nothing a rehearsal can run: it says so.
            guard let form = rehearsalSQL else { return EffectOutcome(note: "not rehearsed: it runs only outside a transaction") }
            return try context.inTransaction { connection in
                EffectOutcome(rowsAffected: try watchingBuild(context, on: connection) { try connection.execute(form).affectedRows })
            }
        }
        return try context.outsideTransaction { connection in
            if let index, let leftover = try Self.invalidIndex(index, on: connection) {
                try connection.execute("DROP INDEX CONCURRENTLY IF EXISTS \(leftover)" as SQL)
            }
            let result = try watchingBuild(context, on: connection) { try connection.execute(statement) }
            context.fault(.inside)
            return EffectOutcome(rowsAffected: result.affectedRows)
        }
    }

    /// `body` with the index build's progress reported (`pg_stat_progress_create_index`), when
    /// the statement builds one (`index` names only an index the statement builds).
    private func watchingBuild<T>(_ context: EffectContext, on connection: Connection, _ body: () throws -> T) throws -> T {
        guard let index else { return try body() }
        return try IndexBuildWatch.watching(index, on: connection, progress: context.progress, body)
    }

    /// The name of `index` when it exists and is not valid (a build that did not finish).
    static func invalidIndex(_ index: ObjectName, on connection: Connection) throws -> QualifiedName? {
        let name = index.sqlName
        let invalid = try connection.scalar(
            "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(\(bind: name.quoted))", as: Bool.self)
        return invalid == true ? name : nil
    }
}
