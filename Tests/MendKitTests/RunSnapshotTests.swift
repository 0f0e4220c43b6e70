import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The files a real run leaves: its pre- and post-snapshots, named by run id and journaled,
/// none for a run with nothing to do, and a plain report when one cannot be written.
@Suite("Run snapshots")
struct RunSnapshotTests {
    static func folder(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-run-snapshots-\(label)-\(UUID().uuidString)").path
    }

    /// Always needed: it appends a row every run.
    static let everyTime = "steps:\n  - sql: {run: \"INSERT INTO visits DEFAULT VALUES\", done_when: \"SELECT false\"}\n"

    static func journal(_ connection: Connection) throws -> [(status: String, message: String?, pre: String?, post: String?)] {
        try connection.query("SELECT status, message, pre_snapshot, post_snapshot FROM pgmend.runs ORDER BY id").map {
            (try $0.get(0), try $0.get(1, as: String?.self), try $0.get(2, as: String?.self), try $0.get(3, as: String?.self))
        }
    }

    @Test func twoRunsInOneSecondKeepBothSnapshotsAndNothingToDoWritesNone() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE visits (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY)")
            let folder = Self.folder("two")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try writePlan(Self.everyTime)
            let first = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder)
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder)
            #expect(first.outcome == .ok && second.outcome == .ok)
            let pres = [first.preSnapshot, second.preSnapshot].compactMap { $0 }
            #expect(pres.count == 2 && Set(pres).count == 2, "\(pres)")
            #expect(pres.allSatisfy { FileManager.default.fileExists(atPath: $0) })
            #expect(first.preSnapshot?.contains("-t-run1-") == true && second.preSnapshot?.contains("-t-run2-") == true, "\(pres)")

            // Nothing to do: journaled, no snapshot written.
            let quiet = try writePlan("steps:\n  - sql: {run: \"SELECT 1\", done_when: \"SELECT true\"}\n", name: "quiet")
            let idle = try Runner(connection: connection, plan: quiet).apply(snapshotDirectory: folder)
            #expect(idle.outcome == .ok)
            #expect(idle.preSnapshot == nil && idle.postSnapshot == nil)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 4)

            let runs = try Self.journal(connection)
            #expect(runs.map(\.status) == ["ok", "ok", "ok"])
            #expect(runs[0].pre == first.preSnapshot && runs[0].post == first.postSnapshot)
            #expect(runs[1].pre == second.preSnapshot && runs[1].post == second.postSnapshot)
            #expect(runs[2].pre == nil && runs[2].post == nil)
        }
    }

    /// A journal made before the snapshot columns existed gains them on the next run.
    @Test func anOldJournalIsUpgraded() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE visits (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY)")
            try Journal(connection: connection).prepare()
            try connection.execute("ALTER TABLE pgmend.runs DROP COLUMN pre_snapshot, DROP COLUMN post_snapshot")
            let folder = Self.folder("upgrade")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let report = try Runner(connection: connection, plan: try writePlan(Self.everyTime)).apply(snapshotDirectory: folder)
            #expect(try Self.journal(connection).first?.post == report.postSnapshot)
        }
    }

    @Test func aFullDiskAtThePostSnapshotIsReportedAndJournaled() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE visits (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY)")
            let folder = Self.folder("full")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var runner = Runner(connection: connection, plan: try writePlan(Self.everyTime))
            runner.snapshotWriteHook = { path in
                if path.hasSuffix("-post.json") { throw ArchiveError.io(path, "cannot write", ENOSPC) }
            }
            let report = try runner.apply(snapshotDirectory: folder)
            let post = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first).replacingOccurrences(of: "-pre.json", with: "-post.json")
            let message = "the steps were applied; the post-snapshot could not be written: disk full at \(folder)/\(post)"
            #expect(report.outcome == .failed)
            #expect(report.exitStatus == .failed)
            #expect(report.message == message)
            #expect(report.steps.map(\.status) == [.applied])
            #expect(report.postSnapshot == nil)
            #expect(try connection.scalar("SELECT count(*) FROM visits", as: Int.self) == 1)
            let runs = try Self.journal(connection)
            #expect(runs.count == 1)
            #expect(runs.first?.status == "failed" && runs.first?.message == message)
            #expect(runs.first?.pre == report.preSnapshot && runs.first?.post == nil)
            // Only the pre-snapshot; no temporary file left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 1)
            #expect(RunReportText(report, color: false).text.containsFlowed(message))
        }
    }

    @Test func anUnwritablePreSnapshotChangesNothing() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE visits (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY)")
            // Root may write anywhere, so the folder is made impossible: its parent is a file.
            let blocker = Self.folder("blocker")
            try Data("not a folder".utf8).write(to: URL(fileURLWithPath: blocker))
            defer { try? FileManager.default.removeItem(atPath: blocker) }
            let error = try #require(throws: SnapshotNotWritten.self) {
                try Runner(connection: connection, plan: try writePlan(Self.everyTime)).apply(snapshotDirectory: "\(blocker)/runs")
            }
            #expect(error.description.hasPrefix("the pre-snapshot could not be written: Not a directory at \(blocker)/runs/"), "\(error)")
            #expect(try connection.scalar("SELECT count(*) FROM visits", as: Int.self) == 0)
            let runs = try Self.journal(connection)
            #expect(runs.map(\.status) == ["failed"])
            #expect(runs.first?.message == "nothing was changed; \(error)")
        }
    }
}
