import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// `pgmend plan ...` and `pgmend run ...` through the built binary.
@Suite("Plans and runs on the command line")
struct RunCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Runs pgmend in the package folder, so `Plans/` is the project's.
    static func pgmend(_ arguments: [String]) throws -> ProcessOutcome {
        try ProcessRunner.run(
            "/bin/sh", ["-c", "cd \"$1\" && shift && exec \"$@\"", "sh", root.path, try PgMendBinary.path()] + arguments)
    }

    /// Compares with a golden file; `PGMEND_RECORD=<its name>` (or `=RunCommandTests`) writes
    /// it instead (see `Golden`).
    static func expectGolden(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try Golden.check(text, against: fixtures.appendingPathComponent(name), suite: RunCommandTests.self, sourceLocation: sourceLocation)
    }

    @Test func dryRunOutputIsGolden() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 60)
            let version = try database.connect().serverVersion
            func normalized(_ text: String) -> String {
                text.replacingOccurrences(of: database.name, with: "DEMO").replacingOccurrences(of: version, with: "VERSION")
            }
            let text = try Self.pgmend(["run", "schema-cleanup", "--dry-run", "--db", database.conninfo])
            #expect(text.status == 0, "stderr: \(text.stderr)")
            try Self.expectGolden(normalized(text.stdout), "dry-run.golden.txt")
            let json = try Self.pgmend(["run", "schema-cleanup", "--dry-run", "--db", database.conninfo, "--format", "json"])
            #expect(json.status == 0)
            try Self.expectGolden(normalized(json.stdout), "dry-run.golden.json")
            _ = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8))
        }
    }

    @Test func runThenVerifyThenNothingToDo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 60)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-run-\(database.name)").path
            defer {
                try? FileManager.default.removeItem(atPath: folder)
                try? FileManager.default.removeItem(at: Self.root.appendingPathComponent("Snapshots/archive/\(database.name)"))
            }
            let run = try Self.pgmend(["run", "schema-cleanup", "--db", database.conninfo, "--snapshots", folder, "--format", "json"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            struct Report: Decodable { var statements_executed: Int; var post_snapshot: String; var outcome: String }
            let report = try JSONDecoder().decode(Report.self, from: Data(run.stdout.utf8))
            #expect(report.statements_executed == 16)
            let verify = try Self.pgmend(["verify", report.post_snapshot, "--db", database.conninfo])
            #expect(verify.status == 0, "\(verify.stdout)")
            let again = try Self.pgmend(["run", "schema-cleanup", "--db", database.conninfo, "--snapshots", folder])
            #expect(again.status == 0)
            #expect(again.stdout.contains("nothing to do: every step is satisfied (0 statements executed)"))
        }
    }

    /// `Plans/indexes-and-keys.yaml` repairs the demo database's index and reference drift, and then has
    /// nothing left to do.
    @Test func indexesAndKeysPlanRunsOnTheDemoDatabase() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 60)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-indexes-\(database.name)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let run = try Self.pgmend(["run", "indexes-and-keys", "--yes", "--db", database.conninfo, "--snapshots", folder, "--format", "json"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            struct Report: Decodable { var statements_executed: Int; var outcome: String }
            let report = try JSONDecoder().decode(Report.self, from: Data(run.stdout.utf8))
            // idx_apikey_user_id, ix_api_keys_user_id, idx_memories_user_id; then per
            // reference, replace-and-add and validate.
            #expect(report.statements_executed == 9)
            let left = try database.connect().query(
                "SELECT relname::text FROM pg_class WHERE relname IN ('idx_apikey_user_id', 'ix_api_keys_user_id', 'idx_memories_user_id')")
            #expect(left.count == 0)
            let cascades = try database.connect().scalar(
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND confdeltype = 'c' AND convalidated AND conname IN ('memories_user_id_fkey', 'memory_status_history_memory_id_fkey', 'memory_access_logs_memory_id_fkey')",
                as: Int.self)
            #expect(cascades == 3)
            let again = try Self.pgmend(["run", "indexes-and-keys", "--yes", "--db", database.conninfo, "--snapshots", folder])
            #expect(again.status == 0)
            #expect(again.stdout.contains("nothing to do: every step is satisfied (0 statements executed)"), "\(again.stdout)")
            // The journal holds the way back, as docs/steps.md shows it: each dropped index
            // built again from its statement.
            let connection = try database.connect()
            let restores = try connection.query(
                "SELECT substring(sql FROM '^-- to put it back: (.*);') FROM pgmend.statements WHERE sql LIKE '-- to put it back:%' ORDER BY id"
            ).map { try $0.get(0, as: String.self) }
            #expect(restores.count == 3)
            // What pg_get_indexdef printed when the index was dropped.
            for statement in restores { try connection.execute(.catalogText(statement)) }
            #expect(try connection.query(
                "SELECT 1 FROM pg_index WHERE indisvalid AND indexrelid IN (to_regclass('idx_apikey_user_id'), to_regclass('ix_api_keys_user_id'), to_regclass('idx_memories_user_id'))"
            ).count == 3)
        }
    }

    /// `Plans/types.yaml` on the demo database: with `auto: true` alone, api_keys.user_id (row
    /// 7 holds 'legacy-admin') blocks, named; the plan as committed converts exactly the UUID
    /// text columns, each value equal to its old text lower-cased, and every naive timestamp.
    @Test func typesPlanRunsOnTheDemoDatabase() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 60)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-types-\(database.name)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try "name: auto\nsteps:\n  - normalize_uuid: {auto: true}\n".write(toFile: "\(folder)/auto.yaml", atomically: true, encoding: .utf8)
            let blocked = try Self.pgmend(["run", "\(folder)/auto.yaml", "--dry-run", "--db", database.conninfo])
            #expect(blocked.status == 3, "\(blocked.stdout)\(blocked.stderr)")
            #expect(blocked.stdout.contains("values of api_keys.user_id that are not UUIDs (1 row; primary keys: 7)"), "\(blocked.stdout)")

            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.before_text AS
                SELECT 'apps' AS t, id AS k, id AS v FROM public.apps
                UNION ALL SELECT 'memories', id::text, app_id FROM public.memories
                UNION ALL SELECT 'memory_access_logs', id::text, app_id FROM public.memory_access_logs
                UNION ALL SELECT 'user_integrations', id, user_id FROM public.user_integrations;
                CREATE TABLE public.before_times AS SELECT id::text AS k, created_at::text AS v FROM public.users;
                """)
            let run = try Self.pgmend(["run", "types", "--yes", "--db", database.conninfo, "--snapshots", folder])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            // The text columns named id or *_id, before: which became uuid.
            let converted = try connection.query(
                """
                SELECT t.c FROM unnest(ARRAY['api_keys.user_id', 'apps.id', 'calendar.event_id', 'memories.app_id', 'memory_access_logs.app_id',
                                             'user_integrations.id', 'user_integrations.user_id']) t(c)
                JOIN pg_attribute a ON a.attrelid = ('public.' || split_part(t.c, '.', 1))::regclass AND a.attname = split_part(t.c, '.', 2)
                WHERE a.atttypid = 'uuid'::regtype ORDER BY 1
                """).map { try $0.get(0, as: String.self) }
            #expect(converted == ["apps.id", "memories.app_id", "memory_access_logs.app_id", "user_integrations.id", "user_integrations.user_id"])
            let differing = try connection.scalar(
                """
                SELECT count(*) FROM public.before_text b LEFT JOIN (
                    SELECT 'apps' AS t, id::text AS k, id::text AS v FROM public.apps
                    UNION ALL SELECT 'memories', id::text, app_id::text FROM public.memories
                    UNION ALL SELECT 'memory_access_logs', id::text, app_id::text FROM public.memory_access_logs
                    UNION ALL SELECT 'user_integrations', id::text, user_id::text FROM public.user_integrations
                ) a ON a.t = b.t AND a.k = lower(b.k)
                WHERE a.v IS DISTINCT FROM lower(b.v)
                """, as: Int.self)
            #expect(differing == 0)
            #expect(try connection.scalar(
                "SELECT count(*) FROM public.users u JOIN public.before_times b ON b.k = u.id::text WHERE u.created_at <> b.v::timestamp AT TIME ZONE 'UTC'",
                as: Int.self) == 0)
            #expect(try connection.scalar(
                "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' WHERE a.atttypid = 'timestamp'::regtype AND c.relkind = 'r'",
                as: Int.self) == 0)
            let again = try Self.pgmend(["run", "types", "--yes", "--db", database.conninfo, "--snapshots", folder])
            #expect(again.stdout.contains("nothing to do: every step is satisfied (0 statements executed)"), "\(again.stdout)")
        }
    }

    /// `run --data`: both snapshots hold row counts and fingerprints, so the run's data
    /// change is there to verify.
    @Test func runWithDataSnapshotsTheData() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE visits (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY); INSERT INTO visits DEFAULT VALUES")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-data-\(database.name)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = "\(folder)/visit.yaml"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try "name: visit\nsteps:\n  - sql: {run: \"INSERT INTO visits DEFAULT VALUES\", done_when: \"SELECT false\"}\n".write(toFile: plan, atomically: true, encoding: .utf8)
            let run = try Self.pgmend(["run", plan, "--data", "--db", database.conninfo, "--snapshots", folder, "--format", "json"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            struct Report: Decodable { var pre_snapshot: String; var post_snapshot: String }
            let report = try JSONDecoder().decode(Report.self, from: Data(run.stdout.utf8))
            struct Rows: Decodable { var rows: Int }
            struct File: Decodable { var data: [String: Rows]? }
            let pre = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: report.pre_snapshot)))
            let post = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: report.post_snapshot)))
            #expect(pre.data?["public.visits"]?.rows == 1)
            #expect(post.data?["public.visits"]?.rows == 2)
            let verify = try Self.pgmend(["verify", report.post_snapshot, "--data", "--db", database.conninfo])
            #expect(verify.status == 0, "\(verify.stdout)")
            let refused = try Self.pgmend(["run", plan, "--data", "--dry-run", "--db", database.conninfo])
            #expect(refused.status == 2)
        }
    }

    /// A dry run as a replica would take it: every transaction read-only. It exits 0, notes
    /// the checks and defaults it predicted in the plan's spelling, and says the prediction
    /// is incomplete; a real run in the same session is refused by the server, as before.
    @Test func aDryRunInAReadOnlySessionExitsZero() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE public.users (id int PRIMARY KEY, status text)")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-readonly-\(database.name)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let plan = "\(folder)/replica.yaml"
            try """
                name: replica
                steps:
                  - create_table: {name: goals, columns: [{name: id, type: int, primary_key: true}, {name: done, type: int, default: "0", check: "done >= 0"}]}
                  - add_check: {table: users, name: users_status_set, expression: "status IS NOT NULL"}

                """.write(toFile: plan, atomically: true, encoding: .utf8)
            let readOnly = database.conninfo + " options='-c default_transaction_read_only=on'"
            let text = try Self.pgmend(["run", plan, "--dry-run", "--db", readOnly])
            #expect(text.status == 0, "stdout: \(text.stdout) stderr: \(text.stderr)")
            #expect(text.stdout.contains("    note: check goals_done_check, the default of done predicted in the plan's spelling"))
            #expect(text.stdout.contains("(incomplete: the steps with a note were predicted without the server's spelling"))
            let json = try Self.pgmend(["run", plan, "--dry-run", "--db", readOnly, "--format", "json"])
            #expect(json.status == 0)
            struct Step: Decodable { var status: String; var note: String? }
            struct Report: Decodable { var steps: [Step]; var prediction_complete: Bool; var outcome: String }
            let report = try JSONDecoder().decode(Report.self, from: Data(json.stdout.utf8))
            // The check is not evaluated read-only: which functions it calls is learned through a
            // temporary function (issue 19); a real run judges it.
            #expect(report.steps.map(\.status) == ["needed", "waiting"])
            #expect(report.steps.allSatisfy { $0.note?.contains("read-only (default_transaction_read_only is on)") == true })
            #expect(!report.prediction_complete)
            #expect(report.outcome == "ok")
            let run = try Self.pgmend(["run", plan, "--yes", "--db", readOnly, "--snapshots", folder])
            // Said before anything is written, with what would let it run (issue 19).
            #expect(run.status == 1)
            #expect(run.stderr.contains("this session is read-only (default_transaction_read_only is on"), "\(run.stderr)")
            #expect(run.stderr.contains("a dry run, --dry-run, works as is"), "\(run.stderr)")
        }
    }

    /// Without a database the fingerprint cannot be checked, and `archive verify` says so.
    @Test func archiveVerifySaysWhatItChecked() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE old_rows AS SELECT g AS id FROM generate_series(1, 10) g")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-archive-verify-\(database.name)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = "\(folder)/keep.yaml"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try "name: keep\nsteps:\n  - archive_table: {table: old_rows, drop: false, to: \(folder)/archive}\n".write(toFile: plan, atomically: true, encoding: .utf8)
            let run = try Self.pgmend(["run", plan, "--db", database.conninfo, "--snapshots", "\(folder)/runs"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let archive = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/archive/\(database.name)").first)
            let path = "\(folder)/archive/\(database.name)/\(archive)"
            let offline = try Self.pgmend(["archive", "verify", path])
            #expect(offline.status == 0, "\(offline.stderr)")
            #expect(offline.stdout.contains("fingerprint not checked: no database given"), "\(offline.stdout)")
            let online = try Self.pgmend(["archive", "verify", path, "--db", database.conninfo])
            #expect(online.status == 0, "\(online.stderr)")
            #expect(online.stdout.containsFlowed("(rows loaded into a temporary table in \(database.name))"), "\(online.stdout)")
            // --db-file and PGMEND_DB name the database as --db does (they were ignored).
            try database.conninfo.write(toFile: "\(folder)/db", atomically: true, encoding: .utf8)
            let fromFile = try Self.pgmend(["archive", "verify", path, "--db-file", "\(folder)/db"])
            #expect(fromFile.stdout.containsFlowed("(rows loaded into a temporary table in \(database.name))"), "\(fromFile.stdout)\(fromFile.stderr)")
            let fromEnvironment = try PgMendBinary.run(["archive", "verify", path], environment: ["PGMEND_DB": database.conninfo])
            #expect(fromEnvironment.stdout.containsFlowed("(rows loaded into a temporary table in \(database.name))"),
                    "\(fromEnvironment.stdout)\(fromEnvironment.stderr)")
        }
    }

    @Test func aBlockedPlanExitsThree() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE tasks (id int PRIMARY KEY, priority int); INSERT INTO tasks VALUES (7, 9)")
            let plan = Self.fixtures.appendingPathComponent("blocked.yaml").path
            let outcome = try Self.pgmend(["run", plan, "--db", database.conninfo, "--snapshots", "/tmp/pgmend-blocked-\(database.name)"])
            #expect(outcome.status == 3)
            #expect(outcome.stdout.contains("! rows of tasks violate CHECK (priority BETWEEN 1 AND 5) (1 row; primary keys: 7)"))
        }
    }

    @Test func twoRunsStartedTogetherOneRunsTheOtherExitsFour() throws {
        try ThrowawayCluster.shared().withFreshDatabase { (database: TestDatabase) throws -> Void in
            let plan = Self.fixtures.appendingPathComponent("slow.yaml").path
            let snapshots = "/tmp/pgmend-race-\(database.name)"
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            let outcomes = LockedOutcomes()
            let group = DispatchGroup()
            for _ in 0..<2 {
                group.enter()
                Thread.detachNewThread {
                    let outcome = try? Self.pgmend(["run", plan, "--db", database.conninfo, "--snapshots", snapshots])
                    outcomes.append(outcome)
                    group.leave()
                }
            }
            group.wait()
            let statuses = outcomes.all.compactMap { $0?.status }.sorted()
            #expect(statuses == [0, 4], "\(outcomes.all.map { $0?.stderr ?? "" })")
            let refused = outcomes.all.compactMap { $0 }.first { $0.status == 4 }
            #expect(refused?.stderr.contains("another pgmend run holds this database's lock: pid") == true)
            let runs = try database.connect().scalar("SELECT count(*) FROM pgmend.runs", as: Int.self)
            #expect(runs == 1)
        }
    }

    /// A run killed in the middle of a step leaves the database as it was before that step
    /// (each statement is its own transaction); the next run resumes and finishes.
    @Test func aKilledRunIsResumedByTheNextOne() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let plan = Self.fixtures.appendingPathComponent("slow.yaml").path
            let snapshots = "/tmp/pgmend-killed-\(database.name)"
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            // Killed once its statement is running on the server, however long it took to start
            // (`active`: an idle session's `query` is its last one, which may be the dry run's
            // look at the same text, before the run was journaled).
            let psql = "\(database.cluster.binDirectory)/psql"
            let command = """
                \(try PgMendBinary.path()) run \(plan) --db '\(database.conninfo)' --snapshots \(snapshots) >/dev/null 2>&1 &
                pid=$!
                for i in $(seq 1 1000); do
                  running=$(\(psql) -X -At -d '\(database.conninfo)' -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'CREATE TABLE slow%'")
                  [ "$running" = 1 ] && break
                  sleep 0.02
                done
                kill -9 $pid; wait $pid
                echo "running=$running"
                """
            let killed = try ProcessRunner.run("/bin/sh", ["-c", command])
            #expect(killed.stdout.contains("running=1"), "the statement never started: \(killed.stdout)\(killed.stderr)")
            let connection = try database.connect()
            // The server notices the dead client and rolls its statement back.
            var slow = true
            for _ in 0..<50 where slow {
                slow = try connection.scalar("SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE TABLE slow%' AND pid <> pg_backend_pid()", as: Bool.self) ?? false
                if slow { Thread.sleep(forTimeInterval: 0.2) }
            }
            #expect(try connection.scalar("SELECT to_regclass('slow') IS NULL", as: Bool.self) == true)
            #expect(try connection.scalar("SELECT status FROM pgmend.runs", as: String.self) == "running")
            let resumed = try Self.pgmend(["run", plan, "--db", database.conninfo, "--snapshots", snapshots])
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(try connection.scalar("SELECT to_regclass('slow') IS NOT NULL", as: Bool.self) == true)
            let statuses = try connection.query("SELECT status FROM pgmend.runs ORDER BY id").map { try $0.get(0, as: String.self) }
            #expect(statuses == ["interrupted", "ok"])
        }
    }

    /// Killed while writing an archive: the table stays, no archive looks complete, and the
    /// next run archives it again and drops it.
    @Test func aRunKilledDuringAnArchiveIsCompletedByTheNext() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE backup AS SELECT g AS id, repeat(md5(g::text), 4) AS body FROM generate_series(1, 300000) g")
            let folder = "/tmp/pgmend-killed-archive-\(database.name)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = "\(folder)/plans/archive-backup.yaml"
            try FileManager.default.createDirectory(atPath: "\(folder)/plans", withIntermediateDirectories: true)
            try "name: archive-backup\nsteps:\n  - archive_table: {table: backup, to: \(folder)/archives}\n".write(toFile: plan, atomically: true, encoding: .utf8)
            // Kill it as soon as the archive folder is being written.
            let command = """
                \(try PgMendBinary.path()) run \(plan) --db '\(database.conninfo)' --snapshots \(folder)/snapshots >/dev/null 2>&1 &
                pid=$!
                for i in $(seq 1 500); do
                  ls -d \(folder)/archives/*/*.partial >/dev/null 2>&1 && break
                  sleep 0.01
                done
                kill -9 $pid; wait $pid
                ls -d \(folder)/archives/*/*.partial
                """
            let killed = try ProcessRunner.run("/bin/sh", ["-c", command])
            #expect(killed.stdout.contains(".partial"), "the archive had not started or had finished: \(killed.stdout)\(killed.stderr)")
            #expect(try connection.scalar("SELECT count(*) FROM backup", as: Int.self) == 300_000)
            let list = try Self.pgmend(["archive", "list", "--to", "\(folder)/archives"])
            #expect(list.stdout.contains("INCOMPLETE"))

            let resumed = try Self.pgmend(["run", plan, "--db", database.conninfo, "--snapshots", "\(folder)/snapshots"])
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(try connection.scalar("SELECT to_regclass('backup') IS NULL", as: Bool.self) == true)
            let after = try Self.pgmend(["archive", "list", "--to", "\(folder)/archives"])
            #expect(!after.stdout.contains("INCOMPLETE"), "\(after.stdout)")
            #expect(after.stdout.contains("300,000 rows"))
        }
    }

    @Test func archiveVerifyAndRestoreOnTheCommandLine() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE backup AS SELECT g AS id, 'row ' || g AS body FROM generate_series(1, 1000) g")
            let folder = "/tmp/pgmend-archive-cli-\(database.name)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = "\(folder)/archive-it.yaml"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try "name: archive-it\nsteps:\n  - archive_table: {table: backup, to: \(folder)/archives}\n".write(toFile: plan, atomically: true, encoding: .utf8)
            let run = try Self.pgmend(["run", plan, "--db", database.conninfo, "--snapshots", "\(folder)/snapshots"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let archive = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/archives/\(database.name)").first)
            let directory = "\(folder)/archives/\(database.name)/\(archive)"
            let verified = try Self.pgmend(["archive", "verify", directory])
            #expect(verified.status == 0)
            #expect(verified.stdout.flowed.hasPrefix("verified: \(directory): backup, 1,000 rows, sha256 "))
            let restored = try Self.pgmend(["archive", "restore", directory, "--db", database.conninfo, "--as", "backup_again"])
            #expect(restored.status == 0, "\(restored.stderr)")
            #expect(restored.stdout.unwrappedLines == ["restored backup_again in \(database.name): 1,000 rows, fingerprint matches the archive", ""])

            var data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/data.copy.gz"))
            data[data.count / 2] ^= 0x40
            try data.write(to: URL(fileURLWithPath: "\(directory)/data.copy.gz"))
            let damaged = try Self.pgmend(["archive", "verify", directory])
            #expect(damaged.status == 1)
            #expect(damaged.stderr.contains("data.copy.gz is damaged"), "\(damaged.stderr)")
            let refused = try Self.pgmend(["archive", "restore", directory, "--db", database.conninfo, "--as", "backup_third"])
            #expect(refused.status == 1)
            #expect(try database.connect().scalar("SELECT to_regclass('backup_third') IS NULL", as: Bool.self) == true)
        }
    }

    /// Progress of a short task goes to stderr only on a terminal (in a pipe a task prints a
    /// line only once it has run for the interval: `ProgressCommandTests`).
    @Test func dataProgressIsShownOnATerminal() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE a (id int); CREATE TABLE b (id int)")
            let output = "/tmp/pgmend-progress-\(database.name).json"
            defer { try? FileManager.default.removeItem(atPath: output) }
            let command = "\(try PgMendBinary.path()) snapshot take --data --db '\(database.conninfo)' -o \(output)"
            let terminal = try ProcessRunner.run("/usr/bin/script", ["-qec", command, "/dev/null"])
            #expect(terminal.stdout.contains("fingerprint tables: 0/2 tables (0%)"), "\(terminal.stdout)")
            let pipe = try PgMendBinary.run(["snapshot", "take", "--data", "--db", database.conninfo, "-o", output])
            #expect(pipe.stderr.isEmpty)
            // -o to a device writes to it in place: the device stays a device.
            let stdout = try PgMendBinary.run(["snapshot", "take", "--db", database.conninfo, "-o", "/dev/stdout"])
            #expect(stdout.stdout.hasPrefix("{\n  \"format_version\": 1,"))
            var status = stat()
            #expect(stat("/dev/null", &status) == 0 && (status.st_mode & S_IFMT) == S_IFCHR)
        }
    }

    /// On a terminal the run shows the dry run and asks; `script` gives it one.
    @Test func aRunOnATerminalAsksFirst() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE calendar (id int)")
            let plan = Self.fixtures.appendingPathComponent("rename.yaml").path
            let snapshots = "/tmp/pgmend-confirm-\(database.name)"
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            let command = "\(try PgMendBinary.path()) run \(plan) --db '\(database.conninfo)' --snapshots \(snapshots)"
            let declined = try ProcessRunner.run("/usr/bin/script", ["-qec", command, "/dev/null"], stdin: "n\n")
            #expect(declined.stdout.contains("Against \(database.name): run 1 statement now? [y/N]"), "\(declined.stdout)")
            #expect(declined.status == 5, "declining exits 5 (docs: exit codes)")
            #expect(declined.stdout.contains("not confirmed; nothing was changed"))
            #expect(try database.connect().scalar("SELECT to_regclass('calendar') IS NOT NULL", as: Bool.self) == true)
            let accepted = try ProcessRunner.run("/usr/bin/script", ["-qec", command, "/dev/null"], stdin: "y\n")
            #expect(accepted.stdout.contains("1 statement executed"), "\(accepted.stdout)")
            #expect(try database.connect().scalar("SELECT to_regclass('calendar_events') IS NOT NULL", as: Bool.self) == true)
        }
    }

    @Test func planCommands() throws {
        let list = try Self.pgmend(["plan", "list"])
        #expect(list.status == 0)
        #expect(list.stdout.flowed.contains("schema-cleanup 14 steps Fix the drift"), "\(list.stdout)")
        let show = try Self.pgmend(["plan", "show", "schema-cleanup"])
        #expect(show.status == 0)
        #expect(show.stdout.contains("  lock_timeout: 2s\n"))
        #expect(show.stdout.contains("rename_table    # Plans/schema-cleanup.yaml:"))
        #expect(try Self.pgmend(["plan", "check", "schema-cleanup"]).status == 0)
        let badPath = Self.fixtures.appendingPathComponent("bad.yaml").path
        let bad = try Self.pgmend(["plan", "check", badPath])
        #expect(bad.status == 2)
        let kind = try #require(TextPosition.of("rename_tabel", inFile: badPath))
        #expect(bad.stdout.containsFlowed("bad.yaml:\(kind): unknown step kind 'rename_tabel' (did you mean 'rename_table'?)"), "\(bad.stdout)")
        let missing = try Self.pgmend(["run", "schema-clenaup", "--dry-run"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no plan 'schema-clenaup' in Plans/ (did you mean 'schema-cleanup'?)"))
    }

    /// `--format json` prints one document whatever the outcome, with the exit code in it.
    @Test func jsonForEveryExitCode() throws {
        let badPlan = try Self.pgmend(["run", "no-such-plan", "--format", "json"])
        #expect(badPlan.status == 2)
        let bad = try JSONSerialization.jsonObject(with: Data(badPlan.stdout.utf8)) as? [String: Any]
        #expect(bad?["outcome"] as? String == "bad_input" && bad?["exit_code"] as? Int == 2, "\(badPlan.stdout)")
        let noServer = try Self.pgmend(["run", "schema-cleanup", "--db", "host=/nonexistent port=1", "--format", "json"])
        #expect(noServer.status == 4)
        let unreachable = try JSONSerialization.jsonObject(with: Data(noServer.stdout.utf8)) as? [String: Any]
        #expect(unreachable?["outcome"] as? String == "unreachable" && unreachable?["exit_code"] as? Int == 4, "\(noServer.stdout)")
        #expect(noServer.stderr.contains("could not connect"))
    }

    /// Writes a plan for one test in a folder of its own; returns its path.
    static func plan(_ name: String, _ yaml: String) throws -> String {
        let folder = try ScratchFolder.make("plan")
        let path = folder.appendingPathComponent("\(name).yaml").path
        try "name: \(name)\n\(yaml)".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// What the server says about the failure (which key is duplicated) is what the operator needs.
    @Test func theServersDetailIsInTheOutputAndTheJournal() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("""
                CREATE TABLE public.users (id int PRIMARY KEY, phone_number text);
                INSERT INTO public.users VALUES (1, '+15550000005'), (2, '+15550000005'), (3, '+15550000006')
                """)
            let plan = try Self.plan("phones", """
                steps:
                  - sql:
                      run: CREATE UNIQUE INDEX users_phone_number_key ON public.users (phone_number)
                      done_when: SELECT to_regclass('public.users_phone_number_key') IS NOT NULL
                      lock: share
                """)
            let snapshots = "/tmp/pgmend-detail-\(database.name)"
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            let detail = "DETAIL: Key (phone_number)=(+15550000005) is duplicated."
            let text = try Self.pgmend(["run", plan, "--db", database.conninfo, "--snapshots", snapshots])
            #expect(text.status == 1)
            #expect(text.stdout.containsFlowed("ERROR 23505: could not create unique index \"users_phone_number_key\"\n\(detail)"), "\(text.stdout)")
            let json = try Self.pgmend(["run", plan, "--db", database.conninfo, "--snapshots", snapshots, "--format", "json"])
            #expect(json.status == 1)
            let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect((report?["message"] as? String)?.contains(detail) == true, "\(json.stdout)")
            let connection = try database.connect()
            #expect(try connection.scalar("SELECT count(*) FROM pgmend.statements WHERE strpos(error, \(bind: detail)) > 0", as: Int.self) == 2)
            #expect(try connection.scalar("SELECT count(*) FROM pgmend.steps WHERE strpos(message, \(bind: detail)) > 0", as: Int.self) == 2)
        }
    }

    /// A new foreign key locks every table it references: the output names each, unquoted.
    @Test func locksNameEveryTableTheyAreTakenOn() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE public.users (id int PRIMARY KEY); CREATE TABLE public.\"Teams\" (id int PRIMARY KEY)")
            let plan = try Self.plan("members", """
                steps:
                  - create_table:
                      name: members
                      columns:
                        - {name: id, type: int, primary_key: true}
                        - {name: user_id, type: int, references: users(id)}
                        - {name: team_id, type: int, references: Teams(id)}
                        - {name: mentor_id, type: int, references: users(id)}
                """)
            let json = try Self.pgmend(["run", plan, "--dry-run", "--db", database.conninfo, "--format", "json"])
            #expect(json.status == 0, "\(json.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            let action = ((report?["steps"] as? [[String: Any]])?.first?["actions"] as? [[String: Any]])?.first
            #expect(action?["lock"] as? String == "SHARE ROW EXCLUSIVE")
            #expect(action?["table"] as? String == "public.users")
            #expect(action?["tables"] as? [String] == ["public.users", "public.Teams"])
            let text = try Self.pgmend(["run", plan, "--dry-run", "--db", database.conninfo])
            #expect(text.stdout.contains("[lock SHARE ROW EXCLUSIVE on public.users, public.Teams]"), "\(text.stdout)")
        }
    }

    /// A rehearsal holds its locks to the end: beside a real run it would report a state in
    /// between, so it takes the run lock and exits 4 when another run holds it.
    @Test func aRehearsalBesideARunExitsFour() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let holder = try Connection(database.conninfo, applicationName: "pgmend-elsewhere")
            #expect(try holder.tryAdvisoryLock(AdvisoryLockKey(name: "pgmend run")))
            let plan = Self.fixtures.appendingPathComponent("slow.yaml").path
            let outcome = try Self.pgmend(["run", plan, "--rehearse", "--db", database.conninfo, "--format", "json"])
            #expect(outcome.status == 4, "\(outcome.stdout)\(outcome.stderr)")
            #expect(outcome.stderr.contains("another pgmend run holds this database's lock: pid \(holder.backendPID) (pgmend-elsewhere"), "\(outcome.stderr)")
            #expect(try holder.scalar("SELECT to_regclass('slow') IS NULL", as: Bool.self) == true)
        }
    }

    /// Killed in the middle of a statement, a run leaves its backend holding the run lock until
    /// the server notices; the run started right after waits for it instead of exiting 4.
    @Test func aRunStartedRightAfterAKilledOneWaitsForItsLock() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let plan = Self.fixtures.appendingPathComponent("slow.yaml").path
            let snapshots = "/tmp/pgmend-rerun-\(database.name)"
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            let psql = "\(database.cluster.binDirectory)/psql"
            let binary = try PgMendBinary.path()
            let command = """
                \(binary) run \(plan) --db '\(database.conninfo)' --snapshots \(snapshots) >/dev/null 2>&1 &
                pid=$!
                for i in $(seq 1 1000); do
                  running=$(\(psql) -X -At -d '\(database.conninfo)' -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'CREATE TABLE slow%'")
                  [ "$running" = 1 ] && break
                  sleep 0.02
                done
                kill -9 $pid; wait $pid
                echo "running=$running"
                exec \(binary) run \(plan) --db '\(database.conninfo)' --snapshots \(snapshots)
                """
            let rerun = try ProcessRunner.run("/bin/sh", ["-c", command])
            #expect(rerun.stdout.contains("running=1"), "the statement never started: \(rerun.stdout)\(rerun.stderr)")
            #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
            let connection = try database.connect()
            #expect(try connection.scalar("SELECT to_regclass('slow') IS NOT NULL", as: Bool.self) == true)
            let statuses = try connection.query("SELECT status FROM pgmend.runs ORDER BY id").map { try $0.get(0, as: String.self) }
            #expect(statuses == ["interrupted", "ok"])
        }
    }
}

/// Outcomes collected from several threads.
final class LockedOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [ProcessOutcome?] = []
    func append(_ outcome: ProcessOutcome?) { lock.withLock { items.append(outcome) } }
    var all: [ProcessOutcome?] { lock.withLock { items } }
}
