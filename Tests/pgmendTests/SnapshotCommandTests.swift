import Foundation
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `pgmend snapshot take|diff`, `verify` and `docs`, end to end through the built binary.
@Suite("Snapshots, verify and docs on the command line")
struct SnapshotCommandTests {
    /// A fresh database with the demo schema loaded, a scratch folder, and a snapshot taken.
    struct Setup {
        var database: TestDatabase
        var folder: URL
        var snapshot: String
        var dataSnapshot: String
    }

    static func withDemo(_ label: String = #function, _ body: (Setup) throws -> Void) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: label) { database in
            try DemoDatabaseTests.load(database, users: 60)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-\(database.name)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let snapshot = folder.appendingPathComponent("expected.json").path
            let dataSnapshot = folder.appendingPathComponent("expected-data.json").path
            let take = try PgMendBinary.run(["snapshot", "take", "--db", database.conninfo, "-o", snapshot])
            #expect(take.status == 0, "stderr: \(take.stderr)")
            let takeData = try PgMendBinary.run(["snapshot", "take", "--db", database.conninfo, "--data", "-o", dataSnapshot])
            #expect(takeData.status == 0, "stderr: \(takeData.stderr)")
            try body(Setup(database: database, folder: folder, snapshot: snapshot, dataSnapshot: dataSnapshot))
        }
    }

    @Test func verifyPassesOnAnUntouchedDatabase() throws {
        try Self.withDemo { setup in
            let schemaOnly = try PgMendBinary.run(["verify", setup.snapshot, "--db", setup.database.conninfo])
            #expect(schemaOnly.status == 0, "stdout: \(schemaOnly.stdout) stderr: \(schemaOnly.stderr)")
            #expect(schemaOnly.stdout.hasPrefix("verified: database \(setup.database.name) matches"))
            let withData = try PgMendBinary.run(["verify", setup.dataSnapshot, "--db", setup.database.conninfo, "--data"])
            #expect(withData.status == 0, "stdout: \(withData.stdout)")
        }
    }

    /// Each drift, alone, makes verify exit 1 and name exactly that change.
    @Test(arguments: [
        ("ALTER TABLE users ADD COLUMN sms_opt_in boolean",
         ["table users: column sms_opt_in added: boolean NULL"]),
        ("ALTER TABLE api_keys ALTER COLUMN key_hash TYPE text",
         ["column api_keys.key_hash: type character varying(64) -> text"]),
        ("DROP INDEX idx_apikey_user_id",
         ["index idx_apikey_user_id on api_keys removed"]),
        ("ALTER TABLE apps ALTER COLUMN sync_status SET DEFAULT 'synced'",
         ["column apps.sync_status: default 'pending'::character varying -> 'synced'::character varying"]),
        ("ALTER TABLE users DROP CONSTRAINT users_firstname_length, ADD CONSTRAINT users_firstname_length CHECK (char_length(firstname) <= 50)",
         ["constraint users.users_firstname_length: definition CHECK (char_length(firstname::text) <= 100) -> CHECK (char_length(firstname::text) <= 50)"]),
    ])
    func verifyNamesExactlyTheDrift(statement: String, expected: [String]) throws {
        try Self.withDemo("verify_drift") { setup in
            // The drift a test argument names, as an operator would type it into psql.
            try setup.database.connect().execute(.unsafeRaw(statement))
            let outcome = try PgMendBinary.run(["verify", setup.snapshot, "--db", setup.database.conninfo, "--format", "json"])
            #expect(outcome.status == 1)
            let report = try JSONDecoder().decode(Report.self, from: Data(outcome.stdout.utf8))
            #expect(!report.equal)
            #expect(report.changes.map(\.description) == expected)
            let text = try PgMendBinary.run(["verify", setup.snapshot, "--db", setup.database.conninfo])
            #expect(text.status == 1)
            #expect(text.stdout.contains("NOT verified"))
            for line in expected { #expect(text.stdout.unwrappedLines.contains("  \(line)"), "\(text.stdout)") }
        }
    }

    @Test func aNewRowIsDriftWithData() throws {
        try Self.withDemo { setup in
            try setup.database.connect().execute("INSERT INTO claude_code_sessions (id, session_key, status) VALUES (gen_random_uuid(), 'new-session', 'active')")
            let schemaOnly = try PgMendBinary.run(["verify", setup.dataSnapshot, "--db", setup.database.conninfo])
            #expect(schemaOnly.status == 0)  // the schema did not change
            let withData = try PgMendBinary.run(["verify", setup.dataSnapshot, "--db", setup.database.conninfo, "--data", "--format", "json"])
            #expect(withData.status == 1)
            let report = try JSONDecoder().decode(Report.self, from: Data(withData.stdout.utf8))
            #expect(report.changes.map(\.description) == ["table claude_code_sessions: rows 36 -> 37"])
        }
    }

    @Test func verifyWithDataNeedsASnapshotWithData() throws {
        try Self.withDemo { setup in
            let outcome = try PgMendBinary.run(["verify", setup.snapshot, "--db", setup.database.conninfo, "--data"])
            #expect(outcome.status == 2)
            #expect(outcome.stderr.contains("take it with --data"))
        }
    }

    @Test func diffComparesTwoSnapshotFiles() throws {
        try Self.withDemo { setup in
            try setup.database.connect().execute("ALTER TABLE users ADD COLUMN phone_verified boolean DEFAULT false")
            let after = setup.folder.appendingPathComponent("after.json").path
            #expect(try PgMendBinary.run(["snapshot", "take", "--db", setup.database.conninfo, "-o", after]).status == 0)
            let same = try PgMendBinary.run(["snapshot", "diff", setup.snapshot, setup.snapshot])
            #expect(same.status == 0)
            #expect(same.stdout == "no differences\n")
            let different = try PgMendBinary.run(["snapshot", "diff", setup.snapshot, after])
            #expect(different.status == 1)
            #expect(different.stdout.contains("  table users: column phone_verified added: boolean NULL DEFAULT false\n"))
        }
    }

    @Test func unusableSnapshotFilesAreBadInput() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-bad-snapshots-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let future = folder.appendingPathComponent("future.json").path
        try #"{"format_version": 7}"#.write(toFile: future, atomically: true, encoding: .utf8)
        let outcome = try PgMendBinary.run(["snapshot", "diff", future, future])
        #expect(outcome.status == 2)
        #expect(outcome.stderr == "pgmend: \(future): format_version 7 is newer than this pgmend reads (1); use a newer pgmend\n")
        let missing = try PgMendBinary.run(["verify", folder.appendingPathComponent("nope.json").path])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot read the file"))
        // A file that is not a snapshot is reported before any connection is tried.
        let future2 = try PgMendBinary.run(["verify", future, "--db", JSONOutputCommandTests.unreachable])
        #expect(future2.status == 2)
        #expect(future2.stderr == "pgmend: \(future): format_version 7 is newer than this pgmend reads (1); use a newer pgmend\n")
    }

    @Test func takeWritesToSnapshotsRunsByDefault() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE t (id int PRIMARY KEY)")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-cwd-\(database.name)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let outcome = try ProcessRunner.run(
                "/bin/sh", ["-c", "cd \"$1\" && \"$2\" snapshot take --db \"$3\"", "sh", folder.path, try PgMendBinary.path(), database.conninfo])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            let runs = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("Snapshots/runs").path)
            #expect(runs.count == 1)
            #expect(runs.first?.hasPrefix("\(database.name)-") == true && runs.first?.hasSuffix("Z.json") == true)
            let unknown = try PgMendBinary.run(["snapshot", "take", "--db", database.conninfo, "--schema", "nope", "-o", "/tmp/pgmend-never-written.json"])
            #expect(unknown.status == 2)
            #expect(unknown.stderr.contains("no schema named nope"))
        }
    }

    @Test func docsDescribeTheLiveDatabaseAndASnapshotAlike() throws {
        try Self.withDemo { setup in
            let live = try PgMendBinary.run(["docs", "--db", setup.database.conninfo])
            #expect(live.status == 0, "stderr: \(live.stderr)")
            #expect(live.stdout.contains("## claude_code_sessions"))
            #expect(live.stdout.contains("## memories_backup_66d3d5d1"))
            #expect(!live.stdout.contains("## reminders"))
            let file = setup.folder.appendingPathComponent("SCHEMA.md").path
            let fromSnapshot = try PgMendBinary.run(["docs", setup.snapshot, "-o", file])
            #expect(fromSnapshot.status == 0, "stderr: \(fromSnapshot.stderr)")
            // The same schema gives the same document, the title aside.
            let written = try String(contentsOfFile: file, encoding: .utf8)
            #expect(written.split(separator: "\n").dropFirst() == live.stdout.split(separator: "\n").dropFirst())
            #expect(try PgMendBinary.run(["docs", setup.snapshot, "--db", setup.database.conninfo]).status == 2)
        }
    }

    struct Report: Decodable {
        var equal: Bool
        var changes: [SchemaChange]
    }
}

