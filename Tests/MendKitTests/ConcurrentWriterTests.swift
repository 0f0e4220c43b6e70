import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The application writes while pgmend runs. Modelled on PostgreSQL's isolation tester: two
/// named sessions, `app` and `pgmend`, and the one interleaving that used to lose rows:
///
///     app:    BEGIN; INSERT ...; UPDATE ...          (holds ROW EXCLUSIVE)
///     pgmend: run the step                           (waits for its lock)
///     app:    COMMIT                                 (pgmend's lock is granted)
///     pgmend: decides what to keep or drop, drops
///
/// and, for the archive, a steady stream of writing transactions around the whole run. After
/// every trial each committed row is in the table or in the verified archive.
@Suite("Writers that commit while pgmend waits for its lock")
struct ConcurrentWriterTests {
    static let trials = 20

    static func scratch(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-writers-\(label)-\(UUID().uuidString)").path
    }

    /// Runs `plan` for real on a connection of its own, on another thread.
    static func apply(_ plan: Plan, on database: TestDatabase, snapshots: String) -> Background<RunReport> {
        let conninfo = database.conninfo
        return Background { try Runner(connection: Connection(conninfo), plan: plan).apply(snapshotDirectory: snapshots) }
    }

    /// Every row of `table` as id -> v.
    static func rows(of table: String, _ connection: Connection) throws -> [Int: String] {
        var rows: [Int: String] = [:]
        for row in try connection.query("SELECT id, v FROM \(SQLIdentifier(table))") {
            rows[try row.get(0, as: Int.self)] = try row.get(1, as: String.self)
        }
        return rows
    }

    /// A session of the application's: `public` first on its path (the test superuser is
    /// called pgmend, so once the journal schema exists `$user` would come first).
    static func session(_ database: TestDatabase) throws -> Connection {
        try Self.session(database.conninfo)
    }

    static func session(_ conninfo: String) throws -> Connection {
        // The application's session: row-level security applies as the server decides.
        let connection = try Connection(conninfo, rowSecurity: true)
        try connection.execute("SET search_path = public")
        return connection
    }

    /// Runs one application transaction (`BEGIN; ...; COMMIT;`); false when PostgreSQL broke a
    /// deadlock by aborting it (an application whose transaction touches two tables of a group
    /// whose locks pgmend's swap takes can meet it so): it is rolled back, nothing of it
    /// committed, and the application goes on as one would, with its next transaction.
    static func commit(_ transaction: SQL, on app: Connection) throws -> Bool {
        do {
            try app.execute(transaction)
            return true
        } catch let error as PostgresError where error.sqlState == .deadlockDetected {
            try app.execute("ROLLBACK")
            return false
        }
    }

    static func exists(_ table: String, _ connection: Connection) throws -> Bool {
        try connection.scalar("SELECT to_regclass(\(bind: table)) IS NOT NULL", as: Bool.self) ?? false
    }

    /// The archive of `table` in `folder`, restored as `<table>_restored`: its rows.
    static func restoredArchive(of table: String, in folder: String, database: TestDatabase, _ connection: Connection) throws -> (rows: [Int: String], manifest: ArchiveManifest) {
        let entries = ArchiveStore(directory: folder).archives(of: ObjectName(parsing: table), database: database.name)
        #expect(entries.count == 1, "one archive of \(table), not \(entries.count)")
        let entry = try #require(entries.first)
        let manifest = try #require(entry.manifest)
        // The restore checks the rows and the fingerprint against the manifest.
        _ = try ArchiveRestorer(connection: connection).restore(directory: entry.path, as: "\(table)_restored")
        return (try rows(of: "\(table)_restored", connection), manifest)
    }

