import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import Testing

@Suite("batch_workers: auto, or a number")
struct BatchWorkersTests {
    @Test func autoTakesTheFewestOfCoresParallelWorkersAndSpareSlots() {
        // Cores, the server's parallel workers and the cap of 4, whichever is fewest.
        #expect(BatchWorkers.automatic(cores: 2, parallelWorkers: 8, maxConnections: 100, connected: 5) == 2)
        #expect(BatchWorkers.automatic(cores: 16, parallelWorkers: 8, maxConnections: 100, connected: 5) == 4)
        #expect(BatchWorkers.automatic(cores: 16, parallelWorkers: 3, maxConnections: 100, connected: 5) == 3)
        // max_parallel_workers = 0: the administrator wants no query to take more processes.
        #expect(BatchWorkers.automatic(cores: 16, parallelWorkers: 0, maxConnections: 100, connected: 5) == 1)
        // A tenth of max_connections (at least 3) stays free for the application.
        #expect(BatchWorkers.automatic(cores: 16, parallelWorkers: 8, maxConnections: 100, connected: 89) == 2)
        #expect(BatchWorkers.automatic(cores: 16, parallelWorkers: 8, maxConnections: 100, connected: 90) == 1)
        #expect(BatchWorkers.automatic(cores: 16, parallelWorkers: 8, maxConnections: 10, connected: 5) == 3)
        #expect(BatchWorkers.automatic(cores: 16, parallelWorkers: 8, maxConnections: 10, connected: 9) == 1)
    }

    @Test func aPlanSaysAutoOrANumber() throws {
        #expect(try PlanLoader.parse("name: p\nsteps: [{sql: {run: SELECT 1, done_when: 'true'}}]\n", file: "p.yaml").settings.batchWorkers == .auto)
        let auto = try PlanLoader.parse("name: p\nsettings: {batch_workers: auto}\nsteps: [{sql: {run: SELECT 1, done_when: 'true'}}]\n", file: "p.yaml")
        #expect(auto.settings.batchWorkers == .auto)
        #expect(auto.settings.lines.contains { $0 == ("batch_workers", "auto") })
        let three = try PlanLoader.parse("name: p\nsettings: {batch_workers: 3}\nsteps: [{sql: {run: SELECT 1, done_when: 'true'}}]\n", file: "p.yaml")
        #expect(three.settings.batchWorkers == .count(3))
        for (text, message) in [
            ("many", "p.yaml:2:27: option 'batch_workers' of settings must be auto or a whole number between 1 and 16, not 'many'"),
            ("0", "p.yaml:2:27: option 'batch_workers' of settings must be between 1 and 16, not 0"),
        ] {
            let error = #expect(throws: PlanError.self) {
                try PlanLoader.parse("name: p\nsettings: {batch_workers: \(text)}\nsteps: [{sql: {run: SELECT 1, done_when: 'true'}}]\n", file: "p.yaml")
            }
            #expect(error?.problems.map(\.description) == [message])
        }
    }

    /// On a table long enough to share, the default takes what the server and this machine
    /// allow (two connections on a 2-core machine), and the rows end as one UPDATE leaves them;
    /// on a short one, one connection.
    @Test func byDefaultALongBackfillSharesItsFirstPassAndAShortOneDoesNot() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try BackfillTests.session(database.conninfo)
            try BackfillTests.setUp(connection, rows: 200_000)
            try connection.execute("ANALYZE public.apps")
            let capacity = try #require(try connection.query(BatchWorkers.capacityQuery).first)
            let expected = BatchWorkers.automatic(
                cores: ProcessInfo.processInfo.activeProcessorCount, parallelWorkers: try capacity.get(0, as: Int.self),
                maxConnections: try capacity.get(1, as: Int.self), connected: try capacity.get(2, as: Int.self))
            let plan = try writePlan(BackfillTests.plan.replacingOccurrences(of: "settings: {batch_size: 1000}\n", with: ""))
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            let summary = try #require(dry.steps.first?.actions.first?.summary)
            #expect(summary.hasSuffix(expected > 1 ? ", the first pass on \(expected) connections at once" : "by (id)"), "\(summary)")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: BackfillTests.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try BackfillTests.differences(connection) == 0)
            let parts = try connection.scalar("SELECT count(*) FROM pgmend.checkpoints WHERE key LIKE '%part _ of _'", as: Int.self)
            #expect(parts == (expected > 1 ? expected : 0))

            try connection.execute("DELETE FROM public.apps WHERE id > 10000; UPDATE public.apps SET sync_status = ' SYNCED' WHERE id % 5 = 1")
            let short = try Runner(connection: connection, plan: plan).dryRun()
            #expect(short.steps.first?.actions.first?.summary == "update 2000 rows of apps in batches sized to 100 ms (1000 keys first, at most 100000), by (id)")
        }
    }
}
