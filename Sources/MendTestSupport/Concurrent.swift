import Foundation
import PostgresClient

/// Work running on a thread of its own, for tests in which another session acts while pgmend
/// runs (each thread opens its own connections: a connection belongs to one thread).
public final class Background<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var result: Result<Value, Error>?

    public init(_ body: @escaping @Sendable () throws -> Value) {
        Thread.detachNewThread { [self] in
            let outcome = Result { try body() }
            lock.withLock { result = outcome }
            done.signal()
        }
    }

    /// Waits for the work to end (at most `seconds`) and returns what it returned or threw.
    public func value(within seconds: Double = 120) throws -> Value {
        guard done.wait(timeout: .now() + seconds) == .success else {
            throw BackgroundTimeout(seconds: seconds)
        }
        done.signal()  // later calls return at once
        guard let result = lock.withLock({ result }) else { throw BackgroundTimeout(seconds: seconds) }
        return try result.get()
    }
}

public struct BackgroundTimeout: Error, CustomStringConvertible {
    public var seconds: Double
    public var description: String { "background work did not end within \(seconds) s" }
}

extension Connection {
    /// Waits until some session waits for a lock on `table` that it has not been granted:
    /// the moment at which a test lets its other session commit. Fails after `seconds`.
    public func waitForLockWaiter(on table: String, seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let waiting = try scalar(
                "SELECT count(*) FROM pg_locks WHERE relation = to_regclass(\(bind: table)) AND NOT granted", as: Int.self) ?? 0
            if waiting > 0 { return }
            Thread.sleep(forTimeInterval: 0.002)
        }
        throw PostgresError(kind: .usage, message: "no session waited for a lock on \(table) within \(seconds) s")
    }
}

/// A named session in the isolation tester's sense ("app", "observer"): one connection that
/// only its own serial queue touches, so a test can drive it from any thread, from pgmend's
/// progress callbacks too, and keep its transaction open while pgmend waits for a lock.
/// Its `application_name` is its name, which tells its backend from pgmend's.
public final class NamedSession: @unchecked Sendable {
    public let name: String
    private let queue: DispatchQueue
    private var connection: Connection?

    public init(_ name: String, conninfo: String) throws {
        self.name = name
        queue = DispatchQueue(label: "pgmend-test-session-\(name)")
        try queue.sync {
            // The application's session: row-level security applies to it as the server decides.
            let connection = try Connection(conninfo, applicationName: name, rowSecurity: true)
            try connection.execute("SET search_path = public")
            self.connection = connection
        }
    }

    /// Runs `body` with the session's connection and waits for it.
    public func run<T>(_ body: (Connection) throws -> T) throws -> T {
        try queue.sync {
            guard let connection else { throw PostgresError(kind: .usage, message: "session \(name) is closed") }
            return try body(connection)
        }
    }

    /// Runs a statement in the session (a script when nothing is bound).
    public func execute(_ sql: SQL) throws {
        try run { _ = try sql.hasBindings ? $0.query(sql) : $0.execute(sql) }
    }

    public func scalar<T: PostgresDecodable>(_ sql: SQL, as type: T.Type = T.self) throws -> T? {
        try run { try $0.scalar(sql, as: type) }
    }

    /// Every row's first column as text.
    public func column(_ sql: SQL) throws -> [String] {
        try run { try $0.query(sql).map { try $0.get(0, as: String.self) } }
    }

    /// Ends an open transaction, if any (for cleanup after a failed expectation).
    public func rollbackIfOpen() {
        _ = try? run { connection in
            if connection.isInTransaction { _ = try connection.execute("ROLLBACK") }
        }
    }
}

extension Connection {
    /// Waits until a backend of `application` in this database waits for a lock it has not
    /// been granted, of any kind: a table's (`relation ExclusiveLock`), a row's writer
    /// (`transactionid ShareLock`). Returns its lock type and mode. Fails after `seconds`.
    public func waitForLockWait(by application: String, seconds: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let waiting = try scalar(
                """
                SELECT l.locktype || ' ' || l.mode FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE a.application_name = \(bind: application) AND a.datname = current_database() AND NOT l.granted LIMIT 1
                """, as: String.self)
            if let waiting { return waiting }
            Thread.sleep(forTimeInterval: 0.002)
        }
        throw PostgresError(kind: .usage, message: "no session of \(application) waited for a lock within \(seconds) s")
    }

    /// Waits until no backend of `application` in this database waits for a lock: after
    /// `waitForLockWait(by:)`, the moment its wait ended. While the lock it waited for is still
    /// held, that is its `lock_timeout` (a test that wants a retry releases the lock then).
    /// Fails after `seconds`.
    public func waitForNoLockWait(by application: String, seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let waiting = try scalar(
                """
                SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE a.application_name = \(bind: application) AND a.datname = current_database() AND NOT l.granted
                """, as: Int.self) ?? 0
            if waiting == 0 { return }
            Thread.sleep(forTimeInterval: 0.002)
        }
        throw PostgresError(kind: .usage, message: "a session of \(application) still waited for a lock after \(seconds) s")
    }

    /// Waits until backend `pid` runs a statement that starts with `prefix` (state active):
    /// the moment a test may cancel it. Fails after `seconds`.
    public func waitForStatement(of pid: Int32, startingWith prefix: String, seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let running = try scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = \(bind: pid) AND state = 'active' AND starts_with(query, \(bind: prefix))", as: Int.self) ?? 0
            if running > 0 { return }
            Thread.sleep(forTimeInterval: 0.002)
        }
        throw PostgresError(kind: .usage, message: "backend \(pid) did not run \(prefix) within \(seconds) s")
    }
}

extension SQL.StringInterpolation {
    /// Text a test writes into its own setup as it is: a table name with its schema
    /// (`public.t`), an expression the test varies. Tests only; `StatementSourceTests` keeps
    /// it out of `Sources/MendKit`.
    public mutating func appendInterpolation<T>(raw value: T) { appendLiteral(String(describing: value)) }
}
