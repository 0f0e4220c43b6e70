import Foundation
import PostgresClient

/// The database's run lock, held by a real run and a rehearsal for as long as they last, so
/// that no two of them work on one database at once.
///
/// A pgmend killed in the middle of a statement leaves its backend holding the run lock (and
/// its table locks) until the server notices, which is when it next talks to the client. To
/// tell such a holder from a live run, every run also holds a second advisory lock, keyed by
/// its main backend's pid, on an idle connection of its own: an idle backend reads from its
/// client and so ends the moment the process dies. A holder of our application name without
/// that lock is a pgmend whose client has gone; it is waited for with the plan's
/// `lock_timeout` and `retries`, as any lock is. Any other holder is refused at once.
final class RunLock {
    static let key = AdvisoryLockKey(name: "pgmend run")

    /// The lock that says the client of backend `pid` is alive.
    static func aliveKey(backend pid: Int32) -> AdvisoryLockKey {
        AdvisoryLockKey(name: "pgmend client alive \(pid)")
    }

    private let connection: Connection
    /// Idle for the whole run: its lock ends with the process. nil when it could not be opened
    /// (no connection slot left): the run goes on, and another one waits for it as for a
    /// holder whose client has gone, then gives up.
    private var aliveConnection: Connection?

    private init(connection: Connection, aliveConnection: Connection?) {
        self.connection = connection
        self.aliveConnection = aliveConnection
    }

    /// Takes the run lock, waiting only for holders whose client has gone.
    /// - Parameter note: told once when it waits, and why.
    static func acquire(on connection: Connection, settings: PlanSettings, note: (String) -> Void) throws -> RunLock {
        // Alive before it holds the run lock: another run never sees the run lock held by a
        // live client without its alive lock.
        let alive = try? connection.recipe.connect()
        _ = try alive?.tryAdvisoryLock(aliveKey(backend: connection.backendPID))
        let lock = RunLock(connection: connection, aliveConnection: alive)
        let ours = connection.parameterStatus("application_name") ?? "pgmend"
        var attempts = 0
        var told = false
        var unseen = 0
        while true {
            if try connection.tryAdvisoryLock(key) { return lock }
            let holders = try connection.advisoryLockHolders(key)
            if holders.isEmpty {
                // Released in between; a holder that never shows in pg_stat_activity is refused.
                unseen += 1
                if unseen > 100 { throw RunFailure.alreadyRunning(holders: []) }
                continue
            }
            let gone = try holders.allSatisfy { holder in
                guard holder.applicationName == ours else { return false }
                return try connection.advisoryLockHolders(aliveKey(backend: holder.pid)).isEmpty
            }
            guard gone else { throw RunFailure.alreadyRunning(holders: holders) }
            guard attempts <= settings.retries else {
                throw RunFailure.abandonedRunLock(holders: holders, attempts: attempts, timeout: settings.lockTimeout)
            }
            if !told {
                told = true
                note(
                    "the run lock is " + holders.map { "held by pgmend pid \($0.pid) whose client has gone" }.joined(separator: "; ")
                        + "; waiting for it to end (lock_timeout \(PlanDuration.text(milliseconds: settings.lockTimeout)), \(settings.retries) retries)")
            }
            if attempts > 0 { Thread.sleep(forTimeInterval: Double(LockRetry.backoff(attempts)) / 1000) }
            attempts += 1
            if try waitForLock(on: connection, timeout: settings.lockTimeout) { return lock }
        }
    }

    /// `pg_advisory_lock` with `lock_timeout` set for the session, put back afterwards: true
    /// when granted in time.
    private static func waitForLock(on connection: Connection, timeout: Int) throws -> Bool {
        let previous = try connection.scalar("SELECT current_setting('lock_timeout')", as: String.self) ?? "0"
        try connection.setSession("lock_timeout", "\(timeout)ms")
        defer { if connection.isOpen { _ = try? connection.setSession("lock_timeout", previous) } }
        do {
            try connection.query("SELECT pg_advisory_lock(\(bind: key.value))")
            return true
        } catch let error as PostgresError where error.sqlState == .lockNotAvailable {
            return false
        }
    }

    /// Lets the next run in.
    func release() {
        _ = try? connection.advisoryUnlock(Self.key)
        aliveConnection = nil
    }
}
