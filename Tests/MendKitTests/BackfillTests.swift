import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

@Suite("backfill: keyset batches, checkpoints, resume, concurrent writers")
struct BackfillTests {
    static let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-backfill-snapshots").path

    static func session(_ conninfo: String) throws -> Connection {
        let connection = try Connection(conninfo)
        try connection.execute("SET search_path = public")
        return connection
    }

    /// `apps` with messy statuses, and `apps_expected`: the same rows after one plain UPDATE.
    static func setUp(_ connection: Connection, rows: Int, key: SQL = "id bigint PRIMARY KEY") throws {
        try connection.execute("""
            CREATE TABLE public.apps (\(key), name text NOT NULL, sync_status text, note text);
            INSERT INTO public.apps (id, name, sync_status)
              SELECT g, 'app ' || g, (ARRAY['synced', ' SYNCED', 'Failed ', 'pending', 'In-Progress'])[1 + g % 5]
              FROM generate_series(1, \(raw: rows)) g;
            CREATE TABLE public.apps_expected AS SELECT * FROM public.apps;
            UPDATE public.apps_expected SET sync_status = lower(trim(sync_status)) WHERE sync_status <> lower(trim(sync_status));
            """)
    }

    static let plan = """
        settings: {batch_size: 1000}
        steps:
          - backfill:
              table: apps
              set: {sync_status: "lower(trim(sync_status))"}
              where: "sync_status <> lower(trim(sync_status))"
        """

    /// Rows of `apps` that differ from `apps_expected` in the backfilled column.
    static func differences(_ connection: Connection) throws -> Int {
        try connection.scalar(
            "SELECT count(*) FROM public.apps a FULL JOIN public.apps_expected e USING (id) WHERE a.sync_status IS DISTINCT FROM e.sync_status",
            as: Int.self) ?? -1
    }

