import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Row-level security (issue 19, item 1). The table's owner, a role that is not a superuser
/// and has no BYPASSRLS, runs pgmend on a table with FORCE ROW LEVEL SECURITY and a policy
/// that hides half its rows (`items`), or all of them (`hidden`). pgmend's sessions set
/// `row_security = off`, so each step that reads those rows is blocked, naming the table and
/// what the role lacks, and changes nothing; the same plan as a BYPASSRLS role (not a
/// superuser either) works on every row.
@Suite("Row-level security: all of a table or nothing")
struct RowSecurityTests {
    static let rows = 1000

    /// `items` (1000 rows, the policy shows the even ids) and `hidden` (500 rows, the policy
    /// shows none), owned by a new login role that may create the journal schema.
    static func load(_ database: TestDatabase, bypass: Bool) throws -> (role: String, conninfo: String) {
        let role = "rls_\(bypass ? "bypass" : "owner")_\(database.name)"
        let quotedRole = SQLIdentifier(role).quoted
        let admin = try database.connect()
        try admin.execute(
            """
            CREATE ROLE \(raw: quotedRole) LOGIN NOSUPERUSER \(raw: bypass ? "BYPASSRLS" : "NOBYPASSRLS");
            GRANT CREATE ON DATABASE \(raw: SQLIdentifier(database.name)) TO \(raw: quotedRole);
            GRANT CREATE, USAGE ON SCHEMA public TO \(raw: quotedRole);
            CREATE TABLE public.items (id int PRIMARY KEY, note text NOT NULL, payload jsonb NOT NULL, token text NOT NULL, at timestamp NOT NULL);
            INSERT INTO public.items
            SELECT g, 'note ' || g, jsonb_build_object('color', 'c' || g), upper(md5(g::text)::uuid::text), timestamp '2025-01-01' + g * interval '1 hour'
            FROM generate_series(1, \(raw: rows)) g;
            CREATE TABLE public.hidden (id int PRIMARY KEY, body text);
            INSERT INTO public.hidden SELECT g, 'secret ' || g FROM generate_series(1, 500) g;
            ALTER TABLE public.items OWNER TO \(raw: quotedRole);
            ALTER TABLE public.hidden OWNER TO \(raw: quotedRole);
            ALTER TABLE public.items ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
            ALTER TABLE public.hidden ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
            CREATE POLICY even_only ON public.items USING (id % 2 = 0);
            CREATE POLICY nothing ON public.hidden USING (false);
            """)
        return (role, database.cluster.conninfo(database: database.name, user: role))
    }

    /// One plan per step kind that reads or rewrites every row; `folder` is the archive folder.
    static func plan(_ kind: String, folder: String) -> String {
        switch kind {
        case "archive_table": "  - archive_table: {table: items, to: \(folder)}"
        case "drop_table": "  - drop_table: {table: hidden, archives: \(folder)}"
        case "drop_table_unarchived": "  - drop_table: {table: items, require_archive: false}"
        case "backfill": "  - backfill: {table: items, set: {note: \"upper(note)\"}}"
        case "extract_json_fields": "  - extract_json_fields: {table: items, column: payload, fields: [{name: color, type: text}]}"
        case "normalize_uuid": "  - normalize_uuid: {columns: [items.token], method: online}"
        case "normalize_timestamps": "  - normalize_timestamps: {columns: [items.at], assume_time_zone: UTC, method: online}"
        default: ""
        }
    }

    static let kinds = [
        "archive_table", "drop_table", "drop_table_unarchived", "backfill", "extract_json_fields", "normalize_uuid", "normalize_timestamps",
    ]

    /// What the superuser sees of a table: every row's fingerprint and the columns' types.
    static func state(_ admin: Connection, _ table: String) throws -> String {
        guard try admin.scalar("SELECT to_regclass(\(bind: table)) IS NOT NULL", as: Bool.self) == true else { return "no table" }
        let data = try ArchiveTests.fingerprint(table, admin)
        let columns = try admin.query(
            "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = \(bind: table)::regclass AND attnum > 0 AND NOT attisdropped"
        ).first?.get(0, as: String.self) ?? ""
        return "\(data.rows) rows, \(data.fingerprint), \(columns)"
    }

