import Foundation
import PostgresClient
import SchemaModel

extension Backfill {
    /// What a backfill's batches did, added up from every connection that runs them, and what
    /// they report: progress, the `inside` fault point once half the matching rows are done.
    ///
    /// Two locks. `lock` guards the figures and is never held while anything else runs: a
    /// batch reads them inside its transaction. `reporting` keeps reports in order, one at a
    /// time, and is held while the reporter runs, which may take as long as it likes (a test's
    /// reporter writes the table, and waits for another worker's open batch); it is taken only
    /// after a batch has committed, so the batch it waits for can always finish.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private let reporting = NSLock()
        private let context: EffectContext
        private let table: ObjectName
        private let matching: Int
        /// The backfill's pass name in progress lines, when a step runs several.
        private let label: String?
        /// Whether batches note their transaction (`Backfill.count` skips the rows they wrote).
        let recordsWriters: Bool
        let settings: PlanSettings
        let run: Int64
        let step: Int
        private var _updated = 0
        private var _written: [UInt64] = []
        private var _longestBatch = 0.0
        private var _batches = 0
        private var _batchSeconds: [Double] = []
        private var _largestKeys = 0
        private var faulted = false
        private var _stopped = false

        init(_ backfill: Backfill, _ context: EffectContext, recordsWriters: Bool) {
            self.context = context
            table = backfill.table
            matching = backfill.matching
            label = backfill.progressLabel
            self.recordsWriters = recordsWriters
            settings = context.settings
            run = context.run
            step = context.step
        }

        var updated: Int { lock.withLock { _updated } }
        var written: [UInt64] { lock.withLock { _written } }
        var longestBatch: Double { lock.withLock { _longestBatch } }
        /// Batches committed.
        var batches: Int { lock.withLock { _batches } }

        /// The most keys a batch took, or `fallback` before any batch.
        func largestBatch(or fallback: Int) -> Int { lock.withLock { _largestKeys > 0 ? _largestKeys : fallback } }

        /// The batches' duration below which `fraction` of them fall (nearest rank); nil
        /// without batches.
        func batchPercentile(_ fraction: Double) -> Double? {
            let sorted = lock.withLock { _batchSeconds }.sorted()
            guard !sorted.isEmpty else { return nil }
            let rank = Int((fraction * Double(sorted.count)).rounded(.up))
            return sorted[min(max(rank, 1), sorted.count) - 1]
        }
        /// A worker failed: the others stop after their current batch (the run fails anyway).
        var stopped: Bool { lock.withLock { _stopped } }
        func stop() { lock.withLock { _stopped = true } }

        /// The journal, writing on `connection` (a checkpoint commits with its batch); nil when
        /// the run keeps none.
        func journal(on connection: Connection) -> Journal? {
            context.journal == nil ? nil : Journal(connection: connection)
        }

