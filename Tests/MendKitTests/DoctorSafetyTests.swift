import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// A check that reads every table through `measure`, as doctor's data-reading checks do: the
/// reads whose bounds these tests are about. Outside any probe it then runs one statement
/// longer than the shortest probe timeout, which must not inherit it.
enum CountEveryTable: DoctorCheck {
    static let classes: [FindingClass] = [.noPrimaryKey]

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        for table in context.tables {
            _ = try context.measure("counting \(table.objectName)") {
                try context.connection.scalar("SELECT count(*) FROM \(context.read(table).from)", as: Int64.self)
            }
        }
        _ = try context.connection.query("SELECT pg_sleep(0.05)")
        return []
    }
}

/// Doctor on a production database: it changes nothing, works as a role that may only read and
/// on a hot standby, and a lock or a slow read costs one read, not the whole examination.
@Suite("Doctor is safe on production")
struct DoctorSafetyTests {
    static func loadDemo(_ database: TestDatabase) throws {
        try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
        // Statistics as doctor wants them, and nothing left for autovacuum to do meanwhile.
        _ = try database.connect().execute("VACUUM ANALYZE")
    }

    static func examine(_ conninfo: String, options: DoctorOptions = DoctorOptions(), checks: [any DoctorCheck.Type] = Doctor.checks) throws -> DoctorReport {
        try Doctor(connection: try Connection(conninfo), options: options, progress: SilentProgress(), checks: checks).examine()
    }

    /// `pg_dump` of the database (its schema, or its data) with a fixed `\restrict` key, so two
    /// dumps of the same database are byte-identical.
    static func dump(_ database: TestDatabase, _ part: String) throws -> String {
        let outcome = try ProcessRunner.run(
            "\(database.cluster.binDirectory)/pg_dump", [part, "--restrict-key=pgmenddoctor", "-d", database.conninfo])
        guard outcome.status == 0 else { throw ClusterFailure("pg_dump \(part) failed: \(outcome.stderr)") }
        return outcome.stdout
    }

    /// Every relation's file and row version in `pg_class`, and every row version of every
    /// table (`ctid` and `xmin`, hashed per table): a write of any kind changes one of them.
    static func versions(_ connection: Connection) throws -> [String] {
        var lines = try connection.query("SELECT oid::regclass::text || ' ' || relfilenode || ' ' || xmin::text FROM pg_class ORDER BY oid")
            .map { try $0.get(0, as: String.self) }
        let tables = try connection.query(
            "SELECT oid::regclass::text FROM pg_class WHERE relkind = 'r' AND relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) ORDER BY oid")
            .map { try $0.get(0, as: String.self) }
        for table in tables {
            let rows = try connection.scalar(
                "SELECT count(*) || ' ' || coalesce(md5(string_agg(ctid::text || ':' || xmin::text, ',' ORDER BY ctid)), '-') FROM \(SQL.catalogText(table))",
                as: String.self)
            lines.append("\(table) \(rows ?? "")")
        }
        return lines
    }

    static func ids(_ report: DoctorReport) -> [String] { report.findings.map(\.id) }

    // MARK: Nothing written

    @Test("a dump before and after is byte-identical, and no relation or row has a new version")
    func changesNothing() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.loadDemo(database)
            let connection = try database.connect()
            let schema = try Self.dump(database, "--schema-only")
            let data = try Self.dump(database, "--data-only")
            let versions = try Self.versions(connection)

            let report = try Self.examine(database.conninfo, checks: Doctor.checks + [CountEveryTable.self])
            #expect(!report.findings.isEmpty)
            #expect(report.skipped.isEmpty)

