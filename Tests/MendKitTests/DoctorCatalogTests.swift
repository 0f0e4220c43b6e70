import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The catalog checks (indexes, foreign keys, constraints, sequences, column types) on the demo
/// database and on small tables built for one case each.
@Suite("Doctor: catalog checks")
struct DoctorCatalogTests {
    static let mine = Set(IndexChecks.classes + ForeignKeyChecks.classes + SequenceChecks.classes + ColumnTypeChecks.classes + NullableUniqueCheck.classes)
    static let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-doctor-catalog-snapshots").path

    static func examine(_ connection: Connection, only: Set<FindingClass> = mine) throws -> DoctorReport {
        var options = DoctorOptions()
        options.only = only
        return try Doctor(connection: connection, options: options).examine()
    }

    static func ids(_ report: DoctorReport) -> [String] { report.findings.map(\.id).sorted() }

    /// The planted problems of Plans/demo/drifted.sql these classes cover, one by one; the good
    /// examples (documents, document_chunks, sms_conversations, conversations) give nothing.
    static let demoFindings = [
        "cascade_blocked work_sessions.work_sessions_task_id_fkey",
        "duplicate_index idx_apikey_user_id",
        "fk_without_index backburner.backburner_user_id_fkey",
        "fk_without_index calendar.calendar_user_id_fkey",
        "fk_without_index memory_status_history.memory_status_history_changed_by_fkey",
        "fk_without_index milestones.milestones_user_id_fkey",
        "fk_without_index pattern_tracking.pattern_tracking_user_id_fkey",
        "fk_without_index tasks.tasks_milestone_id_fkey",
        "fk_without_index wheel.wheel_user_id_fkey",
        "fk_without_index work_sessions.work_sessions_task_id_fkey",
        "fk_without_index work_sessions.work_sessions_user_id_fkey",
        "mixed_on_delete users",
        "redundant_index idx_memories_user_id",
        "redundant_index ix_api_keys_user_id",
    ]

