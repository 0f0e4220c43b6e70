import Foundation
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `Snapshots/<plan>.expected.json`: the schema each demo plan leaves on the demo database, run
/// in the demo's order (`scripts/demo.sh`), committed so anyone can `pgmend verify` a repaired
/// database against it.
@Suite("Expected snapshots in Snapshots/")
struct ExpectedSnapshotTests {
    /// The demo's plans in the order it runs them: each one's expected snapshot is the schema
    /// after it and the ones before it.
    static let demoPlans = ["schema-cleanup", "metadata-columns", "types", "indexes-and-keys", "claude-code-models"]

    static func expected(_ plan: String) -> String {
        RunCommandTests.root.appendingPathComponent("Snapshots/\(plan).expected.json").path
    }

    /// `PGMEND_RECORD=<plan>.expected.json` (or `=ExpectedSnapshotTests`, see `Golden`) writes
    /// the file from this run before checking it. The demo's own size (1,000 users): which
    /// columns `normalize_uuid` with `auto: true` converts depends on the data.
    @Test func eachDemoPlanLeavesItsCommittedSchema() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 1000)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-expected-\(database.name)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plans = RunCommandTests.root.appendingPathComponent("Plans").path
            for plan in Self.demoPlans {
                // From a folder of its own: the models plan writes generated/ where it runs.
                let run = try PlansFolderCommandTests.pgmend(
                    in: folder, ["run", plan, "--yes", "--db", database.conninfo, "--plans", plans, "--snapshots", "runs", "--archives", "archive"])
                #expect(run.status == 0, "\(plan): \(run.stdout)\(run.stderr)")
                if try Golden.shouldRecord(URL(fileURLWithPath: Self.expected(plan)), suite: Self.self) {
                    try Self.record(database, to: Self.expected(plan))
                }
                let verify = try RunCommandTests.pgmend(["verify", Self.expected(plan), "--db", database.conninfo])
                #expect(verify.status == 0, "\(plan): \(verify.stdout)\(verify.stderr)")
                #expect(verify.stdout.hasPrefix("verified: database \(database.name) matches"))
            }
        }
    }

    /// Takes the snapshot with `pgmend snapshot take` and fixes what would differ from one
    /// recording to the next (database name, time, duration, server), which verify does not
    /// compare: re-recording then changes the file only when the schema changes.
    static func record(_ database: TestDatabase, to expected: String) throws {
        let taken = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-expected-\(database.name).json").path
        defer { try? FileManager.default.removeItem(atPath: taken) }
        let take = try RunCommandTests.pgmend(["snapshot", "take", "--db", database.conninfo, "-o", taken])
        #expect(take.status == 0, "\(take.stderr)")
        var snapshot = try Snapshot.read(path: taken)
        snapshot.database = "pgmend_demo"
        snapshot.takenAt = "2026-01-01T00:00:00Z"
        snapshot.durationMilliseconds = 0
        snapshot.serverVersion = String(snapshot.serverVersion.prefix { $0.isNumber })
        try Data(try snapshot.jsonText().utf8).write(to: URL(fileURLWithPath: expected))
    }
}
