import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The acceptance of `pgmend drift` on the demo, with every source made as an operator makes it:
/// the demo application's models (`Plans/demo/app`, `create_all` by its Python), its Alembic
/// history (`upgrade head`) and the stale `Plans/demo/DATABASE_SCHEMA.md`, against the drifted
/// demo database. No hand-built snapshot stands in for a source here.
@Suite("Drift on the demo application", .serialized)
struct DriftDemoTests {
    static let app = GenerateModelsTests.root.appendingPathComponent("Plans/demo/app").path
    static let document = GenerateModelsTests.root.appendingPathComponent("Plans/demo/DATABASE_SCHEMA.md").path

    /// The three sources, made against `server` (scratch databases on the test cluster; the
    /// document's types recognised by the demo database's server).
    static func sources(_ server: Connection) throws -> [(label: String, snapshot: Snapshot)] {
        let taker = ExpectedSnapshotTaker(python: try GenerateModelsTests.python(), searchPath: app, server: server)
        let document = try MarkdownSchemaParser.read(path: Self.document)
        return [
            ("models", try taker.take(.models("app.models:Base"))),
            ("migrations", try ExpectedSnapshotTaker(python: try GenerateModelsTests.python(), server: server)
                .take(.migrations(app + "/alembic.ini"))),
            ("docs", try MarkdownSchemaSnapshot.snapshot(document, path: Self.document, connection: server)),
        ]
    }

    /// Rows of the matrix as `object in|out models migrations docs` (DriftTests.matrix).
    static func cells(_ report: DriftReport, where state: (String, [String]) -> Bool) -> Set<String> {
        Set(report.tableRows.filter { state($0.object, $0.cells.map(\.state.rawValue)) }.map(\.object))
    }

