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
        #expect(named.stdout.flowed.contains("schema-cleanup 14 steps"))
        #expect(named.stdout.flowed.contains("claude-code-models 1 step SQLAlchemy"), "\(named.stdout)")
        let checked = try Self.pgmend(in: elsewhere, ["plan", "check", "--plans", plans])
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        // A plan run by name outside a project is told the same, not "there are none".
        let run = try Self.pgmend(in: elsewhere, ["run", "schema-cleanup", "--dry-run"])
        #expect(run.status == 2 && run.stderr.contains("no plans folder Plans (the default) in \(real)"), "\(run.stderr)")
        let plan = try Self.pgmend(in: elsewhere, ["plan", "list", "--format", "json"], environment: ["PGMEND_PLANS": plans])
        let listed = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: [[String: Any]]]
        #expect(listed?["plans"]?.contains { $0["name"] as? String == "schema-cleanup" && $0["steps"] as? Int == 14 } == true, "\(plan.stdout)")
        for line in named.stdout.split(separator: "\n") { #expect(line.count <= 100, "\(line)") }
        let missing = try Self.pgmend(in: elsewhere, ["plan", "list", "--plans", elsewhere + "/nowhere"])
        #expect(missing.stderr.contains("no plans folder \(elsewhere)/nowhere (--plans)"), "\(missing.stderr)")
    }

    /// `--snapshots` and `--archives` are spelled alike on every command, each else its
    /// environment variable, else its folder under the current one; a plan's own folder wins.
    @Test func snapshotsAndArchivesFoldersComeFromTheOptionElseTheEnvironment() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let project = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-folders-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: project + "/Plans", withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: project) }
            try database.connect().execute("""
                CREATE TABLE old_a (id int PRIMARY KEY); INSERT INTO old_a VALUES (1), (2);
                CREATE TABLE old_b (id int PRIMARY KEY); INSERT INTO old_b VALUES (3);
                CREATE TABLE old_c (id int PRIMARY KEY)
                """)
            for (name, table, to) in [("a", "old_a", ""), ("b", "old_b", ""), ("c", "old_c", "\n      to: own")] {
                try "name: \(name)\nsteps:\n  - archive_table:\n      table: \(table)\(to)\n"
                    .write(toFile: "\(project)/Plans/\(name).yaml", atomically: true, encoding: .utf8)
            }
            let byOption = try Self.pgmend(in: project, ["run", "a", "--db", database.conninfo, "--yes", "--archives", "kept", "--snapshots", "runs"])
            #expect(byOption.status == 0, "\(byOption.stdout)\(byOption.stderr)")
            let byEnvironment = try Self.pgmend(
                in: project, ["run", "b", "--db", database.conninfo, "--yes"], environment: ["PGMEND_ARCHIVES": "env-kept", "PGMEND_SNAPSHOTS": "env-runs"])
            #expect(byEnvironment.status == 0, "\(byEnvironment.stdout)\(byEnvironment.stderr)")
            let planOwn = try Self.pgmend(in: project, ["run", "c", "--db", database.conninfo, "--yes", "--archives", "kept", "--snapshots", "runs"])
            #expect(planOwn.status == 0, "\(planOwn.stdout)\(planOwn.stderr)")
            func files(_ folder: String) -> [String] { (try? FileManager.default.subpathsOfDirectory(atPath: "\(project)/\(folder)")) ?? [] }
            #expect(files("kept").contains { $0.hasPrefix("\(database.name)/old_a-") && $0.hasSuffix("manifest.json") }, "\(files("kept"))")
            #expect(files("env-kept").contains { $0.hasPrefix("\(database.name)/old_b-") && $0.hasSuffix("manifest.json") }, "\(files("env-kept"))")
            #expect(files("own").contains { $0.hasPrefix("\(database.name)/old_c-") }, "the plan's to: wins over --archives")
            #expect(files("runs").contains { $0.hasSuffix("-post.json") } && files("env-runs").contains { $0.hasSuffix("-post.json") })
            #expect(files("Snapshots").isEmpty, "nothing went to the default folders")
            // The run names the archive it wrote by its real folder.
            #expect(byOption.stdout.containsFlowed("archived to kept/\(database.name)/old_a-"), "\(byOption.stdout)")
            let listed = try Self.pgmend(in: project, ["archive", "list", "--archives", "kept"])
            #expect(listed.stdout.contains("old_a") && listed.status == 0, "\(listed.stdout)\(listed.stderr)")
            let fromEnvironment = try Self.pgmend(in: project, ["archive", "list"], environment: ["PGMEND_ARCHIVES": "env-kept"])
            #expect(fromEnvironment.stdout.contains("old_b"), "\(fromEnvironment.stdout)")
            let oldSpelling = try Self.pgmend(in: project, ["archive", "list", "--to", "own"])
            #expect(oldSpelling.stdout.contains("old_c"), "\(oldSpelling.stdout)")
            let snapshot = try Self.pgmend(in: project, ["snapshot", "take", "--db", database.conninfo, "--snapshots", "taken"])
            #expect(snapshot.status == 0 && files("taken").count == 1, "\(snapshot.stdout)\(snapshot.stderr)")
        }
    }
}
