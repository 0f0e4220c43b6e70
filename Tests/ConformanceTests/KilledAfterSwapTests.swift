import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// A run of `method: online` killed right after its swap committed, before the ANALYZE that
/// follows it: the swapped columns are new columns without statistics, and the next run must
/// gather them although every column already has its new type.
@Suite("Killed right after an online swap")
struct KilledAfterSwapTests {
    /// The columns each fixture converts online (the rewrite steps' columns aside).
    static let onlineColumns = [
        "normalize_uuid": ["devices.id", "sessions.device_id", "readings.sensor_id"],
        "normalize_timestamps": ["events.at", "event_notes.event_at"],
    ]

    /// The effect numbers of the swaps in an uninterrupted run (effects count as `PGMEND_FAULT`
    /// counts them: the executed actions, in order).
    static func swapEffects(_ json: String) throws -> [Int] {
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let steps = try #require(report["steps"] as? [[String: Any]])
        let executed = steps.flatMap { ($0["actions"] as? [[String: Any]]) ?? [] }.filter { $0["executed"] as? Bool == true }
        return executed.enumerated().compactMap { index, action in
            (action["summary"] as? String)?.hasPrefix("swap ") == true ? index + 1 : nil
        }
    }

    @Test("the next run gathers the swapped columns' statistics", arguments: ["normalize_uuid", "normalize_timestamps"])
    func nextRunAnalyzes(kind: String) throws {
        let fixture = KindFixture(kind)
        let swaps = try Workbench.with(fixture, "swaps") { bench in
            let outcome = try bench.pgmend(["run", "plan", "--yes", "--format", "json"])
            #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
            return try Self.swapEffects(outcome.stdout)
        }
        #expect(!swaps.isEmpty, "the fixture of \(kind) has no online swap")
        let columns = try #require(Self.onlineColumns[kind])
        for swap in swaps {
            try Workbench.with(fixture, "after_swap_\(swap)") { bench in
                // Analyzed, as a production table is; autovacuum kept away, so only pgmend
                // can gather what the swap left without statistics. (Its own session, closed
                // before the kill: the wait for the killed run's sessions counts every other.)
                try bench.database.connect().execute(
                    """
                    DO $$ DECLARE t regclass; BEGIN
                      FOR t IN SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' LOOP
                        EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = off)', t);
                      END LOOP;
                    END $$;
                    ANALYZE;
                    """)
                let killed = try bench.pgmend(["run", "plan", "--yes"], fault: "after:\(swap)")
                #expect(killed.status == 128 + SIGKILL, "\(killed.stdout)\(killed.stderr)")
                try bench.waitForKilledSessions()
                let resumed = try bench.pgmend(["run", "plan", "--yes", "--format", "json"])
                #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
                let unanalyzed = try bench.database.connect().query(
                    """
                    SELECT c FROM unnest(\(bind: columns)::text[]) c
                    WHERE NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = 'public' AND s.tablename || '.' || s.attname = c)
                    ORDER BY 1
                    """
                ).map { try $0.get(0, as: String.self) }
                #expect(unanalyzed == [], "\(kind), killed after effect \(swap) (a swap): the next run left these without statistics")
                // And a run after that has nothing left to do.
                let third = try bench.pgmend(["run", "plan", "--yes", "--format", "json"])
                #expect(try RunSummary(json: third.stdout).statementsExecuted == 0, "\(third.stdout)")
            }
        }
    }
}