    /// With `batch_workers`, the same rows end the same, and each share of the keys keeps its
    /// own checkpoint.
    @Test(arguments: [1, 3])
    func aBackfillEqualsOnePlainUpdateAndASecondRunDoesNothing(workers: Int) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database.conninfo)
            try Self.setUp(connection, rows: 10_000)
            try connection.execute("ANALYZE public.apps")
            let plan = try writePlan(Self.plan.replacingOccurrences(of: "batch_size: 1000", with: "batch_size: 1000, batch_workers: \(workers)"))
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            let action = try #require(dry.steps.first?.actions.first)
            #expect(action.summary == "update 6000 rows of apps in batches of 1000 keys, by (id)" + (workers > 1 ? ", the first pass on \(workers) connections at once" : ""))
            #expect(action.lock == "ROW EXCLUSIVE")
            #expect(action.sql.contains("ORDER BY \"id\" OFFSET 999 LIMIT 1"))
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(report.steps.first?.actions.first?.rowsAffected == 6000)
            #expect(report.steps.first?.actions.first?.longestTransactionMs != nil)
            #expect(try Self.differences(connection) == 0)
            // The checkpoints are in the journal: one, or one per share, each at its last key.
            let checkpoints = try connection.query("SELECT key, value FROM pgmend.checkpoints ORDER BY key")
                .map { (try $0.get(0, as: String.self), try $0.get(1, as: String.self)) }
            if workers == 1 {
                #expect(checkpoints.count == 1)
                let checkpoint = checkpoints.first?.1 ?? ""
                #expect(checkpoint.contains("\"pass\":1") && checkpoint.contains("\"rows\":6000"), "\(checkpoint)")
            } else {
                #expect(checkpoints.map { $0.0.suffix(11) } == ["part 1 of 3", "part 2 of 3", "part 3 of 3"], "\(checkpoints)")
                #expect(checkpoints.allSatisfy { $0.1.contains("\"pass\":1") }, "\(checkpoints)")
            }
            let again = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(again.statementsExecuted == 0)
            #expect(again.steps.first?.reason == "no row of apps matches where")
        }
    }

    @Test func aCompositeKeyAndADerivedCondition() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database.conninfo)
            try connection.execute("""
                CREATE TABLE public.scores (tenant text, id int, score int, PRIMARY KEY (tenant, id));
                INSERT INTO public.scores SELECT t, g, g % 13 FROM unnest(ARRAY['a', 'b', 'c']) t, generate_series(1, 700) g;
                """)
            // No `where`: a row needs it while the column differs from its expression.
            let plan = try writePlan("settings: {batch_size: 100}\nsteps:\n  - backfill: {table: scores, set: {score: \"least(score, 10)\"}}\n")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try connection.scalar("SELECT count(*) FROM public.scores WHERE score > 10", as: Int.self) == 0)
            #expect(try connection.scalar("SELECT count(*) FROM public.scores", as: Int.self) == 2100)
            #expect(report.steps.first?.actions.first?.rowsAffected == 3 * (700 / 13 * 2 + (700 % 13 >= 11 ? 1 : 0) + (700 % 13 >= 12 ? 1 : 0)))
        }
    }

    @Test func aTableWithoutAPrimaryKeyIsBlocked() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database.conninfo)
            try connection.execute("CREATE TABLE public.logs (line text); INSERT INTO public.logs VALUES ('A')")
            let plan = try writePlan("steps:\n  - backfill: {table: logs, set: {line: \"lower(line)\"}}\n")
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.outcome == .blocked)
            #expect(report.steps.first?.problems.first?.message == "logs has no primary key; a backfill walks the table by it in batches")
        }
    }

    @Test func expressionsThatDoNotSatisfyWhereFailNamingTheRows() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database.conninfo)
            try connection.execute("CREATE TABLE public.t (id int PRIMARY KEY, v int); INSERT INTO public.t SELECT g, g FROM generate_series(1, 50) g")
            let plan = try writePlan("settings: {batch_size: 10}\nsteps:\n  - backfill: {table: t, set: {v: \"v + 1\"}, where: \"v > 40\"}\n")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .failed)
            let problem = try #require(report.steps.first?.problems.first)
            #expect(problem.message.contains("the set expressions do not make it false"))
            #expect(problem.sample.first == "41")
        }
    }

    /// Writes the application makes between two batches (driven from the backfill's progress
    /// callback, so they certainly land while the loop runs): rows behind the cursor dirtied
    /// again, and new dirty rows.
    final class DirtyBetweenBatches: ProgressReporter, @unchecked Sendable {
        let connection: Connection
        var batches = 0
        var inserted: [Int] = []

        init(_ connection: Connection) { self.connection = connection }

        func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
            guard task.hasPrefix("backfill"), batches < 40 else { return }
            batches += 1
            let id = 2_000_000 + batches
            _ = try? connection.query("UPDATE public.apps SET sync_status = ' PENDING' WHERE id = \(bind: batches)")
            if (try? connection.query("INSERT INTO public.apps (id, name, sync_status) VALUES (\(bind: id), 'new', 'Failed ')")) != nil {
                inserted.append(id)
            }
        }

        func finish(task: String) {}
    }

    /// The application dirties rows behind the cursor and inserts new ones while the loop
    /// runs, and another session writes the table throughout: when the step ends no row
    /// matches `where`, and every committed row is there.
    /// Batches fixed (`batch_size`) or sized to a target small enough for many of them.
    @Test(arguments: [1, 2], ["batch_size: 500", "batch_target: 5ms"])
    func writesDuringTheLoopEndUpRight(workers: Int, batches: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database.conninfo)
            try Self.setUp(connection, rows: 50_000)
            try connection.execute("ANALYZE public.apps")
            let conninfo = database.conninfo
            let stop = DispatchSemaphore(value: 0)
            let app = Background { () -> (inserted: [Int], notes: [Int: String]) in
                let connection = try Self.session(conninfo)
                var inserted: [Int] = []
                var notes: [Int: String] = [:]
                var next = 1_000_000
                while stop.wait(timeout: .now()) == .timedOut {
                    let row = Int.random(in: 1...50_000)
                    try connection.execute("BEGIN")
                    try connection.query("INSERT INTO public.apps (id, name, sync_status) VALUES (\(bind: next), 'new', 'synced')")
                    try connection.query("UPDATE public.apps SET note = \(bind: "n\(next)") WHERE id = \(bind: row)")
                    try connection.execute("COMMIT")
                    inserted.append(next)
                    notes[row] = "n\(next)"
                    next += 1
                }
                return (inserted, notes)
            }
            let dirtier = DirtyBetweenBatches(try Self.session(conninfo))
            let plan = try writePlan(Self.plan.replacingOccurrences(of: "batch_size: 1000", with: "\(batches), batch_workers: \(workers)"))
            let report = try Runner(connection: connection, plan: plan, progress: dirtier).apply(snapshotDirectory: Self.snapshots)
            stop.signal()
            let writes = try app.value()
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(dirtier.batches >= 40 && dirtier.inserted.count == 40)
            #expect(writes.inserted.count > 10, "the other session wrote during the backfill")
            #expect(try connection.scalar("SELECT count(*) FROM public.apps WHERE sync_status <> lower(trim(sync_status))", as: Int.self) == 0)
            #expect(try connection.scalar("SELECT count(*) FROM public.apps WHERE id >= 2000000 AND sync_status = 'failed'", as: Int.self) == 40)
            #expect(try connection.scalar("SELECT count(*) FROM public.apps WHERE id >= 1000000 AND id < 2000000", as: Int.self) == writes.inserted.count)
            for (row, note) in writes.notes {
                #expect(try connection.scalar("SELECT note FROM public.apps WHERE id = \(bind: row)", as: String.self) == note)
            }
            // Rows 1...40 were dirtied behind the cursor and cleaned by a catch-up pass.
            #expect(try connection.scalar("SELECT count(*) FROM public.apps WHERE id <= 40 AND sync_status <> 'pending'", as: Int.self) == 0)
        }
    }
    /// Records each batch's rows done, and after the first inserts 500 dirty rows between the
    /// keys the pass read before it began.
    final class InsertAfterFirstBatch: ProgressReporter, @unchecked Sendable {
        let connection: Connection
        var done: [Int] = []
        init(_ connection: Connection) { self.connection = connection }
        func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
            guard task.hasPrefix("backfill") else { return }
            self.done.append(done)
            if self.done.count == 1 {
                _ = try? connection.query("INSERT INTO public.apps (id, name, sync_status) SELECT g * 10 + 5, 'new', ' NEW' FROM generate_series(1500, 1999) g")
            }
        }
        func finish(task: String) {}
    }

    /// A pass cuts its batches at keys it read before the first (`KeyMarks`), not at keys read
    /// batch by batch: rows inserted between two of them since make that batch larger (1,500
    /// rows where the 1,000 keys after the last bound would end at 17500), and every row still
    /// ends right.
    @Test func batchesAreCutAtTheKeysReadBeforeTheFirst() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database.conninfo)
            try connection.execute("""
                CREATE TABLE public.apps (id bigint PRIMARY KEY, name text NOT NULL, sync_status text, note text);
                INSERT INTO public.apps (id, name, sync_status) SELECT g * 10, 'app', ' SYNCED' FROM generate_series(1, 10000) g;
                """)
            let reporter = InsertAfterFirstBatch(try Self.session(database.conninfo))
            let plan = try writePlan(Self.plan.replacingOccurrences(of: "batch_size: 1000", with: "batch_size: 1000, batch_workers: 1"))
            let report = try Runner(connection: connection, plan: plan, progress: reporter).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(Array(reporter.done.prefix(3)) == [1000, 2500, 3500], "\(reporter.done)")
            #expect(try connection.scalar("SELECT count(*) FROM public.apps WHERE sync_status <> lower(trim(sync_status))", as: Int.self) == 0)
            #expect(try connection.scalar("SELECT count(*) FROM public.apps", as: Int.self) == 10_500)
        }
    }

    /// A batch of a step that derives columns (conditionIsDifference) finds each row to update
    /// by its ctid, never by re-reading the batch for every row: on a text key of UUIDs the
    /// planner can estimate a 5,000-key range at a handful of rows and, joined by the key,
    /// chose a nested loop that re-read the whole batch per row (a second per batch on the
    /// 1,000,000-row benchmark). With only nested loops allowed, the inner side must be a TID
    /// lookup and no row may be compared and thrown away by a join filter.
    @Test func aDerivedBatchFindsItsRowsByCtidWhateverThePlannerEstimates() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database.conninfo)
            try connection.execute("""
                CREATE TABLE public.apps (id text PRIMARY KEY, shadow uuid);
                INSERT INTO public.apps (id) SELECT md5('app-' || g)::uuid::text FROM generate_series(1, 20000) g;
                ANALYZE public.apps;
                SET enable_hashjoin = off;
                SET enable_mergejoin = off;
                """)
            var backfill = Backfill(
                table: ObjectName(schema: "public", name: "apps"), key: [("id", "text")],
                assignments: [("shadow", "id::text::uuid")], condition: "shadow IS DISTINCT FROM id::text::uuid",
                matching: 20000, sizing: .fixed(2000))
            backfill.conditionIsDifference = true
            let lower = try #require(try connection.scalar("SELECT id FROM public.apps ORDER BY id OFFSET 9999 LIMIT 1", as: String.self))
            let upper = try #require(try connection.query(backfill.boundStatement(after: .values([lower]))).first?.get(0, as: [String].self))
            try connection.execute("BEGIN")
            let plan = try connection.query(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + backfill.updateStatement(lower: .values([lower]), upper: .values(upper))
            ).map { try $0.get(0, as: String.self) }.joined(separator: "\n")
            try connection.execute("ROLLBACK")
            #expect(plan.contains("TID Cond: (ctid = v.pgmend_ctid)"), "\(plan)")
            #expect(!plan.contains("Rows Removed by Join Filter"), "\(plan)")
            #expect(plan.contains("Tid Scan on apps t (actual rows=1 loops=2000)"), "\(plan)")
        }
    }
}

