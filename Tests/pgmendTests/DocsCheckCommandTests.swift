import Foundation
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `pgmend docs --check` and `snapshot take --from-docs` on the demo: the stale
/// DATABASE_SCHEMA.md is contradicted line by line, and the document `docs -o` rewrites passes.
@Suite("docs --check and snapshot take --from-docs on the command line")
struct DocsCheckCommandTests {
    static let document = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Plans/demo/DATABASE_SCHEMA.md").path

    /// What the stale document says that the demo database contradicts, one line each.
    static let contradictions = [
        "table pattern_hypotheses (line 232): not in the database",
        "table reminders (line 139): not in the database",
        "table user_feedback (line 243): not in the database",
        "column users.name (line 31): not in the database",
        "column api_keys.id (line 41): documented as integer, the database has bigint",
        "column api_keys.user_id (line 42): documented as uuid, the database has character varying(36)",
        "column api_keys.created_at (line 44): documented as timestamp with time zone, the database has timestamp without time zone",
        "column apps.id (line 50): documented as uuid, the database has character varying(36)",
        "column apps.sync_error (line 54): documented as character varying(500), the database has text",
        "column apps.created_at (line 55): documented as timestamp with time zone, the database has timestamp without time zone",
        "column backburner.created_at (line 219): documented as timestamp with time zone, the database has timestamp without time zone",
        "column calendar.start_at (line 207): documented as timestamp with time zone, the database has timestamp without time zone",
        "column calendar.end_at (line 208): documented as timestamp with time zone, the database has timestamp without time zone",
        "column memories.app_id (line 65): documented as uuid, the database has character varying(36)",
        "column memories.created_at (line 70): documented as timestamp with time zone, the database has timestamp without time zone",
        "column memories.updated_at (line 71): documented as timestamp with time zone, the database has timestamp without time zone",
        "column memory_access_logs.app_id (line 90): documented as uuid, the database has character varying(36)",
        "column memory_access_logs.accessed_at (line 91): documented as timestamp with time zone, the database has timestamp without time zone",
        "column memory_status_history.changed_at (line 82): documented as timestamp with time zone, the database has timestamp without time zone",
        "column user_integrations.id (line 122): documented as uuid, the database has text",
        "column user_integrations.user_id (line 123): documented as uuid, the database has character varying(36)",
        "column user_integrations.created_at (line 126): documented as timestamp with time zone, the database has timestamp without time zone",
        "column users.subscription_tier (line 32): documented as public.subscriptiontier, the database has character varying(10)",
        "column users.created_at (line 34): documented as timestamp with time zone, the database has timestamp without time zone",
        "column wheel.recorded_at (line 230): documented as timestamp with time zone, the database has timestamp without time zone",
        "column work_sessions.started_at (line 193): documented as timestamp with time zone, the database has timestamp without time zone",
        "column work_sessions.ended_at (line 194): documented as timestamp with time zone, the database has timestamp without time zone",
    ]

    static func withDemo(_ label: String = #function, _ body: (TestDatabase, URL) throws -> Void) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: label) { database in
            try DemoDatabaseTests.load(database, users: 50)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-\(database.name)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try body(database, folder)
        }
    }

    @Test func theStaleDemoDocumentFailsLineByLineAndTheRewrittenOnePasses() throws {
        try Self.withDemo { database, folder in
            let check = try PgMendBinary.run(["docs", "--check", Self.document, "--db", database.conninfo])
            #expect(check.status == 1, "stderr: \(check.stderr)")
            let lines = check.stdout.unwrappedLines
            #expect(lines.first == "\(Self.document) documents 27 things that \(database.name) does not have:")
            let listed = Array(lines.dropFirst().prefix { $0.hasPrefix("  ") }.map { String($0.dropFirst(2)) })
            #expect(listed == Self.contradictions)
            let absentTables = listed.filter { $0.hasPrefix("table ") }.map { $0.split(separator: " ")[1] }
            #expect(absentTables == ["pattern_hypotheses", "reminders", "user_feedback"])
            // The second group: what the database has that the document never mentions.
            for table in ["claude_code_agents", "claude_code_sessions", "memories_backup_66d3d5d1", "pattern_tracking", "user_integrations_backup"] {
                #expect(lines.contains("  table \(table)"))
            }
            #expect(lines.contains("  column users.phone_number character varying(20)"))
            #expect(lines.contains("  column memories.vector (line 67): vector(1536)"))
            #expect(lines.last { !$0.isEmpty } == "pgmend docs -o \(Self.document) rewrites it from the database")

            let json = try PgMendBinary.run(["docs", "--check", Self.document, "--db", database.conninfo, "--format", "json"])
            #expect(json.status == 1)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(report["agrees"] as? Bool == false)
            let body = try #require(report["check"] as? [String: Any])
            let contradictions = try #require(body["contradictions"] as? [[String: Any]])
            #expect(contradictions.count == Self.contradictions.count)
            #expect(contradictions.filter { $0["kind"] as? String == "table_absent" }.compactMap { $0["table"] as? String }
                == ["pattern_hypotheses", "reminders", "user_feedback"])
            #expect((body["undocumented"] as? [Any])?.count == 29)

            let rewritten = folder.appendingPathComponent("DATABASE_SCHEMA.md").path
            let write = try PgMendBinary.run(["docs", "--db", database.conninfo, "-o", rewritten])
            #expect(write.status == 0, "stderr: \(write.stderr)")
            let recheck = try PgMendBinary.run(["docs", "--check", rewritten, "--db", database.conninfo])
            #expect(recheck.status == 0, "stdout: \(recheck.stdout)")
            #expect(recheck.stdout.unwrappedLines == ["\(rewritten) agrees with \(database.name): nothing it documents is missing or typed otherwise", ""])
        }
    }

    @Test func aDocsSnapshotWithAndWithoutAServer() throws {
        try Self.withDemo { database, folder in
            let plain = folder.appendingPathComponent("plain.json").path
            let take = try PgMendBinary.run(["snapshot", "take", "--from-docs", Self.document, "-o", plain],
                                            environment: ["PGMEND_DB": ""])
            #expect(take.status == 0, "stderr: \(take.stderr)")
            #expect(take.stdout.containsFlowed("20 tables, 123 columns, types kept as written"))
            let unrecognised = try Snapshot.read(path: plain)
            #expect(unrecognised.source == .docs(Self.document))
            #expect(unrecognised.schema.tables.values.allSatisfy { $0.columns.allSatisfy { !$0.hasComparableType } })

            let typed = folder.appendingPathComponent("typed.json").path
            let withServer = try PgMendBinary.run(["snapshot", "take", "--from-docs", Self.document, "--db", database.conninfo, "-o", typed])
            #expect(withServer.status == 0, "stderr: \(withServer.stderr)")
            #expect(withServer.stdout.containsFlowed("121 types recognised by \(database.name), 2 not"))
            let snapshot = try Snapshot.read(path: typed)
            #expect(snapshot.schema.table("users")?.column("created_at")?.type == "timestamp with time zone")

            let empty = folder.appendingPathComponent("empty.md").path
            try Data("# Notes\n\nNo tables here.\n".utf8).write(to: URL(fileURLWithPath: empty))
            let refused = try PgMendBinary.run(["docs", "--check", empty, "--db", database.conninfo])
            #expect(refused.status == 2)
            #expect(refused.stderr.hasPrefix("pgmend: \(empty): no tables found"))
            let misuse = try PgMendBinary.run(["snapshot", "take", "--from-docs", Self.document, "--data"])
            #expect(misuse.status == 2)
        }
    }
}
