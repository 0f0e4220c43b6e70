import Foundation
import MendTestSupport
import Testing

/// Where pgmend looks for named plans: `--plans`, else `PGMEND_PLANS`, else `Plans` in the
/// current folder; run where there is none, `plan list` and `plan check` say where they looked
/// (they said "no plans" and nothing, exit 0).
@Suite("The plans folder")
struct PlansFolderCommandTests {
    /// pgmend run from `folder`, with `environment` added.
    static func pgmend(in folder: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessOutcome {
        try ProcessRunner.run(
            "/bin/sh", ["-c", "cd \"$1\" && shift && exec \"$@\"", "sh", folder, try PgMendBinary.path()] + arguments,
            environment: environment)
    }

    @Test func outsideAProjectTheCommandsSayWhereTheyLooked() throws {
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-no-plans-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        let real = URL(fileURLWithPath: elsewhere).resolvingSymlinksInPath().path
        for command in [["plan", "list"], ["plan", "check"]] {
            let outcome = try Self.pgmend(in: elsewhere, command)
            #expect(outcome.status == 2, "\(command): \(outcome.stdout)")
            #expect(outcome.stderr.contains("no plans folder Plans (the default) in \(real): run pgmend in the project's folder, "
                + "or name the folder with --plans DIR or PGMEND_PLANS"), "\(outcome.stderr)")
        }
        let plans = RunCommandTests.root.appendingPathComponent("Plans").path
        let named = try Self.pgmend(in: elsewhere, ["plan", "list"], environment: ["PGMEND_PLANS": plans])
        #expect(named.status == 0, "\(named.stderr)")
        #expect(named.stdout.contains("schema-cleanup\t"))
        #expect(named.stdout.contains("claude-code-models\t1 step\t"), "\(named.stdout)")
        let checked = try Self.pgmend(in: elsewhere, ["plan", "check", "--plans", plans])
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        let missing = try Self.pgmend(in: elsewhere, ["plan", "list", "--plans", elsewhere + "/nowhere"])
        #expect(missing.stderr.contains("no plans folder \(elsewhere)/nowhere (--plans)"), "\(missing.stderr)")
    }
}
