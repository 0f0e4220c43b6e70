import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The executor and the effects it runs: retries that assess again, transactions that hold
/// together, statements outside a transaction, assertions, files; and the dry run's judgement
/// of steps that wait for earlier ones.
@Suite("The executor and its effects")
struct ExecutorTests {
    static let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-executor-snapshots").path

    static func scratch(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-executor-\(label)-\(UUID().uuidString)").path
    }

    static func session(_ database: TestDatabase, application: String = "pgmend-test") throws -> Connection {
        let connection = try Connection(database.conninfo, applicationName: application)
        try connection.execute("SET search_path = public")
        return connection
    }

    /// The DROP after an archive waits for a reader: the retry finds the archive already
    /// written and only drops, instead of archiving the table a second time.
    @Test func aRetryAfterALockTimeoutDoesOnlyWhatIsLeft() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database)
            try connection.execute("CREATE TABLE public.old_backup AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 2000) g")
            let folder = Self.scratch("retry")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            // A reader holds ACCESS SHARE: the archive (SHARE) goes ahead, its DROP cannot.
            let reader = try Self.session(database, application: "nightly-report")
            try reader.execute("BEGIN; SELECT count(*) FROM public.old_backup")
            let plan = try writePlan("settings: {lock_timeout: 150ms, retries: 20}\nsteps:\n  - archive_table: {table: old_backup, to: \(folder)}\n")
            let conninfo = database.conninfo
            let run = Background {
                try Runner(connection: Connection(conninfo, applicationName: "pgmend-retry"), plan: plan).apply(snapshotDirectory: Self.snapshots)
            }
            // Released once the DROP has waited for the reader's lock (pg_locks: not granted) and
            // stopped waiting (its lock_timeout, the reader still holding the lock): an attempt
            // timed out, whatever time the run took to get there.
            do {
                _ = try connection.waitForLockWait(by: "pgmend-retry", seconds: 60)
                try connection.waitForNoLockWait(by: "pgmend-retry", seconds: 60)
            } catch {
                try reader.execute("ROLLBACK")
                _ = try? run.value()
                throw error
            }
            try reader.execute("ROLLBACK")
            let report = try run.value()
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            let entries = ArchiveStore(directory: folder).entries(database: database.name)
            #expect(entries.count == 1, "one archive, not \(entries.map(\.path))")
            let actions = try #require(report.steps.first?.actions)
            // What the last attempt found left to do: only the drop.
            #expect(actions.count == 1 && actions[0].summary.hasPrefix("drop old_backup: its content matches the archive"), "\(actions.map(\.summary))")
            #expect((actions[0].attempts ?? 0) >= 2)
            #expect(try connection.scalar("SELECT to_regclass('public.old_backup') IS NULL", as: Bool.self) == true)
            // Every attempt is in the journal: the archive that timed out on its DROP, the drop.
            let attempts = try connection.query("SELECT attempts, error IS NULL FROM pgmend.statements ORDER BY id")
                .map { "\(try $0.get(0, as: Int.self)):\(try $0.get(1, as: Bool.self) ? "ok" : "error")" }
            #expect(attempts.first == "1:error" && attempts.last?.hasSuffix(":ok") == true, "\(attempts)")
        }
    }

    @Test func createTableAndItsIndexesHappenTogetherOrNotAtAll() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database)
            // The index name is taken: CREATE INDEX fails, and the table must not stay behind.
            try connection.execute("CREATE TABLE public.other (x int); CREATE INDEX goals_title_idx ON public.other (x)")
            let plan = try writePlan("""
                steps:
                  - create_table:
                      name: goals
                      columns: [{name: id, type: int, primary_key: true}, {name: title, type: text}]
                      indexes: [{columns: [title]}]
                """)
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .failed)
            #expect(report.message?.contains("goals_title_idx") == true, "\(report.message ?? "")")
            #expect(try connection.scalar("SELECT to_regclass('public.goals') IS NULL", as: Bool.self) == true)
        }
    }

    @Test func sqlOutsideATransactionBuildsAnIndexConcurrently() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database)
            try connection.execute("CREATE TABLE public.events (id int PRIMARY KEY, kind text)")
            let plan = try writePlan("""
                steps:
                  - sql:
                      run: CREATE INDEX CONCURRENTLY events_kind_idx ON public.events (kind)
                      done_when: SELECT to_regclass('public.events_kind_idx') IS NOT NULL
                      transaction: false
                      lock: share_update_exclusive
                  - sql:
                      run: UPDATE public.events SET kind = lower(kind)
                      done_when: SELECT NOT EXISTS (SELECT FROM public.events WHERE kind <> lower(kind))
                """)
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.steps[0].actions.first?.lock == "SHARE UPDATE EXCLUSIVE")
            #expect(dry.steps[0].actions.first?.transactional == false)
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try connection.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.events_kind_idx'::regclass", as: Bool.self) == true)
            // The session's timeouts are back as the run pinned them (the plan's) after the statement.
            #expect(try connection.scalar("SHOW lock_timeout", as: String.self) == "2s")
            // A step that declares no lock says so.
            let undeclared = try writePlan("steps:\n  - sql: {run: \"SELECT 1\", done_when: \"SELECT false\"}\n")
            #expect(try Runner(connection: connection, plan: undeclared).dryRun().steps[0].actions.first?.lock == "unknown (raw SQL)")
        }
    }

    @Test func anInvalidLeftoverIndexIsDroppedBeforeTheBuild() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database)
            try connection.execute("CREATE TABLE public.users (id int PRIMARY KEY, email text); INSERT INTO public.users VALUES (1, 'a'), (2, 'a')")
            // A concurrent build that fails leaves its index behind, INVALID.
            #expect(throws: PostgresError.self) { try connection.execute("CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON public.users (email)") }
            #expect(try connection.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.users_email_key'::regclass", as: Bool.self) == false)
            try connection.execute("UPDATE public.users SET email = 'b' WHERE id = 2")
            let effect = ConcurrentSQL(
                "unique emails", "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON public.users (email)",
                lock: .shareUpdateExclusive, on: ObjectName(schema: "public", name: "users"),
                builds: ObjectName(schema: "public", name: "users_email_key"))
            _ = try effect.apply(EffectContext.standalone(connection))
            #expect(try connection.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.users_email_key'::regclass", as: Bool.self) == true)
        }
    }

    @Test func anAssertionNamesTheRowsThatBreakIt() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database)
            try connection.execute("CREATE TABLE public.users (id int PRIMARY KEY, phone text, metadata jsonb); INSERT INTO public.users VALUES (1, '+1', '{\"phone\": \"+1\"}'), (2, NULL, '{\"phone\": \"+2\"}'), (3, '+3', '{}')")
            let assertion = Assertion(
                "every phone equals its JSON source",
                query: "SELECT id::text AS key FROM public.users WHERE phone IS DISTINCT FROM metadata->>'phone'")
            let failed = try #require(throws: AssertionFailed.self) { try assertion.apply(EffectContext.standalone(connection)) }
            #expect(failed.count == 2)
            #expect(failed.sample == ["2", "3"])
            try connection.execute("UPDATE public.users SET phone = metadata->>'phone'")
            #expect(try assertion.apply(EffectContext.standalone(connection)).rowsAffected == 0)
        }
    }

    @Test func aFileIsWrittenWholeOrNotAtAll() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database)
            let folder = Self.scratch("file")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let path = "\(folder)/models/session.py"
            let effect = WriteFile(path: path, content: "class Session:\n    pass\n")
            #expect(!WriteFile.isSatisfied(path: path, content: effect.content))
            _ = try effect.apply(EffectContext.standalone(connection))
            #expect(WriteFile.isSatisfied(path: path, content: effect.content))
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/models") == ["session.py"])
        }
    }

    /// Settings a probe pins (text settings for a fingerprint) are undone with it, also inside
    /// a rehearsal's one transaction, so later steps run with the session's own.
    @Test func settingsPinnedByAnAssessmentDoNotOutliveIt() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database)
            try connection.execute("SET TimeZone = 'Europe/Paris'; CREATE TABLE public.kept AS SELECT g AS id FROM generate_series(1, 10) g")
            let folder = Self.scratch("pinned")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let archive = try writePlan("steps:\n  - archive_table: {table: kept, to: \(folder), drop: false}\n")
            #expect(try Runner(connection: connection, plan: archive).apply(snapshotDirectory: Self.snapshots).outcome == .ok)
            // In a rehearsal the archive is written again (to a throwaway folder), and its
            // fingerprint pins the text settings (UTC) inside the rehearsal's transaction.
            let plan = try writePlan("""
                steps:
                  - archive_table: {table: kept, to: \(folder), drop: false}
                  - sql: {run: "SELECT 1", done_when: "SELECT current_setting('TimeZone') = 'Europe/Paris'"}
                """)
            let rehearsal = try Runner(connection: connection, plan: plan).rehearse(maxBytes: 1 << 30)
            #expect(rehearsal.steps.map(\.status) == [.applied, .satisfied], "\(rehearsal.steps.map(\.reason))")
            #expect(try connection.scalar("SHOW TimeZone", as: String.self) == "Europe/Paris")
        }
    }

    @Test func aBlockedStepStaysBlockedAfterAnUnrelatedArchive() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database)
            try connection.execute("""
                CREATE TABLE public.old_backup (id int); CREATE TABLE public.tasks (id int PRIMARY KEY, priority int);
                INSERT INTO public.tasks VALUES (1, 3), (2, 9);
                """)
            let folder = Self.scratch("unrelated")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try writePlan("""
                steps:
                  - archive_table: {table: old_backup, to: \(folder)}
                  - add_check: {table: tasks, name: tasks_priority_range, expression: priority BETWEEN 1 AND 5}
                """)
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.steps.map(\.status) == [.needed, .blocked])
            #expect(report.outcome == .blocked)
            #expect(report.exitStatus == .blocked)
        }
    }

    @Test func aDropAfterAnArchiveOfTheSameTableWaitsAndThePredictionIsIncomplete() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database)
            try connection.execute("CREATE TABLE public.wheel AS SELECT g AS id FROM generate_series(1, 10) g")
            let folder = Self.scratch("waits")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try writePlan("""
                steps:
                  - archive_table: {table: wheel, to: \(folder), drop: false}
                  - drop_table: {table: wheel, archives: \(folder)}
                """)
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.steps.map(\.status) == [.needed, .waiting])
            #expect(dry.outcome == .ok)
            #expect(dry.predictionComplete == false)
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try connection.scalar("SELECT to_regclass('public.wheel') IS NULL", as: Bool.self) == true)
        }
    }

    @Test func aDoneWhenThatReadsATableAnEarlierStepCreatesWaits() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try Self.session(database)
            let plan = try writePlan("""
                steps:
                  - create_table: {name: goals, columns: [{name: id, type: int, primary_key: true}]}
                  - sql: {run: "INSERT INTO public.goals VALUES (1)", done_when: "SELECT count(*) > 0 FROM public.goals"}
                """)
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.steps.map(\.status) == [.needed, .waiting])
            #expect(dry.steps[1].reason?.contains("does not exist") == true, "\(dry.steps[1].reason ?? "")")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots).statementsExecuted == 0)
        }
    }
}

@Suite("sql: concurrent index statements")
struct ConcurrentIndexStatementTests {
    @Test func theIndexAndTheRehearsalFormAreRead() throws {
        let built = try #require(SQLStep.concurrentIndex("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS Users_Email ON ONLY app.\"Users\" (email);"))
        #expect(built.builds == ObjectName(schema: "app", name: "users_email"))
        #expect(built.rehearsal == "CREATE UNIQUE INDEX IF NOT EXISTS Users_Email ON ONLY app.\"Users\" (email)")
        let quoted = try #require(SQLStep.concurrentIndex("create index concurrently \"Idx\"\"x\" on t (a)"))
        #expect(quoted.builds == ObjectName(schema: "public", name: "Idx\"x"))
        #expect(SQLStep.concurrentIndex("DROP INDEX CONCURRENTLY users_email")?.rehearsal == "DROP INDEX users_email")
        #expect(SQLStep.concurrentIndex("CREATE INDEX CONCURRENTLY a ON t (x); CREATE INDEX CONCURRENTLY b ON t (y)") == nil)
        #expect(SQLStep.concurrentIndex("VACUUM t") == nil)
    }
}
