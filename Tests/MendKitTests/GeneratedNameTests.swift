@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Names pgmend makes up fit PostgreSQL's 63 bytes: the server would otherwise cut them
/// silently, and a step would look for a name that never exists and run again forever.
@Suite("Generated names within 63 bytes")
struct GeneratedNameTests {
    /// 60 bytes: the table name alone leaves no room for a suffix.
    static let longTable = "customer_subscription_billing_events_archive_for_auditors_xx"
    static let longColumn = "responsible_account_manager_user_identifier"

    @Test func aShortNameIsPostgreSQLsOwnAndALongOneIsCutWithAHash() {
        #expect(GeneratedName.make(["memories", "user_id"], suffix: "fkey") == "memories_user_id_fkey")
        let long = GeneratedName.make([Self.longTable, Self.longColumn], suffix: "fkey")
        #expect(long.utf8.count == 63, "\(long)")
        #expect(long.hasSuffix("_fkey") && long.hasPrefix(String(Self.longTable.prefix(40))))
        #expect(long == GeneratedName.make([Self.longTable, Self.longColumn], suffix: "fkey"), "deterministic")
        // Two names that differ only past the cut still differ.
        let other = GeneratedName.make([Self.longTable, Self.longColumn + "2"], suffix: "fkey")
        #expect(other != long && other.utf8.count == 63)
        // Cut on a character boundary: multibyte names stay valid UTF-8 and within 63 bytes.
        let wide = GeneratedName.make([String(repeating: "é", count: 40)], suffix: "pkey")
        #expect(wide.utf8.count <= 63 && wide.hasSuffix("_pkey") && wide.unicodeScalars.allSatisfy { $0 != "\u{FFFD}" })
        #expect(ExtractJSONFieldsStep.indexName(table: Self.longTable, column: Self.longColumn).utf8.count <= 63)
    }

    @Test func fixForeignKeysNamesItsConstraintAndIndexWithin63Bytes() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE TABLE public.users (id int PRIMARY KEY);
                CREATE TABLE public.\(ident: Self.longTable) (id int PRIMARY KEY, \(ident: Self.longColumn) int);
                INSERT INTO public.users VALUES (1);
                INSERT INTO public.\(raw: Self.longTable) VALUES (1, 1), (2, NULL);
                """)
            let step = try makeStep(
                "fix_foreign_keys: {references: [{from: \(Self.longTable).\(Self.longColumn), to: users.id, on_delete: cascade, index: true}]}")
            // Predicted names equal the catalog's, and a second assessment finds the step done.
            try applyAndCheckPrediction(step, on: connection)
            let names = try connection.query(
                """
                SELECT conname::text FROM pg_constraint WHERE conrelid = 'public.\(raw: Self.longTable)'::regclass AND contype = 'f'
                UNION ALL SELECT relname::text FROM pg_class WHERE relname LIKE '%_idx' AND relnamespace = 'public'::regnamespace
                """
            ).map { try $0.get(0, as: String.self) }.sorted()
            let expected = [GeneratedName.make([Self.longTable, Self.longColumn], suffix: "fkey"), GeneratedName.make([Self.longTable, Self.longColumn], suffix: "idx")].sorted()
            #expect(names == expected)
        }
    }

    @Test func createTableSpellsTheNamesItWouldOtherwiseLeaveToTheServer() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE public.users (id int PRIMARY KEY)")
            let table = Self.longTable + "_a"
            let step = try makeStep(
                """
                create_table: {name: \(table), columns: [\
                {name: id, type: bigint, identity: by_default, primary_key: true}, \
                {name: \(Self.longColumn), type: int, unique: true, check: '\(Self.longColumn) > 0', references: users.id}, \
                {name: other_long_column_name_for_the_unique_set, type: int}], \
                unique: [[\(Self.longColumn), other_long_column_name_for_the_unique_set]], \
                indexes: [{columns: [other_long_column_name_for_the_unique_set]}]}
                """)
            try applyAndCheckPrediction(step, on: connection)
            let names = try connection.query(
                """
                SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass(\(bind: "public." + SQLIdentifier(table).quoted))
                UNION ALL SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('i', 'S')
                  AND c.relname LIKE 'customer%'
                """
            ).map { try $0.get(0, as: String.self) }
            #expect(names.count == 10, "\(names)")
            #expect(names.allSatisfy { $0.utf8.count <= 63 && $0.contains("_") })
            #expect(names.contains(GeneratedName.make([table], suffix: "pkey")))
            #expect(names.contains(GeneratedName.make([table, "id"], suffix: "seq")))
            #expect(names.contains(GeneratedName.make([table, Self.longColumn, "other_long_column_name_for_the_unique_set"], suffix: "key")))
        }
    }
}
