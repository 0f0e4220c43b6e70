import Foundation
import PostgresClient
import SchemaModel

/// The sessions in the way of a lock on `tables` (nil: any table of this database), one line
/// each: `public.t: pid N (app, RowExclusiveLock, idle in transaction since T): query`.
/// `accessExclusiveOnly`: only ACCESS EXCLUSIVE, held or queued ahead, the one mode a read's
/// ACCESS SHARE waits for; otherwise every lock granted on them. Read after the wait failed, so
/// it is what is in the way now, not necessarily then.
func lockHolders(of tables: [ObjectName]?, accessExclusiveOnly: Bool = false, on connection: Connection) throws -> [String] {
    let names = tables.map { $0.map { $0.sqlName.quoted } }
    return try connection.query(
        """
        SELECT format('%I.%I: pid %s (%s, %s%s, %s since %s): %s', n.nspname, c.relname, a.pid,
                      coalesce(nullif(a.application_name, ''), 'no application name'),
                      l.mode, CASE WHEN l.granted THEN '' ELSE ' awaited ahead of pgmend' END, a.state,
                      to_char(coalesce(a.xact_start, a.backend_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                      left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80))
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.pid <> pg_backend_pid()
          AND CASE WHEN \(bind: accessExclusiveOnly) THEN l.mode = 'AccessExclusiveLock' ELSE l.granted END
          AND (\(bind: names)::text[] IS NULL OR l.relation = ANY (SELECT to_regclass(t) FROM unnest(\(bind: names)::text[]) t))
        ORDER BY l.granted DESC, n.nspname, c.relname, a.pid
        """
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
