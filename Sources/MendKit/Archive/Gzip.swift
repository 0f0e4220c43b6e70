import CDeflate
import CZlib
import Crypto
import Foundation

/// A file written with plain POSIX calls, so a full disk or a failed fsync is an error here
/// and not a surprise later.
final class FileSink {
    let path: String
    private var descriptor: Int32

    init(creating path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ArchiveError.io(path, "cannot create", errno) }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let written = Glibc.write(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.io(path, "cannot write", errno)
            }
            offset += written
        }
    }

    /// Flushes to disk and closes; the data is on the disk when this returns.
    func finish() throws {
        if fsync(descriptor) != 0 { throw ArchiveError.io(path, "cannot flush to disk", errno) }
        if close(descriptor) != 0 { throw ArchiveError.io(path, "cannot close", errno) }
        descriptor = -1
    }

    /// Writes a new file (never over an existing one) and flushes it to disk.
    static func write(_ data: Data, to path: String) throws {
        let sink = try FileSink(creating: path)
        try data.withUnsafeBytes { try sink.write($0) }
        try sink.finish()
    }

    /// `mkdir -p`, with the system's own reason when it cannot (no permission, a file in
    /// the way, a full disk).
    static func createDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ArchiveError.io(path, "cannot create the folder", ENOTDIR) }
        } else {
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            if parent != path && !parent.isEmpty { try createDirectory(parent) }
            if mkdir(path, 0o755) != 0 && errno != EEXIST { throw ArchiveError.io(path, "cannot create the folder", errno) }
        }
        guard access(path, W_OK) == 0 else { throw ArchiveError.io(path, "cannot write to", errno) }
    }
}

/// Compresses each piece it is given into a gzip member of its own, with libdeflate, which
/// at level 1 takes about two thirds of zlib's time and writes a smaller file (each member is
/// compressed whole, in one call, rather than streamed). Members one after another are one
/// gzip file: `gunzip` decompresses them to the pieces one after another (RFC 1952, 2.2).
final class GzipMemberCompressor {
    private let compressor: OpaquePointer

    /// - Parameter level: 1 (fastest) to 12 (smallest).
    init(level: Int32) throws {
        guard let compressor = libdeflate_alloc_compressor(level) else {
            throw ArchiveError.compression("libdeflate_alloc_compressor failed")
        }
        self.compressor = compressor
    }

    deinit { libdeflate_free_compressor(compressor) }

    /// The gzip member holding `bytes`; an empty piece gives a member of nothing, so even a
    /// table without rows has a file `gunzip` reads.
    func member(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        let bound = libdeflate_gzip_compress_bound(compressor, bytes.count)
        // An empty piece has no base address; libdeflate wants one, and reads none of it.
        let byte: [UInt8] = [0]
        let member = byte.withUnsafeBytes { nothing in
            [UInt8](unsafeUninitializedCapacity: bound) { output, count in
                count = libdeflate_gzip_compress(compressor, bytes.baseAddress ?? nothing.baseAddress, bytes.count, output.baseAddress, bound)
            }
        }
        guard !member.isEmpty else { throw ArchiveError.compression("libdeflate_gzip_compress failed") }
        return member
    }
}

/// Decompresses a gzip stream fed to it in pieces, in bounded memory. A corrupted stream (zlib
/// checks the CRC-32 and length in the trailer) is an error; `finish` says whether it ended.
final class GzipInflater {
    private var stream = z_stream()
    private var output = [UInt8](repeating: 0, count: 1 << 18)
    private let name: String
    private(set) var ended = false

    /// - Parameter name: what errors name (the file's path).
    init(name: String) throws {
        self.name = name
        // windowBits 15 + 32: accept gzip (or zlib) headers.
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ArchiveError.compression("inflateInit2 failed")
        }
    }

    deinit { inflateEnd(&stream) }

    /// Decompresses `input`, handing the output to `chunk`. A file of several members (what
    /// pgmend writes) decompresses to their output one after another, as with `gunzip`;
    /// anything after a member that is not the start of another is an error.
    func feed(_ input: UnsafeRawBufferPointer, chunk: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let base = input.baseAddress, !input.isEmpty else { return }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        repeat {
            if ended {
                guard inflateReset(&stream) == Z_OK else { throw ArchiveError.compression("inflateReset failed") }
                ended = false
            }
            let (status, produced) = output.withUnsafeMutableBytes { buffer -> (Int32, Int) in
                stream.next_out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(buffer.count)
                let status = inflate(&stream, Z_NO_FLUSH)
                return (status, buffer.count - Int(stream.avail_out))
            }
            if produced > 0 { try output.withUnsafeBytes { try chunk(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            switch status {
            case Z_STREAM_END: ended = true
            case Z_OK, Z_BUF_ERROR: break
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw ArchiveError.corrupt(name, message)
            }
        } while stream.avail_in > 0 || (!ended && stream.avail_out == 0)
    }

    /// Throws unless the last member ended (a truncated file does not).
    func finish() throws {
        guard ended else { throw ArchiveError.corrupt(name, "the file ends before the compressed data does (truncated)") }
    }
}

/// Reads a gzip file back as a stream of chunks, in bounded memory. A truncated or corrupted
/// file (zlib checks the CRC-32 and length in the trailer) is an error.
enum GzipReader {
    static func read(path: String, fileChunk: (UnsafeRawBufferPointer) -> Void = { _ in }, chunk: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let file = FileHandle(forReadingAtPath: path) else { throw ArchiveError.missing(path) }
        defer { try? file.close() }
        let inflater = try GzipInflater(name: path)
        while true {
            let input = file.readData(ofLength: 1 << 18)
            if input.isEmpty { break }
            input.withUnsafeBytes { fileChunk($0) }
            try input.withUnsafeBytes { try inflater.feed($0, chunk: chunk) }
        }
        try inflater.finish()
    }

    /// The size and SHA-256 of a file as it is on disk, read in pieces.
    static func digest(path: String) throws -> (bytes: Int64, sha256: String) {
        guard let file = FileHandle(forReadingAtPath: path) else { throw ArchiveError.missing(path) }
        defer { try? file.close() }
        var hash = SHA256()
        var bytes: Int64 = 0
        while true {
            let input = file.readData(ofLength: 1 << 20)
            if input.isEmpty { break }
            hash.update(data: input)
            bytes += Int64(input.count)
        }
        return (bytes, hex(hash.finalize()))
    }
}