    @Test func findsThePlantedProblemsOfTheDemo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let report = try Self.examine(try database.connect())
            #expect(Self.ids(report) == Self.demoFindings.sorted())
            let duplicate = try #require(report.findings.first { $0.id == "duplicate_index idx_apikey_user_id" })
            #expect(duplicate.objects == ["idx_apikey_user_id", "ix_api_keys_user_id"])
            #expect(duplicate.evidence.contains { $0.label == "scans" })
            let mixed = try #require(report.findings.first { $0.classID == .mixedOnDelete })
            #expect(mixed.objects.contains("memories.memories_user_id_fkey"))
            #expect(mixed.objects.contains("documents.documents_user_id_fkey"))
            #expect(mixed.evidence.first { $0.label == "majority" }?.value == .text("no_action"))
            #expect(!report.findings.contains { ["documents", "document_chunks", "sms_conversations", "conversations"].contains($0.table ?? "") })
        }
    }

    /// The plan doctor writes for the demo, its decisions made (cascade everywhere), is one the
    /// loader accepts; run, it leaves none of these findings behind.
    @Test func theDemoPlanRunsAndLeavesNothing() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let report = try Self.examine(connection)
            let text = PlanWriter.text(report, path: "doctor.yaml")
            #expect(text.contains("- dedupe_indexes:"))
            #expect(text.contains("tables: [api_keys, memories]"))
            #expect(text.contains("ix_api_keys_user_id (SQLAlchemy names index=True"))
            #expect(text.contains("{from: memories.user_id, to: users.id, on_delete: {decide:"))
            #expect(text.contains("{from: memory_status_history.memory_id, to: memories.id, on_delete: {decide:"))
            #expect(text.contains("{from: work_sessions.task_id, to: tasks.id, on_delete: {decide:"))
            #expect(text.contains("index: true"))
            #expect(!text.contains("\nignore:"))
            let decided = Self.decide(text, with: "cascade")
            let plan = try PlanLoader.parse(decided, file: "doctor.yaml")
            let run = try Runner(connection: try database.connect(), plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(run.outcome == .ok, "\(run.message ?? "")\n\(decided)")
            let after = try Self.examine(try database.connect())
            #expect(Self.ids(after) == [], "\(decided)")
        }
    }

    /// Every `{decide: "..."}` replaced by `value`.
    static func decide(_ text: String, with value: String) -> String {
        text.replacingOccurrences(of: #"\{decide: "(?:[^"\\]|\\.)*"\}"#, with: value, options: .regularExpression)
    }

    @Test func indexCasesAndLookAlikes() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                #"""
                CREATE SCHEMA "Other Schema";
                CREATE TABLE "Other Schema"."Mixed ""Case""" (a int, b int, tags text[], doc json);
                CREATE INDEX "Idx A" ON "Other Schema"."Mixed ""Case""" (a);
                CREATE INDEX "idx a again" ON "Other Schema"."Mixed ""Case""" (a);
                CREATE INDEX tags_btree ON "Other Schema"."Mixed ""Case""" (tags);
                CREATE TABLE public.alike (a int, b int);
                CREATE UNIQUE INDEX alike_a_nnd ON public.alike (a) NULLS NOT DISTINCT;
                ALTER TABLE public.alike ADD CONSTRAINT alike_a_key UNIQUE (a);
                CREATE INDEX alike_a_partial ON public.alike (a) WHERE b > 0;
                CREATE TABLE public.broken (a int);
                CREATE UNIQUE INDEX broken_a ON public.broken (a);
                UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'public.broken_a'::regclass;
                CREATE TABLE public.parted (a int) PARTITION BY RANGE (a);
                CREATE TABLE public.parted_1 PARTITION OF public.parted FOR VALUES FROM (0) TO (10);
                CREATE INDEX parted_a_1 ON public.parted (a);
                CREATE INDEX parted_a_2 ON public.parted (a);
                """#)
            let report = try Self.examine(connection)
            #expect(Self.ids(report) == [
                "btree_index_on_array Other Schema.tags_btree",
                "duplicate_index Other Schema.idx a again",
                "invalid_index broken_a",
                "json_column Other Schema.Mixed \"Case\".doc",
            ])
            let text = PlanWriter.text(report, path: "doctor.yaml")
            #expect(text.contains("tables: [\"Other Schema.Mixed \\\"Case\\\"\"]"))
            #expect(text.contains("run: \"DROP INDEX CONCURRENTLY IF EXISTS \\\"public\\\".\\\"broken_a\\\"\""))
            #expect(text.contains("CREATE UNIQUE INDEX CONCURRENTLY broken_a ON public.broken USING btree (a)"))
            let plan = try PlanLoader.parse(Self.decide(Self.withoutIgnores(text), with: "cascade"), file: "doctor.yaml")
            let run = try Runner(connection: try database.connect(), plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(run.outcome == .ok, "\(run.message ?? "")")
            let after = try Self.examine(try database.connect(), only: [.duplicateIndex, .invalidIndex])
            #expect(Self.ids(after) == [])
        }
    }

    /// The plan's `ignore:` list left out, for a loader that does not read it yet.
    static func withoutIgnores(_ text: String) -> String {
        text.components(separatedBy: "\nignore:").first ?? text
    }

    @Test func constraintsForeignKeysAndSequences() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE TABLE public.parent (id bigint PRIMARY KEY, code int UNIQUE);
                INSERT INTO public.parent VALUES (1, 1), (2, 2);
                CREATE TABLE public.child (id serial PRIMARY KEY, parent_id int, amount int, other serial);
                CREATE INDEX child_parent ON public.child (parent_id);
                INSERT INTO public.child (parent_id, amount) VALUES (1, 5), (2, -1);
                ALTER TABLE public.child ADD CONSTRAINT child_amount_positive CHECK (amount > 0) NOT VALID;
                ALTER TABLE public.child ADD CONSTRAINT child_parent_fkey FOREIGN KEY (parent_id) REFERENCES public.parent (id) NOT VALID;
                CREATE TABLE public.twice (id int PRIMARY KEY, code int);
                CREATE INDEX twice_code ON public.twice (code);
                ALTER TABLE public.twice ADD CONSTRAINT twice_a FOREIGN KEY (code) REFERENCES public.parent (code);
                ALTER TABLE public.twice ADD CONSTRAINT twice_b FOREIGN KEY (code) REFERENCES public.parent (code);
                SELECT setval('public.child_id_seq', 1800000000);
                CREATE SEQUENCE public.wide AS bigint;
                CREATE TABLE public.narrow (id int PRIMARY KEY DEFAULT nextval('public.wide'));
                SELECT setval('public.wide', 1200000000);
                """)
            let report = try Self.examine(connection)
            #expect(Self.ids(report) == [
                "duplicate_foreign_key twice.twice_b",
                "fk_type_mismatch child.child_parent_fkey",
                "not_valid_constraint child.child_amount_positive",
                "not_valid_constraint child.child_parent_fkey",
                "sequence_near_overflow child_id_seq",
                "sequence_near_overflow wide",
                "serial_not_key child.other",
            ])
            let child = try #require(report.findings.first { $0.id == "sequence_near_overflow child_id_seq" })
            #expect(child.severity == .error)
            let wide = try #require(report.findings.first { $0.id == "sequence_near_overflow wide" })
            #expect(wide.evidence.first { $0.label == "limited_by" }?.value == .text("column narrow.id integer"))
            #expect(wide.severity == .warning)
            let text = PlanWriter.text(report, path: "doctor.yaml")
            #expect(text.contains("- add_check:"))
            #expect(text.contains("expression: \"amount > 0\""))
            // The mistyped reference cannot be stated by fix_foreign_keys: validated by sql.
            #expect(text.contains("VALIDATE CONSTRAINT \\\"child_parent_fkey\\\""))
            #expect(text.contains("{from: twice.code, to: parent.code, on_delete: no_action}"))
            _ = try PlanLoader.parse(Self.decide(Self.withoutIgnores(text), with: "cascade"), file: "doctor.yaml")
        }
    }

    @Test func nullableUniqueDuplicatesExactAndSampled() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE TABLE public.links (id int PRIMARY KEY, user_id int NOT NULL, provider text, deleted_at timestamptz, pad text);
                CREATE UNIQUE INDEX links_live ON public.links (user_id, provider, deleted_at);
                INSERT INTO public.links SELECT i, (i - 1) / 6, 'p', NULL, repeat('x', 200) FROM generate_series(1, 3000) i;
                CREATE TABLE public.fine (id int PRIMARY KEY, a int, b int, CONSTRAINT fine_a_b UNIQUE NULLS NOT DISTINCT (a, b));
                CREATE TABLE public.keyless (a int, b int, UNIQUE (a, b));
                INSERT INTO public.keyless VALUES (1, NULL), (1, NULL), (2, NULL);
                CREATE TABLE public.empty (a int, b int, UNIQUE (a, b));
                """)
            let report = try Self.examine(connection, only: [.nullableUniqueDuplicates])
            #expect(Self.ids(report) == ["nullable_unique_duplicates keyless.keyless_a_b_key", "nullable_unique_duplicates links_live"])
            let links = try #require(report.findings.first { $0.subject == "links_live" })
            #expect(links.evidence.first { $0.label == "groups" }?.value == .int(500))
            #expect(links.rows == (1...10).map(String.init))
            #expect(links.sample == nil)
            #expect(links.summary.contains("NULLS NOT DISTINCT"))
            let keyless = try #require(report.findings.first { $0.subject == "keyless.keyless_a_b_key" })
            #expect(keyless.rows.count == 2)

            try connection.execute("ANALYZE public.links")
            var options = DoctorOptions()
            options.only = [.nullableUniqueDuplicates]
            options.sampleAboveBytes = 200_000
            let sampled = try Doctor(connection: try database.connect(), options: options).examine()
            let sampledLinks = try #require(sampled.findings.first { $0.subject == "links_live" })
            #expect(sampledLinks.sample != nil)
        }
    }

    @Test func unusedIndexesNeedStatisticsOfAWeek() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE TABLE public.t (id int PRIMARY KEY, a int, b int);
                CREATE INDEX t_a ON public.t (a);
                CREATE INDEX t_a_b ON public.t (a, b);
                """)
            let report = try Self.examine(connection, only: [.unusedIndex])
            #expect(report.findings.isEmpty)
            try connection.transaction(isolation: .repeatableRead, readOnly: true) { _ in
                let schema = try CatalogReader(connection: connection).readSchemaInCurrentTransaction()
                let context = try DoctorContext(
                    connection: connection, schema: schema, exact: false, sampleAboveBytes: 1 << 26, probeTimeout: 30_000, progress: SilentProgress())
                let usage = try IndexUsage.read(context)
                let week = IndexChecks.unused(context, usage, reported: ["public.t.t_a"], statisticsAgeDays: 8)
                #expect(week.map(\.id) == ["unused_index t_a_b"])
                #expect(IndexChecks.unused(context, usage, reported: [], statisticsAgeDays: 2).isEmpty)
            }
        }
    }
}
