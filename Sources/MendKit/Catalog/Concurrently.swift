import Foundation

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
