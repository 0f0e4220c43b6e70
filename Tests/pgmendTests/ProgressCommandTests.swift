import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// Progress on stderr through the binary, its stderr a pipe (the harness captures it): periodic
/// lines, JSON events, and an index build's progress as the server reports it.
@Suite("The command line: progress in a pipe and as JSON")
struct ProgressCommandTests {
    /// Lines every 0.2 s instead of 5, so a run of a few seconds shows several.
    static let environment = ["PGMEND_PROGRESS_INTERVAL": "0.2"]

    static func pgmend(_ arguments: [String]) throws -> ProcessOutcome {
        try ProcessRunner.run(try PgMendBinary.path(), arguments, environment: environment)
    }

    /// 200,000 rows to backfill in batches of 2,000 with a pause between them: a few seconds.
    static func backfillPlan(_ database: TestDatabase) throws -> String {
        try database.connect().execute(
            """
            CREATE TABLE public.items (id int PRIMARY KEY, v int NOT NULL);
            INSERT INTO public.items SELECT g, -g FROM generate_series(1, 200000) g;
            ANALYZE public.items;
            """)
        return try RunCommandTests.plan(
            "items", "settings:\n  batch_size: 2000\n  batch_pause: 10ms\nsteps:\n  - backfill: {table: items, set: {v: \"abs(v)\"}, where: \"v < 0\"}\n")
    }

