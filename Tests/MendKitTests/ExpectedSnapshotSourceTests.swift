import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Expected schemas built by the application's Python: models through `create_all`, an Alembic
/// history through `upgrade head`, each in a scratch database on the test cluster (its
/// superuser may create databases). Serialized: each test checks no scratch database is left.
@Suite("Expected snapshots from models and migrations", .serialized)
struct ExpectedSnapshotSourceTests {
    /// Generic spellings on purpose: `String` without a length, `DateTime` without a time zone.
    static let models = """
        import uuid
        from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text
        from sqlalchemy.dialects.postgresql import UUID
        from sqlalchemy.orm import declarative_base

        Base = declarative_base()

        class Account(Base):
            __tablename__ = "accounts"
            id = Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
            email = Column(String, nullable=False, index=True)
            created_at = Column(DateTime, nullable=False)

        class Note(Base):
            __tablename__ = "notes"
            id = Column(Integer, primary_key=True)
            account_id = Column(UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
            body = Column(Text)

        """

    /// The schema the models describe, as a person writes it for PostgreSQL.
    static let handWritten: SQL = """
        CREATE TABLE accounts (
            id uuid PRIMARY KEY,
            email varchar NOT NULL,
            created_at timestamp without time zone NOT NULL
        );
        CREATE INDEX ix_accounts_email ON accounts (email);
        CREATE TABLE notes (
            id serial PRIMARY KEY,
            account_id uuid NOT NULL,
            body text,
            CONSTRAINT notes_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
        );
        """

