import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import Testing

/// Backfill batches sized to a target duration (`batch_target`): they grow on a quick table,
/// shrink on a slow one, stay fixed when a plan gives only `batch_size`, and the run reports
/// the longest batch and the 99th percentile.
@Suite("Batches sized to a target duration")
struct BatchTargetTests {
    @Test func theSizerGrowsUnderTheTargetAndShrinksAtOnceOverIt() {
        var sizer = BatchSizer(.adaptive(targetMilliseconds: 100, maximum: 50_000))
        #expect(sizer.size == 1000)
        sizer.record(seconds: 0.010)  // far under: at most doubles
        #expect(sizer.size == 2000)
        sizer.record(seconds: 0.070)  // between 80% and 100% of the target... 0.07 < 0.08: grows to 80%
        #expect(sizer.size == 2285)
        sizer.record(seconds: 0.095)  // under the target, over its 80%: stays
        #expect(sizer.size == 2285)
        sizer.record(seconds: 0.400)  // four times over: at once to 80% of the target's share
        #expect(sizer.size == 457)
        for _ in 0..<20 { sizer.record(seconds: 0.001) }
        #expect(sizer.size == 50_000, "never above the maximum")
        for _ in 0..<20 { sizer.record(seconds: 10) }
        #expect(sizer.size == BatchSizer.smallest)
        var fixed = BatchSizer(.fixed(5000))
        fixed.record(seconds: 10)
        #expect(fixed.size == 5000)
    }

    @Test func aBatchTakesWholeSpansOfMarksAndAPassWithoutThemReadsItsBounds() {
        var marks = KeyMarks(spacing: 1000, keys: (1...5).map { [String($0 * 1000)] })
        #expect(marks.take(1000)! == (["1000"], 1000))
        #expect(marks.take(2999)! == (["3000"], 2000), "whole spans only")
        #expect(marks.take(10_000)! == (["5000"], 2000), "no more than are left")
        #expect(marks.take(1000) == nil, "used up")
        var small = KeyMarks(spacing: 1000, keys: [["1000"], ["2000"]])
        #expect(small.take(999) == nil, "a batch smaller than one span")
        // The sizer then counts the keys the batch took.
        var sizer = BatchSizer(.adaptive(targetMilliseconds: 100, maximum: 50_000))
        sizer.record(seconds: 0.040, keys: 3000)
        #expect(sizer.size == 6000)
    }

    @Test func settingsChooseTheSizing() throws {
        func sizing(_ settings: String) throws -> BatchSizing {
            try PlanLoader.parse("name: t\n\(settings)steps:\n  - sql: {run: SELECT 1, done_when: SELECT true}\n", file: "t.yaml").settings.batchSizing
        }
        #expect(try sizing("") == .adaptive(targetMilliseconds: 100, maximum: PlanSettings.adaptiveMaximum))
        #expect(try sizing("settings: {batch_size: 1000}\n") == .fixed(1000), "a plan that fixed its size keeps it")
        #expect(try sizing("settings: {batch_size: 1000, batch_target: 50ms}\n") == .adaptive(targetMilliseconds: 50, maximum: 1000))
        #expect(try sizing("settings: {batch_target: 0}\n") == .fixed(5000))
        #expect(throws: PlanError.self) { try sizing("settings: {batch_target: 2m}\n") }
    }

    static func table(_ connection: Connection, rows: Int) throws {
        try connection.execute("""
            CREATE TABLE public.items (id bigint PRIMARY KEY, v int NOT NULL DEFAULT 0, w text NOT NULL DEFAULT '');
            INSERT INTO public.items (id) SELECT g FROM generate_series(1, \(raw: rows)) g;
            ANALYZE public.items
            """)
    }

    static func run(_ connection: Connection, _ yaml: String) throws -> RunReport.ActionReport {
        let plan = try writePlan(yaml)
        let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: BackfillTests.snapshots)
        #expect(report.outcome == .ok, "\(RunReportText(report).text)")
        return try #require(report.steps.first?.actions.first)
    }

    @Test func onAQuickTableTheBatchesGrow() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.table(connection, rows: 30_000)
            // A generous target, so a loaded machine grows them too: 1000, 2000, 4000, ...
            let action = try Self.run(connection, "settings: {batch_target: 1s}\nsteps:\n  - backfill: {table: items, set: {v: \"1\"}, where: \"v = 0\"}\n")
            #expect(action.rowsAffected == 30_000)
            let batches = try #require(action.batches)
            #expect(batches <= 8, "fixed batches of the first size would have been 30: \(batches)")
            #expect(try connection.scalar("SELECT count(*) FROM public.items WHERE v <> 1", as: Int.self) == 0)
            let p99 = try #require(action.batchP99Ms)
            #expect(p99 <= (action.longestTransactionMs ?? 0))
        }
    }

    @Test func onASlowTableTheBatchesShrink() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.table(connection, rows: 6_000)
            // Each row costs a 100 kB string: 1,000 of them take far longer than 20 ms.
            let action = try Self.run(
                connection,
                "settings: {batch_target: 20ms}\nsteps:\n  - backfill: {table: items, set: {w: \"md5(repeat(id::text, 25000))\"}, where: \"w = ''\"}\n")
            #expect(action.rowsAffected == 6_000)
            let batches = try #require(action.batches)
            #expect(batches > 6, "batches of the first size would have been 6: \(batches)")
        }
    }

    @Test func aPlanThatGivesOnlyBatchSizeKeepsFixedBatches() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.table(connection, rows: 10_000)
            let action = try Self.run(connection, "settings: {batch_size: 1000}\nsteps:\n  - backfill: {table: items, set: {v: \"1\"}, where: \"v = 0\"}\n")
            #expect(action.summary.contains("in batches of 1000 keys"))
            #expect(action.batches == 10 || action.batches == 11, "\(action.batches ?? 0)")
        }
    }
}
