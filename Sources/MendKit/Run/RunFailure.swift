import Foundation
import PostgresClient
import SchemaModel

/// Who holds locks on `tables`, for the message when a lock could not be had in time.
func lockHolders(of tables: [ObjectName], on connection: Connection) throws -> [String] {
    guard !tables.isEmpty else { return [] }
    return try connection.query(
        """
        SELECT format('pid %s (%s, %s, %s since %s): %s', a.pid, coalesce(nullif(a.application_name, ''), 'no application name'),
                      l.mode, a.state, to_char(coalesce(a.xact_start, a.backend_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                      left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80))
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.relation = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) t) AND l.granted AND l.pid <> pg_backend_pid()
        ORDER BY a.pid
        """, [tables.map { QualifiedName(schema: $0.schema, $0.name).quoted }]
    ).map { try $0.get(0, as: String.self) }
}

/// Why a run stopped.
public enum RunFailure: Error, Sendable, CustomStringConvertible {
    case lockNotGranted(statement: String, attempts: Int, timeout: Int, holders: [String])
    case alreadyRunning(holders: [LockHolder])
    /// The run lock stayed with a pgmend whose client has gone, through every retry.
    case abandonedRunLock(holders: [LockHolder], attempts: Int, timeout: Int)
    case predictionMismatch(step: Int, changes: [SchemaChange])

    /// A lock could not be had (exit 4), as opposed to a run that went wrong.
    public var isLock: Bool {
        switch self {
        case .lockNotGranted, .alreadyRunning, .abandonedRunLock: true
        case .predictionMismatch: false
        }
    }

    public var description: String {
        switch self {
        case .lockNotGranted(let statement, let attempts, let timeout, let holders):
            let who = holders.isEmpty ? "no holder found (it may have finished)" : "held by " + holders.joined(separator: "; ")
            return "could not get the lock for `\(statement.prefix(120))` in \(attempts) attempts of lock_timeout \(PlanDuration.text(milliseconds: timeout)): \(who)"
        case .alreadyRunning(let holders):
            let who = holders.map(\.description).joined(separator: "; ")
            return "another pgmend run holds this database's lock: \(who.isEmpty ? "a session that has since ended" : who)"
        case .abandonedRunLock(let holders, let attempts, let timeout):
            let who = holders.map(\.description).joined(separator: "; ")
            return "the run lock is held by a pgmend whose client has gone (\(who)); it did not end in \(attempts) attempts of lock_timeout \(PlanDuration.text(milliseconds: timeout)) (it ends when its statement does)"
        case .predictionMismatch(let step, let changes):
            return "after step \(step) the database differs from the prediction:\n" + changes.map { "  \($0.description)" }.joined(separator: "\n")
        }
    }
}
