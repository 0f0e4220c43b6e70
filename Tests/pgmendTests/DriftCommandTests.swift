import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// `pgmend drift` and a plan's `models:` through the built binary, on the demo database with the
/// demo application (`Plans/demo/app`) as its sources.
@Suite("pgmend drift on the command line")
struct DriftCommandTests {
    static let app = RunCommandTests.root.appendingPathComponent("Plans/demo/app").path

    static func sources() throws -> [String] {
        [
            "--models", "app.models:Base", "--path", app, "--python", try ExpectedSourceCommandTests.python(),
            "--migrations", app + "/alembic.ini",
            "--docs", RunCommandTests.root.appendingPathComponent("Plans/demo/DATABASE_SCHEMA.md").path,
        ]
    }

    @Test func driftOnTheDemoExitsOneWithTheMatrixAndItsJSON() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 60)
            let text = try PgMendBinary.run(["drift", "--db", database.conninfo] + Self.sources())
            #expect(text.status == 1, "\(text.stdout)\(text.stderr)")
            let heading = text.stdout.components(separatedBy: "\n\n")[0].replacingOccurrences(of: "\n", with: " ")
            #expect(heading == "drift of \(database.name): the database against models, migrations, docs")
            #expect(text.stdout.contains("  calendar -> calendar_events (rename, models)"))
            #expect(text.stdout.split(separator: "\n").allSatisfy { $0.count <= 100 })
            let json = try PgMendBinary.run(["drift", "--db", database.conninfo, "--format", "json"] + Self.sources())
            #expect(json.status == 1)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(report["agree"] as? Bool == false)
            #expect((report["sources"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } == ["models", "migrations", "docs"])
        }
    }

    @Test func modelsThatDoNotImportAreExitTwo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let drift = try PgMendBinary.run([
                "drift", "--db", database.conninfo, "--models", "app.nothing:Base", "--path", Self.app,
                "--python", try ExpectedSourceCommandTests.python(),
            ])
            #expect(drift.status == 2)
            #expect(drift.stderr.contains("cannot import app.nothing"), "\(drift.stderr)")
            #expect(!drift.stderr.contains("Traceback"))
        }
    }

    /// The real-world trial: dedupe_indexes dropped indexes the models still declare. With
    /// `models:` in the plan, the dry run names each with the line to change; after the run,
    /// drift lists them as the models' and not the database's.
    @Test func aPlanNamingTheModelsWarnsOfWhatTheyWouldUndo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 60)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-drift-\(database.name)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try """
                name: dedupe-with-models
                settings:
                  models: app.models:Base
                  models_path: \(Self.app)
                steps:
                  - dedupe_indexes: {tables: [api_keys], prefer: "ix_%"}

                """.write(toFile: folder + "/dedupe-with-models.yaml", atomically: true, encoding: .utf8)
            let python = try ExpectedSourceCommandTests.python()
            let dryRun = try PgMendBinary.run([
                "run", "dedupe-with-models", "--plans", folder, "--dry-run", "--db", database.conninfo, "--python", python,
            ])
            #expect(dryRun.status == 0, "\(dryRun.stdout)\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("warnings: the plan's models would undo these 2 changes:"), "\(dryRun.stdout)")
            #expect(dryRun.stdout.containsFlowed(
                "! step 1: index ix_api_keys_user_id on api_keys removed, which the models declare; remove index=True from ApiKey.user_id ("))
            let run = try PgMendBinary.run([
                "run", "dedupe-with-models", "--plans", folder, "--yes", "--db", database.conninfo, "--python", python,
                "--snapshots", folder + "/runs",
            ])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let drift = try PgMendBinary.run([
                "drift", "--db", database.conninfo, "--models", "app.models:Base", "--path", Self.app, "--python", python, "--format", "json",
            ])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(drift.stdout.utf8)) as? [String: Any])
            let rows = try #require(report["rows"] as? [[String: Any]])
            let undone = rows.filter { row in
                row["object_type"] as? String == "index" && row["table"] as? String == "api_keys"
                    && (row["cells"] as? [[String: Any]])?.first?["state"] as? String == "present"
            }.compactMap { $0["object"] as? String }
            #expect(undone.sorted() == ["idx_apikey_user_id", "ix_api_keys_user_id"], "\(drift.stdout)")
        }
    }

    /// The command line names the models for a plan that does not: the committed
    /// indexes-and-keys plan, dry run with --models, warns as a plan's settings would.
    @Test func theCommandLineNamesTheModels() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 60)
            let dryRun = try PgMendBinary.run([
                "run", "indexes-and-keys", "--plans", RunCommandTests.root.appendingPathComponent("Plans").path, "--dry-run",
                "--db", database.conninfo, "--models", "app.models:Base", "--models-path", Self.app,
                "--python", try ExpectedSourceCommandTests.python(),
            ])
            #expect(dryRun.status == 0, "\(dryRun.stdout)\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("warnings: the plan's models would undo these 3 changes:"), "\(dryRun.stdout)")
            #expect(dryRun.stdout.containsFlowed("remove Index(\"idx_memories_user_id\") from Memory.__table_args__ ("))
            let alone = try PgMendBinary.run(["run", "indexes-and-keys", "--dry-run", "--models-path", Self.app])
            #expect(alone.status == 2)
            #expect(alone.stderr.contains("--models-path goes with --models MODULE:ATTR"))
        }
    }
}
