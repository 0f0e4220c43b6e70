import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `pgmend drift`'s engine: the demo database against a "models" and a "migrations" schema
/// built by hand (Fixtures/drift-demo-*.sql on copies of the demo) and a stale document; a
/// second application's real SQLAlchemy models (Fixtures/python/books_models.py) against its
/// database with planted drift. DriftDemoTests compares the demo with its real sources.
@Suite("Drift", .serialized)
struct DriftTests {
    static func snapshot(_ database: TestDatabase, as source: SnapshotSource? = nil) throws -> Snapshot {
        var snapshot = try SnapshotTaker(connection: try database.connect()).take()
        snapshot.source = source
        return snapshot
    }

    /// The stale document: what a docs reader would make of it.
    static var docs: Snapshot {
        func table(_ name: String, _ columns: [(String, String)]) -> (String, Table) {
            // An empty or "?" type: one the server did not recognise, as the docs reader marks it.
            ("public.\(name)", Table(schema: "public", name: name, columns: columns.map { name, type in
                type.isEmpty || type.hasPrefix("?")
                    ? Column(name: name, type: String(type.drop { $0 == "?" }), documentedType: String(type.drop { $0 == "?" }))
                    : Column(name: name, type: type)
            }))
        }
        let tables = Dictionary(uniqueKeysWithValues: [
            table("users", [("id", "uuid"), ("email", ""), ("created_at", "timestamp with time zone"), ("phone_number", "character varying(20)")]),
            table("tasks", [("id", ""), ("user_id", ""), ("milestone_id", ""), ("title", ""), ("description", ""), ("status", ""),
                            ("priority", ""), ("due_date", ""), ("created_at", ""), ("completed_at", "")]),
            table("reminders", [("id", "uuid"), ("title", "text")]),
            table("pattern_hypotheses", [("id", "uuid"), ("hypothesis", "text")]),
            table("user_feedback", [("id", "uuid"), ("body", "?Text")]),
        ])
        return Snapshot(pgmendVersion: "test", takenAt: "", durationMilliseconds: 0, serverVersion: "", database: "DATABASE_SCHEMA.md",
                        schema: Schema(namespaces: ["public"], tables: tables), source: .docs("DATABASE_SCHEMA.md"))
    }

    /// Each table row as `table: database models migrations docs`.
    static func matrix(_ report: DriftReport) -> [String] {
        report.rows.map { row in
            ([row.objectType == "table" ? row.object : "  \(row.objectType) \(row.object)", row.inDatabase ? "in" : "out"]
             + row.cells.map(\.state.rawValue)).joined(separator: " ")
        }
    }

