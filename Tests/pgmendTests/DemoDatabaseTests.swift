import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// `Plans/demo/drifted.sql`, the database `make demo` and the end-to-end tests repair: it loads,
/// it carries the problems the seed reviews describe, and it is the same every time.
@Suite("The drifted demo database")
struct DemoDatabaseTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Plans/demo/drifted.sql").path

    static func load(_ database: TestDatabase, users: Int) throws {
        let psql = "\(database.cluster.binDirectory)/psql"
        let outcome = try ProcessRunner.run(
            psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "users=\(users)", "-d", database.conninfo, "-f", script])
        #expect(outcome.status == 0, "psql: \(outcome.stderr)")
    }

    @Test func itLoadsWithThePlantedProblems() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.load(database, users: 60)
            let connection = try database.connect()
            func exists(_ table: String) throws -> Bool {
                try connection.scalar("SELECT to_regclass(\(bind: table)) IS NOT NULL", as: Bool.self) ?? false
            }
            for table in ["users", "api_keys", "memories_backup_66d3d5d1", "user_integrations_backup",
                          "claude_code_sessions", "claude_code_agents", "calendar", "backburner", "wheel", "work_sessions"] {
                #expect(try exists(table), "\(table) should exist")
            }
            for table in ["goals", "checkins", "metrics", "conversation_embeddings", "wheel_categories",
                          "wheel_scores", "calendar_events", "backburner_items"] {
                #expect(try !exists(table), "\(table) should be missing")
            }
            #expect(try connection.scalar("SELECT count(*) FROM memories_backup_66d3d5d1", as: Int.self) ?? 0 > 0)
            #expect(try connection.scalar("SELECT count(*) FROM user_integrations_backup", as: Int.self) ?? 0 > 0)
            #expect(try connection.scalar("SELECT count(*) FROM users WHERE metadata ? 'phone_number'", as: Int.self) ?? 0 > 40)
            #expect(try connection.scalar("SELECT user_id FROM api_keys WHERE id = 7", as: String.self) == "legacy-admin")
            let types = try connection.query(
                """
                SELECT table_name || '.' || column_name, data_type FROM information_schema.columns
                WHERE (table_name, column_name) IN (('api_keys','user_id'), ('apps','id'), ('memories','app_id'), ('users','created_at'))
                ORDER BY 1
                """)
            #expect(try types.map { "\(try $0.get(0, as: String.self)) \(try $0.get(1, as: String.self))" } == [
                "api_keys.user_id character varying", "apps.id character varying",
                "memories.app_id character varying", "users.created_at timestamp without time zone",
            ])
            let duplicateIndexes = try connection.query(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'api_keys' AND indexdef LIKE '%(user_id)' ORDER BY 1")
            #expect(try duplicateIndexes.map { try $0.get(0, as: String.self) } == ["idx_apikey_user_id", "ix_api_keys_user_id"])
        }
    }

    @Test func itIsTheSameEveryTime() throws {
        let cluster = try ThrowawayCluster.shared()
        let fingerprints = try (0..<2).map { attempt in
            try cluster.withFreshDatabase(label: "demo_determinism_\(attempt)") { database in
                try Self.load(database, users: 60)
                // Every table's rows, in a fixed order, hashed.
                let connection = try database.connect()
                let tables = try connection.query(
                    "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 1")
                return try tables.map { row in
                    let table = SQLIdentifier(try row.get(0, as: String.self))
                    let hash = try connection.scalar(
                        "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \(table) t", as: String.self)
                    return "\(table) \(hash ?? "")"
                }
            }
        }
        #expect(fingerprints[0].count > 20)
        #expect(fingerprints[0] == fingerprints[1])
    }
}