        /// A batch committed; `pass` nil for the last pass, which reports no progress (the
        /// loop's work is done when it runs).
        func record(rows: Int, xid: UInt64?, seconds: Double, pass: Int?, keys: Int = 0) {
            reporting.withLock {
                let (updated, fault) = lock.withLock {
                    _updated += rows
                    if let xid { _written.append(xid) }
                    _longestBatch = max(_longestBatch, seconds)
                    _batches += 1
                    _batchSeconds.append(seconds)
                    _largestKeys = max(_largestKeys, keys)
                    // The `inside` fault point: half of the rows that matched are done.
                    let fault = pass != nil && !faulted && _updated * 2 >= matching
                    if fault { faulted = true }
                    return (_updated, fault)
                }
                guard let pass else { return }
                let passName = pass > 1 ? "catch-up pass \(pass)" : nil
                context.progress.progress(
                    task: "backfill \(table)", done: min(updated, matching), total: matching, unit: "rows",
                    detail: [label, passName].compactMap { $0 }.joined(separator: ", "))
                if fault { context.fault(.inside) }
            }
        }
    }

    /// The first pass on `workers` connections at once (`batch_workers`), each over its own
    /// share of the keys: the run's connection takes the first, each other a connection of its
    /// own on a thread of its own, with the run's session settings. The shares are cut at keys
    /// read from the primary key's index (by the planner's row count, so roughly equal), and
    /// each is a pass of its own: its batches, its checkpoints (under its own key, so a killed
    /// run's successor starts again from the first key: the condition says what is left).
    func parallelPass(workers: Int, context: EffectContext, tally: Tally) throws {
        // The planner's row count, or (a table never analyzed has none) a count.
        var rows = try context.connection.scalar(
            "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(\(bind: name.quoted))", as: Int64.self) ?? 0
        if rows == 0 { rows = try context.connection.scalar("SELECT count(*) FROM \(name)" as SQL, as: Int64.self) ?? 0 }
        let keyTexts: [SQL] = keyColumns.map { "\($0)::text" }
        var cuts: [[String]] = []
        for share in 1..<workers where rows > 0 {
            let cut = try context.connection.query(
                "SELECT ARRAY[\(keyTexts)] FROM \(name) ORDER BY \(keyColumns) OFFSET \(bind: rows * Int64(share) / Int64(workers)) LIMIT 1"
            ).first?.get(0, as: [String].self)
            if let cut, cut != cuts.last { cuts.append(cut) }
        }
        let ranges: [(start: [String]?, end: [String]?)] = (0...cuts.count).map { index in
            (index == 0 ? nil : cuts[index - 1], index == cuts.count ? nil : cuts[index])
        }
        let settingsQuery: SQL = "SELECT name, setting FROM pg_settings WHERE name = ANY(\(bind: Self.sessionSettings)::text[])"
        let session = try context.connection.query(settingsQuery).map { (try $0.get(0, as: String.self), try $0.get(1, as: String.self)) }
        let recipe = context.connection.recipe
        let main = HandedOver(context.connection)
        let backfill = self
        try Self.concurrently(ranges.count) { index in
            do { try work(index) } catch {
                tally.stop()
                throw error
            }
        }

        @Sendable func work(_ index: Int) throws {
            let connection = try index == 0 ? main.connection : recipe.connect()
            if index > 0 {
                for (name, value) in session { try connection.query("SELECT set_config(\(bind: name), \(bind: value), false)") }
            }
            try backfill.batches(
                from: ranges[index].start, through: ranges[index].end, pass: 1,
                checkpointKey: backfill.checkpointKey + " part \(index + 1) of \(ranges.count)", tally: tally, reader: connection
            ) { body in
                try Self.withBatchRetries(tally.settings) {
                    try connection.transaction { connection in
                        try connection.setLocal("lock_timeout", "\(tally.settings.lockTimeout)ms")
                        try connection.setLocal("statement_timeout", "\(tally.settings.statementTimeout)ms")
                        try connection.execute("SET LOCAL synchronous_commit = off" as SQL)
                        return try body(connection)
                    }
                }
            }
        }
    }

    /// The run's session settings a worker's connection copies: what a conversion or a plan may
    /// depend on.
    static let sessionSettings = ["jit", "search_path", "TimeZone", "DateStyle", "IntervalStyle", "extra_float_digits", "work_mem"]

    /// Runs `body(0)` on this thread and `body(1)` ... `body(count - 1)` each on a thread of its
    /// own; returns once all have ended, throwing the first error.
    static func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        let errors = ErrorList()
        let done = DispatchSemaphore(value: 0)
        for index in 1..<max(count, 1) {
            Thread.detachNewThread {
                do { try body(index) } catch { errors.append(error) }
                done.signal()
            }
        }
        do { try body(0) } catch { errors.append(error) }
        for _ in 1..<max(count, 1) { done.wait() }
        if let first = errors.first { throw first }
    }
}

/// The errors of several threads, in the order they happened.
private final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []
    func append(_ error: Error) { lock.withLock { errors.append(error) } }
    var first: Error? { lock.withLock { errors.first } }
}
