import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import Testing

/// A real run keeps its journal in schema `pgmend`; a session that cannot create or write it
/// (a read-only role or standby, a role without CREATE on the database) is told so before
/// anything is written, with the command that lets it run (issue 19, "Hangs and misleading
/// failures").
@Suite("The journal schema: what a run needs, said before it starts")
struct JournalAccessTests {
    static let plan = "steps:\n  - backfill: {table: amounts, set: {v: \"abs(v)\"}}\n"

    /// A login role that owns `amounts` (20 negative values) and has no other privilege.
    static func role(_ database: TestDatabase, _ label: String, readOnly: Bool = false) throws -> (role: String, connection: Connection) {
        let role = "\(label)_\(database.name)"
        let admin = try database.connect()
        try admin.execute(
            """
            CREATE ROLE \(SQLIdentifier(role)) LOGIN;
            CREATE TABLE public.amounts (id int PRIMARY KEY, v int NOT NULL);
            INSERT INTO public.amounts SELECT g, -g FROM generate_series(1, 20) g;
            ALTER TABLE public.amounts OWNER TO \(SQLIdentifier(role));
            """)
        if readOnly { try admin.execute("ALTER ROLE \(SQLIdentifier(role)) SET default_transaction_read_only = on") }
        return (role, try Connection(database.cluster.conninfo(database: database.name, user: role)))
    }

    static func negatives(_ database: TestDatabase) throws -> Int {
        try database.connect().scalar("SELECT count(*) FROM amounts WHERE v < 0", as: Int.self) ?? -1
    }

    /// The tables whose presence spares a run from creating them are the ones it creates.
    @Test func theJournalsTablesAreReadFromItsDDL() {
        #expect(Journal.tables == ["runs", "steps", "statements", "checkpoints", "set_aside"])
    }

    @Test func withoutCreateOnTheDatabaseTheRunSaysWhatToGrant() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let (role, connection) = try Self.role(database, "nocreate")
            let plan = try writePlan(Self.plan)
            let snapshots = ArchiveTests.scratch("journal-snapshots")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }

            let error = try #require(throws: JournalUnavailable.self) {
                try Runner(connection: connection, plan: plan).apply(snapshotDirectory: snapshots)
            }
            #expect(error.description.contains("schema pgmend of this database, which does not exist, and role \(role) may not create it (no CREATE privilege on database \(database.name))"), "\(error)")
            #expect(error.description.contains("CREATE SCHEMA pgmend AUTHORIZATION \(SQLIdentifier(role));"), "\(error)")
            #expect(error.description.contains("GRANT CREATE ON DATABASE"), "\(error)")
            #expect(try Self.negatives(database) == 20)
            #expect(!FileManager.default.fileExists(atPath: snapshots))

            // The command it names lets the run go, still without CREATE on the database.
            try database.connect().execute("CREATE SCHEMA pgmend AUTHORIZATION \(SQLIdentifier(role))")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: snapshots)
            #expect(report.outcome == .ok, "\(RunReportText(report).text)")
            #expect(try Self.negatives(database) == 0)
            #expect(try database.connect().scalar("SELECT count(*) FROM pgmend.runs WHERE status = 'ok'", as: Int.self) == 1)
        }
    }

    @Test func aSchemaWithoutTheTablesThatTheRoleCannotCreateIn() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let (role, connection) = try Self.role(database, "noschema")
            try database.connect().execute("CREATE SCHEMA pgmend; GRANT USAGE ON SCHEMA pgmend TO \(SQLIdentifier(role))")
            let error = try #require(throws: JournalUnavailable.self) {
                try Runner(connection: connection, plan: try writePlan(Self.plan)).apply(snapshotDirectory: ArchiveTests.scratch("unused"))
            }
            #expect(error.description.contains("no CREATE privilege on schema pgmend"), "\(error)")
            #expect(error.description.contains("ALTER SCHEMA pgmend OWNER TO \(SQLIdentifier(role));"), "\(error)")
            #expect(try Self.negatives(database) == 20)
        }
    }

    /// A journal created by another role (a superuser's first run): without USAGE on the
    /// schema, then without the tables' privileges, the run names the GRANT that lets it.
    @Test func aJournalOfAnotherRoleNamesTheGrants() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let admin = try database.connect()
            try Journal(connection: admin).prepare()
            let (role, connection) = try Self.role(database, "foreign")
            let quoted = SQLIdentifier(role).quoted
            let plan = try writePlan(Self.plan)
            let snapshots = ArchiveTests.scratch("journal-foreign")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            let usage = try #require(throws: JournalUnavailable.self) { try Runner(connection: connection, plan: plan).apply(snapshotDirectory: snapshots) }
            #expect(usage.description.contains("`GRANT USAGE ON SCHEMA pgmend TO \(quoted);`"), "\(usage)")
            try admin.execute("GRANT USAGE ON SCHEMA pgmend TO \(raw: quoted)")
            let tables = try #require(throws: JournalUnavailable.self) { try Runner(connection: connection, plan: plan).apply(snapshotDirectory: snapshots) }
            #expect(tables.description.contains("`GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pgmend TO \(quoted);`"), "\(tables)")
            #expect(try Self.negatives(database) == 20)
            try admin.execute("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pgmend TO \(raw: quoted)")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: snapshots)
            #expect(report.outcome == .ok, "\(RunReportText(report).text)")
            #expect(try Self.negatives(database) == 0)
        }
    }

    /// A read-only role (as on a standby): the run says a dry run works here, and the dry run does.
    @Test func aReadOnlySessionIsToldThatARunWrites() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let (_, connection) = try Self.role(database, "readonly", readOnly: true)
            let plan = try writePlan(Self.plan)
            let error = try #require(throws: JournalUnavailable.self) {
                try Runner(connection: connection, plan: plan).apply(snapshotDirectory: ArchiveTests.scratch("unused"))
            }
            #expect(error.description.contains("this session is read-only (default_transaction_read_only is on"), "\(error)")
            #expect(error.description.contains("--dry-run"), "\(error)")
            // It runs: the backfill's condition (plan text) cannot be shown pure without a
            // temporary function, which a read-only session cannot create, so it is judged later.
            #expect(try Runner(connection: connection, plan: plan).dryRun().steps.first?.status == .waiting)
            #expect(try Self.negatives(database) == 20)
        }
    }
}
