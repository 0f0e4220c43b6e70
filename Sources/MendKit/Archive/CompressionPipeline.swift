import Foundation

/// Compresses and writes on a thread of its own while the caller keeps reading COPY data from
/// the server: the two halves of an archive then use two cores. Buffers are handed over a
/// bounded queue, so memory stays at a few megabytes however large the table.
final class CompressionPipeline: @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [[UInt8]] = []
    private var failure: Error?
    private let items = DispatchSemaphore(value: 0)
    private let slots: DispatchSemaphore
    private let finished = DispatchSemaphore(value: 0)
    // Used only on the pipeline's thread once started.
    private let gzip: GzipWriter

    init(gzip: GzipWriter, depth: Int = 4) {
        self.gzip = gzip
        slots = DispatchSemaphore(value: depth)
        Thread.detachNewThread { [self] in run() }
    }

    /// Queues a buffer (waits while the queue is full). An empty buffer ends the stream.
    func submit(_ buffer: [UInt8]) throws {
        if let failure = lock.withLock({ failure }) { throw failure }
        slots.wait()
        lock.withLock { queue.append(buffer) }
        items.signal()
    }

    /// Ends the stream and waits until everything is compressed and written.
    func finish() throws {
        try submit([])
        finished.wait()
        if let failure = lock.withLock({ failure }) { throw failure }
    }

    private func run() {
        while true {
            items.wait()
            let buffer = lock.withLock { queue.removeFirst() }
            slots.signal()
            do {
                if buffer.isEmpty {
                    if lock.withLock({ failure }) == nil { try gzip.finish() }
                    finished.signal()
                    return
                }
                // After a failure keep taking buffers, so the producer is never left waiting.
                if lock.withLock({ failure }) == nil {
                    try buffer.withUnsafeBytes { try gzip.write($0) }
                }
            } catch {
                lock.withLock { if failure == nil { failure = error } }
                if buffer.isEmpty {
                    finished.signal()
                    return
                }
            }
        }
    }
}

/// Counts newlines (COPY text rows) with memchr.
func countNewlines(_ bytes: UnsafeRawBufferPointer) -> Int {
    guard var cursor = bytes.baseAddress else { return 0 }
    let end = cursor + bytes.count
    var count = 0
    while cursor < end, let found = memchr(cursor, 0x0A, end - cursor) {
        count += 1
        cursor = UnsafeRawPointer(found) + 1
    }
    return count
}
