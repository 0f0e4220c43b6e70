import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// doctor's data checks: `backup_table`, `uuid_as_text`, `naive_timestamp`,
/// `missing_foreign_key` and `orphan_rows`, on the demo and on small purpose-built tables
/// (Fixtures/doctor-data-a.sql).
@Suite("doctor: backup tables, UUIDs as text, naive timestamps, foreign keys from data")
struct DoctorDataATests {
    static let mine: Set<FindingClass> = [.backupTable, .uuidAsText, .naiveTimestamp, .missingForeignKey, .orphanRows]
    static let fixture = "Tests/MendKitTests/Fixtures/doctor-data-a.sql"

    static func examine(_ connection: Connection, exact: Bool = false, sampleAbove: Int64 = 64 << 20) throws -> DoctorReport {
        var options = DoctorOptions()
        options.only = mine
        options.exact = exact
        options.sampleAboveBytes = sampleAbove
        return try Doctor(connection: connection, options: options).examine()
    }

    static func found(_ report: DoctorReport, _ classID: FindingClass) -> [[String]] {
        report.findings.filter { $0.classID == classID }.map(\.objects)
    }

    static func finding(_ report: DoctorReport, _ classID: FindingClass, _ subject: String) -> Finding? {
        report.findings.first { $0.classID == classID && $0.subject == subject }
    }

    static func value(_ finding: Finding?, _ label: String) -> String? {
        finding?.evidence.first { $0.label == label }?.value.description
    }

