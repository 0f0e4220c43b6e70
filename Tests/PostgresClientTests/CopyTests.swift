import Foundation
import MendTestSupport
import PostgresClient
import Testing

@Suite("COPY streams")
struct CopyTests {
    @Test func copyOutStreamsWithoutGrowingMemory() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            // 100,000 rows of about 1 KB: 100 MB through the client. Holding it would show.
            try connection.execute(
                "CREATE TABLE wide AS SELECT g AS id, repeat(md5(g::text), 32) AS payload FROM generate_series(1, 100000) g")
            let before = ResidentMemory.current()
            var peak = before
            var rows = 0
            var bytes = 0
            var hasher = Hasher()
            let reported = try connection.copyOut("COPY wide TO STDOUT") { chunk in
                rows += 1
                bytes += chunk.count
                hasher.combine(bytes: chunk)
                if rows % 5_000 == 0 { peak = max(peak, ResidentMemory.current()) }
            }
            #expect(reported == 100_000)
            #expect(rows == 100_000)  // one chunk per row in text COPY
            #expect(bytes > 100_000_000)
            let growth = peak - before
            #expect(growth < 40 * 1_048_576, "resident memory grew by \(growth / 1_048_576) MiB while streaming \(bytes / 1_048_576) MiB")
        }
    }

    @Test func copyOutBytesAreExactlyTheServersText() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (id int, note text)")
            try connection.query("INSERT INTO t VALUES (1, \(bind: "tab\there\\ and \"quote\"")), (2, NULL)")
            var text: [UInt8] = []
            try connection.copyOut("COPY t TO STDOUT") { text += $0 }
            #expect(String(decoding: text, as: UTF8.self) == "1\ttab\\there\\\\ and \"quote\"\n2\t\\N\n")
        }
    }

    @Test func aFailingConsumerCancelsTheCopyAndLeavesTheConnectionUsable() throws {
        struct Enough: Error {}
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            var seen = 0
            #expect(throws: Enough.self) {
                try connection.copyOut("COPY (SELECT g FROM generate_series(1, 5000000) g) TO STDOUT") { _ in
                    seen += 1
                    if seen == 10 { throw Enough() }
                }
            }
            #expect(seen == 10)
            #expect(try connection.scalar("SELECT 42", as: Int.self) == 42)
        }
    }

    @Test func copyInIsFedFromAStream() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE target (id int PRIMARY KEY, label text)")
            let copied = try connection.copyIn("COPY target FROM STDIN") { sink in
                for batch in stride(from: 1, through: 100_000, by: 1_000) {
                    var chunk = ""
                    for id in batch..<(batch + 1_000) { chunk += "\(id)\tlabel \(id)\n" }
                    try sink.write(chunk)
                }
            }
            #expect(copied == 100_000)
            #expect(try connection.scalar("SELECT count(*) FROM target", as: Int.self) == 100_000)
            #expect(try connection.scalar("SELECT label FROM target WHERE id = 77777", as: String.self) == "label 77777")

            let fromSequence = try connection.copyIn(
                "COPY target FROM STDIN", chunks: [Array("200001\ta\n".utf8), Array("200002\tb\n".utf8)])
            #expect(fromSequence == 2)
        }
    }

    @Test func aFailingProducerAbortsTheCopyAndKeepsNothing() throws {
        struct SourceBroke: Error {}
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE target (id int)")
            #expect(throws: SourceBroke.self) {
                try connection.copyIn("COPY target FROM STDIN") { sink in
                    try sink.write("1\n2\n3\n")
                    throw SourceBroke()
                }
            }
            #expect(try connection.scalar("SELECT count(*) FROM target", as: Int.self) == 0)
        }
    }

    @Test func badCopyDataIsTheServersError() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE target (id int)")
            let error = try #require(throws: PostgresError.self) {
                try connection.copyIn("COPY target FROM STDIN") { try $0.write("1\nnot-a-number\n") }
            }
            #expect(error.sqlState == .invalidTextRepresentation)
            #expect(try connection.scalar("SELECT count(*) FROM target", as: Int.self) == 0)
        }
    }

    @Test func copyThroughAPlainQueryIsRefusedAndTheConnectionRecovers() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
            for statement: SQL in ["COPY t TO STDOUT", "COPY t FROM STDIN"] {
                let error = try #require(throws: PostgresError.self) { try connection.execute(statement) }
                #expect(error.kind == .usage)
                #expect(try connection.scalar("SELECT count(*) FROM t", as: Int.self) == 1)
            }
        }
    }
}

/// This process's resident set size, from /proc/self/statm.
enum ResidentMemory {
    static func current() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
