import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// A backfill of 200,000 rows through the real binary, killed (SIGKILL) twice in the middle of
/// its loop and run again, while another session inserts and updates the same table the whole
/// time: the result is exactly one plain UPDATE's, the second run resumed from the first's
/// checkpoint, and every row the other session committed is there.
@Suite("backfill killed twice and resumed")
struct BackfillKillTests {
    static func session(_ conninfo: String) throws -> Connection {
        let connection = try Connection(conninfo)
        try connection.execute("SET search_path = public")
        return connection
    }

    @Test func killedTwiceThenResumedEqualsOneUpdate() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database.conninfo)
            try connection.execute("""
                CREATE TABLE public.apps (id bigint PRIMARY KEY, name text NOT NULL, sync_status text, note text);
                INSERT INTO public.apps (id, name, sync_status)
                  SELECT g, 'app ' || g, (ARRAY['synced', ' SYNCED', 'Failed ', 'pending', 'In-Progress'])[1 + g % 5]
                  FROM generate_series(1, 200000) g;
                CREATE TABLE public.apps_expected AS SELECT * FROM public.apps;
                UPDATE public.apps_expected SET sync_status = lower(trim(sync_status)) WHERE sync_status <> lower(trim(sync_status));
                """)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-backfill-kill-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            // One connection: the resume from a checkpoint is the serial pass's (a shared first
            // pass starts again from the first key, BackfillTests).
            try """
                name: normalize
                settings: {batch_size: 2000, batch_workers: 1}
                steps:
                  - backfill:
                      table: apps
                      set: {sync_status: "lower(trim(sync_status))"}
                      where: "sync_status <> lower(trim(sync_status))"
                """.write(to: folder.appendingPathComponent("normalize.yaml"), atomically: true, encoding: .utf8)
            func run(fault: String?) throws -> ProcessOutcome {
                try PgMendBinary.run(
                    ["run", "normalize", "--plans", folder.path, "--db", database.conninfo, "--yes", "--snapshots", folder.appendingPathComponent("runs").path,
                     "--format", "json"],
                    environment: fault.map { ["PGMEND_FAULT": $0] } ?? [:])
            }

            // The other session: new rows (clean) and another column, committed throughout.
            let conninfo = database.conninfo
            let stop = DispatchSemaphore(value: 0)
            let app = Background { () -> (inserted: Int, notes: [Int: String]) in
                let connection = try Self.session(conninfo)
                var next = 1_000_000
                var notes: [Int: String] = [:]
                while stop.wait(timeout: .now()) == .timedOut {
                    let row = Int.random(in: 1...200_000)
                    try connection.execute("BEGIN")
                    try connection.query("INSERT INTO public.apps (id, name, sync_status) VALUES (\(bind: next), 'new', 'pending')")
                    try connection.query("UPDATE public.apps SET note = \(bind: "n\(next)") WHERE id = \(bind: row)")
                    try connection.execute("COMMIT")
                    notes[row] = "n\(next)"
                    next += 1
                }
                return (next - 1_000_000, notes)
            }

            // 120,000 rows need it: 60 batches. inside:1 kills after half of a run's batches.
            let first = try run(fault: "inside:1")
            #expect(first.status == 128 + 9, "the first run was killed: \(first.stderr)")
            let afterFirst = try connection.scalar("SELECT count(*) FROM public.apps WHERE sync_status <> lower(trim(sync_status))", as: Int.self) ?? 0
            #expect(afterFirst > 0 && afterFirst < 120_000, "\(afterFirst) rows left after the first kill: \(first.stdout) \(first.stderr)")
            let second = try run(fault: "inside:1")
            #expect(second.status == 128 + 9, "the second run was killed: \(second.stderr)")
            let afterSecond = try connection.scalar("SELECT count(*) FROM public.apps WHERE sync_status <> lower(trim(sync_status))", as: Int.self) ?? 0
            #expect(afterSecond > 0 && afterSecond < afterFirst, "\(afterSecond) rows left after the second kill")
            let third = try run(fault: nil)
            stop.signal()
            let writes = try app.value()
            #expect(third.status == 0, "\(third.stdout)\(third.stderr)")

            // Exactly one plain UPDATE's result on the original rows.
            #expect(try connection.scalar(
                "SELECT count(*) FROM public.apps a FULL JOIN public.apps_expected e USING (id) WHERE e.id IS NOT NULL AND a.sync_status IS DISTINCT FROM e.sync_status",
                as: Int.self) == 0)
            // The other session lost nothing.
            #expect(writes.inserted > 0)
            #expect(try connection.scalar("SELECT count(*) FROM public.apps WHERE id >= 1000000", as: Int.self) == writes.inserted)
            for (row, note) in writes.notes {
                #expect(try connection.scalar("SELECT note FROM public.apps WHERE id = \(bind: row)", as: String.self) == note)
            }
            // Each later run resumed where the killed one's checkpoint left off.
            let checkpoints = try connection.query("SELECT value FROM pgmend.checkpoints ORDER BY run_id").map { try $0.get(0, as: String.self) }
            #expect(checkpoints.count == 3, "\(checkpoints)")
            #expect(checkpoints.dropFirst().allSatisfy { $0.contains("\"resumed_from\":[\"") }, "\(checkpoints)")
            #expect(try connection.scalar("SELECT string_agg(status, ',' ORDER BY id) FROM pgmend.runs", as: String.self) == "interrupted,interrupted,ok")
        }
    }
}
