import Foundation
import PostgresClient

/// Which failures are tried again, and how long to wait first: decided here for the runner
/// (a step's effect, assessed again before it is retried) and for a backfill's batches alike.
enum LockRetry {
    /// A lock not granted in time, or a deadlock PostgreSQL broke by aborting this
    /// transaction: either way nothing of the transaction committed, so it can be tried again.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError else { return false }
        return error.sqlState == .lockNotAvailable || error.sqlState == .deadlockDetected
    }

    /// Milliseconds to wait before retry `attempt` (from 1): doubling from 100 ms, at most 5 s.
    static func backoff(_ attempt: Int) -> Int { min(5000, 100 << min(attempt - 1, 10)) }

    /// Waits the backoff before retry `attempt`.
    static func pause(before attempt: Int) {
        Thread.sleep(forTimeInterval: Double(backoff(attempt)) / 1000)
    }

    /// Runs `body`, again after a backoff while it fails with a retryable error, at most
    /// `retries` times more; then the error is thrown.
    static func retrying<T>(_ retries: Int, _ body: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try body()
            } catch where isRetryable(error) && attempt < retries {
                attempt += 1
                pause(before: attempt)
            }
        }
    }
}