            // pg_stat_database's transaction counters aside, the database is as it was.
            #expect(try Self.dump(database, "--schema-only") == schema)
            #expect(try Self.dump(database, "--data-only") == data)
            #expect(try Self.versions(connection) == versions)
            #expect(schema.contains("CREATE TABLE public.users"))
            #expect(data.contains("COPY public.memories"))
        }
    }

    // MARK: Roles that may only read

    /// Creates a login role that may read every table, configured by `settings` (ALTER ROLE
    /// ... SET), runs `body` with its conninfo, and drops it.
    static func withReader<T>(_ database: TestDatabase, _ suffix: String, settings: [(String, String)] = [], _ body: (String) throws -> T) throws -> T {
        let role = "reader_\(suffix)_\(database.name)"
        let admin = try database.connect()
        _ = try admin.execute("CREATE ROLE \(ident: role) LOGIN; GRANT pg_read_all_data TO \(ident: role)")
        defer { _ = try? admin.execute("DROP ROLE IF EXISTS \(ident: role)") }
        for (name, value) in settings {
            _ = try admin.execute("ALTER ROLE \(ident: role) SET \(ident: name) = \(literal: value)")
        }
        return try body(database.cluster.conninfo(database: database.name, user: role))
    }

    @Test("a role that may only read, and one whose transactions are read-only, find what the superuser finds")
    func readOnlyRoles() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.loadDemo(database)
            let owner = try Self.examine(database.conninfo)
            #expect(!owner.findings.isEmpty)
            try Self.withReader(database, "plain") { conninfo in
                // It may not write: the role is what keeps it from doing so, not doctor.
                #expect(throws: PostgresError.self) { _ = try Connection(conninfo).execute("CREATE TABLE doctor_was_here (id int)") }
                let report = try Self.examine(conninfo, checks: Doctor.checks + [CountEveryTable.self])
                #expect(Self.ids(report) == Self.ids(owner))
                // The same findings, said the same way (evidence holds scan counts, which the
                // first doctor's own reads have moved).
                #expect(report.findings.map(\.summary) == owner.findings.map(\.summary))
                #expect(report.skipped.isEmpty)
            }
            try Self.withReader(database, "ro", settings: [("default_transaction_read_only", "on")]) { conninfo in
                #expect(try Connection(conninfo).scalar("SHOW default_transaction_read_only", as: String.self) == "on")
                let report = try Self.examine(conninfo, checks: Doctor.checks + [CountEveryTable.self])
                #expect(Self.ids(report) == Self.ids(owner))
                #expect(report.skipped.isEmpty)
            }
        }
    }

    @Test("the role's own statement_timeout of 5ms does not cancel doctor's catalog reads")
    func rolesStatementTimeout() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.loadDemo(database)
            let owner = try Self.examine(database.conninfo)
            try Self.withReader(database, "hurried", settings: [("statement_timeout", "5ms")]) { conninfo in
                let connection = try Connection(conninfo)
                // The role's timeout is live on the session...
                #expect(throws: PostgresError.self) { _ = try connection.query("SELECT pg_sleep(0.05)") }
                // ... and doctor's reads do not run under it.
                let report = try Doctor(connection: connection, options: DoctorOptions()).examine()
                #expect(Self.ids(report) == Self.ids(owner))
                #expect(try connection.scalar("SHOW statement_timeout", as: String.self) == "0")
            }
        }
    }

    // MARK: A hot standby

    @Test("on a hot standby doctor finds what it finds on the primary")
    func hotStandby() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.loadDemo(database)
            let primary = try Self.examine(database.conninfo, checks: Doctor.checks + [CountEveryTable.self])
            let standby = try StandbyServer(of: database.cluster, label: database.name)
            defer { standby.stop() }
            try standby.catchUp()
            let replica = try Connection(standby.conninfo(database: database.name))
            #expect(try replica.scalar("SELECT pg_is_in_recovery()", as: Bool.self) == true)
            let report = try Doctor(connection: replica, options: DoctorOptions(), progress: SilentProgress(), checks: Doctor.checks + [CountEveryTable.self]).examine()
            #expect(!report.findings.isEmpty)
            #expect(Self.ids(report) == Self.ids(primary))
            #expect(report.skipped.isEmpty)
        }
    }

    // MARK: Bounded reads

    /// Takes ACCESS EXCLUSIVE on a table when doctor starts its first check: after the catalog,
    /// before the data reads. The lock is held until `release`.
    final class LockAtFirstCheck: ProgressReporter, @unchecked Sendable {
        let session: NamedSession
        let table: String
        var taken = false
        init(_ session: NamedSession, table: String) {
            self.session = session
            self.table = table
        }
        func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
            guard task == "doctor", !taken else { return }
            taken = true
            // Should doctor hold a lock on it, the test fails instead of waiting forever.
            try? session.execute("SET lock_timeout = '2s'; BEGIN; LOCK TABLE \(ident: table) IN ACCESS EXCLUSIVE MODE")
        }
        func finish(task: String) {}
        func release() { session.rollbackIfOpen() }
    }

    @Test("a table another session locks is not checked, named with the reason, and doctor goes on")
    func lockedTable() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.loadDemo(database)
            let unlocked = try Self.examine(database.conninfo)
            let locker = LockAtFirstCheck(try NamedSession("app", conninfo: database.conninfo), table: "memories")
            defer { locker.release() }
            var options = DoctorOptions()
            options.timeouts = SessionTimeouts(lockTimeout: 500, statementTimeout: 0, source: "the test")
            let started = Date()
            let report = try Doctor(
                connection: try database.connect(), options: options, progress: locker, checks: Doctor.checks + [CountEveryTable.self]
            ).examine()
            let took = Date().timeIntervalSince(started)
            #expect(locker.taken)
            // Every read of memories is skipped and named, and nothing else is; what doctor
            // could not see is about memories only.
            #expect(report.skipped.contains(SkippedProbe(what: "counting memories", reason: "waited in vain for a lock (--lock-timeout)")))
            #expect(report.skipped.allSatisfy { $0.what.contains("memories") && $0.reason == "waited in vain for a lock (--lock-timeout)" }, "\(report.skipped)")
            let unseen = unlocked.findings.filter { finding in !report.findings.contains { $0.id == finding.id } }
            #expect(unseen.allSatisfy { $0.table == "memories" }, "\(unseen.map(\.id))")
            #expect(Set(Self.ids(report)).isSubset(of: Set(Self.ids(unlocked))))
            #expect(took < 5, "doctor took \(took) s behind a lock with lock_timeout 500ms")
            #expect(DoctorText.lines(report).contains("not checked: counting memories: waited in vain for a lock (--lock-timeout)"))
        }
    }

    @Test("a read that runs past --probe-timeout is not checked, and later reads do not inherit the probe's timeout")
    func probeTimeout() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            _ = try database.connect().execute(
                """
                CREATE TABLE big AS SELECT g AS id, md5(g::text) AS value FROM generate_series(1, 300000) g;
                CREATE TABLE small (id int PRIMARY KEY);
                ANALYZE
                """)
            var options = DoctorOptions()
            options.probeTimeout = 1
            // CountEveryTable's unprobed pg_sleep(0.05) would be canceled by a lingering 1ms.
            let report = try Self.examine(database.conninfo, options: options, checks: Doctor.checks + [CountEveryTable.self])
            #expect(report.skipped.contains(SkippedProbe(what: "counting big", reason: "ran past the probe timeout of 1ms (--probe-timeout)")))
            #expect(Self.ids(report) == ["no_primary_key big"])
        }
    }

    /// The catalog is read as `snapshot take` reads it, and some of its functions
    /// (`pg_get_expr`, `pg_relation_size`) take a table's ACCESS SHARE lock: behind a lock held
    /// when doctor starts it cannot describe the table at all, and gives up after lock_timeout
    /// (the command exits 4 naming the holder: DoctorCommandTests).
    @Test("a table locked before doctor starts: doctor gives up after lock_timeout, not later")
    func lockedBeforeStart() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.loadDemo(database)
            let app = try NamedSession("app", conninfo: database.conninfo)
            try app.execute("BEGIN; LOCK TABLE memories IN ACCESS EXCLUSIVE MODE")
            defer { app.rollbackIfOpen() }
            var options = DoctorOptions()
            options.timeouts = SessionTimeouts(lockTimeout: 500, statementTimeout: 0, source: "the test")
            let started = Date()
            let error = #expect(throws: PostgresError.self) { try Self.examine(database.conninfo, options: options) }
            let took = Date().timeIntervalSince(started)
            #expect(error?.sqlState == .lockNotAvailable)
            #expect(took < 3, "doctor gave up after \(took) s with lock_timeout 500ms")
        }
    }

    /// A table without a page holds no row, so doctor reads none of its data (on a schema of
    /// 2,000 empty tables each read cost a round trip: 28 s of json_fields before this rule).
    /// An inheritance parent reads its children's rows, so it is read whatever its own size.
    @Test("a table without a page is not read; a parent whose rows are in its children is")
    func emptyTablesAreNotRead() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE t_empty (id int PRIMARY KEY, doc jsonb);
                CREATE TABLE t_full (id int PRIMARY KEY, doc jsonb);
                INSERT INTO t_full VALUES (1, '{}');
                CREATE TABLE parent (id int, doc jsonb);
                CREATE TABLE child () INHERITS (parent);
                INSERT INTO child VALUES (1, '{}');
                """)
            try connection.transaction(isolation: .repeatableRead, readOnly: true) { _ in
                let schema = try CatalogReader(connection: connection).readSchemaInCurrentTransaction()
                let context = try DoctorContext(
                    connection: connection, schema: schema, exact: false, sampleAboveBytes: 64 << 20, probeTimeout: 10_000, progress: SilentProgress())
                let holds = { (name: String) in context.mayHoldRows(try #require(schema.tables["public.\(name)"])) }
                #expect(try !holds("t_empty"))
                #expect(try holds("t_full"))
                #expect(try holds("parent"))
                #expect(try holds("child"))
            }
        }
    }
}