    static func demo(_ body: (TestDatabase, Snapshot, Snapshot) throws -> Void) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "50"])
            try ThrowawayCluster.shared().withFreshDatabase { models in
                try loadSQL("Plans/demo/drifted.sql", into: models, variables: ["users": "50"])
                try loadSQL("Tests/MendKitTests/Fixtures/drift-demo-models.sql", into: models)
                try ThrowawayCluster.shared().withFreshDatabase { migrations in
                    try loadSQL("Plans/demo/drifted.sql", into: migrations, variables: ["users": "50"])
                    try loadSQL("Tests/MendKitTests/Fixtures/drift-demo-migrations.sql", into: migrations)
                    try body(database, try snapshot(models, as: .models("app.models:Base")),
                             try snapshot(migrations, as: .migrations("alembic.ini")))
                }
            }
        }
    }

    static let demoMatrix = [
        "api_keys in differs ok absent",
        "  index idx_apikey_user_id in absent ok -",
        "apps in ok ok absent",
        "backburner in rename? ok absent",
        "backburner_items out rename? absent absent",
        "calendar in rename? ok absent",
        "calendar_events out rename? absent absent",
        "checkins out present absent absent",
        "claude_code_agents in absent absent absent",
        "claude_code_sessions in absent absent absent",
        "conversation_embeddings out present absent absent",
        "conversations in differs ok absent",
        "  index ix_conversations_created_at out present absent -",
        "document_chunks in ok ok absent",
        "documents in ok ok absent",
        "goals out present absent absent",
        "memories in ok ok absent",
        "memories_backup_66d3d5d1 in absent absent absent",
        "memory_access_logs in ok ok absent",
        "memory_status_history in ok ok absent",
        "metrics out present absent absent",
        "milestones in ok ok absent",
        "pattern_hypotheses out absent absent present",
        "pattern_tracking in ok ok absent",
        "reminders out absent absent present",
        "sms_conversations in ok ok absent",
        "tasks in ok ok ok",
        "user_feedback out absent absent present",
        "user_integrations in ok ok absent",
        "user_integrations_backup in absent absent absent",
        "users in differs ok differs",
        "  column users.created_at in ok ok differs",
        "  column users.firstname in ok ok absent",
        "  column users.lastname in ok ok absent",
        "  column users.metadata in ok ok absent",
        "  column users.phone_verified out present absent absent",
        "  column users.sms_enabled out present absent absent",
        "  column users.subscription_tier in ok ok absent",
        "  column users.updated_at in ok ok absent",
        "wheel in rename? ok absent",
        "wheel_categories out rename? absent absent",
        "wheel_scores out rename? absent absent",
        "work_sessions in differs ok absent",
        "  column work_sessions.ended_at in differs ok -",
        "  column work_sessions.energy_at_start out present absent -",
        "  column work_sessions.notes in absent ok -",
        "  column work_sessions.strategy_used out present absent -",
        "  constraint work_sessions.work_sessions_energy_at_start_check out present absent -",
    ]

    /// The seed review's cases, each where it belongs: the tables missing from the migrations,
    /// the three wrong names as candidates, the documented tables that do not exist; the
    /// document compared by names (and the one recognised type that differs) only.
    @Test func demoMatrixAndCandidates() throws {
        try Self.demo { database, models, migrations in
            let live = try Self.snapshot(database)
            let report = DriftMatrix.compare(live: live, sources: [("models", models), ("migrations", migrations), ("docs", Self.docs)])
            #expect(Self.matrix(report) == Self.demoMatrix, "\(DriftText.lines(report).joined(separator: "\n"))")
            #expect(report.candidates.map { "\($0.kind.rawValue) \($0.from) -> \($0.to.joined(separator: " + ")) \($0.sources)" } == [
                "rename backburner -> backburner_items [\"models\"]",
                "rename calendar -> calendar_events [\"models\"]",
                "split wheel -> wheel_categories + wheel_scores [\"models\"]",
            ])
            #expect(report.candidates.flatMap(\.similarity).map { "\($0.table) \($0.columns) \($0.common)" } == [
                "backburner_items 0.27 [\"id\", \"user_id\", \"created_at\"]",
                "calendar_events 0.13 [\"id\", \"user_id\"]",
                "wheel_categories 0.17 [\"id\", \"user_id\"]",
                "wheel_scores 0.71 [\"id\", \"user_id\", \"score\", \"notes\", \"recorded_at\"]",
            ])
            #expect(!report.agree)
            let text = DriftText.lines(report)
            #expect(text.allSatisfy { $0.count <= 100 }, "\(text.filter { $0.count > 100 })")
            // The JSON form reads back as the report.
            let json = try CanonicalJSON.encode(report)
            #expect(try JSONDecoder().decode(DriftReport.self, from: Data(json.utf8)) == report)
            #expect(json.contains("\"agree\": false"))
            // A source that agrees: the database against itself.
            #expect(DriftMatrix.compare(live: live, sources: [("same", live)]).agree)
        }
    }

    /// A database name of PostgreSQL's longest (63 bytes) wraps the heading: no line over 100
    /// columns (CI's test databases have longer names than a developer's first runs).
    @Test func aLongDatabaseNameStillFits() {
        let empty = Snapshot(pgmendVersion: "test", takenAt: "", durationMilliseconds: 0, serverVersion: "",
                             database: String(repeating: "d", count: 63), schema: Schema(namespaces: ["public"], tables: [:]))
        let report = DriftMatrix.compare(live: empty, sources: ["models", "migrations", "docs"].map { ($0, empty) })
        let lines = DriftText.lines(report)
        #expect(lines.allSatisfy { $0.count <= 100 }, "\(lines)")
        #expect(lines.prefix(2).joined(separator: " ") == "drift of \(String(repeating: "d", count: 63)): the database against models, migrations, docs")
    }

    /// The plan, decided as an operator choosing to create anew and archive rather than
    /// rename, runs; then the database has every table the models have and none other, and
    /// what is left is what the plan lists as not repaired.
    @Test func demoPlanRuns() throws {
        try Self.demo { database, models, migrations in
            let live = try Self.snapshot(database)
            let sources: [(label: String, snapshot: Snapshot)] = [("models", models), ("migrations", migrations), ("docs", Self.docs)]
            let report = DriftMatrix.compare(live: live, sources: sources)
            let archive = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-drift-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: archive) }
            let written = try DriftPlanWriter.text(report: report, live: live, sources: sources, path: "Plans/drift.yaml", archiveFolder: archive)
            #expect(throws: PlanError.self) { try PlanLoader.parse(written, file: "drift.yaml") }
            #expect(written.components(separatedBy: "  - rename_table:").count == 3)
            #expect(written.components(separatedBy: "  - create_table:").count == 9)
            #expect(written.components(separatedBy: "  - archive_table:").count == 8)
            #expect(written.contains("  - normalize_timestamps:\n      columns: [work_sessions.ended_at]\n      assume_time_zone: {decide: "))
            let plan = try PlanLoader.parse(DriftDecisions.createAnew(written), file: "drift.yaml")
            let run = try Runner(connection: try database.connect(), plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(run.outcome == .ok, "\(run.message ?? "")")
            let after = DriftMatrix.compare(live: try Self.snapshot(database), sources: [("models", models)])
            #expect(after.candidates.isEmpty)
            let left = after.rows.filter { row in !row.cells.allSatisfy(row.agrees) }.map { "\($0.objectType) \($0.object)" }
            // The columns and indexes the models have inside tables the database has are added
            // (add_column, create_index), the timestamps normalised, the checks and keys added,
            // what only the database has dropped (those decisions kept): nothing is left.
            #expect(left == [], "\(DriftText.lines(after).joined(separator: "\n"))")
            #expect(written.contains("  - add_column:\n      table: users\n      column: sms_enabled\n      type: boolean\n"), "\(written)")
            #expect(written.contains("  - create_index:\n      table: conversations\n      name: ix_conversations_created_at\n      columns: [created_at]\n"), "\(written)")
            for row in after.rows where row.objectType != "table" { #expect(written.contains("# \(row.objectType) \(row.object): ")) }
        }
    }

    /// A second application with planted drift: exactly that drift; the plan, with the rename
    /// kept, runs, and the database then differs from the models only where the plan says it
    /// does not repair.
    @Test func plantedDrift() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Tests/MendKitTests/Fixtures/drift-books-drifted.sql", into: database)
            do {
                // The models as the application has them, created by its Python (create_all).
                let models = try ExpectedSnapshotTaker(
                    python: try GenerateModelsTests.python(),
                    searchPath: GenerateModelsTests.root.appendingPathComponent("Tests/MendKitTests/Fixtures/python").path,
                    server: try database.connect()
                ).take(.models("books_models:Base"))
                let live = try Self.snapshot(database)
                let report = DriftMatrix.compare(live: live, sources: [("models", models)])
                #expect(Self.matrix(report) == [
                    "authors in ok",
                    "books in differs",
                    "  column books.legacy_code in absent",
                    "  column books.price in differs",
                    // Its check reads the real column as double precision: `price >= 0::double precision`.
                    "  constraint books.books_price_check in differs",
                    "  index books_title_idx out present",
                    "loan in rename?",
                    "loans out rename?",
                    "reviews out present",
                    "tmp_import in absent",
                ], "\(DriftText.lines(report).joined(separator: "\n"))")
                #expect(report.candidates.map { "\($0.kind.rawValue) \($0.from) -> \($0.to) \($0.similarity.map(\.columns))" } == ["rename loan -> [\"loans\"] [1.0]"])
                #expect(report.rows.first { $0.object == "books.price" }?.cell("models")?.details == ["type: numeric(8,2) in models, real in the database"])

                let archive = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-drift-\(UUID().uuidString)").path
                defer { try? FileManager.default.removeItem(atPath: archive) }
                let written = try DriftPlanWriter.text(report: report, live: live, sources: [("models", models)], path: "fix.yaml", archiveFolder: archive)
                let plan = try PlanLoader.parse(DriftDecisions.keepRenames(written), file: "fix.yaml")
                // add_column, create_index, then the sql step that drops books.legacy_code, which
                // only the database has (a decision kept).
                #expect(plan.steps.map(\.kind) == ["rename_table", "create_table", "create_index", "sql", "archive_table"])
                let run = try Runner(connection: try database.connect(), plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
                #expect(run.outcome == .ok, "\(run.message ?? "")\n\(written)")
                let after = DriftMatrix.compare(live: try Self.snapshot(database), sources: [("models", models)])
                #expect(Self.matrix(after) == [
                    "authors in ok", "books in differs", "  column books.price in differs",
                    "  constraint books.books_price_check in differs", "loans in ok", "reviews in ok",
                ], "\(DriftText.lines(after).joined(separator: "\n"))")
                #expect(try database.connect().scalar("SELECT count(*)::int8 FROM loans", as: Int64.self) == 1)
            }
        }
    }
}

/// An operator's decisions on the plan drift writes, as text edits.
enum DriftDecisions {
    /// Every rename_table step deleted (with its comments); every step-level `decide:` line
    /// deleted (the step accepted); `{decide: ...}` values replaced by `value`.
    static func createAnew(_ text: String, value: String = "generated.py", keepingRenames: Bool = false) -> String {
        var blocks = text.components(separatedBy: "\n\n")
        if !keepingRenames { blocks.removeAll { $0.contains("  - rename_table:") } }
        return blocks.joined(separator: "\n\n").split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("      decide: ") }
            .map { line in
                guard let start = line.range(of: "{decide: ") else { return String(line) }
                return line[..<start.lowerBound] + (line.contains("assume_time_zone: ") ? "UTC" : value)
            }
            .joined(separator: "\n")
    }

    /// The rename candidates kept: their alternatives (the create_table and archive_table that
    /// say `not renamed from` / `created anew`) deleted, every other `decide:` line deleted.
    static func keepRenames(_ text: String) -> String {
        var blocks = text.components(separatedBy: "\n\n")
        blocks.removeAll { $0.contains(", not renamed from ") || $0.contains(" is created anew? ") }
        return createAnew(blocks.joined(separator: "\n\n"), keepingRenames: true)
    }
}
