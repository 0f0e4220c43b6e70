import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Plan text is evaluated only when every function it calls is immutable or stable (issue 19,
/// "a dry run or a rehearsal that acts"). A READ ONLY transaction that is rolled back keeps
/// plan text from writing to this database, not from acting outside it: each payload below
/// acts outside it (another session's insert and delete through dblink, a session ended, a
/// file written, statistics reset, a long sleep), and is put in every plan field that reaches
/// the server, then run with `--dry-run` and `--rehearse`. The database's dump, the other
/// sessions, the server's data folder and the statistics must be as they were.
@Suite("Plan text that acts, in a dry run and a rehearsal")
struct PlanTextPurityTests {
    /// What the payloads act on, and a table for every step kind to read.
    static func setup(_ connection: Connection) throws {
        try connection.execute(
            """
            SET search_path = public;
            CREATE EXTENSION dblink;
            CREATE EXTENSION adminpack;
            CREATE TABLE users (id int PRIMARY KEY, email text, status text, meta jsonb, seen text);
            INSERT INTO users SELECT g, 'u' || g || '@example.com', 'active', '{"a": 1}', '2024-01-01 10:00' FROM generate_series(1, 20) g;
            -- dblink_exec inserts here and dblink deletes from here, through a session of their own.
            CREATE TABLE acted (id int);
            CREATE TABLE kept (id int);
            INSERT INTO kept VALUES (1);
            """)
    }

    /// A boolean expression that acts outside the transaction, by name.
    static func payloads(conninfo: String, victim: Int32, file: String) -> [(name: String, expression: String)] {
        let target = conninfo.replacingOccurrences(of: "'", with: "''")
        return [
            ("dblink_exec", "public.dblink_exec('\(target)', 'INSERT INTO public.acted VALUES (1)') IS NOT NULL"),
            ("dblink", "EXISTS (SELECT FROM public.dblink('\(target)', 'DELETE FROM public.kept RETURNING id') AS t(id int))"),
            ("pg_terminate_backend", "pg_terminate_backend(\(victim))"),
            ("pg_file_write", "public.pg_file_write('\(file)', 'written by a dry run', false) > 0"),
            ("pg_stat_reset", "pg_stat_reset()::text IS NOT NULL"),
            ("pg_sleep", "pg_sleep(30)::text IS NOT NULL"),
        ]
    }

    /// One step per plan field that reaches the server, with `payload` in that field.
    static func steps(_ payload: String) -> [String] {
        let quoted = payload.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let value = "CASE WHEN \(payload) THEN 'x' ELSE 'y' END".replacingOccurrences(of: "\"", with: "\\\"")
        return [
            "add_check: {table: users, name: c1, expression: \"\(quoted)\"}",
            "add_check: {table: users, name: c2, expression: \"status <> 'x' OR (SELECT \(quoted))\"}",
            "backfill: {table: users, set: {status: \"'x'\"}, where: \"\(quoted)\"}",
            "backfill: {table: users, set: {status: \"\(value)\"}}",
            // The where is pure and counts rows; the set runs only as the effect.
            "backfill: {table: users, set: {status: \"\(value)\"}, where: \"status = 'active'\"}",
            "sql: {run: \"SELECT 1\", done_when: \"SELECT \(quoted)\"}",
            "sql: {run: \"SELECT \(quoted)\", done_when: \"SELECT false\"}",
            "sql: {run: \"UPDATE public.users SET status = 'z' WHERE \(quoted)\", done_when: \"SELECT false\"}",
            // DDL and several statements are not inspected by the server: read for the names they call.
            "sql: {run: \"ALTER TABLE public.users ADD COLUMN c boolean DEFAULT (\(quoted))\", done_when: \"SELECT false\"}",
            "sql: {run: \"SELECT 1; SELECT \(quoted)\", done_when: \"SELECT false\"}",
            "create_table: {name: goals, columns: [{name: id, type: \"boolean CHECK (\(quoted))\"}]}",
            "create_table: {name: goals, columns: [{name: id, type: \"int FROM pg_class WHERE \(quoted)\"}]}",
            "create_table: {name: goals, columns: [{name: id, type: int, default: \"\(quoted)\", check: \"\(quoted)\"}]}",
            "extract_json_fields: {table: users, column: meta, fields: [{name: a, type: \"int DEFAULT \(quoted)\"}]}",
            "to_enum: {table: users, column: status, type: user_status, labels: [active, \"\(String(quoted.prefix(40)))\"]}",
            "add_column: {table: users, column: c, type: boolean, default: \"\(quoted)\"}",
            // NOT NULL on a table with rows: a pure default is evaluated (is it NULL?), this one is not.
            "add_column: {table: users, column: c, type: boolean, nullable: false, default: \"\(quoted)\"}",
            "add_column: {table: users, column: c, type: \"boolean DEFAULT \(quoted)\"}",
            "create_index: {table: users, name: ix_p, columns: [status], where: \"\(quoted)\"}",
            // Unique over duplicate statuses: the duplicates are counted within the predicate.
            "create_index: {table: users, name: ix_p, columns: [status], unique: true, where: \"\(quoted)\"}",
            "normalize_timestamps: {columns: [users.seen], assume_time_zone: \"UTC' || \(quoted) || '\"}",
        ]
    }

    /// What the payloads could change, read from outside the runner's session.
    struct Observed: Equatable {
        var dump: String
        var sessions: [Int32]
        var dataFolder: [String]
        var acted: Int
        var kept: Int
        var statsReset: String?
    }

    /// `settled`: the sessions seen before; a backend that a closed connection had (pgmend's
    /// run-lock session, pg_dump's) leaves pg_stat_activity a moment after the close, so the
    /// list is read again for up to 5 s until it matches. `own`: pgmend's connection, whose
    /// kept second connection (`Connection.sibling`, opened by a run's first catalog read) is
    /// pgmend's, not a session the plan's text opened.
    static func observe(_ database: TestDatabase, _ checker: Connection, settled: [Int32]? = nil, own: Connection? = nil) throws -> Observed {
        let sibling = own?.usableSibling()?.backendPID
        func readSessions() throws -> [Int32] {
            try checker.query(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' ORDER BY pid"
            ).map { try $0.get(0, as: Int32.self) }.filter { $0 != sibling }
        }
        var sessions = try readSessions()
        let deadline = Date().addingTimeInterval(5)
        while let settled, sessions != settled, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            sessions = try readSessions()
        }
        let dump = try ProcessRunner.run(
            "\(database.cluster.binDirectory)/pg_dump", ["--no-owner", "-d", database.conninfo])
        #expect(dump.status == 0, "\(dump.stderr)")
        // pg_dump's `\restrict KEY` line (15.14 and later) holds a key new on every dump.
        let text = dump.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }.joined(separator: "\n")
        let folder = "\(database.cluster.directory)/data"
        let entries = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        return Observed(
            dump: text, sessions: sessions, dataFolder: entries,
            acted: try checker.scalar("SELECT count(*)::int FROM public.acted", as: Int.self) ?? -1,
            kept: try checker.scalar("SELECT count(*)::int FROM public.kept", as: Int.self) ?? -1,
            statsReset: try checker.scalar("SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()", as: String.self))
    }

    @Test(arguments: ["dblink_exec", "dblink", "pg_terminate_backend", "pg_file_write", "pg_stat_reset", "pg_sleep"])
    func aDryRunAndARehearsalDoNotAct(_ payloadName: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: "acts_\(payloadName)") { database in
            let connection = try database.connect()
            try Self.setup(connection)
            let checker = try database.connect()
            let victim = try database.connect()
            let victimPid = try victim.scalar("SELECT pg_backend_pid()", as: Int32.self) ?? 0
            let file = "pgmend-acted-\(payloadName).txt"
            let payload = try #require(Self.payloads(conninfo: database.conninfo, victim: victimPid, file: file).first { $0.name == payloadName })
            let before = try Self.observe(database, checker)
            for (index, step) in Self.steps(payload.expression).enumerated() {
                let plan = try writePlan("settings: {statement_timeout: 20s}\nsteps:\n  - \(step)\n", name: "acts\(index)")
                #expect(!plan.steps.isEmpty)
                for mode in ["dry run", "rehearsal"] {
                    let started = Date()
                    let report: RunReport?
                    do {
                        report = try mode == "dry run" ? Runner(connection: connection, plan: plan).dryRun() : Runner(connection: connection, plan: plan).rehearse(maxBytes: 1 << 30)
                    } catch {
                        // What it reports does not matter here, only what it did.
                        report = nil
                    }
                    let seconds = Date().timeIntervalSince(started)
                    #expect(seconds < 15, "\(mode) of \(step) took \(seconds) s: it slept")
                    #expect(try victim.scalar("SELECT 1", as: Int.self) == 1, "\(mode) of \(step) ended another session")
                    #expect(!FileManager.default.fileExists(atPath: "\(database.cluster.directory)/data/\(file)"), "\(mode) of \(step) wrote a file")
                    #expect(try checker.scalar("SELECT count(*)::int FROM public.acted", as: Int.self) == 0, "\(mode) of \(step) inserted through dblink_exec")
                    #expect(try checker.scalar("SELECT count(*)::int FROM public.kept", as: Int.self) == 1, "\(mode) of \(step) deleted through dblink")
                    if let report {
                        // No step that was not evaluated passes for done.
                        #expect(report.steps.allSatisfy { $0.status != .satisfied }, "\(mode) of \(step): \(report.steps.map(\.status))")
                    }
                }
            }
            let after = try Self.observe(database, checker, settled: before.sessions, own: connection)
            #expect(after.dump == before.dump, "the dump changed")
            #expect(after.sessions == before.sessions, "sessions before \(before.sessions), after \(after.sessions)")
            #expect(after.dataFolder == before.dataFolder, "the data folder changed: \(Set(after.dataFolder).symmetricDifference(before.dataFolder))")
            #expect(after.statsReset == before.statsReset, "statistics were reset")
            #expect(after == before)
        }
    }

    /// What a dry run says of volatile plan text: the statement, not evaluated, and why.
    @Test func volatileTextIsShownNotEvaluatedAndSaysWhy() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setup(connection)
            let plan = try writePlan(
                """
                steps:
                  - sql: {run: "SELECT 1", done_when: "SELECT pg_stat_reset() IS NULL"}
                  - backfill: {table: users, set: {status: "'x'"}, where: "pg_stat_reset()::text = ''"}
                  - add_check: {table: users, name: c1, expression: "nextval('public.s') > 0"}
                """)
            try connection.execute("CREATE SEQUENCE public.s")
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.outcome == .blocked)
            for (step, function) in zip(report.steps, ["pg_stat_reset()", "pg_stat_reset()", "nextval(regclass)"]) {
                #expect(step.status == .blocked)
                let message = step.problems.first?.message ?? ""
                #expect(message.contains("is not evaluated: it calls \(function), which is volatile"), "\(message)")
                #expect(message.contains("the statement: "), "\(message)")
            }
            #expect(try connection.scalar("SELECT last_value FROM public.s", as: Int64.self) == 1)
            #expect(try connection.scalar("SELECT is_called FROM public.s", as: Bool.self) == false)
        }
    }

    /// Functions reached through a view, an operator and a domain are found too.
    @Test func functionsBehindViewsOperatorsAndDomainsAreFound() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setup(connection)
            try connection.execute(
                """
                CREATE FUNCTION public.wipe() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.kept; RETURN true; END $$;
                CREATE FUNCTION public.wipe2(int, int) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.kept; RETURN true; END $$;
                CREATE VIEW public.wiping AS SELECT public.wipe() AS w;
                CREATE OPERATOR public.### (leftarg = int, rightarg = int, function = public.wipe2);
                CREATE DOMAIN public.wiped AS text CHECK (public.wipe());
                CREATE FUNCTION public.tidy(text) RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT lower($1) $$;
                """)
            let probe = Probe(connection: connection)
            #expect(try probe.purity(of: "SELECT count(*) FROM public.users WHERE public.tidy(status) = 'active' AND now() > '2020-01-01'") == .pure)
            #expect(try probe.purity(of: "SELECT w FROM public.wiping") == .volatile(["wipe()"]))
            #expect(try probe.purity(of: "SELECT 1 OPERATOR(public.###) 2") == .volatile(["wipe2(integer,integer)"]))
            #expect(try probe.purity(of: "SELECT 'x'::public.wiped") == .volatile(["wipe()"]))
            #expect(try probe.purity(of: "SELECT count(*) FILTER (WHERE random() > 0.5) FROM public.users") == .volatile(["random()"]))
            if case .unknown = try probe.purity(of: "EXPLAIN ANALYZE SELECT public.wipe()") {} else {
                Issue.record("EXPLAIN ANALYZE was taken for inspectable")
            }
            #expect(try connection.scalar("SELECT count(*)::int FROM public.kept", as: Int.self) == 1)
            // Nothing is left behind: the function lived in a rolled-back savepoint.
            #expect(try connection.scalar("SELECT count(*)::int FROM pg_proc WHERE proname = 'pgmend_purity'", as: Int.self) == 0)
        }
    }

    /// A CHECK's form is checked before it is evaluated: a subquery that would end a session
    /// is refused as the plan's mistake (exit 2), and the session lives.
    @Test func aCheckWithASubqueryIsRefusedBeforeItRuns() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setup(connection)
            // A function declared STABLE is trusted as declared (docs/plans.md): it shows that
            // the form, not only the purity, is checked first.
            try connection.execute(
                "CREATE FUNCTION public.stop(int) RETURNS boolean STABLE LANGUAGE sql AS $$ SELECT pg_terminate_backend($1) $$")
            let victim = try database.connect()
            let pid = try victim.scalar("SELECT pg_backend_pid()", as: Int32.self) ?? 0
            let plan = try writePlan(
                "steps:\n  - add_check: {table: users, name: c1, expression: \"status <> 'x' OR (SELECT public.stop(\(pid)))\"}\n")
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.outcome == .badInput)
            #expect(report.steps.first?.status == .failed)
            #expect(report.steps.first?.problems.first?.message.contains("cannot use subquery in check constraint") == true, "\(report.steps.first?.problems ?? [])")
            #expect(try victim.scalar("SELECT 1", as: Int.self) == 1)
        }
    }

    /// A column type is a type name and nothing more; the statement holds the server's spelling.
    @Test func aColumnTypeIsATypeName() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setup(connection)
            for type in ["int FROM pg_class WHERE public.evil() = 1", "text COLLATE \\\"C\\\""] {
                let plan = try writePlan("steps:\n  - create_table: {name: goals, columns: [{name: id, type: \"\(type)\"}]}\n")
                let report = try Runner(connection: connection, plan: plan).dryRun()
                #expect(report.outcome == .badInput, "\(type): \(report.steps.map(\.status))")
                let message = report.steps.first?.problems.first?.message ?? ""
                #expect(message.contains("is not a type name"), "\(message)")
                #expect(message.contains("t.yaml:"), "\(message)")
            }
            let plan = try writePlan("steps:\n  - create_table: {name: goals, columns: [{name: id, type: int}, {name: n, type: \"varchar(20)\"}]}\n")
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.steps.first?.status == .needed)
            let sql = report.steps.first?.actions.first?.sql ?? ""
            #expect(sql.contains("\"id\" integer") && sql.contains("\"n\" character varying(20)"), "\(sql)")
        }
    }

    /// The plan's statement_timeout covers done_when (here a function declared STABLE that
    /// sleeps: a volatile one is not evaluated at all).
    @Test func statementTimeoutCoversDoneWhen() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setup(connection)
            try connection.execute("CREATE FUNCTION public.slow() RETURNS boolean STABLE LANGUAGE sql AS $$ SELECT pg_sleep(5) IS NULL $$")
            let plan = try writePlan("settings: {statement_timeout: 1s}\nsteps:\n  - sql: {run: \"SELECT 1\", done_when: \"SELECT public.slow()\"}\n")
            let started = Date()
            let report = try Runner(connection: connection, plan: plan).dryRun()
            let seconds = Date().timeIntervalSince(started)
            #expect(seconds < 4, "done_when ran \(seconds) s under a 1 s statement_timeout")
            #expect(report.steps.first?.status == .failed)
            let problem = report.steps.first?.problems.first?.message ?? ""
            #expect(problem.contains("evaluating done_when") && problem.contains("ran past statement_timeout 1s (the plan's settings)"), "\(problem)")
        }
    }

    /// A rehearsal does not run a backfill whose set calls a volatile function, and says so;
    /// a real run does, as the plan says. gen_random_uuid() acts on nothing else: rehearsed.
    @Test func aRehearsalSkipsAVolatileSetAndARealRunRunsIt() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setup(connection)
            try connection.execute("CREATE SEQUENCE public.s")
            let plan = try writePlan(
                """
                steps:
                  - backfill: {table: users, set: {email: "nextval('public.s')::text"}, where: "email LIKE '%@%'"}
                  - backfill: {table: users, set: {seen: "gen_random_uuid()::text"}, where: "seen LIKE '2024%'"}
                """)
            let rehearsal = try Runner(connection: connection, plan: plan).rehearse(maxBytes: 1 << 30)
            #expect(rehearsal.outcome == .ok, "\(rehearsal.message ?? "")")
            let first = rehearsal.steps.first?.actions.first
            #expect(first?.note?.hasPrefix("not rehearsed: set calls nextval(regclass), volatile") == true, "\(first?.note ?? "none")")
            #expect(rehearsal.steps.last?.actions.first?.rowsAffected == 20)
            #expect(try connection.scalar("SELECT is_called FROM public.s", as: Bool.self) == false)
            let applied = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(applied.outcome == .ok, "\(applied.message ?? "")")
            #expect(try connection.scalar("SELECT count(*)::int FROM public.users WHERE email LIKE '%@%'", as: Int.self) == 0)
        }
    }

    /// A plan that ran runs again: its backfill's where calls btrim(sync_status), and the
    /// to_enum after it makes sync_status an enum, which btrim does not take.
    @Test func aPlanThatRanRunsAgain() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE TABLE public.apps (id int PRIMARY KEY, sync_status text);
                INSERT INTO public.apps VALUES (1, ' synced'), (2, 'pending '), (3, 'synced');
                """)
            let plan = try writePlan(
                """
                steps:
                  - backfill: {table: apps, set: {sync_status: "btrim(sync_status)"}, where: "btrim(sync_status) <> sync_status"}
                  - to_enum: {table: apps, column: sync_status, type: app_sync_status, labels: [synced, pending]}
                """)
            let first = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(first.outcome == .ok, "\(first.message ?? "")")
            let again = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(again.outcome == .ok, "\(again.message ?? "") \(again.steps.map(\.problems))")
            #expect(again.statementsExecuted == 0)
            let reason = again.steps.first?.reason ?? ""
            #expect(again.steps.first?.status == .satisfied)
            #expect(reason.contains("no longer type-checks") && reason.contains("btrim(app_sync_status)"), "\(reason)")
            // The same text is what counts: an edited where is judged afresh (and refused).
            let edited = try writePlan(
                """
                steps:
                  - backfill: {table: apps, set: {sync_status: "btrim(sync_status)"}, where: "btrim(sync_status) <> sync_status AND id > 0"}
                  - to_enum: {table: apps, column: sync_status, type: app_sync_status, labels: [synced, pending]}
                """)
            let dryRun = try Runner(connection: connection, plan: edited).dryRun()
            #expect(dryRun.steps.first?.status == .failed)
            #expect(dryRun.outcome == .badInput)
        }
    }

    /// A journal made before steps had their text recorded: a dry run reads it without the
    /// column (the refusal stands, nothing fails), and the next real run adds the column.
    @Test func anOlderJournalGainsTheStepTextColumn() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE public.apps (id int PRIMARY KEY, sync_status text); INSERT INTO public.apps VALUES (1, 'synced')")
            try Journal(connection: connection).prepare()
            try connection.execute("ALTER TABLE pgmend.steps DROP COLUMN text_sha256")
            let refused = try writePlan("steps:\n  - backfill: {table: apps, set: {sync_status: \"btrim(sync_status)\"}, where: \"nosuch(sync_status)\"}\n")
            let dryRun = try Runner(connection: connection, plan: refused).dryRun()
            #expect(dryRun.outcome == .badInput)
            let plan = try writePlan("steps:\n  - backfill: {table: apps, set: {sync_status: \"btrim(sync_status)\"}, where: \"btrim(sync_status) <> sync_status\"}\n")
            let applied = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(applied.outcome == .ok, "\(applied.message ?? "")")
            #expect(try connection.scalar("SELECT text_sha256 FROM pgmend.steps ORDER BY run_id DESC LIMIT 1", as: String.self) == plan.steps[0].textSHA256)
        }
    }

    /// A real run does not evaluate a volatile done_when either: a question must not act.
    @Test func aRealRunDoesNotEvaluateAVolatileDoneWhen() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setup(connection)
            let target = database.conninfo.replacingOccurrences(of: "'", with: "''")
            let plan = try writePlan(
                "steps:\n  - sql: {run: \"SELECT 1\", done_when: \"SELECT public.dblink_exec('\(target)', 'INSERT INTO public.acted VALUES (1)') IS NULL\"}\n")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: RunnerTests.snapshots)
            #expect(report.outcome == .blocked)
            #expect(report.statementsExecuted == 0)
            #expect(try connection.scalar("SELECT count(*)::int FROM public.acted", as: Int.self) == 0)
        }
    }
}
