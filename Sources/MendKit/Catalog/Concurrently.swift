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
    // Used by the background thread alone until `concurrently` returns. A second connection
    // not yet open is opened there, while this one starts its part (3 to 4 ms on the demo
    // database), and kept afterwards.
    let kept = connection.usableSibling().map(HandedOver.init)
    let recipe = connection.recipe
    let opened = OpenedConnection()
    let results = try concurrently(foreground) {
        let sibling = try kept?.connection ?? opened.keep(try recipe.connect())
        return try sibling.transaction(isolation: .repeatableRead, readOnly: true) { sibling in
            try sibling.execute("SET TRANSACTION SNAPSHOT \(literal: snapshot)")
            return try background(sibling)
        }
    }
    if let new = opened.connection { connection.keep(sibling: new) }
    return results
}

/// The second connection a background thread opened, handed back to the thread that keeps it
/// once the background thread has ended.
private final class OpenedConnection: @unchecked Sendable {
    private let lock = NSLock()
    private var opened: Connection?

    var connection: Connection? { lock.withLock { opened } }

    func keep(_ connection: Connection) -> Connection {
        lock.withLock { opened = connection }
        return connection
    }
}

/// A connection handed to code that may run on another thread, for the length of one call
/// during which nothing else touches it (a shared-snapshot read's second connection, a
/// backfill worker's share of the run's own).
struct HandedOver: @unchecked Sendable {
    let connection: Connection
    init(_ connection: Connection) { self.connection = connection }
}
