import Foundation
import MendTestSupport
import Testing

/// The README's `sh` blocks run as written against a fresh demo database, as an operator would
/// paste them (the README says so; its `text` blocks are illustrations).
@Suite("The README's commands")
struct ReadmeTests {
    /// The `sh` blocks of the README, in order.
    static func shellBlocks() throws -> [String] {
        let readme = try String(contentsOf: RunCommandTests.root.appendingPathComponent("README.md"), encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```sh" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append((current ?? []).joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    @Test func everyShellBlockRunsAgainstTheDemoDatabase() throws {
        let blocks = try Self.shellBlocks()
        #expect(blocks.count >= 2)
        // The first is the fresh machine's `make demo` and `make test`: CI runs make test, and
        // DemoScriptTests the demo script; nothing else may hide in it.
        let first = blocks.first ?? ""
        #expect(first.split(separator: "\n").allSatisfy { $0.hasPrefix("make ") }, "\(first)")
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 60)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-readme-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let binary = try PgMendBinary.path()
            // Each pgmend's exit status is written down, wherever it stands in a pipe.
            let preamble = """
                cd "$1"
                pgmend() { command pgmend "$@"; local status=$?; echo "$status $1" >>"$2/statuses"; return $status; }
                """
            for (index, block) in blocks.enumerated().dropFirst() {
                let outcome = try ProcessRunner.run(
                    "/bin/bash", ["-c", preamble.replacingOccurrences(of: "$2", with: folder) + "\n" + block, "bash", folder],
                    environment: [
                        "PGMEND_DB": database.conninfo,
                        "PATH": URL(fileURLWithPath: binary).deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? ""),
                    ])
                #expect(outcome.status == 0, "block \(index + 1):\n\(block)\n\(outcome.stdout)\(outcome.stderr)")
            }
            let statuses = try String(contentsOfFile: "\(folder)/statuses", encoding: .utf8).split(separator: "\n")
            #expect(statuses.count == 9, "every pgmend of the walkthrough ran: \(statuses)")
            for line in statuses {
                // doctor exits 1 when it finds drift, which on the demo database is the point.
                #expect(line.hasPrefix("0 ") || line == "1 doctor", "pgmend exited \(line)")
            }
            let connection = try database.connect()
            #expect(try connection.scalar("SELECT to_regclass('memories_backup_66d3d5d1') IS NULL", as: Bool.self) == true)
        }
    }
}
