import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import Testing

/// Issue 21's acceptance on the demo database: doctor names every planted problem of
/// `Plans/demo/drifted.sql` that a database can show, and nothing else; the plan it writes,
/// with its decisions made as an operator would make them, runs; doctor afterwards reports
/// nothing but what the plan's `ignore:` keeps.
@Suite("doctor on the demo database", .serialized)
struct DoctorAcceptanceTests {
    /// Every finding on the demo, with the planted problem (drifted.sql's header) it is.
    /// Not findable from a database alone (they need the application's models or its
    /// intentions: issue 22's drift): P10 tables without models, P13 and P15 wrongly named and
    /// missing tables, P6's owner_id naming, P7's vector as text, P16/D13's priority range.
    static let expected = [
        "json_fields users.metadata",  // P1, D1-D7
        "backup_table memories_backup_66d3d5d1",  // P9
        "backup_table user_integrations_backup",  // P9, D14
        "uuid_as_text api_keys.user_id",  // P4, D9
        "uuid_as_text apps.id",  // P4: with memories.app_id and memory_access_logs.app_id
        "uuid_as_text user_integrations.id",  // P4
        "uuid_as_text user_integrations.user_id",  // P4
        "naive_timestamp api_keys",  // P3, each table below too
        "naive_timestamp apps",
        "naive_timestamp backburner",
        "naive_timestamp calendar",
        "naive_timestamp claude_code_agents",
        "naive_timestamp memories",
        "naive_timestamp memory_access_logs",
        "naive_timestamp memory_status_history",
        "naive_timestamp user_integrations",
        "naive_timestamp users",  // mixed with updated_at timestamptz
        "naive_timestamp wheel",
        "naive_timestamp work_sessions",  // P14
        "duplicate_index idx_apikey_user_id",  // P5
        "redundant_index idx_memories_user_id",  // P7
        "redundant_index ix_api_keys_user_id",  // P5
        "free_text_enum apps.sync_status",  // P6, P12, D11
        "free_text_enum tasks.status",  // P16, D12
        "free_text_enum users.subscription_tier",  // P2, D8
        "free_text_enum claude_code_agents.status",  // P12
        "free_text_enum claude_code_sessions.status",  // P12
        "free_text_enum memories.state",  // P7, P12
        "free_text_enum memory_status_history.new_state",  // P12
        "free_text_enum memory_status_history.old_state",  // P12
        "unused_enum subscriptiontier",  // P2
        "missing_foreign_key user_integrations.user_id",  // P4
        "orphan_rows api_keys.user_id",  // P4, D9, D10
        "mixed_on_delete users",  // P7, P8 (memories.user_id without the cascade of its siblings)
        "cascade_blocked work_sessions.work_sessions_task_id_fkey",  // P14
        "fk_without_index backburner.backburner_user_id_fkey",
        "fk_without_index calendar.calendar_user_id_fkey",
        "fk_without_index memory_status_history.memory_status_history_changed_by_fkey",
        "fk_without_index milestones.milestones_user_id_fkey",
        "fk_without_index pattern_tracking.pattern_tracking_user_id_fkey",
        "fk_without_index tasks.tasks_milestone_id_fkey",
        "fk_without_index wheel.wheel_user_id_fkey",
        "fk_without_index work_sessions.work_sessions_task_id_fkey",
        "fk_without_index work_sessions.work_sessions_user_id_fkey",
    ]

