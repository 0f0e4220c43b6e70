import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Schema documents read as expected schemas: the demo's stale hand-written DATABASE_SCHEMA.md,
/// pgmend's own `docs` output read back, hand-written variants, and types recognised by a server.
@Suite("MarkdownSchema: expected schemas from documents")
struct MarkdownSchemaTests {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let demoDocument = packageRoot.appendingPathComponent("Plans/demo/DATABASE_SCHEMA.md").path

    @Test func theDemoDocumentGivesExactlyItsTables() throws {
        let document = try MarkdownSchemaParser.read(path: Self.demoDocument)
        #expect(document.tables.map(\.name.description) == [
            "users", "api_keys", "apps", "memories", "memory_status_history", "memory_access_logs", "documents",
            "document_chunks", "user_integrations", "sms_conversations", "reminders", "conversations", "milestones",
            "tasks", "work_sessions", "calendar", "backburner", "wheel", "pattern_hypotheses", "user_feedback",
        ])
        #expect(document.notes.isEmpty)
        let users = try #require(document.table("users"))
        #expect(users.line == 25)
        #expect(users.columns.map(\.name) == ["id", "email", "name", "subscription_tier", "metadata", "created_at", "updated_at"])
        #expect(users.columns.map(\.type) == ["uuid", "varchar(255)", "varchar(200)", "subscriptiontier", "jsonb", "timestamptz", "timestamptz"])
        #expect(document.table("api_keys")?.column("id")?.type == "serial")
        #expect(document.table("memories")?.column("vector")?.type == "vector(1536)")
        #expect(document.table("document_chunks")?.column("embedding")?.type == "double precision[]")
        #expect(document.table("user_feedback")?.columns.map(\.name) == ["id", "user_id", "rating", "comment", "context", "created_at"])
        #expect(document.tables.allSatisfy { !$0.columns.isEmpty })
    }

    @Test func withoutAServerNoTypeIsRecognised() throws {
        let document = try MarkdownSchemaParser.read(path: Self.demoDocument)
        let snapshot = try MarkdownSchemaSnapshot.snapshot(document, path: "DATABASE_SCHEMA.md", connection: nil)
        #expect(snapshot.source == .docs("DATABASE_SCHEMA.md"))
        #expect(snapshot.schema.tables.count == 20)
        let columns = snapshot.schema.tables.values.flatMap(\.columns)
        #expect(columns.allSatisfy { !$0.hasComparableType && $0.documentedType == $0.type })
        #expect(snapshot.schema.table("users")?.column("created_at")?.documentedType == "timestamptz")
        // Only tables and columns: nothing else a document cannot say.
        #expect(snapshot.schema.tables.values.allSatisfy { $0.constraints.isEmpty && $0.indexes.isEmpty })
        #expect(snapshot.schema.sequences.isEmpty && snapshot.schema.enums.isEmpty && snapshot.schema.views.isEmpty)
        // The file says where it came from; a live snapshot's file does not (unchanged bytes).
        #expect(try snapshot.jsonText().contains("\"kind\": \"docs\""))
        let reread = try Snapshot.read(from: Data(try snapshot.jsonText().utf8), source: "test")
        #expect(reread == snapshot)
    }

    @Test func theDemoDocumentsTypesAsTheServerPrintsThem() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "50"])
            let document = try MarkdownSchemaParser.read(path: Self.demoDocument)
            let snapshot = try MarkdownSchemaSnapshot.snapshot(document, path: "d.md", connection: try database.connect())
            let users = try #require(snapshot.schema.table("users"))
            #expect(users.column("email")?.type == "character varying(255)")
            #expect(users.column("subscription_tier")?.type == "public.subscriptiontier")
            #expect(users.column("created_at")?.type == "timestamp with time zone")
            #expect(users.columns.allSatisfy { $0.hasComparableType })
            #expect(snapshot.schema.table("api_keys")?.column("id")?.type == "integer")
            #expect(snapshot.schema.table("sms_conversations")?.column("role")?.type == "public.sms_role")
            #expect(snapshot.schema.table("document_chunks")?.column("embedding")?.type == "double precision[]")
            // No enum sync_status and no pgvector in the demo: kept as written, not compared.
            let unrecognised = snapshot.schema.tables.values.flatMap { table in
                table.columns.filter { !$0.hasComparableType }.map { "\(table.name).\($0.name) \($0.type)" }
            }
            #expect(unrecognised.sorted() == ["apps.sync_status sync_status", "memories.vector vector(1536)"])
        }
    }

    @Test func typesAreRecognisedOnlyWhenTheServerKnowsThem() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TYPE mood AS ENUM ('ok'); CREATE SCHEMA app; CREATE TYPE app.tier AS ENUM ('free')")
            let texts: Set<String> = [
                "serial", "BIGSERIAL", "smallserial", "timestamptz", "timestamp(3) with time zone", "varchar(255)",
                "character varying(20)[]", "numeric(10,2)", "char(2)", "int", "mood", "app.tier", "text[]",
                "no_such_type", "integer(11)", "varchar(", "vector(1536)", "uuid primary key", "bit(8)",
            ]
            let spelled = try DocumentedTypeResolver(connection: connection).resolve(texts)
            #expect(spelled == [
                "serial": "integer", "BIGSERIAL": "bigint", "smallserial": "smallint",
                "timestamptz": "timestamp with time zone", "timestamp(3) with time zone": "timestamp(3) with time zone",
                "varchar(255)": "character varying(255)", "character varying(20)[]": "character varying(20)[]",
                "numeric(10,2)": "numeric(10,2)", "char(2)": "character(2)", "int": "integer", "mood": "public.mood",
                "app.tier": "app.tier", "text[]": "text[]", "bit(8)": "bit(8)",
            ])
            // The connection is usable afterwards: errors stayed inside their savepoints.
            #expect(try connection.scalar("SELECT 1", as: Int.self) == 1)
        }
    }

    /// `pgmend docs` output read back gives the live schema's tables, columns and types.
    @Test(arguments: ["Tests/MendKitTests/Fixtures/catalog-features.sql", "Plans/demo/drifted.sql"])
    func pgmendsOwnDocumentRoundTrips(_ fixture: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL(fixture, into: database, variables: fixture.contains("drifted") ? ["users": "50"] : [:])
            let connection = try database.connect()
            let live = try CatalogReader(connection: connection).readSchema()
            let document = MarkdownSchemaParser.parse(SchemaDocs.markdown(live, title: "Schema of x"))
            let snapshot = try MarkdownSchemaSnapshot.snapshot(document, path: "x.md", connection: connection)
            #expect(Set(snapshot.schema.tables.keys) == Set(live.tables.keys))
            for (key, table) in live.tables {
                let documented = snapshot.schema.tables[key]
                #expect(documented?.columns.map(\.name) == table.columns.map(\.name), "\(key)")
                #expect(documented?.columns.map(\.type) == table.columns.map(\.type), "\(key)")
                #expect(documented?.columns.allSatisfy { $0.hasComparableType } == true, "\(key)")
            }
            let check = DocsCheck.compare(documented: snapshot.schema, database: live, document: document)
            #expect(check.contradictions.isEmpty && check.undocumented.isEmpty && check.typesNotCompared.isEmpty)
        }
    }

    @Test func handWrittenVariants() {
        let text = """
            # Our schema

            Some prose about `users` that is not a heading.

            ## Core

            ### `users`

            - id (uuid, PK)
            - `email`: varchar(255) NOT NULL, unique
            * name — text
            - **created_at**: `timestamptz` - when they joined
            - Nickname (varchar(40))

            ## Table: audit.events

            | Field | Data type | Description |
            |:------|:---------:|-------------|
            | `id` | bigserial | key |
            | payload | jsonb (nullable) | what happened |
            | "Kind" | text | |

            ## orders table

            Orders are described elsewhere.

            ## `billing`.`invoices`

            1. id: uuid
            2. total: numeric(12, 2)

            ## Memory

            Nothing but prose here.

            - a point about memory
            - another point

            ## Views

            ### active_users

            | Column | Type |
            | --- | --- |
            | id | uuid |

            ```sql
            ## not_a_heading
            ```

            <!--
            ## hidden
            | Column | Type |
            | --- | --- |
            | id | uuid |
            -->

            ## Contents

            - [users](#users)
            """
        let document = MarkdownSchemaParser.parse(text)
        #expect(document.tables.map(\.name.key) == ["public.users", "audit.events", "public.orders", "billing.invoices"])
        let users = document.tables[0]
        #expect(users.columns.map(\.name) == ["id", "email", "name", "created_at", "nickname"])
        #expect(users.columns.map(\.type) == ["uuid", "varchar(255)", "text", "timestamptz", "varchar(40)"])
        let events = document.tables[1]
        #expect(events.columns.map(\.name) == ["id", "payload", "Kind"])
        #expect(events.columns.map(\.type) == ["bigserial", "jsonb", "text"])
        // A heading that says it is a table counts without columns; only its presence is compared.
        #expect(document.tables[2].columns.isEmpty)
        #expect(document.tables[3].columns.map(\.type) == ["uuid", "numeric(12, 2)"])
    }

    @Test func aDocumentWithoutTablesIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("no-tables-\(UUID()).md").path
        try Data("# Notes\n\n## Core\n\nProse only.\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: MarkdownSchemaError.self) { try MarkdownSchemaParser.read(path: path) }
        #expect(throws: MarkdownSchemaError.self) { try MarkdownSchemaParser.read(path: path + ".missing") }
    }

    @Test func aDocsComparisonComparesOnlyWhatADocumentSays() {
        let live = Schema(namespaces: ["public"], tables: [
            "public.users": Table(schema: "public", name: "users", columns: [
                Column(name: "id", type: "uuid", notNull: true), Column(name: "email", type: "text"),
                Column(name: "vector", type: "text"),
            ], indexes: ["users_pkey": Index(name: "users_pkey", definition: "x", keys: [])]),
            "public.tags": Table(schema: "public", name: "tags", columns: [Column(name: "id", type: "integer")]),
            "public.logs": Table(schema: "public", name: "logs", columns: [Column(name: "id", type: "integer")]),
        ])
        let documented = Schema(namespaces: ["public"], tables: [
            "public.users": Table(schema: "public", name: "users", columns: [
                Column(name: "id", type: "uuid"), Column(name: "email", type: "character varying(255)"),
                Column(name: "vector", type: "vector(3)", documentedType: "vector(3)"), Column(name: "name", type: "text"),
            ]),
            "public.tags": Table(schema: "public", name: "tags"),
            "public.gone": Table(schema: "public", name: "gone", columns: [Column(name: "id", type: "integer")]),
        ])
        let check = DocsCheck.compare(documented: documented, database: live)
        #expect(check.contradictions.map(\.description) == [
            "table gone: not in the database",
            "column users.name: not in the database",
            "column users.email: documented as character varying(255), the database has text",
        ])
        #expect(check.undocumented.map(\.description) == ["table logs"])
        #expect(check.typesNotCompared.map(\.description) == ["column users.vector: vector(3)"])
        #expect(!check.agrees)
    }
}
