import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// Through the binary: archive files checked by `archive verify`, a run that cannot create its
/// journal, and row-level security outside a run (issue 19).
@Suite("The command line: archive files, journal privileges, row-level security")
struct WholeTableCommandTests {
    static func pgmend(_ arguments: [String]) throws -> ProcessOutcome { try RunCommandTests.pgmend(arguments) }

    /// `DROP TABLE victim;` appended to schema.sql: `archive verify` fails, with and without
    /// `--db`, and `archive restore` runs nothing of it.
    @Test func aTamperedSchemaFailsArchiveVerify() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE old_rows AS SELECT g AS id FROM generate_series(1, 10) g; CREATE TABLE victim (id int)")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-archive-tamper-\(database.name)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try RunCommandTests.plan("keep", "steps:\n  - archive_table: {table: old_rows, to: \(folder)/archive}\n")
            let run = try Self.pgmend(["run", plan, "--db", database.conninfo, "--snapshots", "\(folder)/runs"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let archive = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/archive/\(database.name)").first)
            let path = "\(folder)/archive/\(database.name)/\(archive)"
            let intact = try Self.pgmend(["archive", "verify", path])
            #expect(intact.status == 0, "\(intact.stderr)")
            #expect(intact.stdout.containsFlowed("files checked: data.copy.gz, schema.sql, table.json"), "\(intact.stdout)")

            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(path)/schema.sql"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("\nDROP TABLE victim;\n".utf8))
            try handle.close()
            for arguments in [["archive", "verify", path], ["archive", "verify", path, "--db", database.conninfo], ["archive", "restore", path, "--db", database.conninfo]] {
                let outcome = try Self.pgmend(arguments)
                #expect(outcome.status == 1, "\(arguments): \(outcome.stdout)")
                #expect(outcome.stderr == "pgmend: \(path)/schema.sql is damaged: its SHA-256 is not the one recorded when it was written\n", "\(outcome.stderr)")
            }
            #expect(try database.connect().scalar("SELECT to_regclass('victim') IS NOT NULL", as: Bool.self) == true)
            #expect(try database.connect().scalar("SELECT to_regclass('old_rows') IS NULL", as: Bool.self) == true)
        }
    }