    @Test func everyPlantedProblemIsFoundAndNothingElse() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let report = try Doctor(connection: try database.connect(), options: DoctorOptions()).examine()
            #expect(report.findings.map(\.id) == Self.expected, "\(DoctorText.lines(report).joined(separator: "\n"))")
            // The good examples give no finding of their own (they appear only as the cascading
            // side of users' mixed ON DELETE).
            for table in ["documents", "document_chunks", "sms_conversations", "conversations"] {
                #expect(!report.findings.contains { $0.table == table || $0.subject == table || $0.subject.hasPrefix("\(table).") }, "\(table)")
            }
            #expect(!report.findings.contains { $0.objects.contains("api_keys.key_hash") })
            #expect(report.skipped.isEmpty)
            // Every text line fits 100 columns.
            #expect(DoctorText.lines(report).filter { $0.count > 100 } == [])
        }
    }

    @Test func theWrittenPlanRunsOnceDecidedAndLeavesOnlyWhatItKeeps() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let before = try Doctor(connection: connection, options: DoctorOptions()).examine()
            let written = PlanWriter.text(before, path: "doctor.yaml")
            // Undecided, the loader refuses it and names each decision.
            #expect(throws: PlanError.self) { try PlanLoader.parse(written, file: "doctor.yaml") }
            let decided = OperatorDecisions.make(written)
            #expect(!decided.contains("{decide:") && !decided.contains("\n      decide:"), "\(decided)")
            // Its archives go to a folder of the test's, not the repository's Snapshots/archive.
            let archives = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-doctor-archives-\(database.name)").path
            defer { try? FileManager.default.removeItem(atPath: archives) }
            let plan = try PlanLoader.parse(decided, file: "doctor.yaml", archiveFolder: archives)
            #expect(Set(plan.ignores.map { "\($0.classID) \($0.object)" }) == ["uuid_as_text api_keys.user_id", "orphan_rows api_keys.user_id"])
            let run = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(run.outcome == .ok, "\(run.message ?? "")\n\(decided)")
            try connection.execute("ANALYZE")
            var options = DoctorOptions()
            options.ignores = plan.ignores
            let after = try Doctor(connection: connection, options: options).examine()
            #expect(after.findings.map(\.id) == [], "\(DoctorText.lines(after).joined(separator: "\n"))\n\(decided)")
            #expect(after.kept.map(\.finding.id).sorted() == ["orphan_rows api_keys.user_id", "uuid_as_text api_keys.user_id"])
            #expect(after.unusedIgnores == [])
            // A second run of the plan changes nothing.
            let again = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(again.outcome == .ok && again.statementsExecuted == 0, "\(again.message ?? "")")
        }
    }
}

/// The decisions an operator makes in the plan doctor writes for the demo, as text edits:
/// step-level `decide:` lines deleted (the step is accepted), each `{decide: ...}` value
/// replaced by a choice, and `api_keys.user_id` (a legacy row 'legacy-admin' no UUID can hold,
/// and a key of no user) kept as text on purpose: its items and step leave the plan and two
/// `ignore:` entries say why.
enum OperatorDecisions {
    static func make(_ text: String) -> String {
        var lines = text.components(separatedBy: "\n")
        // The orphan step for api_keys.user_id goes, from its comment to the blank line after it.
        if let item = lines.firstIndex(where: { $0.contains("{from: api_keys.user_id, to: users.id}") }) {
            let start = lines[..<item].lastIndex(of: "").map { $0 + 1 } ?? item
            let end = lines[item...].firstIndex(of: "") ?? lines.count
            lines.removeSubrange(start..<end)
        }
        lines.removeAll { $0.contains("- {api_keys.user_id: {decide:") }
        lines.removeAll { $0.range(of: #"^\s+decide: ""#, options: .regularExpression) != nil }
        var decided = lines.map(choose).joined(separator: "\n")
        if !decided.contains("\nignore:\n") { decided += "\nignore:\n" }
        decided += """
              - {class: uuid_as_text, object: api_keys.user_id, reason: "row 7 is the legacy admin key, kept as text until the admin app is retired"}
              - {class: orphan_rows, object: api_keys.user_id, reason: "rows 7 and 8 are kept for the audit; no user owns them"}

            """
        return decided
    }

    /// One line with its `{decide: ...}` value replaced by the operator's choice.
    static func choose(_ line: String) -> String {
        guard let range = line.range(of: #"\{decide: "(?:[^"\\]|\\.)*"\}"#, options: .regularExpression) else { return line }
        let question = String(line[range])
        let key = line[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
        let choice: String
        switch true {
        case key.hasSuffix("assume_time_zone:"): choice = "UTC"
        case key.hasSuffix("on_conflict:"): choice = "{keep_first_by: created_at}"
        case key.hasSuffix("on_invalid:"): choice = #""null""#
        case key.hasSuffix("prefer:"): choice = "json"
        case key.hasSuffix("on_delete:"): choice = "cascade"
        case key.hasSuffix("labels:"):
            // The proposal the question makes: "Proposed: [a, b, c]".
            let proposed = question.range(of: #"Proposed: \[[^\]]*\]"#, options: .regularExpression).map { String(question[$0].dropFirst("Proposed: ".count)) }
            choice = proposed ?? "[]"
        case key.contains("set: {"): choice = #""NULL""#
        case key.hasSuffix("reason:"): choice = #""kept on purpose by the test""#
        default: choice = question
        }
        return line.replacingCharacters(in: range, with: choice)
    }
}