    @Test func anArchiveKeepsWhatWasCommittedWhileItWaitedForItsLock() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try Self.session(database)
            let folder = Self.scratch("archive")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            for trial in 1...Self.trials {
                let table = "backup_\(trial)"
                try observer.execute("CREATE TABLE \(ident: table) (id int PRIMARY KEY, v text); INSERT INTO \(ident: table) SELECT g, 'v' || g FROM generate_series(1, 1000) g")
                let app = try Self.session(database)
                try app.execute("BEGIN; INSERT INTO \(ident: table) VALUES (5001, 'late'); UPDATE \(ident: table) SET v = 'changed' WHERE id = 1")
                let plan = try writePlan("settings: {lock_timeout: 30s}\nsteps:\n  - archive_table: {table: \(table), to: \(folder)}\n")
                let run = Self.apply(plan, on: database, snapshots: folder + "/runs")
                try observer.waitForLockWaiter(on: table)
                try app.execute("COMMIT")
                let report = try run.value()
                #expect(report.outcome == .ok, "trial \(trial): \(report.message ?? "")")
                #expect(try !Self.exists(table, observer), "trial \(trial)")

                var expected = Dictionary(uniqueKeysWithValues: (1...1000).map { ($0, "v\($0)") })
                expected[1] = "changed"
                expected[5001] = "late"
                let (archived, manifest) = try Self.restoredArchive(of: table, in: folder, database: database, observer)
                #expect(manifest.rows == 1001, "trial \(trial)")
                #expect(archived == expected, "trial \(trial): the archive lacks what the application committed while pgmend waited")
            }
        }
    }

    @Test func anArchiveUnderAStreamOfWritesKeepsEveryCommittedRow() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try Self.session(database)
            let folder = Self.scratch("stream")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let initial = 20_000
            for trial in 1...Self.trials {
                let table = "events_\(trial)"
                try observer.execute("CREATE TABLE \(ident: table) (id int PRIMARY KEY, v text); INSERT INTO \(ident: table) SELECT g, 'v' || g FROM generate_series(1, \(literal: initial)) g")
                let conninfo = database.conninfo
                let started = DispatchSemaphore(value: 0)
                // The application: short transactions, each an INSERT and an UPDATE with a pause
                // between, until the table is gone (or 30 s). What it returns is what committed.
                let app = Background { () -> (committed: [Int: String], transactions: Int, lastError: String) in
                    let connection = try Self.session(conninfo)
                    var committed: [Int: String] = [:]
                    var transactions = 0
                    var next = 100_000
                    let deadline = Date().addingTimeInterval(30)
                    while Date() < deadline {
                        let id = next
                        next += 1
                        let target = Int.random(in: 1...initial)
                        do {
                            try connection.execute("BEGIN")
                            try connection.query("INSERT INTO \(ident: table) VALUES (\(bind: id), 'new')")
                            try connection.query("SELECT pg_sleep(0.001)")
                            try connection.query("UPDATE \(ident: table) SET v = \(bind: "u\(id)") WHERE id = \(bind: target)")
                            try connection.execute("COMMIT")
                        } catch {
                            _ = try? connection.execute("ROLLBACK")
                            return (committed, transactions, String(describing: error))
                        }
                        committed[id] = "new"
                        committed[target] = "u\(id)"
                        transactions += 1
                        if transactions == 20 { started.signal() }
                    }
                    return (committed, transactions, "deadline")
                }
                #expect(started.wait(timeout: .now() + 30) == .success, "trial \(trial): the application did not get going")
                let plan = try writePlan("settings: {lock_timeout: 30s}\nsteps:\n  - archive_table: {table: \(table), to: \(folder)}\n")
                let report = try Self.apply(plan, on: database, snapshots: folder + "/runs").value()
                let writes = try app.value()
                #expect(report.outcome == .ok, "trial \(trial): \(report.message ?? "") \(report.steps.map { "\($0.problems) \($0.reason ?? "")" })")
                // The application stopped because the table was dropped under it, not for another reason.
                #expect(writes.lastError.contains("does not exist") || writes.lastError.contains("could not open relation"), "trial \(trial): \(writes.lastError)")

                var expected = Dictionary(uniqueKeysWithValues: (1...initial).map { ($0, "v\($0)") })
                expected.merge(writes.committed) { _, new in new }
                let (archived, manifest) = try Self.restoredArchive(of: table, in: folder, database: database, observer)
                #expect(Int(manifest.rows) == expected.count, "trial \(trial)")
                let missing = expected.filter { archived[$0.key] != $0.value }.map(\.key).sorted()
                #expect(missing.isEmpty, "trial \(trial): \(missing.count) committed rows are not in the archive as committed: \(missing.prefix(10))")
                #expect(archived.count == expected.count, "trial \(trial)")
                #expect(writes.transactions >= 20, "trial \(trial)")
            }
        }
    }

    @Test func anEmptyTableThatGainsARowWhileWaitingIsNotDropped() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try Self.session(database)
            let snapshots = Self.scratch("empty")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            for trial in 1...Self.trials {
                let table = "leftover_\(trial)"
                try observer.execute("CREATE TABLE \(ident: table) (id int PRIMARY KEY, v text)")
                let app = try Self.session(database)
                try app.execute("BEGIN; INSERT INTO \(ident: table) VALUES (1, 'arrived')")
                let plan = try writePlan("settings: {lock_timeout: 30s}\nsteps:\n  - drop_table: {table: \(table)}\n")
                let run = Self.apply(plan, on: database, snapshots: snapshots)
                try observer.waitForLockWaiter(on: table)
                try app.execute("COMMIT")
                let report = try run.value()
                #expect(report.outcome == .blocked, "trial \(trial): \(report.message ?? "")")
                #expect(report.message?.contains("holds 1 row now; nothing was dropped") == true, "trial \(trial): \(report.message ?? "")")
                #expect(try Self.rows(of: table, observer) == [1: "arrived"], "trial \(trial)")
            }
            // Without a writer, the same step drops an empty table: the trials above could fail.
            try observer.execute("CREATE TABLE leftover_control (id int PRIMARY KEY, v text)")
            let plan = try writePlan("steps:\n  - drop_table: {table: leftover_control}\n")
            let report = try Runner(connection: observer, plan: plan).apply(snapshotDirectory: snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try !Self.exists("leftover_control", observer))
        }
    }

    /// `drop_table` of a table whose archive matched when assessed; `archive_table` takes the
    /// same path when a run archived and stopped before its DROP.
    @Test(arguments: ["drop_table", "archive_table"])
    func anArchivedTableThatChangesWhileWaitingIsNotDropped(kind: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: "archived_\(kind)") { database in
            let observer = try Self.session(database)
            let folder = Self.scratch("archived")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            for trial in 1...Self.trials {
                let table = "old_\(trial)"
                try observer.execute("CREATE TABLE \(ident: table) (id int PRIMARY KEY, v text); INSERT INTO \(ident: table) SELECT g, 'v' || g FROM generate_series(1, 500) g")
                let archive = try writePlan("steps:\n  - archive_table: {table: \(table), to: \(folder), drop: false}\n")
                let archived = try Runner(connection: observer, plan: archive).apply(snapshotDirectory: folder + "/runs")
                #expect(archived.outcome == .ok, "\(archived.message ?? "")")

                let app = try Self.session(database)
                // An UPDATE keeps the row count: only the fingerprint tells the change.
                try app.execute(trial % 2 == 0 ? "BEGIN; INSERT INTO \(raw: table) VALUES (9001, 'late')" : "BEGIN; UPDATE \(raw: table) SET v = 'changed' WHERE id = 7")
                let step = kind == "drop_table" ? "drop_table: {table: \(table), archives: \(folder)}" : "archive_table: {table: \(table), to: \(folder)}"
                let plan = try writePlan("settings: {lock_timeout: 30s}\nsteps:\n  - \(step)\n")
                #expect(try Runner(connection: observer, plan: plan).dryRun().steps.first?.actions.first?.summary.contains("matches the archive") == true
                    || kind == "drop_table")
                let run = Self.apply(plan, on: database, snapshots: folder + "/runs")
                try observer.waitForLockWaiter(on: table)
                try app.execute("COMMIT")
                let report = try run.value()
                #expect(report.outcome == .blocked, "trial \(trial): \(report.message ?? "")")
                #expect(report.message?.contains("no longer matches the archive") == true, "trial \(trial): \(report.message ?? "")")
                let rows = try Self.rows(of: table, observer)
                #expect(trial % 2 == 0 ? rows[9001] == "late" && rows.count == 501 : rows[7] == "changed" && rows.count == 500, "trial \(trial)")
            }
        }
    }
}