    @Test(arguments: kinds)
    func theOwnerUnderForcedPoliciesIsBlockedAndNothingChanges(kind: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: "rls_blocked_\(kind)") { database in
            let (role, conninfo) = try Self.load(database, bypass: false)
            let admin = try database.connect()
            let table = kind == "drop_table" ? "hidden" : "items"
            let before = try Self.state(admin, table)
            let folder = ArchiveTests.scratch("rls-\(kind)")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try writePlan("steps:\n\(Self.plan(kind, folder: folder))\n")
            let connection = try Connection(conninfo)
            #expect(try connection.scalar("SHOW row_security", as: String.self) == "off")

            // The dry run already says so.
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.outcome == .blocked, "\(RunReportText(dry).text)")
            let problem = dry.steps.first?.problems.first?.message ?? ""
            #expect(problem.contains("\(table) has row-level security"), "\(problem)")
            #expect(problem.contains("role \(role) owns it, but FORCE ROW LEVEL SECURITY applies the policies to the owner too"), "\(problem)")
            #expect(problem.contains("BYPASSRLS"), "\(problem)")

            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder + "/snapshots")
            #expect(report.outcome == .blocked, "\(RunReportText(report).text)")
            #expect(report.statementsExecuted == 0)
            #expect(report.steps.first?.status == .blocked)
            #expect(report.message?.contains("is blocked") == true, "\(report.message ?? "")")
            #expect(try Self.state(admin, table) == before)
            #expect(ArchiveStore(directory: folder).entries().isEmpty)
        }
    }

    /// Policies forced by the application while pgmend waits for the archive's lock: the
    /// assessment saw none, the effect's first read is refused, and the step is blocked with
    /// nothing archived or dropped (not an archive of the half the policy shows).
    @Test func policiesForcedWhilePgmendWaitsForItsLockBlockTheEffect() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let (role, conninfo) = try Self.load(database, bypass: false)
            let admin = try database.connect()
            try admin.execute(
                """
                CREATE TABLE public.plain (id int PRIMARY KEY, v text);
                INSERT INTO public.plain SELECT g, 'v' || g FROM generate_series(1, 1000) g;
                ALTER TABLE public.plain OWNER TO \(SQLIdentifier(role));
                """)
            let before = try Self.state(admin, "plain")
            let folder = ArchiveTests.scratch("rls-late")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try writePlan("settings: {lock_timeout: 30s}\nsteps:\n  - archive_table: {table: plain, to: \(folder)}\n")
            // The application writes (ROW EXCLUSIVE: the assessment reads past it, the archive's
            // SHARE waits); then, while pgmend waits, the same transaction forces policies.
            let app = try ConcurrentWriterTests.session(database)
            try app.execute("BEGIN; UPDATE public.plain SET v = v WHERE id = 1")
            let run = Background { try Runner(connection: Connection(conninfo), plan: plan).apply(snapshotDirectory: folder + "/snapshots") }
            try admin.waitForLockWaiter(on: "public.plain")
            try app.execute(
                "ALTER TABLE public.plain ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY; CREATE POLICY even_only ON public.plain USING (id % 2 = 0); COMMIT")
            let report = try run.value()
            #expect(report.outcome == .blocked, "\(RunReportText(report).text)")
            let step = try #require(report.steps.first)
            #expect(step.status == .blocked)
            // Judged needed, then refused when the archive first read the table.
            #expect(step.actions.map(\.executed) == [false], "\(RunReportText(report).text)")
            #expect(step.problems.first?.message.contains("plain has row-level security") == true, "\(RunReportText(report).text)")
            #expect(report.message?.contains("step 1 (archive_table) is blocked: plain has row-level security") == true, "\(report.message ?? "")")
            #expect(try Self.state(admin, "plain") == before)
            #expect(ArchiveStore(directory: folder).entries(database: database.name).isEmpty)
        }
    }

    /// A role with BYPASSRLS (not a superuser) reads through the policies: every row is
    /// archived, dropped, backfilled, extracted or converted.
    @Test(arguments: kinds)
    func aBypassRLSRoleWorksOnEveryRow(kind: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: "rls_bypass_\(kind)") { database in
            let (_, conninfo) = try Self.load(database, bypass: true)
            let admin = try database.connect()
            let folder = ArchiveTests.scratch("rls-bypass-\(kind)")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try writePlan("steps:\n\(Self.plan(kind, folder: folder))\n")
            let connection = try Connection(conninfo)
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder + "/snapshots")
            // `hidden` is not empty to a role that reads every row: without an archive of its
            // rows it stays, which is drop_table's ordinary answer.
            #expect(report.outcome == (kind == "drop_table" ? .blocked : .ok), "\(RunReportText(report).text)")
            func count(_ sql: SQL) throws -> Int { try admin.scalar(sql, as: Int.self) ?? -1 }
            switch kind {
            case "archive_table":
                #expect(try count("SELECT count(*) FROM pg_class WHERE relname = 'items'") == 0)
                let archived = ArchiveStore(directory: folder).archives(of: ObjectName(schema: "public", name: "items"), database: database.name)
                #expect(archived.first?.manifest?.rows == Int64(Self.rows))
            case "drop_table":
                #expect(report.steps.first?.problems.first?.message.contains("hidden has 500 rows and no archive") == true, "\(RunReportText(report).text)")
                #expect(try count("SELECT count(*) FROM hidden") == 500)
            case "drop_table_unarchived":
                #expect(try count("SELECT count(*) FROM pg_class WHERE relname = 'items'") == 0)
            case "backfill":
                #expect(try count("SELECT count(*) FROM items WHERE note <> upper(note)") == 0)
            case "extract_json_fields":
                #expect(try count("SELECT count(*) FROM items WHERE color IS DISTINCT FROM payload ->> 'color'") == 0)
            case "normalize_uuid":
                #expect(try count("SELECT count(*) FROM items WHERE token IS NULL OR token <> md5(id::text)::uuid") == 0)
                #expect(try admin.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'token'", as: String.self) == "uuid")
            case "normalize_timestamps":
                #expect(try count("SELECT count(*) FROM items WHERE at IS NULL OR at <> timestamptz '2025-01-01 00:00+00' + id * interval '1 hour'") == 0)
            default: Issue.record("unknown kind \(kind)")
            }
        }
    }
}
