import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `json_fields`, `free_text_enum` and `unused_enum` on the demo and on purpose-built tables.
@Suite("Doctor: JSON fields and free-text enums")
struct DoctorDataBTests {
    static let classes: Set<FindingClass> = [.jsonFields, .freeTextEnum, .unusedEnum]

    static func examine(_ database: TestDatabase, exact: Bool = false, sampleAbove: Int64 = 64 << 20) throws -> DoctorReport {
        var options = DoctorOptions()
        options.only = classes
        options.exact = exact
        options.sampleAboveBytes = sampleAbove
        return try Doctor(connection: try database.connect(), options: options).examine()
    }

    static func ids(_ report: DoctorReport) -> [String] { report.findings.map(\.id) }

    static func evidence(_ finding: Finding, _ label: String) -> EvidenceValue? {
        finding.evidence.first { $0.label == label }?.value
    }

    static func list(_ finding: Finding, _ label: String) -> [String] {
        if case .list(let values)? = evidence(finding, label) { return values }
        return []
    }

    /// The plan with every decision made as the demo's review would: the first row keeps a
    /// shared phone number, values that do not convert become NULL, the JSON wins over the
    /// half-filled column, the proposed labels and mappings are taken, the unused type goes.
    static func decided(_ plan: String) -> String {
        func firstMatch(_ pattern: String, in line: String) -> String? {
            guard let range = line.range(of: pattern, options: .regularExpression) else { return nil }
            return String(line[range])
        }
        var lines: [String] = []
        for line in plan.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let indent = String(line.prefix { $0 == " " })
            if line.hasPrefix(indent + "decide: ") { continue }
            if line.contains("on_conflict: {decide:") {
                lines.append(indent + "on_conflict: {keep_first_by: created_at}")
            } else if line.contains("on_invalid: {decide:") {
                lines.append(indent + "on_invalid: \"null\"")
            } else if line.contains("prefer: {decide:") {
                lines.append(indent + "prefer: json")
            } else if line.contains("labels: {decide:"), let labels = firstMatch(#"Proposed: \[[^\]]*\]"#, in: line) {
                lines.append(indent + "labels: " + labels.dropFirst("Proposed: ".count))
            } else if line.contains("set: {"), line.contains("{decide:"), let column = firstMatch(#"set: \{[a-z_]+"#, in: line),
                      let expression = firstMatch(#"CASE .*? END"#, in: line) {
                lines.append(indent + column + ": \"" + expression + "\"}")
            } else {
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test func findsThePlantedProblemsOfTheDemo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let report = try Self.examine(database)
            // memories_backup_66d3d5d1.state is folded into its backup_table finding in a full run.
            #expect(Self.ids(report) == [
                "json_fields users.metadata",
                "free_text_enum apps.sync_status", "free_text_enum tasks.status", "free_text_enum users.subscription_tier",
                "free_text_enum claude_code_agents.status", "free_text_enum claude_code_sessions.status", "free_text_enum memories.state",
                "free_text_enum memories_backup_66d3d5d1.state", "free_text_enum memory_status_history.new_state",
                "free_text_enum memory_status_history.old_state",
                "unused_enum subscriptiontier",
            ])
            let json = try #require(report.findings.first { $0.id == "json_fields users.metadata" })
            #expect(json.severity == .error)
            let fields = Self.list(json, "fields").map { String($0.prefix { $0 != ":" }) }
            #expect(fields == [
                "phone_number varchar(20) unique", "phone_verification_attempts integer", "phone_verified boolean", "phone_verified_at timestamptz",
                "sms_enabled boolean",
            ])
            #expect(Self.list(json, "other_keys").map { String($0.prefix { $0 != ":" }) } == ["onboarding_complete boolean", "theme text"])
            let invalid = Self.list(json, "invalid")
            for (key, row, value) in [
                ("phone_verified", "d8f68423-ee95-128e-b870-e6a1eb484001", "'yes-ish'"), ("phone_verified", "659636f0-008e-11db-d77c-33779fc925a1", "'maybe'"),
                ("phone_verification_attempts", "2dd33dff-0a0f-5b8e-e610-d0764b4ae49f", "'three'"),
                ("phone_verified_at", "bc8435b4-a192-222c-d55a-1f39e4ebb9c2", "'last tuesday'"),
                ("phone_number", "dd261e04-3c0c-c9fb-45af-ac85e01182be", "'+1 (555) 000-0038 ext. 4411'"),
            ] {
                #expect(invalid.contains("\(key) \(row) \(value)"), "D4-D7: \(key) \(row)")
            }
            #expect(invalid.count == 5)
            #expect(Self.list(json, "duplicates") == [
                "phone_number '+15550000004' held by 24b299d7-67a9-79b1-ef4b-2e634067c8ad, b7bba9bd-a759-6596-ddc5-f2b1b66a92c6",
                "phone_number '+15550000005' held by 39201609-d980-3efb-38f4-1f440309a429, cc912de8-5a57-3961-2627-c9ac6cd06df4",
            ])
            let differs = Self.list(json, "differs_from_column").joined(separator: "; ")
            for row in ["65aa74dd-0189-23af-1461-5ba8e8a35b0b", "ca20996b-e248-d807-5f0a-21a6bb54c333", "3289f079-a59d-e711-e279-0f8c8d8e65c9"] {
                #expect(differs.contains(row), "D1 \(row)")
            }
            #expect(Self.list(json, "column_only") == ["phone_number 8326dcfc-4535-76ab-dcc8-2a88c7303333: column '+15550000030', no key"])
            #expect(json.rows.count == 13)

            let sync = try #require(report.findings.first { $0.id == "free_text_enum apps.sync_status" })
            #expect(sync.severity == .error)
            #expect(Self.list(sync, "labels").map { String($0.prefix { $0 != " " }) } == ["synced", "pending", "failed"])
            #expect(Self.list(sync, "variants") == [
                "'Failed' -> failed: 1 row (62e8f294-c4a0-4754-e6e3-4590cb20754c)", "'SYNCED' -> synced: 1 row (ace82018-0cdb-aa3f-ac99-ac4d2cc0d36b)",
            ])
            #expect(Self.list(sync, "rare_values") == [
                "'in-progress': 1 row (ddf7b0ef-eac6-6070-344c-df888cf3f1e9)", "'unknown ': 1 row (8440a8a2-aa0f-88be-9509-f1edcdbe7b44)",
            ])
            let tasks = try #require(report.findings.first { $0.id == "free_text_enum tasks.status" })
            #expect(tasks.rows == ["2848f0b3-f29e-77af-86c8-d49366a2f8f2", "e56514a6-eb38-9221-ae95-a7f50b224496"])
            let tier = try #require(report.findings.first { $0.id == "free_text_enum users.subscription_tier" })
            #expect(Self.list(tier, "rare_values") == ["'premium': 1 row (4445b069-56a0-ec47-a272-456a5a955c1f)"])
            #expect(Self.list(tier, "variants") == ["'Pro' -> pro: 1 row (169066d1-4f4c-f996-9246-752240297e79)"])
            #expect(Self.evidence(tier, "similar_enum") == .text("subscriptiontier (FREE, PRO, ENTERPRISE)"))
            #expect(report.findings.first { $0.id == "free_text_enum memories.state" }?.severity == .warning)
            let unused = try #require(report.findings.first { $0.classID == .unusedEnum })
            #expect(Self.list(unused, "similar_columns") == ["users.subscription_tier (free, pro, enterprise)"])
        }
    }

    @Test func theWrittenPlanLoadsAndRunsOnceDecided() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let report = try Self.examine(database)
            let text = PlanWriter.text(report, path: "doctor.yaml")
            #expect(text.contains("{decide:"))
            let decided = Self.decided(text)
            #expect(!decided.contains("{decide:"), "\(decided)")
            let plan = try PlanLoader.parse(decided, file: "doctor.yaml")
            #expect(plan.steps.count == 16)
            let connection = try database.connect()
            let run = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(run.outcome == .ok, "\(run.message ?? "")\n\(decided)")
            try connection.execute("ANALYZE")
            let after = try Self.examine(database)
            #expect(Self.ids(after) == [], "\(DoctorText.lines(after).joined(separator: "\n"))")
            // The JSON won over the column (prefer: json); U44 lost its shared number.
            #expect(try connection.scalar("SELECT phone_number FROM users WHERE id = md5('user-23')::uuid", as: String.self) == "+15550000023")
            #expect(try connection.scalar("SELECT phone_number IS NULL FROM users WHERE id = md5('user-44')::uuid", as: Bool.self) == true)
        }
    }

    /// Odd names, another schema, no primary key, a partitioned table, an empty and a never
    /// analyzed table, a sampled read.
    @Test func edgeCases() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE SCHEMA "Odd";
                CREATE TABLE "Odd"."Order Items" ("Item Id" int PRIMARY KEY, "Sync Status" text, "Data" json);
                INSERT INTO "Odd"."Order Items"
                  SELECT i, CASE WHEN i = 7 THEN 'Open ' WHEN i % 3 = 0 THEN 'closed' ELSE 'open' END,
                         json_build_object('customer_email', 'c' || (i % 58) || '@x.org', 'note', 'n')
                  FROM generate_series(1, 60) i;
                CREATE TABLE nokey (status text, doc jsonb);
                INSERT INTO nokey SELECT CASE WHEN i = 5 THEN 'DONE' WHEN i % 2 = 0 THEN 'done' ELSE 'todo' END,
                                         jsonb_build_object('flag', CASE WHEN i = 3 THEN '"nope"'::jsonb ELSE 'true'::jsonb END)
                  FROM generate_series(1, 50) i;
                CREATE TABLE parted (id int, state text, PRIMARY KEY (id)) PARTITION BY RANGE (id);
                CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
                CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (100) TO (200);
                INSERT INTO parted SELECT i, CASE WHEN i = 150 THEN 'ACTIVE' WHEN i % 4 = 0 THEN 'paused' ELSE 'active' END FROM generate_series(0, 199) i;
                CREATE TABLE empty (id int PRIMARY KEY, status text, meta jsonb);
                CREATE TABLE checked (id int PRIMARY KEY, status text CHECK (status IN ('a', 'b', 'A')));
                INSERT INTO checked SELECT i, CASE WHEN i = 1 THEN 'A' WHEN i % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 50) i;
                ANALYZE;
                CREATE TABLE never (id int PRIMARY KEY, status text, meta jsonb);
                INSERT INTO never SELECT i, CASE WHEN i = 2 THEN 'Open' ELSE 'open' END, jsonb_build_object('user_id', 'u' || (i % 3))
                  FROM generate_series(1, 30) i;
                """)
            let report = try Self.examine(database)
            #expect(Self.ids(report) == [
                "json_fields Odd.Order Items.Data", "json_fields nokey.doc",
                "free_text_enum Odd.Order Items.Sync Status", "free_text_enum nokey.status", "free_text_enum parted.state",
            ], "\(DoctorText.lines(report).joined(separator: "\n"))")
            let odd = try #require(report.findings.first { $0.id == "free_text_enum Odd.Order Items.Sync Status" })
            #expect(Self.list(odd, "variants") == ["'Open ' -> open: 1 row (7)"])
            // Without a primary key rows are named by ctid, and extract_json_fields cannot run.
            let nokey = try #require(report.findings.first { $0.id == "json_fields nokey.doc" })
            #expect(nokey.repair == nil)
            #expect(Self.list(nokey, "invalid") == ["flag (0,3) 'nope'"])
            #expect(try #require(report.findings.first { $0.id == "free_text_enum parted.state" }).rows == ["150"])
            let email = try #require(report.findings.first { $0.id == "json_fields Odd.Order Items.Data" })
            #expect(Self.list(email, "duplicates") == ["customer_email 'c1@x.org' held by 1, 59", "customer_email 'c2@x.org' held by 2, 60"])
            let text = PlanWriter.text(report, path: "edge.yaml")
            #expect(text.contains("to_enum:\n      table: \"Odd.Order Items\"\n      column: \"Sync Status\"\n      type: Odd.order_items_sync_status"), "\(text)")
            #expect(text.contains(#"set: {"Sync Status": "CASE \"Sync Status\"::text WHEN 'Open ' THEN 'open' ELSE \"Sync Status\" END"}"#), "\(text)")
            // The findings no step repairs (nokey.doc: no primary key) go to `ignore:`, which the
            // plan helper is teaching the loader; the steps are parsed without it here.
            #expect(text.contains("- {class: json_fields, object: nokey.doc"))
            let steps = String(text[..<(text.range(of: "\nignore:")?.lowerBound ?? text.endIndex)])
            _ = try PlanLoader.parse(Self.decided(steps), file: "edge.yaml")

            // Sampled: the figures say so.
            try connection.execute(
                """
                CREATE TABLE big (id int PRIMARY KEY, status text, meta jsonb);
                INSERT INTO big SELECT i, CASE WHEN i % 100 = 0 THEN 'DONE' WHEN i % 2 = 0 THEN 'done' ELSE 'todo' END,
                                       jsonb_build_object('flag', CASE WHEN i % 100 = 1 THEN '"nope"'::jsonb ELSE 'true'::jsonb END)
                  FROM generate_series(1, 20000) i;
                ANALYZE big;
                """)
            let sampled = try Self.examine(database, sampleAbove: 256 << 10)
            let percent = try #require(sampled.sampled["big"])
            #expect(percent > 5 && percent < 50)
            for id in ["json_fields big.meta", "free_text_enum big.status"] {
                let finding = try #require(sampled.findings.first { $0.id == id }, "\(id)")
                #expect(finding.sample?.percent == percent)
            }
        }
    }
}
