import Foundation
import MendTestSupport
import Testing

/// `--format json` on every command that has it: one JSON document on stdout whatever the
/// outcome, failures included, with the fields docs/json.md lists (issue 23).
@Suite("JSON documents for every outcome")
struct JSONOutputCommandTests {
    /// A conninfo no server answers: libpq fails at once (no such socket directory).
    static let unreachable = "host=/nonexistent-pgmend port=1 dbname=app"
    static let missing = "/nonexistent-pgmend"
    /// The package's folder, for its committed plans.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// stdout as exactly one JSON object: trailing text, a second document or nothing fail.
    static func document(_ outcome: ProcessOutcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let parsed = try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))
        return try #require(parsed as? [String: Any], "stdout is not one JSON object: \(outcome.stdout) stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
    }

    /// A failure document: the shared fields and no others, its exit code the process's, and
    /// its message on stderr too.
    static func expectFailure(
        _ outcome: ProcessOutcome, command: String, outcome expected: String, status: Int32, plan: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(outcome.status == status, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
        let document = try Self.document(outcome, sourceLocation: sourceLocation)
        let fields = plan == nil ? ["command", "exit_code", "message", "outcome"] : ["command", "exit_code", "message", "outcome", "plan"]
        #expect(document.keys.sorted() == fields, sourceLocation: sourceLocation)
        #expect(document["command"] as? String == command, sourceLocation: sourceLocation)
        #expect(document["outcome"] as? String == expected, sourceLocation: sourceLocation)
        #expect(document["exit_code"] as? Int == Int(status), sourceLocation: sourceLocation)
        #expect(document["plan"] as? String == plan, sourceLocation: sourceLocation)
        let message = try #require(document["message"] as? String, sourceLocation: sourceLocation)
        #expect(!message.isEmpty, sourceLocation: sourceLocation)
        let firstLine = String(message.split(separator: "\n").first ?? "")
        #expect(outcome.stderr.contains(firstLine), "stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
    }

    /// A failure each command meets without a database or any file: its arguments, the
    /// subcommand the document names, the outcome and the exit code.
    struct FailureCase: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var command: String
        var outcome: String
        var status: Int32
        var plan: String? = nil
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let failureCases: [FailureCase] = [
        FailureCase(arguments: ["ping", "--db", unreachable], command: "ping", outcome: "unreachable", status: 4),
        FailureCase(arguments: ["snapshot", "take", "--db", unreachable, "-o", "\(missing)/s.json"], command: "snapshot take", outcome: "unreachable", status: 4),
        FailureCase(arguments: ["snapshot", "take", "--from-docs", "\(missing)/schema.md", "-o", "\(missing)/s.json"], command: "snapshot take", outcome: "bad_input", status: 2),
        FailureCase(arguments: ["snapshot", "diff", "\(missing)/a.json", "\(missing)/b.json"], command: "snapshot diff", outcome: "bad_input", status: 2),
        FailureCase(arguments: ["verify", "\(missing)/expected.json", "--db", unreachable], command: "verify", outcome: "bad_input", status: 2),
        FailureCase(arguments: ["archive", "verify", "\(missing)/archive"], command: "archive verify", outcome: "failed", status: 1),
        FailureCase(arguments: ["archive", "restore", "\(missing)/archive", "--db", unreachable], command: "archive restore", outcome: "unreachable", status: 4),
        FailureCase(arguments: ["models", "users", "--db", unreachable], command: "models", outcome: "unreachable", status: 4),
        FailureCase(arguments: ["models", "users", "--from", "\(missing)/s.json"], command: "models", outcome: "bad_input", status: 2),
        FailureCase(arguments: ["docs", "--db", unreachable], command: "docs", outcome: "unreachable", status: 4),
        FailureCase(arguments: ["docs", "\(missing)/s.json"], command: "docs", outcome: "bad_input", status: 2),
        FailureCase(arguments: ["docs", "--check", "\(missing)/schema.md", "--db", unreachable], command: "docs", outcome: "bad_input", status: 2),
        FailureCase(arguments: ["plan", "check", "--plans", "\(missing)/Plans"], command: "plan check", outcome: "bad_input", status: 2),
        FailureCase(arguments: ["plan", "list", "--plans", "\(missing)/Plans"], command: "plan list", outcome: "bad_input", status: 2),
        FailureCase(arguments: ["doctor", "--db", unreachable], command: "doctor", outcome: "unreachable", status: 4),
        FailureCase(arguments: ["drift", "--db", unreachable, "--docs", "\(missing)/schema.md"], command: "drift", outcome: "unreachable", status: 4),
        FailureCase(arguments: ["run", "no-such-plan", "--plans", "\(missing)/Plans"], command: "run", outcome: "bad_input", status: 2, plan: "no-such-plan"),
        FailureCase(arguments: ["run", "\(root)/Plans/schema-cleanup.yaml", "--db", unreachable], command: "run", outcome: "unreachable", status: 4, plan: "\(root)/Plans/schema-cleanup.yaml"),
        // Arguments ArgumentParser rejects: no command ran, main writes the document.
        FailureCase(arguments: ["ping", "--no-such-option"], command: "ping", outcome: "bad_input", status: 2),
        FailureCase(arguments: ["archive", "list", "--no-such-option"], command: "archive list", outcome: "bad_input", status: 2),
        FailureCase(arguments: ["snapshot", "take", "--from-models", "a:B", "--from-migrations", "alembic.ini"], command: "snapshot take", outcome: "bad_input", status: 2),
    ]

    @Test(arguments: failureCases)
    func eachCommandsFailureIsOneDocument(_ failure: FailureCase) throws {
        let outcome = try PgMendBinary.run(failure.arguments + ["--format", "json"])
        try Self.expectFailure(outcome, command: failure.command, outcome: failure.outcome, status: failure.status, plan: failure.plan)
    }

    /// Every command that has `--format` (ArgumentParser's dump of the command tree) is listed
    /// in docs/json.md and has a failure case above, so a new one cannot go undocumented or
    /// untested.
    @Test func everyCommandWithFormatIsDocumentedAndTested() throws {
        let dump = try PgMendBinary.run(["--experimental-dump-help"])
        let tree = try #require((try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])?["command"] as? [String: Any])
        func withFormat(_ command: [String: Any], _ path: [String]) -> [String] {
            let arguments = command["arguments"] as? [[String: Any]] ?? []
            let names = arguments.flatMap { ($0["names"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
            let children = (command["subcommands"] as? [[String: Any]] ?? []).flatMap { child in
                withFormat(child, path + [child["commandName"] as? String ?? "?"])
            }
            return (names.contains("format") ? [path.joined(separator: " ")] : []) + children
        }
        let commands = Set(withFormat(tree, []))
        #expect(commands.count >= 13, "\(commands)")
        let docs = try String(contentsOfFile: "\(Self.root)/docs/json.md", encoding: .utf8)
        let listing = try #require(docs.components(separatedBy: "The commands: ").dropFirst().first?.components(separatedBy: "\n\n").first)
        let documented = Set(listing.components(separatedBy: "`").enumerated().filter { $0.offset % 2 == 1 && !$0.element.hasPrefix("-") }.map(\.element))
        #expect(commands == documented, "docs/json.md lists \(documented.sorted()), the commands with --format are \(commands.sorted())")
        #expect(commands.subtracting(Self.failureCases.map(\.command)).isEmpty, "no failure case for \(commands.subtracting(Self.failureCases.map(\.command)).sorted())")
    }

    /// `--format=json` is read as `--format json` when the arguments are rejected; text
    /// without it.
    @Test func anArgumentErrorAnswersInTheFormatAskedFor() throws {
        let json = try PgMendBinary.run(["models", "--format=json"])
        try Self.expectFailure(json, command: "models", outcome: "bad_input", status: 2)
        // ArgumentParser's message alone: the usage lines stay on stderr.
        #expect((try Self.document(json))["message"] as? String == "Missing expected argument '<tables> ...'")
        #expect(json.stderr.contains("Usage: pgmend models"))
        let text = try PgMendBinary.run(["models"])
        #expect(text.status == 2)
        #expect(text.stdout.isEmpty)
        #expect(text.stderr.contains("Missing expected argument '<tables> ...'"))
    }

    /// A database with a table, its snapshot and an archive of the table, in a scratch folder.
    struct Setup {
        var database: TestDatabase
        var folder: String
        var snapshot: String
        var archive: String
    }

    static func withArchive(_ label: String = #function, _ body: (Setup) throws -> Void) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: label) { database in
            try database.connect().execute("CREATE TABLE old_rows (id int PRIMARY KEY, note text); INSERT INTO old_rows SELECT g, 'row ' || g FROM generate_series(1, 10) g")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-json-\(database.name)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = "\(folder)/keep.yaml"
            try "name: keep\nsteps:\n  - archive_table: {table: old_rows, drop: false, to: \(folder)/archive}\n".write(toFile: plan, atomically: true, encoding: .utf8)
            let run = try PgMendBinary.run(["run", plan, "--db", database.conninfo, "--snapshots", "\(folder)/runs"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let name = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/archive/\(database.name)").first)
            let snapshot = "\(folder)/expected.json"
            let take = try PgMendBinary.run(["snapshot", "take", "--db", database.conninfo, "-o", snapshot])
            #expect(take.status == 0, "\(take.stderr)")
            try body(Setup(database: database, folder: folder, snapshot: snapshot, archive: "\(folder)/archive/\(database.name)/\(name)"))
        }
    }

    /// The failures that need a file that exists: a snapshot the database no longer matches,
    /// a damaged archive, a table already there, a good file and no server.
    @Test func failuresOnRealFiles() throws {
        try Self.withArchive { setup in
            let conninfo = setup.database.conninfo
            try setup.database.connect().execute("ALTER TABLE old_rows ADD COLUMN added boolean")
            let differs = try PgMendBinary.run(["verify", setup.snapshot, "--db", conninfo, "--format", "json"])
            #expect(differs.status == 1)
            let report = try Self.document(differs)
            #expect(report["equal"] as? Bool == false)
            #expect((report["changes"] as? [Any])?.count == 1, "\(differs.stdout)")

            let noServer = try PgMendBinary.run(["verify", setup.snapshot, "--db", Self.unreachable, "--format", "json"])
            try Self.expectFailure(noServer, command: "verify", outcome: "unreachable", status: 4)
            let archiveNoServer = try PgMendBinary.run(["archive", "verify", setup.archive, "--db", Self.unreachable, "--format", "json"])
            try Self.expectFailure(archiveNoServer, command: "archive verify", outcome: "unreachable", status: 4)
            let exists = try PgMendBinary.run(["archive", "restore", setup.archive, "--db", conninfo, "--format", "json"])
            try Self.expectFailure(exists, command: "archive restore", outcome: "failed", status: 1)
            #expect((try Self.document(exists))["message"] as? String == "table old_rows exists; restore it under another name with --as")

            let data = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(setup.archive)/data.copy.gz"))
            try data.seekToEnd()
            try data.write(contentsOf: Data([0]))
            try data.close()
            let damaged = try PgMendBinary.run(["archive", "verify", setup.archive, "--format", "json"])
            try Self.expectFailure(damaged, command: "archive verify", outcome: "failed", status: 1)
            let listed = try PgMendBinary.run(["archive", "list", "--to", "\(setup.folder)/archive", "--format", "json"])
            #expect(listed.status == 0)
            let archives = try #require((try Self.document(listed))["archives"] as? [[String: Any]])
            #expect(archives.map { $0["state"] as? String } == ["damaged"])
        }
    }

    /// Each command's answer when it succeeds, with the fields docs/json.md lists.
    @Test func eachCommandsSuccessIsOneDocument() throws {
        try Self.withArchive { setup in
            let conninfo = setup.database.conninfo
            func answer(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
                let outcome = try PgMendBinary.run(arguments + ["--format", "json"])
                #expect(outcome.status == 0, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
                return try Self.document(outcome, sourceLocation: sourceLocation)
            }
            let ping = try answer(["ping", "--db", conninfo])
            #expect(ping["database"] as? String == setup.database.name)
            #expect(ping["user"] as? String == ThrowawayCluster.superuser)
            #expect((ping["server_version"] as? String)?.isEmpty == false && ping["host"] is String && ping["port"] is Int)

            let written = "\(setup.folder)/taken.json"
            let take = try answer(["snapshot", "take", "--db", conninfo, "-o", written, "--data"])
            #expect(take["snapshot"] as? String == written && FileManager.default.fileExists(atPath: written))
            #expect(take["source"] as? String == "database \(setup.database.name)")
            #expect(take["tables"] as? Int == 1 && take["views"] as? Int == 0 && take["data"] as? Bool == true)
            #expect(take["schemas"] as? [String] == ["public"] && take["duration_ms"] is Int)

            let diff = try answer(["snapshot", "diff", setup.snapshot, written])
            #expect(diff["equal"] as? Bool == true && (diff["changes"] as? [Any])?.isEmpty == true)
            let verify = try answer(["verify", setup.snapshot, "--db", conninfo])
            #expect(verify["equal"] as? Bool == true && verify["actual"] as? String == "database \(setup.database.name)")

            let models = try answer(["models", "old_rows", "--db", conninfo])
            #expect(models["tables"] as? [String] == ["public.old_rows"] && models["output"] == nil)
            #expect((models["models"] as? String)?.contains("__tablename__ = \"old_rows\"") == true, "\(models)")
            let modelsFile = "\(setup.folder)/models.py"
            let toFile = try answer(["models", "old_rows", "--from", setup.snapshot, "-o", modelsFile])
            #expect(toFile["output"] as? String == modelsFile && toFile["models"] == nil)
            #expect(toFile["source"] as? String == "snapshot \(setup.snapshot)")
            #expect(try String(contentsOfFile: modelsFile, encoding: .utf8) == models["models"] as? String)

            let docs = try answer(["docs", "--db", conninfo])
            #expect(docs["source"] as? String == "database \(setup.database.name)" && docs["tables"] as? Int == 1)
            #expect((docs["markdown"] as? String)?.contains("# Schema of \(setup.database.name)") == true, "\(docs)")
            let docsFile = "\(setup.folder)/schema.md"
            let docsToFile = try answer(["docs", setup.snapshot, "-o", docsFile])
            #expect(docsToFile["output"] as? String == docsFile && docsToFile["markdown"] == nil)
            #expect(FileManager.default.fileExists(atPath: docsFile))

            let list = try answer(["archive", "list", "--to", "\(setup.folder)/archive"])
            let archives = try #require(list["archives"] as? [[String: Any]])
            #expect(archives.count == 1)
            #expect(archives.first?["archive"] as? String == setup.archive && archives.first?["state"] as? String == "intact")
            #expect(archives.first?["table"] as? String == "public.old_rows" && archives.first?["rows"] as? Int == 10)
            let verified = try answer(["archive", "verify", setup.archive, "--db", conninfo])
            #expect(verified["table"] as? String == "public.old_rows" && verified["rows"] as? Int == 10)
            #expect(verified["files_checked"] as? [String] == ["data.copy.gz", "schema.sql", "table.json"])
            #expect(verified["manifest_checked"] as? Bool == true && verified["fingerprint_checked_in"] as? String == setup.database.name)
            let offline = try answer(["archive", "verify", setup.archive])
            #expect(offline["fingerprint_checked_in"] == nil && offline["fingerprint"] as? String == verified["fingerprint"] as? String)
            let restored = try answer(["archive", "restore", setup.archive, "--as", "old_rows_back", "--db", conninfo])
            #expect(restored["table"] as? String == "public.old_rows_back" && restored["rows"] as? Int == 10)
            #expect(restored["database"] as? String == setup.database.name && restored["archive"] as? String == setup.archive)
        }
    }
}
