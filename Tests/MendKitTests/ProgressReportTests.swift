import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import Testing

/// What a run tells its reporter: the dry run's and the run's steps, and each backfill by the
/// pass a step runs it for.
@Suite("Progress reported by a run")
struct ProgressReportTests {
    final class Recorder: ProgressReporter, @unchecked Sendable {
        struct Event { var task: String, done: Int, total: Int, unit: String, detail: String }
        private let lock = NSLock()
        private var recorded: [Event] = []
        func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
            lock.withLock { recorded.append(Event(task: task, done: done, total: total, unit: unit, detail: detail)) }
        }
        func finish(task: String) {}
        var events: [Event] { lock.withLock { recorded } }
    }

    @Test("extract_json_fields names its backfill's pass; the dry run and the run report their steps")
    func extractJSONFieldsNamesItsPass() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "2000"])
            let recorder = Recorder()
            let plan = try writePlan(ExtractJSONFieldsTests.plan(ExtractJSONFieldsTests.resolved, batchSize: 200))
            let report = try Runner(connection: try database.connect(), plan: plan, progress: recorder)
                .apply(snapshotDirectory: ExtractJSONFieldsTests.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            let events = recorder.events
            let backfill = events.filter { $0.task == "backfill users" }
            #expect(!backfill.isEmpty)
            #expect(backfill.allSatisfy { $0.unit == "rows" && $0.done <= $0.total && $0.detail.hasPrefix("fill phone_number, phone_verified") }, "\(backfill.map(\.detail))")
            #expect(events.contains { $0.task == "dry run" && $0.unit == "steps" && $0.detail == "extract_json_fields" })
            #expect(events.contains { $0.task == "step" && $0.unit == "steps" && $0.detail == "extract_json_fields" })
        }
    }
}