/// Commands without a plan read under `--lock-timeout` (default 2s), never without one.
@Suite("Reads behind an application's lock on the command line")
struct ReadLockTimeoutCommandTests {
    @Test(arguments: [["snapshot", "take", "-o", "/dev/null"], ["docs", "-o", "/dev/null"]])
    func aReadBehindAnApplicationsLockEndsWithExit4NamingTheTable(_ command: [String]) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE tasks (id int PRIMARY KEY, priority int)")
            let app = try NamedSession("app", conninfo: database.conninfo)
            try app.execute("BEGIN; LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
            defer { try? app.execute("ROLLBACK") }
            let started = Date()
            let result = try PgMendBinary.run(command + ["--db", database.conninfo, "--lock-timeout", "300ms"])
            // Before: the command waited as long as the application held its lock.
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(result.status == 4, "stderr: \(result.stderr)")
            #expect(result.stderr.contains("waited lock_timeout 300ms (--lock-timeout) for a table's lock and gave up: public.tasks: pid"), "\(result.stderr)")
            #expect(result.stderr.contains("(app, AccessExclusiveLock"), "\(result.stderr)")
        }
    }

    @Test func aLockTimeoutOfZeroIsRefused() throws {
        let result = try PgMendBinary.run(["snapshot", "take", "--lock-timeout", "0", "--db", "dbname=none"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--lock-timeout 0 is not a duration from 1ms to 24h"), "\(result.stderr)")
    }
}
