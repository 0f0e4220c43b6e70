import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The application writes while `normalize_uuid` and `normalize_timestamps` wait for their
/// locks. Sessions `app` and `pgmend`:
///
///     app:    BEGIN; INSERT parent and child rows     (holds ROW EXCLUSIVE)
///     pgmend: run the step                            (waits for ACCESS EXCLUSIVE)
///     app:    COMMIT                                  (pgmend's lock is granted)
///     pgmend: checks the values under the lock, alters
///
/// Every committed row survives, converted; a value committed meanwhile that is no UUID stops
/// the step before any change.
@Suite("Writers that commit while a column type change waits for its lock")
struct ConcurrentTypeChangeTests {
    static let trials = 5

    static let tables: SQL = """
        CREATE TABLE public.apps (id text PRIMARY KEY, v text NOT NULL);
        CREATE TABLE public.memories (id int PRIMARY KEY, app_id text REFERENCES public.apps (id), v text NOT NULL,
                                      created_at timestamp without time zone NOT NULL DEFAULT now());
        INSERT INTO public.apps SELECT md5('app-' || g)::uuid::text, 'v' || g FROM generate_series(1, 500) g;
        INSERT INTO public.memories SELECT g, md5('app-' || (g % 500 + 1))::uuid::text, 'm' || g, timestamp '2025-01-01' + g * interval '1 minute'
        FROM generate_series(1, 2000) g;
        """

    @Test func everyRowCommittedWhileWaitingIsConverted() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            let snapshots = ConcurrentWriterTests.scratch("uuid")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            for trial in 1...Self.trials {
                try observer.execute("DROP TABLE IF EXISTS public.memories, public.apps; " + Self.tables)
                let app = try ConcurrentWriterTests.session(database)
                // Upper case: a form that is accepted and normalised.
                try app.execute("""
                    BEGIN;
                    INSERT INTO public.apps VALUES (upper(md5('late-app')::uuid::text), 'late');
                    INSERT INTO public.memories (id, app_id, v) VALUES (5001, upper(md5('late-app')::uuid::text), 'late');
                    UPDATE public.memories SET v = 'changed' WHERE id = 1;
                    """)
                let plan = try writePlan("settings: {lock_timeout: 30s}\nsteps:\n  - normalize_uuid: {columns: [apps.id]}\n")
                let run = ConcurrentWriterTests.apply(plan, on: database, snapshots: snapshots)
                try observer.waitForLockWaiter(on: "apps")
                try app.execute("COMMIT")
                let report = try run.value()
                #expect(report.outcome == .ok, "trial \(trial): \(report.message ?? "")")
                #expect(try observer.scalar("SELECT count(*) FROM public.apps", as: Int.self) == 501, "trial \(trial)")
                #expect(try observer.scalar("SELECT count(*) FROM public.memories", as: Int.self) == 2001, "trial \(trial)")
                #expect(try observer.scalar("SELECT app_id = md5('late-app')::uuid FROM public.memories WHERE id = 5001", as: Bool.self) == true, "trial \(trial)")
                #expect(try observer.scalar("SELECT v FROM public.memories WHERE id = 1", as: String.self) == "changed", "trial \(trial)")
                #expect(try observer.scalar("SELECT count(*) FROM public.memories m JOIN public.apps a ON a.id = m.app_id", as: Int.self) == 2001, "trial \(trial)")
                #expect(try observer.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.memories'::regclass AND attname = 'app_id'", as: String.self) == "uuid")
            }
        }
    }

    @Test func aBadValueCommittedWhileWaitingStopsTheChangeAndNothingIsLost() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            let snapshots = ConcurrentWriterTests.scratch("uuid-bad")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            for trial in 1...Self.trials {
                try observer.execute("DROP TABLE IF EXISTS public.memories, public.apps; " + Self.tables)
                let app = try ConcurrentWriterTests.session(database)
                try app.execute("BEGIN; INSERT INTO public.apps VALUES ('not-a-uuid', 'bad');")
                let plan = try writePlan("settings: {lock_timeout: 30s}\nsteps:\n  - normalize_uuid: {columns: [apps.id]}\n")
                let run = ConcurrentWriterTests.apply(plan, on: database, snapshots: snapshots)
                try observer.waitForLockWaiter(on: "apps")
                try app.execute("COMMIT")
                let report = try run.value()
                #expect(report.outcome == .blocked, "trial \(trial): \(report.message ?? "")")
                #expect(report.message?.contains("a value committed while pgmend waited is not a UUID: invalid input syntax for type uuid: \"not-a-uuid\"") == true, "trial \(trial): \(report.message ?? "")")
                #expect(try observer.scalar("SELECT count(*) FROM public.apps", as: Int.self) == 501, "trial \(trial)")
                #expect(try observer.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.apps'::regclass AND attname = 'id'", as: String.self) == "text")
                #expect(try observer.scalar("SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.memories'::regclass AND contype = 'f'", as: Int.self) == 1, "the key is still there")
            }
        }
    }

    @Test func timestampsWrittenWhileWaitingAreConvertedToo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            let snapshots = ConcurrentWriterTests.scratch("timestamps")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            for trial in 1...Self.trials {
                try observer.execute("DROP TABLE IF EXISTS public.memories, public.apps; " + Self.tables)
                let app = try ConcurrentWriterTests.session(database)
                try app.execute("BEGIN; INSERT INTO public.memories (id, app_id, v, created_at) VALUES (5001, NULL, 'late', '2025-03-01 10:00');")
                let plan = try writePlan("settings: {lock_timeout: 30s}\nsteps:\n  - normalize_timestamps: {columns: [memories.created_at], assume_time_zone: Europe/Berlin}\n")
                let run = ConcurrentWriterTests.apply(plan, on: database, snapshots: snapshots)
                try observer.waitForLockWaiter(on: "memories")
                try app.execute("COMMIT")
                let report = try run.value()
                #expect(report.outcome == .ok, "trial \(trial): \(report.message ?? "")")
                #expect(try observer.scalar("SELECT count(*) FROM public.memories", as: Int.self) == 2001, "trial \(trial)")
                #expect(try observer.scalar(
                    "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM public.memories WHERE id = 5001", as: String.self) == "2025-03-01 09:00",
                    "trial \(trial)")
            }
        }
    }
}
