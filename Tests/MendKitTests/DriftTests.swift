import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `pgmend drift`'s engine: the demo database against a "models" and a "migrations" schema
/// built by hand (Fixtures/drift-demo-*.sql on copies of the demo) and a stale document.
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
            ("public.\(name)", Table(schema: "public", name: name, columns: columns.map { Column(name: $0.0, type: $0.1) }))
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

    @Test func demoMatrix() throws {
        try Self.demo { database, models, migrations in
            let live = try Self.snapshot(database)
            let report = DriftMatrix.compare(live: live, sources: [("models", models), ("migrations", migrations), ("docs", Self.docs)])
            print(DriftText.lines(report).joined(separator: "\n"))
            print(Self.matrix(report).map { "\"\($0)\"," }.joined(separator: "\n"))
        }
    }

    /// The plan, decided as an operator choosing to create anew and archive rather than
    /// rename, runs; then the database has the models' tables.
    @Test func demoPlanRuns() throws {
        try Self.demo { database, models, migrations in
            let live = try Self.snapshot(database)
            let sources: [(label: String, snapshot: Snapshot)] = [("models", models), ("migrations", migrations), ("docs", Self.docs)]
            let report = DriftMatrix.compare(live: live, sources: sources)
            let archive = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-drift-\(UUID().uuidString)").path
            let written = try DriftPlanWriter.text(report: report, live: live, sources: sources, path: "Plans/drift.yaml", archiveFolder: archive)
            print(written)
            #expect(throws: PlanError.self) { try PlanLoader.parse(written, file: "drift.yaml") }
            let plan = try PlanLoader.parse(DriftDecisions.createAnew(written), file: "drift.yaml")
            let connection = try database.connect()
            let run = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(run.outcome == .ok, "\(run.message ?? "")")
            let after = DriftMatrix.compare(live: try Self.snapshot(database), sources: [("models", models)])
            print(DriftText.lines(after).joined(separator: "\n"))
        }
    }
}

/// An operator's decisions on the plan drift writes, as text edits.
enum DriftDecisions {
    /// Every rename_table step deleted (with its comments); every step-level `decide:` line
    /// deleted (the step accepted); `{decide: ...}` values replaced by `value`.
    static func createAnew(_ text: String, value: String = "generated.py") -> String {
        var blocks = text.components(separatedBy: "\n\n")
        blocks.removeAll { $0.contains("  - rename_table:") }
        return blocks.joined(separator: "\n\n").split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("      decide: ") }
            .map { line in
                guard let start = line.range(of: "{decide: ") else { return String(line) }
                return line[..<start.lowerBound] + value
            }
            .joined(separator: "\n")
    }
}