    static func snapshotFolder(_ database: TestDatabase) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-progress-\(database.name)").path
    }

    /// The done counts of the backfill's progress lines, in the order printed.
    static func backfillCounts(_ stderr: String) -> [Int] {
        stderr.split(separator: "\n").compactMap { line -> Int? in
            guard let match = line.firstMatch(of: /^pgmend: step 1\/1 backfill (public\.)?items: ([\d,]+)\/200,000 rows \(\d+%\), [\d,.]+ rows\/s/) else {
                return nil
            }
            return Int(match.output.2.replacingOccurrences(of: ",", with: ""))
        }
    }

    @Test("a backfill of 200,000 rows in a pipe prints progress lines: the step, done of total, the rate, in order")
    func aBackfillInAPipeShowsProgressLines() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let plan = try Self.backfillPlan(database)
            let folder = Self.snapshotFolder(database)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let run = try Self.pgmend(["run", plan, "--db", database.conninfo, "--yes", "--snapshots", folder])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let counts = Self.backfillCounts(run.stderr)
            #expect(counts.count >= 2, "\(run.stderr)")
            #expect(counts == counts.sorted() && Set(counts).count == counts.count, "\(counts)")
            #expect(run.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("pgmend: ") && $0.count < 100 }, "\(run.stderr)")
            // stdout is the report alone.
            #expect(!run.stdout.contains("rows/s") && !run.stdout.contains("pgmend: "), "\(run.stdout)")
            #expect(run.stdout.contains("200000") || run.stdout.contains("200,000"), "\(run.stdout)")
            #expect(try database.connect().scalar("SELECT count(*) FROM items WHERE v < 0", as: Int.self) == 0)
        }
    }

    /// On a terminal (`script` gives the command one) the status line is redrawn in place:
    /// carriage return and erase-line before each drawing, no newline between them.
    @Test("on a terminal the status line is redrawn in place")
    func onATerminalTheLineIsRedrawnInPlace() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let plan = try Self.backfillPlan(database)
            let folder = Self.snapshotFolder(database)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let command = try [PgMendBinary.path(), "run", plan, "--db", database.conninfo, "--yes", "--snapshots", folder]
                .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
            let run = try ProcessRunner.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: Self.environment)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let drawings = run.stdout.components(separatedBy: "\r\u{1B}[K").filter { $0.hasPrefix("step 1/1 backfill items: ") }
            #expect(drawings.count >= 2, "\(run.stdout)")
            #expect(drawings.allSatisfy { !$0.contains("\n") && $0.count < 100 }, "\(drawings)")
        }
    }

    @Test("--progress none prints no progress line")
    func progressNoneIsSilent() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let plan = try Self.backfillPlan(database)
            let folder = Self.snapshotFolder(database)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let run = try Self.pgmend(["run", plan, "--db", database.conninfo, "--yes", "--snapshots", folder, "--progress", "none"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(!run.stderr.contains("rows/s"), "\(run.stderr)")
        }
    }

    @Test("--progress json: every stderr line is a JSON object; the backfill's progress events count up to 200,000")
    func progressJSONIsParseable() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let plan = try Self.backfillPlan(database)
            let folder = Self.snapshotFolder(database)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let run = try Self.pgmend(["run", plan, "--db", database.conninfo, "--yes", "--snapshots", folder, "--format", "json", "--progress", "json"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let events = try run.stderr.split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            }
            let progress = events.filter { $0["event"] as? String == "progress" && ($0["task"] as? String)?.hasPrefix("backfill") == true }
            #expect(progress.count >= 2, "\(run.stderr)")
            for event in progress {
                #expect(event["total"] as? Int == 200_000 && event["unit"] as? String == "rows", "\(event)")
                #expect(event["step"] as? Int == 1 && event["steps"] as? Int == 1, "\(event)")
            }
            let done = progress.compactMap { $0["done"] as? Int }
            #expect(done.count == progress.count && done == done.sorted(), "\(done)")
            #expect(progress.contains { $0["rate"] is Double || $0["rate"] is Int }, "\(run.stderr)")
            #expect(events.contains { $0["event"] as? String == "step" && $0["kind"] as? String == "backfill" }, "\(run.stderr)")
            #expect(events.contains { $0["event"] as? String == "finish" && $0["done"] as? Int == 200_000 }, "\(run.stderr)")
            // stdout stays one JSON document.
            #expect((try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) is [String: Any], "\(run.stdout)")
        }
    }

    /// The rows of an archive, written by a run and loaded back by `archive restore`, are
    /// counted as they stream (of the planner's estimate, then of the manifest's count).
    @Test("archive_table and archive restore report rows of total")
    func archiveAndRestoreReportRows() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute(
                """
                CREATE TABLE public.old_rows (id int PRIMARY KEY, note text);
                INSERT INTO public.old_rows SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 400000) g;
                ANALYZE public.old_rows;
                """)
            let folder = Self.snapshotFolder(database)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try RunCommandTests.plan("keep", "steps:\n  - archive_table: {table: old_rows, to: \(folder)/archive}\n")
            let fast = ["PGMEND_PROGRESS_INTERVAL": "0.05"]
            let run = try ProcessRunner.run(
                try PgMendBinary.path(), ["run", plan, "--db", database.conninfo, "--yes", "--snapshots", "\(folder)/runs", "--progress", "json"],
                environment: fast)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(Self.events(run.stderr).contains { event in
                event["event"] as? String == "progress" && (event["task"] as? String)?.hasPrefix("archive") == true
                    && event["unit"] as? String == "rows" && (event["total"] as? Int ?? 0) > 300_000
            }, "\(run.stderr)")
            let archive = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/archive/\(database.name)").first)
            let restore = try ProcessRunner.run(
                try PgMendBinary.path(),
                ["archive", "restore", "\(folder)/archive/\(database.name)/\(archive)", "--db", database.conninfo, "--progress", "json"],
                environment: fast)
            #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
            #expect(Self.events(restore.stderr).contains { event in
                event["event"] as? String == "progress" && (event["task"] as? String)?.hasPrefix("restore") == true && event["total"] as? Int == 400_000
            }, "\(restore.stderr)")
        }
    }

    /// stderr's JSON lines; a line that is not one object fails the test.
    static func events(_ stderr: String) -> [[String: Any]] {
        stderr.split(separator: "\n").map { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            return object ?? [:]
        }
    }

    /// CREATE INDEX CONCURRENTLY waits for every transaction that writes the table: while an
    /// application's transaction stays open, the build is in the phase "waiting for writers
    /// before build", and pgmend says so, read from `pg_stat_progress_create_index`.
    @Test("an index build's progress comes from pg_stat_progress_create_index, its phase named")
    func anIndexBuildReportsItsPhase() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute(
                "CREATE TABLE public.items (id int PRIMARY KEY, v int NOT NULL); INSERT INTO public.items SELECT g, g FROM generate_series(1, 1000) g")
            let plan = try RunCommandTests.plan(
                "index", "settings:\n  lock_timeout: 1min\nsteps:\n  - create_index: {table: items, name: ix_items_v, columns: [v]}\n")
            let folder = Self.snapshotFolder(database)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let app = try NamedSession("app", conninfo: database.conninfo)
            try app.execute("BEGIN; INSERT INTO items VALUES (0, 0)")
            let run = Background {
                try Self.pgmend(["run", plan, "--db", database.conninfo, "--yes", "--snapshots", folder, "--progress", "json"])
            }
            // The build is waiting for the application's transaction: seen from here too.
            let observer = try database.connect()
            let deadline = Date().addingTimeInterval(30)
            var phase: String?
            while Date() < deadline {
                phase = try observer.scalar("SELECT phase FROM pg_stat_progress_create_index WHERE relid = 'items'::regclass", as: String.self)
                if phase?.hasPrefix("waiting for writers") == true { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            #expect(phase?.hasPrefix("waiting for writers") == true, "\(phase ?? "no build seen")")
            // Long enough for a few readings, then the application commits and the build ends.
            Thread.sleep(forTimeInterval: 1.5)
            try app.execute("COMMIT")
            let outcome = try run.value()
            #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
            let events = try outcome.stderr.split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            }
            let index = events.filter { $0["event"] as? String == "progress" && ($0["task"] as? String)?.hasSuffix("ix_items_v") == true }
            #expect(index.contains { ($0["detail"] as? String)?.hasPrefix("waiting for writers before build") == true }, "\(outcome.stderr)")
            #expect(index.allSatisfy { $0["step"] as? Int == 1 }, "\(outcome.stderr)")
            #expect(try observer.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_items_v'::regclass", as: Bool.self) == true)
        }
    }
}
