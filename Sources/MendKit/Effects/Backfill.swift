import Foundation
import PostgresClient
import SchemaModel

/// An UPDATE of many rows done as keyset batches over the primary key, each batch one short
/// transaction with `lock_timeout`, so no lock is held for long and a killed run resumes.
///
/// - A batch is the next `batch_size` keys after the last one done: its upper bound is read
///   from the primary key's index alone, then one plain UPDATE takes the rows of that key
///   range that match `condition` (one index range scan, each row visited once), and the bound
///   is written to the journal (`pgmend.checkpoints`) in the same transaction: the checkpoint
///   is exactly what committed.
/// - A lock not granted in time retries that batch with backoff; a killed run's successor
///   starts after the checkpoint of the same plan step (it is an optimisation only: the
///   condition, not the checkpoint, says what is left).
/// - Rows the application changes while the loop runs end up right: the loop is driven by
///   `condition`, so after the first pass further passes from the start take the rows that
///   match again (written behind the cursor); when few are left (at most one batch), a last
///   pass updates them under an EXCLUSIVE lock (reads go on, writes wait a moment), so when
///   it commits no row matches. If a row still matches after that, the `set` expressions do not
///   make `condition` false, and the effect fails naming the rows.
public struct Backfill: Effect {
    public var table: ObjectName
    /// Primary key columns with their types as the catalog prints them.
    public var key: [(name: String, type: String)]
    /// Column = expression, in order.
    public var assignments: [(column: String, expression: SQL)]
    /// Which rows still need it (a plan fragment).
    public var condition: SQL
    /// Rows that matched when assessed, for progress and the dry run.
    public var matching: Int
    /// How batches are sized: fixed (`batch_size`), or to the plan's `batch_target`.
    public var sizing: BatchSizing
    /// What the rows get, for people, when the step that asks for it can say more than
    /// "update": appended to the summary.
    public var purpose: String?
    /// A short name of this backfill for progress lines, when a step runs several
    /// ("fill the columns", "remove moved keys").
    public var progressLabel: String?
    /// True when `condition` is exactly "some assigned column differs from its expression"
    /// (a step that derives columns from others, as extract_json_fields does): then a batch
    /// evaluates each expression once per row instead of twice (in SET and in WHERE), by
    /// computing them in a subquery and comparing there (`updateStatement`).
    public var conditionIsDifference = false
    /// Rows that must not exist once the backfill is done, though no update can change them
    /// (a value the application wrote that does not convert): counted in the same read of the
    /// table that looks for rows left to update, and if there are any the effect fails naming
    /// them. That read, returning no row, is the proof that every row is as the step says.
    public var verify: (summary: String, condition: SQL)?
    /// With `conditionIsDifference`: the step's assessment read every row and found none that
    /// breaks `verify`, in a snapshot whose xmin (xid8) is `assessedBefore`; for the rows it
    /// read, per assignment, an expression gives the same value without the checks the
    /// general one makes (nil: the general one). A batch computes their values with these and
    /// tests only the other rows against `verify`.
    ///
    /// The rows it read are those whose version is older than that xmin: a version written
    /// since, or by a transaction running then, is younger (`age(xmin)` is at most that of
    /// the snapshot's xmin), and gets the checks. A frozen row keeps its xmin; one so old that
    /// its age wrapped around reads as young, and is merely checked.
    public var trusted: (assessedBefore: UInt64, expressions: [SQL?])?

    /// Connections the first pass runs its batches on at once (`batch_workers`).
    public var workers: Int

    public init(
        table: ObjectName, key: [(name: String, type: String)], assignments: [(column: String, expression: SQL)],
        condition: SQL, matching: Int, sizing: BatchSizing, workers: Int = 1
    ) {
        self.table = table
        self.key = key
        self.assignments = assignments
        self.condition = condition
        self.matching = matching
        self.sizing = sizing
        self.workers = workers
    }