extension ConcurrentWriterTests {
    /// pgmend's statement and an application transaction lock two tables in opposite orders:
    /// PostgreSQL breaks the deadlock by aborting pgmend's transaction (its deadlock check runs
    /// first: the application's is set to wait far longer). Nothing of it committed, as after a lock timeout, so pgmend
    /// assesses the step again and retries; the application's transaction commits.
    @Test func aDeadlockWithTheApplicationIsRetriedLikeALockTimeout() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try Self.session(database)
            try observer.execute("""
                CREATE TABLE public.a (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
                CREATE TABLE public.b (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
                CREATE TABLE public.done (id int PRIMARY KEY);
                INSERT INTO public.a VALUES (1); INSERT INTO public.b VALUES (1);
                """)
            let plan = try writePlan("""
                settings: {lock_timeout: 5s, retries: 3}
                steps:
                  - sql:
                      run: "UPDATE public.a SET n = n + 1; UPDATE public.b SET n = n + 1; INSERT INTO public.done VALUES (1)"
                      done_when: "SELECT EXISTS (SELECT 1 FROM public.done)"
                """)
            let app = try NamedSession("app", conninfo: database.conninfo)
            defer { app.rollbackIfOpen() }
            // Whichever session's deadlock check runs first is aborted. pgmend waits first, so
            // its check (deadlock_timeout, 1s) usually comes first; on a loaded machine the two
            // can come in either order (CI saw the application aborted). The application's
            // check waits 30 s, so pgmend's transaction is always the one aborted.
            try app.execute("SET deadlock_timeout = '30s'")
            try app.execute("BEGIN; UPDATE public.b SET n = n + 10")
            let conninfo = database.conninfo
            let run = Background { try Runner(connection: Connection(conninfo), plan: plan).apply(snapshotDirectory: RunnerTests.snapshots) }
            // pgmend holds a's row and waits for b's; the application now wants a's row.
            _ = try observer.waitForLockWait(by: "pgmend")
            try app.execute("UPDATE public.a SET n = n + 10")
            try app.execute("COMMIT")
            let report = try run.value()
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(report.steps.first?.actions.first?.attempts == 2)
            #expect(try observer.scalar("SELECT n FROM public.a", as: Int.self) == 11)
            #expect(try observer.scalar("SELECT n FROM public.b", as: Int.self) == 11)
        }
    }
}