    static func folder(_ label: String = #function) throws -> URL {
        let slug = String(label.filter { $0.isLetter })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-expected-\(slug)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    static func taker(_ folder: URL, cluster: ThrowawayCluster) throws -> ExpectedSnapshotTaker {
        ExpectedSnapshotTaker(python: try GenerateModelsTests.python(), searchPath: folder.path, server: try Connection(cluster.conninfo()))
    }

    @Test func modelsGiveTheSchemaWrittenByHand() throws {
        let cluster = try ThrowawayCluster.shared()
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.models.write(to: folder.appendingPathComponent("shop_models.py"), atomically: true, encoding: .utf8)

        let expected = try Self.taker(folder, cluster: cluster).take(.models("shop_models:Base"))
        #expect(expected.source == .models("shop_models:Base"))
        #expect(expected.database == "models shop_models:Base")
        #expect(try cluster.scratchDatabasesLeft() == [])

        try cluster.withFreshDatabase { database in
            try database.connect().execute(Self.handWritten)
            let live = try SnapshotTaker(connection: try database.connect()).take()
            let changes = SchemaDiff.changes(from: live.schema, to: expected.schema)
            #expect(changes.isEmpty, "\(changes)")
            #expect(live.schema == expected.schema)
        }
        let columns = try #require(expected.schema.tables["public.accounts"]).columns
        #expect(columns.map(\.type) == ["uuid", "character varying", "timestamp without time zone"])
    }

    /// A declarative Base's `metadata` or the MetaData itself: the same schema.
    @Test func aMetaDataIsTakenAsItIs() throws {
        let cluster = try ThrowawayCluster.shared()
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try (Self.models + "metadata = Base.metadata\n").write(to: folder.appendingPathComponent("shop_models.py"), atomically: true, encoding: .utf8)
        let fromBase = try Self.taker(folder, cluster: cluster).take(.models("shop_models:Base"))
        let fromMetaData = try Self.taker(folder, cluster: cluster).take(.models("shop_models:metadata"))
        #expect(fromBase.schema == fromMetaData.schema)
    }

    @Test func operatorMistakesAreClearMessages() throws {
        let cluster = try ThrowawayCluster.shared()
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.models.write(to: folder.appendingPathComponent("shop_models.py"), atomically: true, encoding: .utf8)
        try "import no_such_package\n".write(to: folder.appendingPathComponent("broken.py"), atomically: true, encoding: .utf8)
        let taker = try Self.taker(folder, cluster: cluster)
        let cases: [(SnapshotSource, String)] = [
            (.models("broken:Base"), "cannot import broken (from \(folder.standardizedFileURL.path)): ModuleNotFoundError: No module named 'no_such_package'"),
            (.models("shop_models:Nope"), "shop_models has no attribute Nope"),
            (.models("shop_models:uuid"), "shop_models:uuid is a module, not a SQLAlchemy MetaData or a declarative Base (a class with .metadata)"),
            (.models("shop_models"), "--from-models shop_models is not MODULE:ATTR (such as app.models:Base)"),
            (.migrations(folder.appendingPathComponent("alembic.ini").path), "--from-migrations \(folder.appendingPathComponent("alembic.ini").path): no such file (give the application's alembic.ini)"),
        ]
        for (source, message) in cases {
            let error = #expect(throws: ExpectedSchemaError.self) { try taker.take(source) }
            #expect(error?.message == message)
            #expect(error?.kind == .badInput)
        }
        #expect(try cluster.scratchDatabasesLeft() == [])
    }

    @Test func migrationsGiveTheTablesOfEveryRevisionWithoutAlembicVersion() throws {
        let cluster = try ThrowawayCluster.shared()
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ini = try AlembicHistory.write(into: folder)
        let snapshot = try Self.taker(folder, cluster: cluster).take(.migrations(ini))
        #expect(Set(snapshot.schema.tables.keys) == ["public.accounts", "public.notes"])
        #expect(snapshot.schema.tables["public.accounts"]?.columns.map(\.name) == ["id", "email", "created_at"])
        #expect(snapshot.source == .migrations(ini))
        #expect(snapshot.database == "migrations \(ini)")
        #expect(try cluster.scratchDatabasesLeft() == [])
    }

    /// An env.py that builds its engine from the application's own settings would migrate a
    /// real database: refused before any statement runs there.
    @Test func anEnvPyThatConnectsElsewhereIsRefused() throws {
        let cluster = try ThrowawayCluster.shared()
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try cluster.withFreshDatabase { database in
            let url = "postgresql+psycopg2://\(ThrowawayCluster.superuser)@/\(database.name)?host=\(cluster.socketDirectory)&port=\(cluster.port)"
            let ini = try AlembicHistory.write(into: folder, url: url)
            let error = #expect(throws: ExpectedSchemaError.self) { try Self.taker(folder, cluster: cluster).take(.migrations(ini)) }
            #expect(error?.message.hasPrefix("the migrations' env.py connected to database '\(database.name)', not to the URL pgmend set") == true)
            let tables = try database.connect().scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", as: Int64.self)
            #expect(tables == 0)
        }
        #expect(try cluster.scratchDatabasesLeft() == [])
    }
}

/// A two-revision Alembic history: 001 makes `accounts`, 002 adds `notes`.
enum AlembicHistory {
    /// Writes alembic.ini, env.py and the revisions; `url`, when given, is what env.py connects
    /// to whatever sqlalchemy.url says (as an application reading its own settings does).
    static func write(into folder: URL, url: String? = nil) throws -> String {
        let versions = folder.appendingPathComponent("migrations/versions")
        try FileManager.default.createDirectory(at: versions, withIntermediateDirectories: true)
        let ini = folder.appendingPathComponent("alembic.ini")
        try "[alembic]\nscript_location = migrations\nsqlalchemy.url = postgresql+psycopg2:///not_used\n"
            .write(to: ini, atomically: true, encoding: .utf8)
        let source = url.map { "\"\($0)\"" } ?? "config.get_main_option(\"sqlalchemy.url\")"
        try """
            from alembic import context
            from sqlalchemy import create_engine, pool
            config = context.config
            engine = create_engine(\(source), poolclass=pool.NullPool)
            with engine.connect() as connection:
                context.configure(connection=connection, target_metadata=None)
                with context.begin_transaction():
                    context.run_migrations()

            """.write(to: folder.appendingPathComponent("migrations/env.py"), atomically: true, encoding: .utf8)
        try """
            import sqlalchemy as sa
            from alembic import op
            from sqlalchemy.dialects.postgresql import UUID
            revision = "001"
            down_revision = None
            def upgrade():
                op.create_table("accounts",
                    sa.Column("id", UUID(as_uuid=True), primary_key=True),
                    sa.Column("email", sa.String(), nullable=False),
                    sa.Column("created_at", sa.DateTime(), nullable=False))

            """.write(to: versions.appendingPathComponent("001_accounts.py"), atomically: true, encoding: .utf8)
        try """
            import sqlalchemy as sa
            from alembic import op
            from sqlalchemy.dialects.postgresql import UUID
            revision = "002"
            down_revision = "001"
            def upgrade():
                op.create_table("notes",
                    sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
                    sa.Column("body", sa.Text()))

            """.write(to: versions.appendingPathComponent("002_notes.py"), atomically: true, encoding: .utf8)
        return ini.path
    }
}