    /// The checkpoint's name: a changed statement does not resume an older one's position.
    /// (Whether rows are trusted is not part of it.)
    var checkpointKey: String {
        var general = self
        general.trusted = nil
        return "backfill \(table) " + String(general.sql.hashValueStable, radix: 16)
    }

    public var summary: String {
        "update \(matching) row\(matching == 1 ? "" : "s") of \(table) in batches \(sizing.description), by (\(key.map(\.name).joined(separator: ", ")))"
            + (workers > 1 ? ", the first pass on \(workers) connections at once" : "")
            + (purpose.map { ": \($0)" } ?? "")
            + (verify == nil ? "" : "; then one read of the table proves no row is left to update and none breaks the step's rule")
    }
    public var sql: String {
        (boundStatement(after: .shown) + ";\n" + updateStatement(lower: .shown, upper: .shown)).description
    }
    public var lock: LockLevel { .rowExclusive }
    public var lockTarget: ObjectName? { table }
    public var hazards: [Hazard] { [.rowUpdates] }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        // Each batch a transaction of its own (not a rehearsal's savepoint): then its commit
        // need not wait for the disk, and its xid names the rows it wrote.
        let ownTransactions = !context.connection.isInTransaction
        let tally = Tally(self, context, recordsWriters: conditionIsDifference && ownTransactions)
        do {
            return try apply(context, tally: tally, ownTransactions: ownTransactions)
        } catch where LockRetry.isRetryable(error) {
            // Left to the runner, which assesses the step again and retries it.
            throw error
        } catch let error where ownTransactions && tally.updated > 0 {
            throw PartlyCommitted(rows: tally.updated, longestTransaction: tally.longestBatch, error: error)
        }
    }

    private func apply(_ context: EffectContext, tally: Tally, ownTransactions: Bool) throws -> EffectOutcome {

        /// One pass over the keys from `start` (nil: the first key) to the end, on the run's
        /// connection.
        func pass(_ number: Int, from start: [String]?) throws {
            try batches(from: start, through: nil, pass: number, checkpointKey: checkpointKey, tally: tally, reader: context.connection) { body in
                try Self.withBatchRetries(context.settings) {
                    try context.inTransaction(faultInside: false) { connection in
                        if ownTransactions { try connection.execute("SET LOCAL synchronous_commit = off" as SQL) }
                        return try body(connection)
                    }
                }
            }
        }

        let resume = context.rehearsal ? nil : try context.journal.flatMap {
            try $0.resumePoint(before: context.run, planSHA256: context.planSHA256, step: context.step, key: checkpointKey)
        }.flatMap(Self.lastKey(fromCheckpoint:))
        let workers = ownTransactions && resume == nil ? self.workers : 1
        if workers > 1 {
            try parallelPass(workers: workers, context: context, tally: tally)
        } else {
            try pass(1, from: resume)
        }
        // Catch-up: rows written behind the cursor (or before the resume point) that match.
        let youngOnly = ownTransactions && unchanged(firstPassWhole: resume == nil)
        var (remaining, violating) = try count(context.connection, skipping: tally.written, youngOnly: youngOnly)
        var number = 1
        // Another pass while more than one batch is left (the largest the first pass found
        // fitting, when batches are sized to a target); then one last statement.
        while remaining > tally.largestBatch(or: sizing.first) && number < 5 {
            number += 1
            try pass(number, from: nil)
            (remaining, violating) = try count(context.connection, skipping: tally.written, youngOnly: youngOnly)
        }
        if remaining > 0 {
            let started = Date()
            let rows = try finalPass(context, skipping: tally.written, youngOnly: youngOnly)
            tally.record(rows: rows, xid: nil, seconds: Date().timeIntervalSince(started), pass: nil)
        }
        if violating > 0, let verify {
            let sample = try context.connection.query(
                "SELECT \(rowKey.text()) AS pgmend_key FROM \(name) WHERE \(Self.parenthesized(verify.condition)) ORDER BY \(rowKey.order()) LIMIT 10" as SQL
            ).map { try $0.get(0, as: String.self) }
            if !sample.isEmpty { throw AssertionFailed(summary: verify.summary, count: max(violating, sample.count), sample: sample) }
        }
        context.progress.finish(task: "backfill \(table)")
        return EffectOutcome(
            rowsAffected: tally.updated, longestTransaction: tally.longestBatch, batches: tally.batches, batchP99: tally.batchPercentile(0.99))
    }

    /// What one batch did.
    struct Batch {
        var rows: Int
        /// Its upper bound; nil for the last batch of a pass or part.
        var bound: [String]?
        /// Its transaction (xid8), when it wrote rows and `Tally.recordsWriters`.
        var xid: UInt64?
    }

    /// The batches over the keys after `start` (nil: from the first) through `end` (nil: to the
    /// last), each in a transaction `transaction` opens (with its retries) on the connection it
    /// hands to its body; each committed batch is told to `tally`.
    func batches(
        from start: [String]?, through end: [String]?, pass number: Int, checkpointKey: String, tally: Tally, reader: Connection,
        transaction: ((Connection) throws -> Batch) throws -> Batch
    ) throws {
        var last = start
        var sizer = BatchSizer(sizing)
        var marks = readMarks(after: start, through: end, on: reader)
        while !tally.stopped {
            let started = Date()
            var size = sizer.size
            let marked = marks?.take(size)
            if let marked { size = marked.keys } else { marks = nil }
            let batch = try transaction { connection in
                let bound = try marked.map(\.bound) ?? connection.query(boundStatement(after: Bound(last), through: Bound(end), size: size))
                    .first?.get(0, as: [String].self)
                let upper = bound ?? end
                let rows = try connection.query(updateStatement(lower: Bound(last), upper: Bound(upper))).affectedRows ?? 0
                var xid: UInt64?
                if rows > 0 && tally.recordsWriters {
                    xid = try connection.scalar("SELECT pg_current_xact_id()::text", as: String.self).flatMap(UInt64.init)
                }
                if let upper, let journal = tally.journal(on: connection) {
                    let value = Self.checkpointValue(last: upper, pass: number, resumedFrom: start, rows: tally.updated + rows)
                    try journal.checkpoint(tally.run, step: tally.step, key: checkpointKey, value: value)
                }
                return Batch(rows: rows, bound: bound, xid: xid)
            }
            let seconds = Date().timeIntervalSince(started)
            tally.record(rows: batch.rows, xid: batch.xid, seconds: seconds, pass: number, keys: size)
            sizer.record(seconds: seconds, keys: size)
            guard let bound = batch.bound else { return }
            last = bound
            if tally.settings.batchPause > 0 { Thread.sleep(forTimeInterval: Double(tally.settings.batchPause) / 1000) }
        }
    }

    /// The pass's `KeyMarks`, read on `reader` before its first batch. None for batches of one
    /// key, and none in a rehearsal, whose transaction a failed read would end: they save time
    /// only, so a read that fails (a `statement_timeout` shorter than one scan of the key)
    /// leaves the pass to read its bounds batch by batch.
    func readMarks(after start: [String]?, through end: [String]?, on reader: Connection) -> KeyMarks? {
        let spacing = sizing.first
        guard spacing > 1, !reader.isInTransaction,
            let keys = try? reader.query(marksStatement(after: Bound(start), through: Bound(end), spacing: spacing)).map({ try $0.get(0, as: [String].self) })
        else { return nil }
        return KeyMarks(spacing: spacing, keys: keys)
    }

    /// Rows that still match, now, and rows that break `verify`: one read of the table, which
    /// tests only the rows whose version the batches in `written` did not write (`apply`),
    /// and with `youngOnly` only those written since the assessment (`unchanged`).
    func count(_ connection: Connection, skipping written: [UInt64] = [], youngOnly: Bool = false) throws -> (remaining: Int, violating: Int) {
        let condition = Self.parenthesized(condition)
        var skip: SQL = try Self.comparable(written, connection).map { Self.notWrittenBy($0) + " AND " } ?? ""
        if youngOnly { skip += "NOT \(assessed(shown: false, first: 1)) AND " }
        guard let verify else {
            return (try connection.scalar("SELECT count(*) FROM \(name) WHERE \(skip)\(condition)" as SQL, as: Int.self) ?? 0, 0)
        }
        let violates = Self.parenthesized(verify.condition)
        let row = try connection.query(
            "SELECT count(*) FILTER (WHERE \(condition)), count(*) FILTER (WHERE \(violates)) FROM \(name) WHERE \(skip)(\(condition) OR \(violates))" as SQL
        ).first
        return (try row?.get(0, as: Int.self) ?? 0, try row?.get(1, as: Int.self) ?? 0)
    }

    /// `written` as the row's xmin shows it, unless 2^31 transactions have begun since the
    /// first of them: a 32-bit xid may then name another transaction, and nothing is skipped.
    static func comparable(_ written: [UInt64], _ connection: Connection) throws -> [UInt64]? {
        guard let first = written.min() else { return nil }
        guard let next = try connection.scalar("SELECT pg_snapshot_xmax(pg_current_snapshot())::text" as SQL, as: String.self).flatMap(UInt64.init),
            next >= first, next - first < 1 << 31
        else { return nil }
        return written
    }

    /// The few rows left, under an EXCLUSIVE lock so none can be written meanwhile; a row that
    /// still matches afterwards means the expressions do not satisfy the condition.
    func finalPass(_ context: EffectContext, skipping written: [UInt64] = [], youngOnly: Bool = false) throws -> Int {
        try Self.withBatchRetries(context.settings) {
            try context.inTransaction(faultInside: false) { connection in
                try connection.execute("LOCK TABLE \(name) IN EXCLUSIVE MODE" as SQL)
                let condition = Self.parenthesized(condition)
                // One read of the table under the lock, not two: no one else writes while it is
                // held, so only the rows this UPDATE wrote (found again by their new ctid) can
                // still match.
                // The rows this run's batches wrote need nothing (`apply`): not read again.
                let skipped = conditionIsDifference ? try Self.comparable(written, connection) ?? [] : []
                let returning: SQL = conditionIsDifference ? " RETURNING t.ctid::text" : " RETURNING ctid::text"
                let written = try connection.query(updateStatement(lower: nil, upper: nil, skipping: skipped, youngOnly: youngOnly) + returning)
                    .map { try $0.get(0, as: String.self) }
                let left = written.isEmpty ? [] : try connection.query(
                    """
                    SELECT \(rowKey.text()) AS pgmend_key FROM \(name) WHERE ctid = ANY(\(bind: written)::text[]::tid[]) AND \(condition)
                    ORDER BY \(rowKey.order()) LIMIT 10
                    """
                ).map { try $0.get(0, as: String.self) }
                let rows = written.count
                guard left.isEmpty else {
                    throw AssertionFailed(
                        summary: "after the backfill, rows of \(table) still match where: the set expressions do not make it false",
                        count: try count(connection).remaining, sample: left)
                }
                return rows
            }
        }
    }

    /// Runs one batch, again after a backoff when its lock was not granted in time.
    static func withBatchRetries<T>(_ settings: PlanSettings, _ body: () throws -> T) throws -> T {
        try LockRetry.retrying(settings.retries, body)
    }

    // MARK: Checkpoints

    static func checkpointValue(last: [String], pass: Int, resumedFrom: [String]?, rows: Int) -> String {
        let object: [String: Any] = ["last": last, "pass": pass, "resumed_from": resumedFrom as Any? ?? NSNull(), "rows": rows]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The last key of a checkpoint of the first pass; a catch-up pass is not resumed.
    static func lastKey(fromCheckpoint value: String) -> [String]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any],
            object["pass"] as? Int == 1, let last = object["last"] as? [String]
        else { return nil }
        return last
    }
}

extension String {
    /// FNV-1a of the UTF-8 bytes: the same in every process (Swift's hashValue is seeded).
    var hashValueStable: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
