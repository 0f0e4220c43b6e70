import Foundation
@testable import MendKit
import Testing

/// Archives are written as one gzip member per piece of COPY text (libdeflate), each checked
/// by `DecodeCheck` as it is written; `gunzip` and pgmend's own reader must read the members
/// one after another as one file, and the check must refuse any member that does not give
/// back exactly its piece.
@Suite("Gzip members: written whole, read as one file, each checked against its piece")
struct GzipMembersTests {
    /// COPY-like text of `rows` lines, some repeated (so it compresses) and some not.
    static func text(rows: Int, seed: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for row in 0..<rows {
            bytes += Array("\(row + seed)\ttitle \(row % 17)\t\\N\tbody \(row * 7919 % 1013) ü\t{\"k\": \(row)}\n".utf8)
        }
        return bytes
    }

    static func members(_ pieces: [[UInt8]]) throws -> [[UInt8]] {
        let compressor = try GzipMemberCompressor(level: 1)
        return try pieces.map { piece in try piece.withUnsafeBytes { try compressor.member($0) } }
    }

    /// Decompresses `file` with `GzipInflater`, fed `step` bytes at a time.
    static func inflate(_ file: [UInt8], step: Int) throws -> [UInt8] {
        let inflater = try GzipInflater(name: "test.gz")
        var output: [UInt8] = []
        var offset = 0
        while offset < file.count {
            let end = min(offset + step, file.count)
            try file[offset..<end].withUnsafeBytes { input in
                try inflater.feed(input) { output += $0 }
            }
            offset = end
        }
        try inflater.finish()
        return output
    }

    /// Pieces of several sizes, an empty one among them, fed to the reader in steps that put a
    /// member's end inside a step, at its edge, and one byte at a time.
    @Test(arguments: [1, 7, 4096, 1 << 20])
    func membersReadBackAsOneFile(step: Int) throws {
        let pieces = [Self.text(rows: 300, seed: 0), [], Self.text(rows: 1, seed: 5), Self.text(rows: 2000, seed: 9)]
        let file = try Self.members(pieces).flatMap { $0 }
        #expect(try Self.inflate(file, step: step) == pieces.flatMap { $0 })
    }

    /// `gunzip` itself, which the restore instructions use, reads the members as one file.
    @Test func gunzipReadsTheMembersAsOneFile() throws {
        let pieces = [Self.text(rows: 500, seed: 1), Self.text(rows: 3, seed: 2), Self.text(rows: 800, seed: 3)]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-members-\(UUID().uuidString).gz").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(try Self.members(pieces).flatMap { $0 }).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gunzip -c \"$0\"", path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(Array(data) == pieces.flatMap { $0 })
    }

    /// A table without rows: its one member of nothing is a whole gzip file of nothing.
    @Test func anEmptyPieceIsAWholeFile() throws {
        let file = try Self.members([[]]).flatMap { $0 }
        #expect(!file.isEmpty)
        #expect(try Self.inflate(file, step: 3).isEmpty)
        try DecodeCheck(name: "t").check(member: file, original: [])
    }

    /// After the last member, bytes that are not another member are an error, not ignored.
    @Test func bytesAfterTheLastMemberAreAnError() throws {
        let file = try Self.members([Self.text(rows: 50, seed: 0)]).flatMap { $0 } + Array("garbage".utf8)
        #expect(throws: ArchiveError.self) { try Self.inflate(file, step: 4096) }
    }

    @Test func theCheckAcceptsEachMemberWithItsPiece() throws {
        let pieces = [Self.text(rows: 1000, seed: 0), Self.text(rows: 1, seed: 1), []]
        let check = try DecodeCheck(name: "t")
        for (member, piece) in zip(try Self.members(pieces), pieces) {
            try check.check(member: member, original: piece)
        }
        #expect(check.bytes == Int64(pieces.map(\.count).reduce(0, +)))
    }

    /// Every way a member can fail to give back its piece: another piece (one byte changed,
    /// one byte less, one byte more), a damaged or cut member, two members given as one, and
    /// a member with a wrong CRC-32 in its trailer.
    @Test(arguments: ["changed", "shorter", "longer", "flipped", "cut", "two", "crc"])
    func theCheckRefusesAMemberThatIsNotItsPiece(fault: String) throws {
        let piece = Self.text(rows: 400, seed: 3)
        var member = try Self.members([piece])[0]
        var original = piece
        switch fault {
        case "changed": original[original.count / 2] ^= 0x01
        case "shorter": original.removeLast()
        case "longer": original.append(0x0A)
        case "flipped": member[member.count / 2] ^= 0x10
        case "cut": member.removeLast(5)
        case "two": member += try Self.members([[]])[0]
        default: member[member.count - 8] ^= 0x01  // the trailer: CRC-32, then the length
        }
        let check = try DecodeCheck(name: "data.copy.gz")
        let error = try #require(throws: ArchiveError.self) { try check.check(member: member, original: original) }
        #expect(error.description.hasPrefix("data.copy.gz is damaged: a compressed piece does not decompress"), "\(error)")
        #expect(check.bytes == 0)
    }
}
