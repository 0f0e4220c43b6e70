import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// `pgmend drift --write-plan` with `--migrations`, through the built binary: the migration
/// that records the repair lands beside the history's head, and the command says where.
@Suite("drift writes the repair migration", .serialized)
struct DriftMigrationCommandTests {
    @Test func theMigrationGoesBesideTheHeadAndIsNotWrittenTwice() throws {
        let cluster = try ThrowawayCluster.shared()
        let app = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-drift-migration-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(at: RunCommandTests.root.appendingPathComponent("Plans/demo/app"), to: app)
        defer { try? FileManager.default.removeItem(at: app) }
        let versions = app.appendingPathComponent("migrations/versions")
        try cluster.withFreshDatabase { database in
            let arguments = [
                "drift", "--db", cluster.conninfo(database: database.name), "--models", "app.models:Base", "--path", app.path,
                "--migrations", app.appendingPathComponent("alembic.ini").path, "--python", try ExpectedSourceCommandTests.python(),
                "--write-plan", app.appendingPathComponent("repair.yaml").path,
            ]
            let first = try PgMendBinary.run(arguments)
            #expect(first.status == 1, "\(first.stdout)\(first.stderr)")
            let written = versions.appendingPathComponent("003_pgmend_repair.py").path
            #expect(first.stderr.contains("wrote \(written): revision "), "\(first.stderr)")
            #expect(first.stderr.contains(" after 002, which gives a database built from the migrations the models' tables"))
            let text = try String(contentsOfFile: written, encoding: .utf8)
            #expect(text.contains("down_revision: Union[str, None] = \"002\""))
            #expect(FileManager.default.fileExists(atPath: app.appendingPathComponent("repair.yaml").path))

            // The history now builds the models: a second run writes no migration, and says so.
            let second = try PgMendBinary.run(arguments)
            #expect(second.stderr.contains("already build the models' tables: no migration written"), "\(second.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: versions.path).filter { $0.hasSuffix("_pgmend_repair.py") }
                == ["003_pgmend_repair.py"])
        }
    }

    @Test func aMigrationFileWithoutTheHistoryIsExitTwo() throws {
        let outcome = try PgMendBinary.run(["drift", "--db", "dbname=x", "--models", "app.models:Base", "--write-migration", "m.py"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("--write-migration needs --migrations alembic.ini"), "\(outcome.stderr)")
    }
}