    /// The plan's `decide:` entries replaced by the choices an operator would make on the demo.
    static func decided(_ plan: String) -> String {
        plan.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: #"on_delete: \{decide: "(?:[^"\\]|\\.)*"\}"#, with: "on_delete: no_action", options: .regularExpression)
        }.compactMap { line -> String? in
            if line.hasPrefix("      decide: ") { return nil }
            if line.contains("{decide:") && line.hasPrefix("        - {") { return nil }
            if line.hasPrefix("      assume_time_zone: {decide:") { return "      assume_time_zone: UTC" }
            if line.hasPrefix("      orphans: {decide:") { return "      orphans: delete" }
            return String(line)
        }.joined(separator: "\n")
    }

    @Test func demo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let report = try Self.examine(try database.connect())

            #expect(Self.found(report, .backupTable) == [["memories_backup_66d3d5d1"], ["user_integrations_backup"]])
            let memoriesBackup = Self.finding(report, .backupTable, "memories_backup_66d3d5d1")
            #expect(Self.value(memoriesBackup, "twin") == "memories")
            #expect(Self.value(memoriesBackup, "matching_columns") == "11 of 11")
            #expect(Self.value(memoriesBackup, "signals")?.contains("hash suffix _66d3d5d1") == true)
            #expect(Self.value(memoriesBackup, "comment")?.contains("Manual backup") == true)
            #expect(Self.value(Self.finding(report, .backupTable, "user_integrations_backup"), "twin") == "user_integrations")

            // P4 and D9; the backup tables' columns are folded into their backup_table findings;
            // api_keys.key_hash (two md5s) is no UUID column.
            #expect(Self.found(report, .uuidAsText) == [
                ["api_keys.user_id"], ["apps.id", "memories.app_id", "memory_access_logs.app_id"],
                ["user_integrations.id"], ["user_integrations.user_id"],
            ])
            let apiKeys = Self.finding(report, .uuidAsText, "api_keys.user_id")
            #expect(apiKeys?.severity == .error)
            #expect(apiKeys?.rows == ["7"])
            #expect(Self.value(apiKeys, "not_uuid_values") == "7: 'legacy-admin'")
            #expect(Self.finding(report, .uuidAsText, "apps.id")?.severity == .warning)
            #expect(Self.value(Self.finding(report, .uuidAsText, "apps.id"), "values") == "750")

            // P3: one finding per table with naive columns; the rest use timestamptz.
            #expect(report.findings.filter { $0.classID == .naiveTimestamp }.map(\.subject) == [
                "api_keys", "apps", "backburner", "calendar", "claude_code_agents", "memories", "memory_access_logs",
                "memory_status_history", "user_integrations", "users", "wheel", "work_sessions",
            ])
            let users = Self.finding(report, .naiveTimestamp, "users")
            #expect(users?.objects == ["users", "users.created_at"])
            #expect(Self.value(users, "timestamptz_in_table") == "users.updated_at")
            #expect(Self.value(users, "columns") == "created_at default now()")

            // P4 / D10: user_integrations.user_id's values all exist in users; api_keys.user_id
            // has row 8 (a UUID of no user) and row 7 ('legacy-admin'). milestones.goal_id has no
            // parent table: nothing.
            #expect(Self.found(report, .missingForeignKey) == [["user_integrations.user_id", "users.id"]])
            #expect(Self.value(Self.finding(report, .missingForeignKey, "user_integrations.user_id"), "types")?.contains("normalize_uuid") == true)
            let orphans = Self.finding(report, .orphanRows, "api_keys.user_id")
            #expect(Self.found(report, .orphanRows) == [["api_keys.user_id", "users.id"]])
            #expect(orphans?.rows == ["7", "8"])
            #expect(Self.value(orphans, "without_parent") == "2")

            // Nothing about the good examples.
            let good = ["documents", "document_chunks", "sms_conversations", "conversations", "tasks", "milestones", "pattern_tracking", "claude_code_sessions"]
            #expect(report.findings.filter { finding in good.contains { finding.table == $0 } }.isEmpty)
            #expect(!report.findings.contains { $0.objects.contains("api_keys.key_hash") })

            let plan = PlanWriter.text(report, path: "/tmp/demo-data-a.yaml")
            #expect(plan.contains("      decide: \"may memories_backup_66d3d5d1 go?"))
            #expect(plan.contains("        - {api_keys.user_id: {decide: "))
            #expect(plan.contains("      assume_time_zone: {decide: "))
            #expect(plan.contains("      orphans: {decide: "))
            let decided = Self.decided(plan)
            #expect(!decided.contains("{decide:") && !decided.contains("      decide:"))
            let parsed = try PlanLoader.parse(decided, file: "demo-data-a.yaml")
            #expect(parsed.steps.map(\.kind) == ["archive_table", "archive_table", "normalize_uuid", "normalize_timestamps", "fix_foreign_keys", "fix_foreign_keys"])
        }
    }

    @Test func purposeBuilt() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL(Self.fixture, into: database)
            let connection = try database.connect()
            let report = try Self.examine(connection)

            #expect(Self.found(report, .backupTable) == [["orders2"], ["orders_20240101"]])
            #expect(Self.value(Self.finding(report, .backupTable, "orders_20240101"), "twin") == "orders")
            #expect(Self.value(Self.finding(report, .backupTable, "orders_20240101"), "signals")?.contains("date suffix _20240101") == true)
            #expect(Self.value(Self.finding(report, .backupTable, "orders2"), "signals")?.contains("name") == false)

            #expect(Self.found(report, .uuidAsText) == [
                ["Sales.Order Lines.Customer_Id"], ["Sales.Order Lines.ID"], ["Sales.Order Lines.trace_id"], ["events.id"],
            ])
            let customer = Self.finding(report, .uuidAsText, "Sales.Order Lines.Customer_Id")
            #expect(customer?.severity == .error)
            #expect(customer?.table == "Sales.Order Lines")
            #expect(Self.value(customer, "non_canonical") == "1")
            #expect(Self.value(customer, "not_uuid") == "1")
            #expect(customer?.rows == [try connection.scalar("SELECT md5('ol13')::uuid::text", as: String.self) ?? ""])
            #expect(Self.value(customer, "not_uuid_values")?.contains("'it's \"quoted\"'") == true)
            #expect(Self.value(Self.finding(report, .uuidAsText, "Sales.Order Lines.ID"), "non_canonical") == "20")
            #expect(Self.value(Self.finding(report, .uuidAsText, "Sales.Order Lines.trace_id"), "non_canonical") == "200")

            #expect(report.findings.filter { $0.classID == .naiveTimestamp }.map(\.objects) == [
                ["audit_trail", "audit_trail.logged_at"], ["empty_things", "empty_things.seen_at"], ["events", "events.at"],
            ])
            let audit = Self.finding(report, .naiveTimestamp, "audit_trail")
            #expect(Self.value(audit, "written_in")?.contains("wall clock of utc") == true)

            #expect(Self.found(report, .missingForeignKey) == [["agents.session_id", "claude_sessions.id"]])
            #expect(Self.found(report, .orphanRows) == [["items.product_id", "products.id", "items.items_product_fk"], ["products.category_id", "categories.id"]])
            #expect(Self.finding(report, .orphanRows, "products.category_id")?.rows == ["31", "32"])
            #expect(Self.finding(report, .orphanRows, "items.product_id")?.rows == ["33", "34"])

            let plan = PlanWriter.text(report, path: "/tmp/purpose.yaml")
            #expect(plan.contains("the defaults suggest UTC") == false)  // events and empty_things say nothing
            #expect(plan.contains("{from: items.product_id, to: products.id, index: true}"))
        }
    }

    @Test func sampledCountsSayTheyAreASample() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE TABLE big_refs (id bigint PRIMARY KEY, ref_id text, padding text);
                INSERT INTO big_refs SELECT g, md5('r' || g)::uuid::text, repeat('x', 200) FROM generate_series(1, 20000) g;
                ANALYZE big_refs;
                """)
            let sampled = try Self.examine(connection, sampleAbove: 1 << 20)
            let finding = try #require(Self.finding(sampled, .uuidAsText, "big_refs.ref_id"))
            #expect(finding.sample != nil)
            #expect((Int(Self.value(finding, "values") ?? "") ?? 0) < 20000)
            let exact = try Self.examine(connection, exact: true, sampleAbove: 1 << 20)
            #expect(Self.finding(exact, .uuidAsText, "big_refs.ref_id")?.sample == nil)
            #expect(Self.value(Self.finding(exact, .uuidAsText, "big_refs.ref_id"), "values") == "20000")
        }
    }

    @Test func uuidForms() {
        #expect(UUIDTextForm("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") == .canonical)
        #expect(UUIDTextForm("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11") == .other)
        #expect(UUIDTextForm("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}") == .other)
        #expect(UUIDTextForm("a0eebc999c0b4ef8bb6d6bb9bd380a11") == .other)
        #expect(UUIDTextForm("a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11") == .other)
        #expect(UUIDTextForm("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1") == .notUUID)
        #expect(UUIDTextForm("legacy-admin") == .notUUID)
        #expect(UUIDTextForm("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") == .notUUID)
        #expect(UUIDTextForm("a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11") == .notUUID)
        #expect(UUIDTextForm(String(repeating: "ab", count: 32)) == .notUUID)
    }

    @Test func backupNames() {
        let live: Set<String> = ["orders", "memories", "user_integrations"]
        #expect(BackupTableCheck.nameSignal("memories_backup_66d3d5d1", live: live)?.base == "memories")
        #expect(BackupTableCheck.nameSignal("user_integrations_backup", live: live)?.base == "user_integrations")
        #expect(BackupTableCheck.nameSignal("orders_2024_01_01", live: live)?.base == "orders")
        #expect(BackupTableCheck.nameSignal("orders_old", live: live) != nil)
        #expect(BackupTableCheck.nameSignal("backup_orders", live: live)?.base == "orders")
        #expect(BackupTableCheck.nameSignal("reports_bak", live: live)?.base == nil)
        #expect(BackupTableCheck.nameSignal("reports_bak", live: live) != nil)
        for normal in ["calendar", "wheel", "conversations", "documents", "old_orders_archive", "report_20240101", "api_v2", "tmp", "copy"] {
            #expect(BackupTableCheck.nameSignal(normal, live: live) == nil, "\(normal)")
        }
    }
}
