import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The demo application (`Plans/demo/app`): its models and its Alembic history build what the
/// two reviews say they do, and a dry run warns about the repairs the models would undo.
@Suite("Demo application")
struct DemoApplicationTests {
    static let app = GenerateModelsTests.root.appendingPathComponent("Plans/demo/app").path
    static let core = app + "/app/models/core.py"

    /// The tables of the models: seed 000's application tables and seed 001's models.
    static let modelTables: Set<String> = [
        "users", "api_keys", "apps", "memories", "memory_status_history", "memory_access_logs",
        "documents", "document_chunks", "user_integrations", "sms_conversations",
        "conversations", "milestones", "tasks", "pattern_tracking", "goals", "checkins", "metrics",
        "conversation_embeddings", "wheel_categories", "wheel_scores", "work_sessions",
        "calendar_events", "backburner_items",
    ]
    /// What the second review finds missing from migration 001 (work_sessions is there, with
    /// its old columns).
    static let missingFromMigrations: Set<String> = [
        "goals", "checkins", "metrics", "conversation_embeddings", "wheel_categories", "wheel_scores",
        "calendar_events", "backburner_items",
    ]
    static let migrationTables: Set<String> = [
        "users", "api_keys", "apps", "memories", "memory_status_history", "memory_access_logs",
        "documents", "document_chunks", "user_integrations", "sms_conversations",
        "conversations", "milestones", "tasks", "pattern_tracking", "calendar", "backburner", "wheel",
        "work_sessions", "alembic_version",
    ]

    /// `metadata.create_all` of the demo's models into `database`.
    static func createModels(in database: TestDatabase) throws {
        try GenerateModelsTests.expectPython([
            "-c", "import sys; sys.path.insert(0, sys.argv[1]); from sqlalchemy import create_engine; "
                + "from app.models import Base; Base.metadata.create_all(create_engine(sys.argv[2]))",
            app, GenerateModelsTests.sqlalchemyURL(database),
        ], "create_all of the demo's models")
    }

    static func tables(_ database: TestDatabase) throws -> Set<String> {
        let schema = try CatalogReader(connection: try database.connect()).readSchema()
        return Set(schema.tables.values.map(\.name))
    }

