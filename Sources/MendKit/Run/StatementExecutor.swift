import Foundation
import PostgresClient
import SchemaModel

/// Runs one action's SQL with `lock_timeout` (and `statement_timeout`) set, retrying with
/// backoff when the lock is not granted in time. It never waits for a lock without a timeout.
struct StatementExecutor {
    let connection: Connection
    let settings: PlanSettings
    /// Milliseconds to wait before retry `n` (from 1): doubling from 100 ms, at most 5 s.
    var backoff: (Int) -> Int = { attempt in min(5000, 100 << min(attempt - 1, 10)) }

    struct Outcome {
        var rowsAffected: Int?
        var attempts: Int
    }

    /// Runs `sql`; inside a transaction of its own when `transactional`.
    func run(_ sql: String, transactional: Bool, lockTarget: ObjectName?) throws -> Outcome {
        try run(transactional: transactional, lockTarget: lockTarget, describing: sql) { try $0.execute(sql).affectedRows }
    }

    /// Runs `body` with the timeouts set: in a transaction of its own when `transactional`
    /// (of `isolation`), in a savepoint when already in one (a rehearsal), so that work that
    /// timed out on a lock can be retried. `body` returns the rows it affected, if it knows.
    func run(
        transactional: Bool, isolation: Connection.IsolationLevel? = nil, lockTarget: ObjectName?,
        describing sql: String, _ body: (Connection) throws -> Int?
    ) throws -> Outcome {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let rows: Int?
                if transactional && !connection.isInTransaction {
                    rows = try connection.transaction(isolation: isolation) { connection in
                        try applyTimeouts(local: true)
                        return try body(connection)
                    }
                } else if connection.isInTransaction {
                    try connection.execute("SAVEPOINT pgmend_statement")
                    do {
                        try applyTimeouts(local: true)
                        rows = try body(connection)
                        try connection.execute("RELEASE SAVEPOINT pgmend_statement")
                    } catch {
                        _ = try? connection.execute("ROLLBACK TO SAVEPOINT pgmend_statement; RELEASE SAVEPOINT pgmend_statement")
                        throw error
                    }
                } else {
                    try applyTimeouts(local: false)
                    rows = try body(connection)
                }
                return Outcome(rowsAffected: rows, attempts: attempt)
            } catch let error as PostgresError where error.sqlState == .lockNotAvailable {
                guard attempt <= settings.retries else {
                    throw RunFailure.lockNotGranted(
                        statement: sql, attempts: attempt, timeout: settings.lockTimeout,
                        holders: (try? lockHolders(lockTarget)) ?? [])
                }
                Thread.sleep(forTimeInterval: Double(backoff(attempt)) / 1000)
            }
        }
    }

    private func applyTimeouts(local: Bool) throws {
        let set = local ? connection.setLocal : connection.setSession
        try set("lock_timeout", "\(settings.lockTimeout)ms")
        try set("statement_timeout", "\(settings.statementTimeout)ms")
    }

    /// Who holds locks on the table the statement needed, for the message when retries run out.
    func lockHolders(_ table: ObjectName?) throws -> [String] {
        guard let table else { return [] }
        return try connection.query(
            """
            SELECT format('pid %s (%s, %s, %s since %s): %s', a.pid, coalesce(nullif(a.application_name, ''), 'no application name'),
                          l.mode, a.state, to_char(coalesce(a.xact_start, a.backend_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                          left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80))
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.relation = to_regclass($1) AND l.granted AND l.pid <> pg_backend_pid()
            ORDER BY a.pid
            """, [QualifiedName(schema: table.schema, table.name).quoted]
        ).map { try $0.get(0, as: String.self) }
    }
}

/// Why a run stopped.
public enum RunFailure: Error, Sendable, CustomStringConvertible {
    case lockNotGranted(statement: String, attempts: Int, timeout: Int, holders: [String])
    case alreadyRunning(holders: [LockHolder])
    case predictionMismatch(step: Int, changes: [SchemaChange])

    public var description: String {
        switch self {
        case .lockNotGranted(let statement, let attempts, let timeout, let holders):
            let who = holders.isEmpty ? "no holder found (it may have finished)" : "held by " + holders.joined(separator: "; ")
            return "could not get the lock for `\(statement.prefix(120))` in \(attempts) attempts of lock_timeout \(PlanDuration.text(milliseconds: timeout)): \(who)"
        case .alreadyRunning(let holders):
            let who = holders.map(\.description).joined(separator: "; ")
            return "another pgmend run holds this database's lock: \(who.isEmpty ? "a session that has since ended" : who)"
        case .predictionMismatch(let step, let changes):
            return "after step \(step) the database differs from the prediction:\n" + changes.map { "  \($0.description)" }.joined(separator: "\n")
        }
    }
}
