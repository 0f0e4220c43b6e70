import Foundation
import PostgresClient

/// Runs `background` on a thread of its own while `foreground` runs on this one, and returns
/// both results (or the first error). Catalog and data reads use it to keep a second server
/// connection busy; each connection stays on the one thread that opened it.
func concurrently<Foreground, Background: Sendable>(
    _ foreground: () throws -> Foreground,
    background: @escaping @Sendable () throws -> Background
) throws -> (Foreground, Background) {
    let outcome = ThreadOutcome<Background>()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        outcome.set(Result { try background() })
        done.signal()
    }
    let first = Result { try foreground() }
    done.wait()
    return (try first.get(), try outcome.get())
}

/// The result of the background thread, handed over once under a lock.
private final class ThreadOutcome<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Value, Error>?

    func set(_ result: Result<Value, Error>) { lock.withLock { self.result = result } }

    func get() throws -> Value {
        guard let result = lock.withLock({ result }) else {
            throw CocoaError(.featureUnsupported)  // unreachable: read only after the thread signals
        }
        return try result.get()
    }
}

/// Runs `foreground` on `connection` while `background` runs on its second connection
/// (`Connection.sibling`) seeing exactly the same data: the caller's transaction, which must
/// be REPEATABLE READ at its top level, exports its snapshot and the second connection's
/// read-only transaction imports it, as `pg_dump -j` does.
func withSharedSnapshot<Foreground, Background: Sendable>(
    on connection: Connection,
    _ foreground: () throws -> Foreground,
    background: @escaping @Sendable (Connection) throws -> Background
) throws -> (Foreground, Background) {
    let snapshot = try connection.scalar("SELECT pg_export_snapshot()", as: String.self) ?? ""
    // Used by the background thread alone until `concurrently` returns.
    let sibling = HandedOver(try connection.sibling())
    return try concurrently(foreground) {
        try sibling.connection.transaction(isolation: .repeatableRead, readOnly: true) { sibling in
            try sibling.execute("SET TRANSACTION SNAPSHOT \(literal: snapshot)")
            return try background(sibling)
        }
    }
}

/// A connection handed to code that may run on another thread, for the length of one call
/// during which nothing else touches it (a shared-snapshot read's second connection, a
/// backfill worker's share of the run's own).
struct HandedOver: @unchecked Sendable {
    let connection: Connection
    init(_ connection: Connection) { self.connection = connection }
}