    /// A role without CREATE on the database: exit 1, with the command that lets it run.
    @Test func aRunWithoutTheJournalsPrivilegeSaysWhatToGrant() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let role = "nojournal_\(database.name)"
            try database.connect().execute(
                """
                CREATE ROLE \(SQLIdentifier(role)) LOGIN;
                CREATE TABLE public.amounts (id int PRIMARY KEY, v int NOT NULL);
                INSERT INTO public.amounts SELECT g, -g FROM generate_series(1, 20) g;
                ALTER TABLE public.amounts OWNER TO \(SQLIdentifier(role));
                """)
            let plan = try RunCommandTests.plan("amounts", "steps:\n  - backfill: {table: amounts, set: {v: \"abs(v)\"}}\n")
            let conninfo = database.cluster.conninfo(database: database.name, user: role)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-journal-cli-\(database.name)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let outcome = try Self.pgmend(["run", plan, "--db", conninfo, "--yes", "--snapshots", folder])
            #expect(outcome.status == 1, "\(outcome.stdout)\(outcome.stderr)")
            #expect(outcome.stderr.contains("CREATE SCHEMA pgmend AUTHORIZATION \(SQLIdentifier(role));"), "\(outcome.stderr)")
            #expect(!outcome.stderr.contains("permission denied"), "\(outcome.stderr)")
            #expect(try database.connect().scalar("SELECT count(*) FROM amounts WHERE v < 0", as: Int.self) == 20)
        }
    }

    /// `snapshot take --data` as the owner of a table whose forced policy hides half its rows:
    /// no count of the visible half, but a failure that says why.
    @Test func aSnapshotWithDataRefusesToCountASubset() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let role = "rlssnap_\(database.name)"
            try database.connect().execute(
                """
                CREATE ROLE \(SQLIdentifier(role)) LOGIN;
                CREATE TABLE public.items (id int PRIMARY KEY);
                INSERT INTO public.items SELECT generate_series(1, 100);
                ALTER TABLE public.items OWNER TO \(SQLIdentifier(role));
                ALTER TABLE public.items ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
                CREATE POLICY even ON public.items USING (id % 2 = 0);
                """)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-rls-snapshot-\(database.name).json").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            let outcome = try Self.pgmend(["snapshot", "take", "--data", "--db", database.cluster.conninfo(database: database.name, user: role), "-o", file])
            #expect(outcome.status == 1, "\(outcome.stdout)\(outcome.stderr)")
            #expect(outcome.stderr.contains("query would be affected by row-level security policy for table \"items\""), "\(outcome.stderr)")
            #expect(outcome.stderr.contains("pgmend reads all of a table or none (row_security = off"), "\(outcome.stderr)")
            #expect(!FileManager.default.fileExists(atPath: file))
        }
    }

    /// A rehearsal interrupted (SIGINT, as Ctrl-C) while its archive sits in its private
    /// folder: the folder is gone when pgmend has ended, and the table is untouched.
    ///
    /// The second step waits for a lock this test holds, so the rehearsal is surely still
    /// running, its archive written, when it is interrupted. (A `pg_sleep` is not rehearsed,
    /// being volatile: the rehearsal ended before a busy machine saw its folder.)
    @Test func anInterruptedRehearsalRemovesItsFolder() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("""
                CREATE TABLE backup AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 2000) g;
                CREATE TABLE held (id int)
                """)
            let holder = try database.connect()
            try holder.execute("BEGIN; LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
            let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-tmpdir-\(database.name)").path
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: temporary) }
            let plan = try RunCommandTests.plan("slow", """
                settings: {lock_timeout: 2min}
                steps:
                  - archive_table: {table: backup, to: \(temporary)/never}
                  - sql: {run: "LOCK TABLE held IN SHARE MODE", done_when: "SELECT false"}

                """)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try PgMendBinary.path())
            process.arguments = ["run", plan, "--rehearse", "--db", database.conninfo]
            process.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": temporary]) { _, new in new }
            // What pgmend printed, for the failure message if it ends before it is interrupted.
            let log = "\(temporary).log"
            FileManager.default.createFile(atPath: log, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: log) }
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardError = process.standardOutput
            try process.run()
            // The rehearsal waits for the lock on `held`, its archive written.
            let deadline = Date().addingTimeInterval(60)
            var waiting = false
            while !waiting && Date() < deadline && process.isRunning {
                waiting = try database.connect().scalar(
                    "SELECT count(*) > 0 FROM pg_locks WHERE relation = 'public.held'::regclass AND NOT granted", as: Bool.self) ?? false
                if !waiting { Thread.sleep(forTimeInterval: 0.05) }
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
            let folder = names.first { name in
                name.hasPrefix("pgmend-rehearsal-") && ((try? FileManager.default.subpathsOfDirectory(atPath: "\(temporary)/\(name)")) ?? []).contains { $0.hasSuffix("manifest.json") }
            }.map { "\(temporary)/\($0)" }
            let written = try #require(waiting ? folder : nil, """
                no rehearsal waiting for its lock with an archive in \(temporary) \
                (pgmend \(process.isRunning ? "still running" : "ended with \(process.terminationReason) \(process.terminationStatus)")); it printed:
                \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
                """)
            process.interrupt()
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGINT)
            #expect(!FileManager.default.fileExists(atPath: written), "\(written) was left behind")
            #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).filter { $0.hasPrefix("pgmend-rehearsal-") }.isEmpty)
            try holder.execute("ROLLBACK")
            #expect(try database.connect().scalar("SELECT count(*) FROM backup", as: Int.self) == 2000)
        }
    }
}
