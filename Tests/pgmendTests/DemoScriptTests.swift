import Foundation
import MendTestSupport
import Testing

/// `make demo` as an operator reads it: one story under 300 lines of at most 100 columns,
/// every verify passing, and the same story again after `make demo-stop`.
@Suite("The demo script")
struct DemoScriptTests {
    /// The script in a folder of its own (a copy of what it reads, `.build` linked for the venv),
    /// so `stop` removes nothing of the repository's; against `database` (PGMEND_DEMO_DB).
    static func demo(in folder: String, _ arguments: [String] = [], database: TestDatabase? = nil) throws -> ProcessOutcome {
        var environment = ["PGMEND_BIN": try PgMendBinary.path()]
        if let database { environment["PGMEND_DEMO_DB"] = database.conninfo }
        return try ProcessRunner.run("/bin/bash", ["\(folder)/scripts/demo.sh"] + arguments, environment: environment)
    }

    static func copyProject(to folder: String) throws {
        let root = RunCommandTests.root
        let files = FileManager.default
        try files.createDirectory(atPath: "\(folder)/scripts", withIntermediateDirectories: true)
        try files.createDirectory(atPath: "\(folder)/Snapshots", withIntermediateDirectories: true)
        for script in ["demo.sh", "pg-bindir.sh"] {
            try files.copyItem(atPath: root.appendingPathComponent("scripts/\(script)").path, toPath: "\(folder)/scripts/\(script)")
        }
        try files.copyItem(atPath: root.appendingPathComponent("Plans").path, toPath: "\(folder)/Plans")
        for expected in try files.contentsOfDirectory(atPath: root.appendingPathComponent("Snapshots").path) where expected.hasSuffix(".expected.json") {
            try files.copyItem(atPath: root.appendingPathComponent("Snapshots/\(expected)").path, toPath: "\(folder)/Snapshots/\(expected)")
        }
        try files.createSymbolicLink(atPath: "\(folder)/.build", withDestinationPath: root.appendingPathComponent(".build").path)
    }

    /// The story with what changes from one demo to the next made alike: the database's name,
    /// times, run ids, and where a time's width moved a line break (compared flowed).
    static func story(_ text: String, database: String) -> String {
        var story = text.replacingOccurrences(of: database, with: "DEMO").flowed
        for (pattern, replacement) in [(#"\d{8}T\d{6}Z"#, "TIME"), (#"-run\d+-"#, "-runN-"), (#"\d+(\.\d)? (ms|s)\b"#, "T"), (#"loaded in T"#, "loaded")] {
            story = story.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return story
    }

    @Test func theDemoTellsOneShortStoryAndTellsItAgainAfterDemoStop() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-demo-\(UUID().uuidString.prefix(8))").path
        try Self.copyProject(to: folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try ThrowawayCluster.shared().withFreshDatabase(label: "demo_first") { first in
            try ThrowawayCluster.shared().withFreshDatabase(label: "demo_second") { second in
                let one = try Self.demo(in: folder, database: first)
                #expect(one.status == 0, "\(one.stdout)\(one.stderr)")
                let lines = one.stdout.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.count < 300, "the demo prints \(lines.count) lines")
                for line in lines where line.count > 100 { Issue.record("over 100 columns: \(line)") }
                let plans = ["schema-cleanup", "metadata-columns", "types", "indexes-and-keys", "claude-code-models"]
                for plan in plans {
                    #expect(one.stdout.contains("verified: database \(first.name) matches Snapshots/\(plan).expected.json"), "\(plan)")
                    #expect(one.stdout.contains("$ pgmend run \(plan) --yes | tail -1\nnothing to do: every step is satisfied"), "\(plan)")
                }
                #expect(!one.stdout.contains("NOT verified"))
                // Each echoed command can be pasted: the conninfo is given once, quoted.
                #expect(one.stdout.contains("$ export PGMEND_DB=\"\(first.conninfo)\""))
                for written in ["Snapshots/demo/runs", "Snapshots/demo/archive", "generated"] {
                    #expect(FileManager.default.fileExists(atPath: "\(folder)/\(written)"), "\(written)")
                }

                let stop = try Self.demo(in: folder, ["stop"])
                #expect(stop.status == 0, "\(stop.stderr)")
                for written in ["Snapshots/demo/runs", "Snapshots/demo/archive", "generated"] {
                    #expect(!FileManager.default.fileExists(atPath: "\(folder)/\(written)"), "demo-stop left \(written)")
                }
                let two = try Self.demo(in: folder, database: second)
                #expect(two.status == 0, "\(two.stdout)\(two.stderr)")
                #expect(Self.story(one.stdout, database: first.name) == Self.story(two.stdout, database: second.name))
            }
        }
    }
}
