import Foundation
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `Snapshots/schema-cleanup.expected.json`: the schema `Plans/schema-cleanup.yaml` leaves on the
/// demo database, committed so anyone can `pgmend verify` a repaired database against it.
@Suite("Expected snapshots in Snapshots/")
struct ExpectedSnapshotTests {
    static let expected = RunCommandTests.root.appendingPathComponent("Snapshots/schema-cleanup.expected.json").path

    /// `PGMEND_RECORD=schema-cleanup.expected.json` (or `=ExpectedSnapshotTests`, see `Golden`)
    /// writes the file from this run before checking it.
    @Test func schemaCleanupLeavesTheCommittedSchema() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 60)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-expected-\(database.name)").path
            defer {
                try? FileManager.default.removeItem(atPath: folder)
                try? FileManager.default.removeItem(at: RunCommandTests.root.appendingPathComponent("Snapshots/archive/\(database.name)"))
            }
            let run = try RunCommandTests.pgmend(["run", "schema-cleanup", "--yes", "--db", database.conninfo, "--snapshots", folder])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            if try Golden.shouldRecord(URL(fileURLWithPath: Self.expected), suite: Self.self) {
                try Self.record(database)
            }
            let verify = try RunCommandTests.pgmend(["verify", Self.expected, "--db", database.conninfo])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            #expect(verify.stdout.hasPrefix("verified: database \(database.name) matches"))
        }
    }

    /// Takes the snapshot with `pgmend snapshot take` and fixes what would differ from one
    /// recording to the next (database name, time, duration, server), which verify does not
    /// compare: re-recording then changes the file only when the schema changes.
    static func record(_ database: TestDatabase) throws {
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