    /// Every discrepancy the second review names, each where it belongs, and the whole matrix
    /// (the rest is the document: written for the schema the repairs aim at, it contradicts the
    /// demo's planted drift column by column, and says nothing of columns added since).
    @Test func everyDiscrepancyOfTheReviewAndNothingElse() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "50"])
            let connection = try database.connect()
            let live = try SnapshotTaker(connection: connection).take()
            let report = DriftMatrix.compare(live: live, sources: try Self.sources(connection))
            let shown = DriftText.lines(report).joined(separator: "\n")

            // "The 001 migration is missing 10+ tables that exist in the models": the eight
            // the database lacks too, and the two whose old shape 001 has under another name.
            #expect(Self.cells(report) { _, c in c[0] != "absent" && c[0] != "ok" && c[1] == "absent" }
                == ["goals", "checkins", "metrics", "conversation_embeddings", "wheel_categories", "wheel_scores",
                    "calendar_events", "backburner_items"], "\(shown)")
            // The wrong names: calendar and backburner renamed, wheel split in two; and
            // work_sessions, which 001 has "with WRONG columns" (the models' columns differ).
            #expect(report.candidates.map { "\($0.kind.rawValue) \($0.from) -> \($0.to.joined(separator: " + ")) \($0.sources)" } == [
                "rename backburner -> backburner_items [\"models\"]",
                "rename calendar -> calendar_events [\"models\"]",
                "split wheel -> wheel_categories + wheel_scores [\"models\"]",
            ])
            #expect(report.rows.filter { $0.table == "work_sessions" && $0.objectType == "column" && $0.cells[0].state.rawValue == "present" }
                .map(\.object) == ["work_sessions.effectiveness_rating", "work_sessions.energy_at_start", "work_sessions.focus_at_start",
                                   "work_sessions.reason_for_switching", "work_sessions.strategy_used", "work_sessions.switched_task"])
            // "users table - Missing columns that were added in migration 002".
            #expect(report.rows.filter { $0.table == "users" && $0.cells[1].state.rawValue == "present" }.map(\.object) == [
                "users.phone_verification_attempts", "users.phone_verified", "users.phone_verified_at", "users.sms_enabled",
                "ix_users_phone_number",
            ])
            // Documented tables that do not exist.
            #expect(Self.cells(report) { _, c in c[2] == "present" } == ["pattern_hypotheses", "reminders", "user_feedback"])
            // Tables only the database has: the backups and the raw-SQL claude_code_* tables.
            #expect(Self.cells(report) { _, c in c.allSatisfy { $0 == "absent" } }
                == ["memories_backup_66d3d5d1", "user_integrations_backup", "claude_code_sessions", "claude_code_agents"])

            #expect(DriftTests.matrix(report) == Self.demoMatrix, "\(shown)")
            #expect(!report.agree)
            #expect(DriftText.lines(report).allSatisfy { $0.count <= 100 })
        }
    }

    /// The plan drift writes from the real models, decided as an operator choosing to create
    /// anew (UTC for the naive timestamps), runs; afterwards the database differs from the models
    /// in exactly what the plan lists as not repaired, and a second run does nothing. The
    /// tables it creates from the models' checks agree with them (PostgreSQL prints a parsed
    /// varchar IN-list check otherwise than SQLAlchemy's, `DriftMatrix.reparsed`).
    @Test func theWrittenPlanRunsAndLeavesWhatItLists() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "50"])
            let connection = try database.connect()
            let live = try SnapshotTaker(connection: connection).take()
            let sources = try Self.sources(connection)
            let models = [sources[0]]
            let archive = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-drift-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: archive) }
            let written = try DriftPlanWriter.text(
                report: DriftMatrix.compare(live: live, sources: sources), live: live, sources: sources, path: "drift.yaml", archiveFolder: archive)
            #expect(written.contains("  - fix_foreign_keys:\n      references:\n        - {from: memories.user_id, to: users.id, on_delete: cascade}"))
            let plan = try PlanLoader.parse(DriftDecisions.createAnew(written), file: "drift.yaml")
            let run = try Runner(connection: try database.connect(), plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(run.outcome == .ok, "\(run.message ?? "")")
            let after = DriftMatrix.compare(live: try SnapshotTaker(connection: connection).take(), sources: models)
            let left = after.rows.filter { $0.objectType != "table" && !$0.cells.allSatisfy($0.agrees) }
            let listed = written.components(separatedBy: "# Not repaired by this plan").dropFirst().first ?? ""
            for row in left { #expect(listed.contains("# \(row.objectType) \(row.object): "), "not listed: \(row.object)") }
            // Everything the models say is repaired: tables created, checks and keys added, the
            // columns and the index only the database had dropped (decisions kept).
            #expect(left.map(\.object) == [], "\(DriftText.lines(after).joined(separator: "\n"))")
            #expect(!written.contains("# Not repaired by this plan"), "\(written)")
            let again = try Runner(connection: try database.connect(), plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(again.statementsExecuted == 0)
        }
    }

    /// The whole matrix, `object database models migrations docs`. The document rows say what
    /// it says of the schema the repairs aim at (uuid ids, timestamptz) against the drifted
    /// demo, and columns it never mentions; the models' constraint rows are the cascades they
    /// declare (Plans/indexes-and-keys.yaml), `api_keys_user_id_created_at_idx` the index no
    /// source declares.
    static let demoMatrix: [String] = [
        "api_keys in differs differs differs",
        "  column api_keys.created_at in ok ok differs",
        "  column api_keys.id in ok ok differs",
        "  column api_keys.is_active in ok ok absent",
        "  column api_keys.key_prefix in ok ok absent",
        "  column api_keys.last_used_at in ok ok absent",
        "  column api_keys.name in ok ok absent",
        "  column api_keys.user_id in ok ok differs",
        "  index api_keys_user_id_created_at_idx in absent absent -",
        "apps in ok ok differs",
        "  column apps.created_at in ok ok differs",
        "  column apps.description in ok ok absent",
        "  column apps.id in ok ok differs",
        "  column apps.is_active in ok ok absent",
        "  column apps.metadata in ok ok absent",
        "  column apps.sync_error in ok ok differs",
        "  column apps.updated_at in ok ok absent",
        "backburner in rename? ok differs",
        "  column backburner.created_at in - ok differs",
        "backburner_items out rename? absent absent",
        "calendar in rename? ok differs",
        "  column calendar.end_at in - ok differs",
        "  column calendar.start_at in - ok differs",
        "calendar_events out rename? absent absent",
        "checkins out present absent absent",
        "claude_code_agents in absent absent absent",
        "claude_code_sessions in absent absent absent",
        "conversation_embeddings out present absent absent",
        "conversations in ok ok differs",
        "  column conversations.summary in ok ok absent",
        "  column conversations.title in ok ok absent",
        "  column conversations.updated_at in ok ok absent",
        "document_chunks in ok ok differs",
        "  column document_chunks.created_at in ok ok absent",
        "documents in ok ok differs",
        "  column documents.updated_at in ok ok absent",
        "goals out present absent absent",
        "memories in differs ok differs",
        "  column memories.app_id in ok ok differs",
        "  column memories.archived_at in ok ok absent",
        "  column memories.created_at in ok ok differs",
        "  column memories.deleted_at in ok ok absent",
        "  column memories.updated_at in ok ok differs",
        "  constraint memories.memories_user_id_fkey in differs ok -",
        "memories_backup_66d3d5d1 in absent absent absent",
        "memory_access_logs in differs ok differs",
        "  column memory_access_logs.accessed_at in ok ok differs",
        "  column memory_access_logs.app_id in ok ok differs",
        "  column memory_access_logs.metadata in ok ok absent",
        "  constraint memory_access_logs.memory_access_logs_memory_id_fkey in differs ok -",
        "memory_status_history in differs ok differs",
        "  column memory_status_history.changed_at in ok ok differs",
        "  constraint memory_status_history.memory_status_history_memory_id_fkey in differs ok -",
        "metrics out present absent absent",
        "milestones in differs ok differs",
        "  column milestones.completed_at in ok ok absent",
        "  column milestones.goal_id in ok ok absent",
        "  constraint milestones.milestones_goal_id_fkey out present absent -",
        "pattern_hypotheses out absent absent present",
        "pattern_tracking in ok ok absent",
        "reminders out absent absent present",
        "sms_conversations in ok ok differs",
        "  column sms_conversations.twilio_message_sid in ok ok absent",
        "tasks in ok ok differs",
        "  column tasks.completed_at in ok ok absent",
        "  column tasks.description in ok ok absent",
        "user_feedback out absent absent present",
        "user_integrations in ok ok differs",
        "  column user_integrations.created_at in ok ok differs",
        "  column user_integrations.id in ok ok differs",
        "  column user_integrations.user_id in ok ok differs",
        "user_integrations_backup in absent absent absent",
        "users in differs differs differs",
        "  column users.created_at in ok ok differs",
        "  column users.firstname in ok ok absent",
        "  column users.lastname in ok ok absent",
        "  column users.name out absent absent present",
        "  column users.phone_number in absent ok absent",
        "  column users.phone_verification_attempts out absent present absent",
        "  column users.phone_verified out absent present absent",
        "  column users.phone_verified_at out absent present absent",
        "  column users.sms_enabled out absent present absent",
        "  column users.subscription_tier in ok ok differs",
        "  index ix_users_phone_number out absent present -",
        "wheel in rename? ok differs",
        "  column wheel.recorded_at in - ok differs",
        "wheel_categories out rename? absent absent",
        "wheel_scores out rename? absent absent",
        "work_sessions in differs ok differs",
        "  column work_sessions.effectiveness_rating out present absent absent",
        "  column work_sessions.ended_at in differs ok differs",
        "  column work_sessions.energy_at_start out present absent absent",
        "  column work_sessions.focus_at_start out present absent absent",
        "  column work_sessions.notes in absent ok ok",
        "  column work_sessions.reason_for_switching out present absent absent",
        "  column work_sessions.started_at in differs ok differs",
        "  column work_sessions.strategy_used out present absent absent",
        "  column work_sessions.switched_task out present absent absent",
        "  constraint work_sessions.work_sessions_effectiveness_rating_check out present absent -",
        "  constraint work_sessions.work_sessions_energy_at_start_check out present absent -",
        "  constraint work_sessions.work_sessions_focus_at_start_check out present absent -",
        "  constraint work_sessions.work_sessions_task_id_fkey in differs ok -",
    ]
}
