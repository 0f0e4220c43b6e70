import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// A dry run changes nothing, whatever a plan holds. Every option that reaches SQL is given
/// text that would change the database if it ran as more than what pgmend means it to be
/// (an expression, a type, a name, a label); the schema, the data and a sequence are compared
/// before and after. Text that is not one expression is refused when the plan is loaded
/// (`Fixtures/plans/invalid/expression-not-one-expression.yaml`); what is left here loads.
@Suite("Hostile plan text in a dry run")
struct HostilePlanTests {
    static let setup: SQL = """
        SET search_path = public;
        CREATE TABLE users (id int PRIMARY KEY, email text, status text);
        INSERT INTO users SELECT g, 'u' || g || '@example.com', 'active' FROM generate_series(1, 50) g;
        CREATE SEQUENCE tickets;
        -- Volatile functions with side effects: what a hostile expression would call.
        CREATE FUNCTION wipe() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.users; RETURN true; END $$;
        CREATE FUNCTION wipe_text() RETURNS text LANGUAGE plpgsql AS $$ BEGIN DELETE FROM public.users; RETURN 'x'; END $$;
        CREATE FUNCTION drop_users() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN DROP TABLE public.users; RETURN true; END $$;
        """

    /// Steps whose options reach SQL, each with hostile text that passes plan loading.
    static let hostileSteps: [String] = [
        "add_check: {table: users, name: c1, expression: \"public.wipe()\"}",
        "add_check: {table: users, name: c2, expression: \"(SELECT public.drop_users())\"}",
        "add_check: {table: users, name: c3, expression: \"nextval('public.tickets') > 0\"}",
        "add_check: {table: users, name: c4, expression: \"status <> 'x' -- ) NOT VALID; DROP TABLE users\"}",
        "create_table: {name: goals, columns: [{name: id, type: int, primary_key: true}, {name: t, type: text, default: \"public.wipe_text()\", check: \"public.wipe()\"}]}",
        "create_table: {name: goals2, columns: [{name: id, type: \"int[]\", default: \"ARRAY[nextval('public.tickets')]::int[]\"}]}",
        "sql: {run: \"DROP TABLE users\", done_when: \"SELECT public.drop_users()\"}",
        "sql: {run: \"DROP TABLE users\", done_when: \"WITH gone AS (DELETE FROM users RETURNING 1) SELECT count(*) = 0 FROM gone\"}",
        "sql: {run: \"DROP TABLE users\", done_when: \"SELECT false\"}",
        "to_enum: {table: users, column: status, type: user_status, labels: [\"active\", \"x'); DROP TABLE users; --\"]}",
        "rename_table: {from: users, to: \"x\\\"; DROP TABLE users; --\"}",
        "archive_table: {table: users, to: /tmp/pgmend-hostile-never-written}",
        "drop_table: {table: users, require_archive: false}",
    ]

    /// The database as far as a plan could change it: schema, data, the sequence's position.
    static func state(_ connection: Connection) throws -> (Snapshot, Int64?, Bool) {
        let snapshot = try SnapshotTaker(connection: connection).take(includeData: true)
        let sequence = try connection.scalar("SELECT last_value FROM public.tickets", as: Int64.self)
        let called = try connection.scalar("SELECT is_called FROM public.tickets", as: Bool.self) ?? true
        return (snapshot, sequence, called)
    }

    @Test(arguments: Array(hostileSteps.indices))
    func aDryRunOfHostileTextChangesNothing(_ index: Int) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: "hostile_\(index)") { database in
            let connection = try database.connect()
            try connection.execute(Self.setup)
            let before = try Self.state(connection)
            let plan = try writePlan("steps:\n  - \(Self.hostileSteps[index])\n")
            // Whether it reports, blocks or fails does not matter here; what it changed does.
            _ = try? Runner(connection: connection, plan: plan).dryRun()
            let checker = try database.connect()
            let after = try Self.state(checker)
            #expect(after.0.schema == before.0.schema, "step \(Self.hostileSteps[index]) changed the schema")
            #expect(after.0.data == before.0.data, "step \(Self.hostileSteps[index]) changed the data")
            #expect(after.1 == before.1 && after.2 == before.2, "step \(Self.hostileSteps[index]) moved the sequence")
            #expect(try checker.scalar("SELECT count(*) FROM public.users", as: Int.self) == 50)
        }
    }

    @Test func textThatIsNotOneExpressionNeverReachesTheServer() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.setup)
            let probe = Probe(connection: connection)
            let users = try CatalogReader(connection: connection).readSchema().tables["public.users"]
            let columns = try #require(users?.columns)
            #expect(throws: PostgresError.self) {
                try probe.canonicalForms(columns: columns, checks: [("c", "true) NOT VALID; COMMIT; DROP TABLE users CASCADE; --")], defaults: [])
            }
            #expect(throws: PostgresError.self) {
                try probe.canonicalForms(columns: columns, checks: [], defaults: [("status", "'x'; DROP TABLE users")])
            }
            #expect(throws: PostgresError.self) { try probe.canonicalType("int; DROP TABLE users") }
            #expect(throws: PostgresError.self) { try probe.canonicalType("int, public.wipe()") }
            #expect(try connection.scalar("SELECT count(*) FROM public.users", as: Int.self) == 50)
        }
    }
}
