import Foundation
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `pgmend snapshot take --from-models` through the built binary: where the scratch database
/// goes, and what an operator sees when the models do not import.
@Suite("snapshot take --from-models on the command line", .serialized)
struct ExpectedSourceCommandTests {
    static let models = """
        from sqlalchemy import Column, DateTime, Integer, String
        from sqlalchemy.orm import declarative_base

        Base = declarative_base()

        class Visit(Base):
            __tablename__ = "visits"
            id = Column(Integer, primary_key=True)
            page = Column(String, index=True)
            seen_at = Column(DateTime)

        """

    static func python() throws -> String {
        let path = RunCommandTests.root.appendingPathComponent(".build/venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ClusterFailure("no Python virtualenv at \(path); create it with scripts/python-venv.sh (make test does)")
        }
        return path
    }

    static func withModels(_ body: (URL) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-from-models-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try models.write(to: folder.appendingPathComponent("site_models.py"), atomically: true, encoding: .utf8)
        try "import missing_dependency\n".write(to: folder.appendingPathComponent("broken.py"), atomically: true, encoding: .utf8)
        try body(folder)
    }

    static func scratchFolders() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("pgmend-scratch-") }
    }

    /// A role without CREATEDB cannot make the scratch database on the server of --db: pgmend
    /// says so, starts a server of its own, and leaves neither a database nor a server behind.
    @Test func aRoleWithoutCreateDatabaseGetsALocalServer() throws {
        let cluster = try ThrowawayCluster.shared()
        try cluster.withFreshDatabase { database in
            let role = "nocreatedb_\(database.name)"
            let admin = try database.connect()
            try admin.execute("CREATE ROLE \(ident: role) LOGIN NOCREATEDB")
            defer { _ = try? admin.execute("DROP ROLE IF EXISTS \(ident: role)") }
            let foldersBefore = try Self.scratchFolders()
            try Self.withModels { folder in
                let output = folder.appendingPathComponent("models.json").path
                let take = try PgMendBinary.run([
                    "snapshot", "take", "--from-models", "site_models:Base", "--path", folder.path, "--python", try Self.python(),
                    "--db", cluster.conninfo(database: database.name, user: role), "-o", output,
                ])
                #expect(take.status == 0, "\(take.stdout)\(take.stderr)")
                #expect(take.stderr.contains("role \(role) may not create databases on the server of --db; building the expected schema on a local throwaway PostgreSQL server instead"))
                #expect(take.stdout.flowed.hasPrefix("snapshot of models site_models:Base: 1 table, 0 views in public -> \(output)"))
                let snapshot = try Snapshot.read(path: output)
                #expect(snapshot.source == .models("site_models:Base"))
                #expect(snapshot.schema.tables["public.visits"]?.columns.map(\.type) == ["integer", "character varying", "timestamp without time zone"])
                #expect(snapshot.schema.tables["public.visits"]?.indexes.keys.sorted() == ["ix_visits_page", "visits_pkey"])
            }
            #expect(try Self.scratchFolders() == foldersBefore)
            #expect(try cluster.scratchDatabasesLeft() == [])
        }
    }

    @Test func modelsThatDoNotImportAreExitTwoWithPythonsMessage() throws {
        let cluster = try ThrowawayCluster.shared()
        try Self.withModels { folder in
            let take = try PgMendBinary.run([
                "snapshot", "take", "--from-models", "broken:Base", "--path", folder.path, "--python", try Self.python(),
                "--db", cluster.conninfo(), "-o", folder.appendingPathComponent("x.json").path,
            ])
            #expect(take.status == 2)
            #expect(take.stderr.hasSuffix("pgmend: cannot import broken (from \(folder.standardizedFileURL.path)): ModuleNotFoundError: No module named 'missing_dependency'\n"), "\(take.stderr)")
            #expect(!take.stderr.contains("Traceback"))
        }
    }

    @Test func optionsThatDoNotGoTogetherAreBadInput() throws {
        let both = try PgMendBinary.run(["snapshot", "take", "--from-models", "a:B", "--from-migrations", "alembic.ini"])
        #expect(both.status == 2)
        #expect(both.stderr.contains("choose --from-models or --from-migrations, not both"))
        let pythonAlone = try PgMendBinary.run(["snapshot", "take", "--python", "python3"])
        #expect(pythonAlone.status == 2)
        #expect(pythonAlone.stderr.contains("--python and --path go with --from-models or --from-migrations"))
    }
}