extension BackfillTests {
    /// One worker's batch fails (its expression divides by zero on one dirty row of its share): the
    /// run fails with that error, the other worker stops after its batch, and no row is left
    /// half-written (each batch is all or nothing); the same plan with the row fixed finishes.
    @Test func aWorkerThatFailsFailsTheRunAndTheOtherStops() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database.conninfo)
            try Self.setUp(connection, rows: 10_000)
            try connection.execute("UPDATE public.apps SET note = '0' WHERE id = 5101; ANALYZE public.apps")
            let plan = try writePlan("""
                settings: {batch_size: 100, batch_workers: 2, retries: 0}
                steps:
                  - backfill:
                      table: apps
                      set: {sync_status: "lower(trim(sync_status)) || left((1 / coalesce(note, '1')::int)::text, 0)"}
                      where: "sync_status <> lower(trim(sync_status))"
                """)
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome != .ok)
            #expect((report.message ?? "").contains("division by zero"), "\(report.message ?? "")")
            // The first worker's share (ids up to about 5,000) stopped early: rows were left.
            let left = try connection.scalar("SELECT count(*) FROM public.apps WHERE id < 5000 AND sync_status <> lower(trim(sync_status))", as: Int.self) ?? 0
            #expect(left > 0, "the other worker went on to the end of its share")
            try connection.execute("UPDATE public.apps SET note = NULL WHERE id = 5101")
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(second.outcome == .ok, "\(second.message ?? "")")
            #expect(try Self.differences(connection) == 0)
        }
    }
}