    @Test func modelsHaveTheSeedsTables() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.createModels(in: database)
            #expect(try Self.tables(database) == Self.modelTables)
        }
    }

    @Test func migrationsAreIncompleteAsTheReviewSays() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try GenerateModelsTests.expectPython([
                "-c", "import sys; from alembic.config import Config; from alembic import command; "
                    + "cfg = Config(sys.argv[1]); cfg.set_main_option('sqlalchemy.url', sys.argv[2]); command.upgrade(cfg, 'head')",
                Self.app + "/alembic.ini", GenerateModelsTests.sqlalchemyURL(database),
            ], "alembic upgrade head of the demo's history")
            let tables = try Self.tables(database)
            #expect(tables == Self.migrationTables)
            #expect(tables.isDisjoint(with: Self.missingFromMigrations))
            let schema = try CatalogReader(connection: try database.connect()).readSchema()
            // 002's phone columns; 001's work_sessions with its old columns.
            let users = try #require(schema.table("users"))
            #expect(["phone_number", "phone_verified", "phone_verification_attempts", "phone_verified_at", "sms_enabled"].allSatisfy { users.column($0) != nil })
            #expect(users.column("subscription_tier")?.type == "character varying(10)")
            #expect(schema.enums["public.subscriptiontier"] != nil)
            let sessions = try #require(schema.table("work_sessions"))
            #expect(sessions.column("notes") != nil && sessions.column("energy_at_start") == nil)
            #expect(try database.connect().scalar("SELECT version_num FROM alembic_version", as: String.self) == "002")
        }
    }

    /// The snapshot of the models, made the way `ExpectedSchema.fromModels` makes it.
    static func modelsSnapshot() throws -> Snapshot {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try createModels(in: database)
            return try SnapshotTaker(connection: try database.connect()).take()
        }
    }

    static func line(of text: String, in file: String) throws -> Int {
        let lines = try String(contentsOfFile: file, encoding: .utf8).components(separatedBy: "\n")
        return try #require(lines.firstIndex { $0.contains(text) }) + 1
    }

    @Test func dedupeWarnsThatTheModelsDeclareTheDroppedIndexes() throws {
        let models = try Self.modelsSnapshot()
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "50"])
            var plan = try PlanLoader.load(path: GenerateModelsTests.root.appendingPathComponent("Plans/indexes-and-keys.yaml").path)
            plan.settings.models = "app.models:Base"
            plan.settings.modelsPath = Self.app
            var runner = Runner(connection: try database.connect(), plan: plan)
            runner.modelsSnapshot = GivenModelsSnapshot(models)
            let report = try runner.dryRun()

            let dropped = report.warnings.filter { $0.kind == .indexDropped && $0.table == "api_keys" }
            #expect(Set(dropped.compactMap(\.object)) == ["ix_api_keys_user_id", "idx_apikey_user_id"])
            #expect(dropped.allSatisfy { $0.step == 1 })
            let flagged = try #require(dropped.first { $0.object == "ix_api_keys_user_id" })
            #expect(flagged.declaredAt == ModelDeclaration(
                className: "ApiKey", attribute: "user_id", file: Self.core, line: try Self.line(of: "user_id = Column(String(36), nullable=False, index=True)", in: Self.core)))
            #expect(flagged.advice.hasPrefix("remove index=True from ApiKey.user_id ("))
            let named = try #require(dropped.first { $0.object == "idx_apikey_user_id" })
            #expect(named.declaredAt?.line == (try Self.line(of: "Index(\"idx_apikey_user_id\"", in: Self.core)))
            #expect(named.declaredAt?.attribute == "__table_args__")
            #expect(named.advice.hasPrefix("remove Index(\"idx_apikey_user_id\") from ApiKey.__table_args__ ("))
            // memories' single-column index is the models' too; the foreign keys the plan
            // replaces get the cascades the models declare, so they are no contradiction.
            #expect(report.warnings.contains { $0.object == "idx_memories_user_id" })
            #expect(!report.warnings.contains { $0.kind == .constraintDropped })

            let text = RunReportText(report).text
            #expect(text.contains("warnings: the plan's models would undo"))
            #expect(text.containsFlowed("  ! step 1: index ix_api_keys_user_id on api_keys removed, which the models declare; remove index=True from ApiKey.user_id (\(Self.core):"))
            let json = try CanonicalJSON.encode(report)
            #expect(json.contains("\"warnings\": ["))
            #expect(json.contains("\"kind\": \"index_dropped\""))
        }
    }

    @Test func typeChangesAndDropsTheModelsContradict() throws {
        let models = try Self.modelsSnapshot()
        let source = ModelSource.scan(module: "app.models", path: Self.app)
        let changes = [
            SchemaChange(objectType: "column", object: "apps.id", action: .changed, property: "type",
                         before: "character varying(36)", after: "uuid", description: "column apps.id: type character varying(36) -> uuid"),
            // To what the models declare: no warning.
            SchemaChange(objectType: "column", object: "work_sessions.started_at", action: .changed, property: "type",
                         before: "timestamp without time zone", after: "timestamp with time zone", description: "column work_sessions.started_at: type ..."),
            SchemaChange(objectType: "table", object: "wheel", action: .removed, description: "table wheel removed"),
            SchemaChange(objectType: "table", object: "memories", action: .removed, description: "table memories removed"),
            SchemaChange(objectType: "column", object: "users.metadata", action: .removed, description: "table users: column metadata removed"),
            SchemaChange(objectType: "table", object: "backburner_items", action: .changed, property: "name",
                         before: "backburner_items", after: "backburner", description: "table backburner_items renamed to backburner"),
        ]
        let warnings = ModelContradictions.find(models: models.schema, changes: changes, source: source)
        #expect(warnings.map(\.kind) == [.columnType, .tableDropped, .columnDropped, .tableRenamed])
        #expect(warnings[0].models == "apps.id as character varying(36)")
        #expect(warnings[0].advice == "declare App.id (\(Self.core):\(try Self.line(of: "id = Column(String(36), primary_key=True", in: Self.core))) as uuid")
        #expect(warnings[1].advice.hasPrefix("remove class Memory ("))
        #expect(warnings[2].declaredAt?.attribute == "metadata_")
        #expect(warnings[3].advice.hasPrefix("set __tablename__ = \"backburner\" in BackburnerItem ("))
        // Without the source: the table, and no line.
        let bare = ModelContradictions.find(models: models.schema, changes: [changes[0]])
        #expect(bare.first?.declaredAt == nil)
        #expect(bare.first?.advice == "change the model of table apps (its class was not found in the models' source)")
    }

    @Test func modelsSettings() throws {
        let plan = try PlanLoader.parse("""
            name: p
            settings: {models: "app.models:Base", models_path: Plans/demo/app}
            steps:
              - dedupe_indexes: {tables: [api_keys]}
            """, file: "p.yaml")
        #expect(plan.settings.models == "app.models:Base")
        #expect(plan.settings.modelsPath == "Plans/demo/app")
        #expect(plan.settings.lines.suffix(2).map(\.name) == ["models", "models_path"])

        let bad = #expect(throws: PlanError.self) {
            try PlanLoader.parse("""
                name: p
                settings: {models: app.models, models_path: x}
                steps:
                  - dedupe_indexes: {tables: [api_keys]}
                """, file: "p.yaml")
        }
        #expect(bad?.description.contains("models must be MODULE:ATTR") == true)
        let lone = #expect(throws: PlanError.self) {
            try PlanLoader.parse("""
                name: p
                settings: {models_path: x}
                steps:
                  - dedupe_indexes: {tables: [api_keys]}
                """, file: "p.yaml")
        }
        #expect(lone?.description.contains("give models: MODULE:ATTR too") == true)
    }

    @Test func aPlanNamingModelsNeedsAProvider() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE t (id int)")
            let plan = try PlanLoader.parse("""
                name: p
                settings: {models: "app.models:Base"}
                steps:
                  - dedupe_indexes: {tables: [t]}
                """, file: "p.yaml")
            let runner = Runner(connection: try database.connect(), plan: plan)
            let error = #expect(throws: ModelsUnavailable.self) { try runner.dryRun() }
            #expect(error?.description.hasPrefix("the plan's models (app.models:Base) could not be read") == true)
        }
    }
}
