import Crypto
import Foundation

/// Hands buffers to a thread of its own, which `consume`s them in order while the caller goes
/// on: an archive reads COPY data from the server while another thread compresses and writes
/// it, and a third decompresses what was written to check it, so the halves use several
/// cores. Buffers go over a bounded queue, so memory stays at a few megabytes however large
/// the table.
final class BufferPipeline: @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [[UInt8]] = []
    private var failure: Error?
    private let items = DispatchSemaphore(value: 0)
    private let slots: DispatchSemaphore
    private let finished = DispatchSemaphore(value: 0)
    // Used only on the pipeline's thread once started.
    private let consume: (UnsafeRawBufferPointer) throws -> Void
    private let end: () throws -> Void

    /// - Parameters:
    ///   - consume: called for each buffer, in order, on the pipeline's thread.
    ///   - end: called once after the last buffer, unless `consume` failed.
    init(depth: Int = 4, consume: @escaping (UnsafeRawBufferPointer) throws -> Void, end: @escaping () throws -> Void) {
        self.consume = consume
        self.end = end
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

    /// Ends the stream and waits until every buffer is consumed.
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
                    if lock.withLock({ failure }) == nil { try end() }
                    finished.signal()
                    return
                }
                // After a failure keep taking buffers, so the producer is never left waiting.
                if lock.withLock({ failure }) == nil {
                    try buffer.withUnsafeBytes { try consume($0) }
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

/// Decompresses an archive's data as it is written, on a pipeline's thread, and keeps what
/// the writer keeps of the COPY text: its size, SHA-256 and rows. The same figures from both
/// sides, and the file on disk hashing to the bytes decompressed here, prove the file holds
/// the COPY text, without reading it back and decompressing it after the COPY.
final class DecodeCheck: @unchecked Sendable {
    private let inflater: GzipInflater
    private var hash = SHA256()
    private(set) var bytes: Int64 = 0
    private(set) var rows: Int64 = 0
    private(set) var sha256 = ""

    init(name: String) throws { inflater = try GzipInflater(name: name) }

    func feed(_ compressed: UnsafeRawBufferPointer) throws {
        try inflater.feed(compressed) { chunk in
            hash.update(bufferPointer: chunk)
            bytes += Int64(chunk.count)
            rows += Int64(countNewlines(chunk))
        }
    }

    func finish() throws {
        try inflater.finish()
        sha256 = hex(hash.finalize())
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
