import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The Alembic migration that records a repair (`DriftMigration`): written after the history's
/// head, it makes a database built from the migrations match the models, as drift compares
/// them. Each test builds the models and the migrations with the application's Python in
/// scratch databases, writes the migration into a copy of the history, builds it again.
@Suite("Drift migration", .serialized)
struct DriftMigrationTests {
    static func copy(_ app: URL, _ label: String = #function) throws -> URL {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("pgmend-driftmig-\(label.filter(\.isLetter))-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(at: app, to: folder)
        return folder
    }

    /// Writes the migration into `app`'s history and returns it with the drift, after it, of
    /// the migrations against the models.
    static func roundTrip(_ app: URL, models target: String) throws -> (text: String, file: String, after: DriftReport) {
        let cluster = try ThrowawayCluster.shared()
        let python = try GenerateModelsTests.python()
        let taker = ExpectedSnapshotTaker(python: python, searchPath: app.path, server: try Connection(cluster.conninfo()))
        let ini = app.appendingPathComponent("alembic.ini").path
        let models = try taker.take(.models(target))
        let before = try taker.take(.migrations(ini))
        let report = DriftMatrix.compare(live: before, sources: [("models", models)])
        #expect(!report.agree, "the application's migrations should differ from its models before the repair")
        let history = try AlembicVersions.read(ini: ini, python: python)
        let renames = DriftMigration.renames(report, migrations: before.schema, models: models.schema)
        let text = try #require(try DriftMigration.render(
            migrations: before.schema, models: models.schema, renames: renames, downRevision: try history.downRevision(ini: ini)))
        let name = history.fileName(revision: try #require(DriftMigration.revision(of: text)))
        try text.write(to: URL(fileURLWithPath: history.folder).appendingPathComponent(name), atomically: true, encoding: .utf8)
        let after = try taker.take(.migrations(ini))
        return (text, name, DriftMatrix.compare(live: after, sources: [("models", models)]))
    }

    static func remaining(_ report: DriftReport) -> String {
        report.rows.filter { row in !row.cells.allSatisfy(row.agrees) }.map { row in
            "\(row.objectType) \(row.object): " + row.cells.map { "\($0.state.rawValue) \($0.details.joined(separator: "; "))" }.joined()
        }.joined(separator: "\n")
    }

    @Test func theDemoMigrationsBuildTheModelsOnceTheMigrationIsAdded() throws {
        let app = try Self.copy(StepRegistryDocumentationTests.root.appendingPathComponent("Plans/demo/app"))
        defer { try? FileManager.default.removeItem(at: app) }
        let (text, file, after) = try Self.roundTrip(app, models: "app.models:Base")
        #expect(after.agree, "still differing after \(file):\n\(Self.remaining(after))\n\(text)")
        #expect(file == "003_pgmend_repair.py")
        #expect(text.contains("down_revision: Union[str, None] = \"002\""))
        #expect(text.contains("op.rename_table(\"calendar\", \"calendar_events\")"))
        #expect(text.contains("op.rename_table(\"backburner\", \"backburner_items\")"))
        #expect(text.contains("op.drop_table(\"wheel\")"))
        #expect(text.contains("op.create_table(\n        \"goals\","))
        print(text)
    }
}
