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
                "SELECT count(*) FROM pg_locks WHERE relation = to_regclass($1) AND NOT granted", [table], as: Int.self) ?? 0
            if waiting > 0 { return }
            Thread.sleep(forTimeInterval: 0.002)
        }
        throw PostgresError(kind: .usage, message: "no session waited for a lock on \(table) within \(seconds) s")
    }
}
