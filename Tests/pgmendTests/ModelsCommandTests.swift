import Foundation
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `pgmend models` and the `generate_models` step of `Plans/claude-code-models.yaml`, end to
/// end through the built binary on the demo database: the files are the golden ones
/// (Tests/MendKitTests/Fixtures/golden, which Alembic's own checks cover), from the database or
/// from a snapshot alike; a second run writes nothing; after a schema change the dry run shows
/// the diff of the file.
@Suite("pgmend models and generate_models on the demo database")
struct ModelsCommandTests {
    static let golden = RunCommandTests.root.appendingPathComponent("Tests/MendKitTests/Fixtures/golden")

    static func goldenText(_ name: String) throws -> String {
        try String(contentsOf: golden.appendingPathComponent(name), encoding: .utf8)
    }

    static func withDemo(_ label: String = #function, _ body: (TestDatabase, URL) throws -> Void) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: label) { database in
            try DemoDatabaseTests.load(database, users: 60)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-models-\(database.name)")
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("Plans"), withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try body(database, folder)
        }
    }

    @Test func modelsFromTheDatabaseAndFromASnapshotAreTheGoldenFiles() throws {
        try Self.withDemo { database, folder in
            let migration = folder.appendingPathComponent("0002_claude_code.py").path
            let fromDatabase = try PgMendBinary.run([
                "models", "claude_code_sessions", "claude_code_agents", "--db", database.conninfo,
                "--alembic", migration, "--revision", "0002_claude_code", "--down-revision", "001",
            ])
            #expect(fromDatabase.status == 0, "\(fromDatabase.stderr)")
            #expect(fromDatabase.stdout == (try Self.goldenText("claude_code_models.py")))
            #expect((try? String(contentsOfFile: migration, encoding: .utf8)) == (try Self.goldenText("claude_code_migration.py")))
            #expect(fromDatabase.stderr == "wrote \(migration)\n")

            let snapshot = folder.appendingPathComponent("demo.json").path
            let take = try PgMendBinary.run(["snapshot", "take", "--db", database.conninfo, "-o", snapshot])
            #expect(take.status == 0, "\(take.stderr)")
            let output = folder.appendingPathComponent("models/claude_code.py").path
            let fromSnapshot = try PgMendBinary.run(["models", "claude_code_agents", "claude_code_sessions", "--from", snapshot, "-o", output])
            #expect(fromSnapshot.status == 0, "\(fromSnapshot.stderr)")
            #expect(fromSnapshot.stdout.isEmpty)
            #expect((try? String(contentsOfFile: output, encoding: .utf8)) == (try Self.goldenText("claude_code_models.py")))
        }
    }

    @Test func badInputExitsTwo() throws {
        try Self.withDemo { database, folder in
            let unknown = try PgMendBinary.run(["models", "claude_code_sessions", "no_such_table", "--db", database.conninfo])
            #expect(unknown.status == 2)
            #expect(unknown.stderr == "pgmend: no table named no_such_table in the schema\n")
            let both = try PgMendBinary.run(["models", "users", "--from", "x.json", "--db", database.conninfo])
            #expect(both.status == 2)
            let revisionAlone = try PgMendBinary.run(["models", "users", "--db", database.conninfo, "--revision", "abc"])
            #expect(revisionAlone.status == 2)
            #expect(revisionAlone.stderr.contains("give --alembic FILE too"))
        }
    }

    @Test func thePlanWritesTheFilesOnceAndItsDryRunShowsTheDiffAfterAChange() throws {
        try Self.withDemo { database, folder in
            try FileManager.default.copyItem(
                atPath: RunCommandTests.root.appendingPathComponent("Plans/claude-code-models.yaml").path,
                toPath: folder.appendingPathComponent("Plans/claude-code-models.yaml").path)
            func pgmend(_ arguments: [String]) throws -> ProcessOutcome {
                try ProcessRunner.run(
                    "/bin/sh", ["-c", "cd \"$1\" && shift && exec \"$@\"", "sh", folder.path, try PgMendBinary.path()]
                        + arguments + ["--db", database.conninfo, "--snapshots", folder.appendingPathComponent("runs").path])
            }
            let run = try pgmend(["run", "claude-code-models", "--yes"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let models = folder.appendingPathComponent("generated/models/claude_code.py").path
            let migration = folder.appendingPathComponent("generated/migrations/versions/0002_claude_code.py").path
            #expect((try? String(contentsOfFile: models, encoding: .utf8)) == (try Self.goldenText("claude_code_models.py")))
            #expect((try? String(contentsOfFile: migration, encoding: .utf8)) == (try Self.goldenText("claude_code_migration.py")))

            let again = try pgmend(["run", "claude-code-models", "--yes"])
            #expect(again.status == 0)
            #expect(again.stdout.contains("0 statements executed"), "\(again.stdout)")

            try database.connect().execute("ALTER TABLE public.claude_code_agents ADD COLUMN heartbeat_at timestamptz")
            let dryRun = try pgmend(["run", "claude-code-models", "--dry-run"])
            #expect(dryRun.status == 0, "\(dryRun.stdout)\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("-- no SQL: rewrites generated/models/claude_code.py:"), "\(dryRun.stdout)")
            #expect(dryRun.stdout.contains("+    heartbeat_at: Mapped[datetime.datetime | None] = mapped_column("), "\(dryRun.stdout)")
            #expect(dryRun.stdout.contains("+        Column(\"heartbeat_at\", DateTime(timezone=True), nullable=True),"), "\(dryRun.stdout)")
            // The dry run wrote nothing.
            #expect((try? String(contentsOfFile: models, encoding: .utf8)) == (try Self.goldenText("claude_code_models.py")))
            #expect(try database.connect().scalar("SELECT count(*) FROM public.claude_code_agents", as: Int.self) == 108)
        }
    }
}
