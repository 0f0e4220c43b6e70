import CDeflate
import Foundation

/// Hands items to a thread of its own, which `consume`s them in order while the caller goes
/// on: an archive reads COPY data from the server while another thread compresses and writes
/// it, and a third decompresses what was written to check it, so the halves use several
/// cores. Items go over a bounded queue, so memory stays at a few megabytes however large
/// the table.
final class BufferPipeline<Item>: @unchecked Sendable {
    private let lock = NSLock()
    /// nil ends the stream.
    private var queue: [Item?] = []
    private var failure: Error?
    private let items = DispatchSemaphore(value: 0)
    private let slots: DispatchSemaphore
    private let finished = DispatchSemaphore(value: 0)
    // Used only on the pipeline's thread once started.
    private let consume: (Item) throws -> Void
    private let end: () throws -> Void

    /// - Parameters:
    ///   - consume: called for each item, in order, on the pipeline's thread.
    ///   - end: called once after the last item, unless `consume` failed.
    init(depth: Int = 4, consume: @escaping (Item) throws -> Void, end: @escaping () throws -> Void = {}) {
        self.consume = consume
        self.end = end
        slots = DispatchSemaphore(value: depth)
        Thread.detachNewThread { [self] in run() }
    }

    /// Queues an item (waits while the queue is full).
    func submit(_ item: Item) throws {
        try enqueue(item)
    }

    /// Ends the stream and waits until every item is consumed.
    func finish() throws {
        try enqueue(nil)
        finished.wait()
        if let failure = lock.withLock({ failure }) { throw failure }
    }

    private func enqueue(_ item: Item?) throws {
        if item != nil, let failure = lock.withLock({ failure }) { throw failure }
        slots.wait()
        lock.withLock { queue.append(item) }
        items.signal()
    }

    private func run() {
        while true {
            items.wait()
            let item = lock.withLock { queue.removeFirst() }
            slots.signal()
            do {
                guard let item else {
                    if lock.withLock({ failure }) == nil { try end() }
                    finished.signal()
                    return
                }
                // After a failure keep taking items, so the producer is never left waiting.
                if lock.withLock({ failure }) == nil { try consume(item) }
            } catch {
                lock.withLock { if failure == nil { failure = error } }
                if item == nil {
                    finished.signal()
                    return
                }
            }
        }
    }
}

/// Decompresses each gzip member of an archive as it is written, on a pipeline's thread, and
/// compares what it gets back, byte for byte, with the COPY text the member was made from.
/// Every member decompressing (its CRC-32 and length checked) to exactly its piece, and the
/// file on disk hashing to the members written, prove the file holds the COPY text whose
/// size, rows and SHA-256 the writer counted, without hashing or counting it a second time
/// and without reading the file back and decompressing it after the COPY.
final class DecodeCheck: @unchecked Sendable {
    private let decompressor: OpaquePointer
    private let name: String
    private var output: [UInt8] = []
    /// The COPY text's bytes that members decompressed to, all of them equal to it.
    private(set) var bytes: Int64 = 0

    /// - Parameter name: what errors name (the file's path).
    init(name: String) throws {
        guard let decompressor = libdeflate_alloc_decompressor() else {
            throw ArchiveError.compression("libdeflate_alloc_decompressor failed")
        }
        self.decompressor = decompressor
        self.name = name
    }

    deinit { libdeflate_free_decompressor(decompressor) }

    /// Throws unless `member` is one whole gzip member that decompresses to `original`.
    func check(member: [UInt8], original: [UInt8]) throws {
        // Room for exactly the original: a member holding more fails for want of space.
        if output.count < max(original.count, 1) { output = [UInt8](repeating: 0, count: max(original.count, 1)) }
        var used = 0
        var produced = 0
        let result = member.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                libdeflate_gzip_decompress_ex(decompressor, input.baseAddress, input.count, out.baseAddress, original.count, &used, &produced)
            }
        }
        guard result == LIBDEFLATE_SUCCESS else {
            throw ArchiveError.corrupt(name, "a compressed piece does not decompress (libdeflate result \(result.rawValue))")
        }
        let equal = produced == original.count && output.withUnsafeBytes { out in
            original.withUnsafeBytes { produced == 0 || memcmp(out.baseAddress!, $0.baseAddress!, produced) == 0 }
        }
        guard used == member.count, equal else {
            throw ArchiveError.corrupt(name, "a compressed piece does not decompress to the COPY text it was made from")
        }
        bytes += Int64(produced)
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
