import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The seed's shape: memories.user_id references users.id without the cascade the model
/// declares; api_keys.user_id is the UUID kept as text.
private let tables: SQL = """
    CREATE TABLE public.users (id int PRIMARY KEY, email text);
    CREATE TABLE public.memories (id int PRIMARY KEY, user_id int, content text);
    CREATE TABLE public.api_keys (id int PRIMARY KEY, user_id varchar(36));
    INSERT INTO public.users VALUES (1, 'a@example.com'), (2, 'b@example.com');
    INSERT INTO public.memories VALUES (10, 1, 'x'), (11, 2, 'y'), (12, 2, 'z'), (13, NULL, 'no owner');
    """

@Suite("fix_foreign_keys")
struct FixForeignKeysTests {
    @Test func replacesTheOldConstraintAndCascadeCascades() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables + "ALTER TABLE public.memories ADD CONSTRAINT memories_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id);")
            let step = try makeStep("fix_foreign_keys: {references: [{from: memories.user_id, to: users.id, on_delete: cascade, index: true}]}")
            try applyAndCheckPrediction(step, on: connection)
            let constraints = try connection.query(
                "SELECT conname::text, confdeltype::text, convalidated FROM pg_constraint WHERE conrelid = 'public.memories'::regclass AND contype = 'f'")
            #expect(constraints.count == 1, "the old constraint is gone")
            #expect(try constraints.first?.get(1, as: String.self) == "c")
            #expect(try constraints.first?.get(2, as: Bool.self) == true)
            #expect(try connection.scalar("SELECT to_regclass('public.memories_user_id_idx') IS NOT NULL", as: Bool.self) == true)
            try connection.execute("DELETE FROM public.users WHERE id = 2")
            #expect(try connection.scalar("SELECT count(*) FROM public.memories WHERE user_id = 2", as: Int.self) == 0)
            #expect(try connection.scalar("SELECT count(*) FROM public.memories", as: Int.self) == 2)
        }
    }

    /// Two references from one table: the prediction holds both changes (each reference was
    /// once predicted on the schema before the step, so the second replaced the first's table).
    @Test func twoReferencesFromOneTablePredictBoth() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables + """
                CREATE TABLE public.apps (id int PRIMARY KEY);
                INSERT INTO public.apps VALUES (1);
                ALTER TABLE public.memories ADD COLUMN app_id int DEFAULT 1;
                """)
            let step = try makeStep("""
                fix_foreign_keys: {references: [{from: memories.user_id, to: users.id, on_delete: cascade},
                                                {from: memories.app_id, to: apps.id, index: true}]}
                """)
            try applyAndCheckPrediction(step, on: connection)
        }
    }

    @Test func orphansBlockNamedByPrimaryKey() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables + "INSERT INTO public.memories VALUES (14, 7, 'gone'), (15, 8, 'gone too');")
            let step = try makeStep("fix_foreign_keys: {references: [{from: memories.user_id, to: users.id, on_delete: cascade}]}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .blocked(let problems) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected orphans to block")
                return
            }
            #expect(problems.map(\.description) == ["rows of memories whose user_id is in no row of users.id (2 rows: 14, 15)"])
        }
    }

    @Test func orphansNullClearsThemThenValidates() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables + "INSERT INTO public.memories VALUES (14, 7, 'gone');")
            let step = try makeStep("fix_foreign_keys: {references: [{from: memories.user_id, to: users.id, on_delete: set_null}], orphans: 'null'}")
            // Setting values to NULL loses them from the table: the hazard says so, with the count.
            guard case .needed(let effects, _) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected needed")
                return
            }
            let clearing = try #require(effects.first { $0 is ResolveRowsUnderLock })
            #expect(clearing.hazards.contains(.deletesData) && clearing.deletesRows == 1, "\(clearing.hazards)")
            try applyAndCheckPrediction(step, on: connection)
            #expect(try connection.scalar("SELECT user_id IS NULL FROM public.memories WHERE id = 14", as: Bool.self) == true)
            #expect(try connection.scalar("SELECT user_id FROM public.memories WHERE id = 10", as: Int.self) == 1)
        }
    }

    @Test func orphansNullReadsTheSameQuotedOrNot() throws {
        for text in ["orphans: null", "orphans: 'null'", "orphans: ~"] {
            let step = try #require(try makeStep("fix_foreign_keys: {references: [{from: memories.user_id, to: users.id}], \(text)}") as? FixForeignKeysStep)
            #expect(step.orphans == .null, "\(text)")
        }
        let step = try #require(try makeStep("fix_foreign_keys: {references: [{from: memories.user_id, to: users.id}]}") as? FixForeignKeysStep)
        #expect(step.orphans == .fail)
        let delete = try #require(try makeStep("fix_foreign_keys: {references: [{from: memories.user_id, to: users.id}], orphans: delete}") as? FixForeignKeysStep)
        #expect(delete.orphans == .delete && delete.archiveFolder == "Snapshots/archive")
        #expect(throws: (any Error).self) { try makeStep("fix_foreign_keys: {references: [{from: memories.user_id, to: users.id}], orphans: drop}") }
        // An archive folder without anything to archive is a mistake in the plan.
        #expect(throws: (any Error).self) { try makeStep("fix_foreign_keys: {references: [{from: memories.user_id, to: users.id}], archive_to: /tmp/x}") }
    }

    @Test func orphansDeleteArchivesThemVerifiedThenDeletes() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-orphans-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try connection.execute(tables + "INSERT INTO public.memories VALUES (14, 7, 'gone'), (15, 8, 'gone too');")
            let step = try makeStep("fix_foreign_keys: {references: [{from: memories.user_id, to: users.id, on_delete: cascade}], orphans: delete, archive_to: '\(folder)'}")
            try applyAndCheckPrediction(step, on: connection)
            let kept = try connection.query("SELECT id FROM public.memories ORDER BY id").map { try $0.get(0, as: Int.self) }
            #expect(kept == [10, 11, 12, 13], "the orphans went, the row without an owner (NULL) stayed")
            let store = ArchiveStore(directory: folder)
            let entries = store.rowArchives(of: ObjectName(parsing: "memories"), database: database.name)
            #expect(entries.count == 1)
            #expect(store.archives(of: ObjectName(parsing: "memories"), database: database.name).isEmpty, "a row archive is not the table's")
            let entry = try #require(entries.first)
            let manifest = try ArchiveVerifier.verify(directory: entry.path)
            #expect(manifest.rows == 2)
            #expect(manifest.selection == "orphans of memories.user_id: rows whose value is in no row of users.id")
            #expect(entry.path.contains("/memories-orphans-"), "\(entry.path)")
            // The fingerprint proves the rows; restored beside the table, they are the orphans.
            try ArchiveVerifier.verifyFingerprint(directory: entry.path, against: manifest, on: connection)
            _ = try ArchiveRestorer(connection: connection).restore(directory: entry.path, as: "memories_orphans")
            let restored = try connection.query("SELECT id, user_id, content FROM public.memories_orphans ORDER BY id")
                .map { "\(try $0.get(0, as: Int.self)) \(try $0.get(1, as: Int.self)) \(try $0.get(2, as: String.self))" }
            #expect(restored == ["14 7 gone", "15 8 gone too"])
        }
    }

    @Test func orphansDeleteBlocksWhenDeletesWouldCascadeFurther() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables + """
                INSERT INTO public.memories VALUES (14, 7, 'gone');
                CREATE TABLE public.memory_logs (id int PRIMARY KEY, memory_id int REFERENCES public.memories ON DELETE CASCADE);
                INSERT INTO public.memory_logs VALUES (1, 14);
                """)
            let step = try makeStep("fix_foreign_keys: {references: [{from: memories.user_id, to: users.id}], orphans: delete}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .blocked(let problems) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected the cascade to block")
                return
            }
            #expect(problems.first?.message.contains("memory_logs memory_logs_memory_id_fkey (ON DELETE CASCADE)") == true, "\(problems)")
        }
    }

    @Test func typeMismatchPointsToNormalizeUUID() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables)
            let step = try makeStep("fix_foreign_keys: {references: [{from: api_keys.user_id, to: users.id}]}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .blocked(let problems) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected the type mismatch to block")
                return
            }
            #expect(problems.first?.message.contains("normalize_uuid") == true, "\(problems)")
        }
    }

    @Test func severalColumnsReferenceAUniqueConstraintInOrder() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-orphans-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try connection.execute(
                """
                CREATE TABLE public.products (id int PRIMARY KEY, shop_id int NOT NULL, sku text NOT NULL, UNIQUE (sku, shop_id));
                CREATE TABLE public.orders (id int PRIMARY KEY, shop_id int, sku text);
                INSERT INTO public.products VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'a');
                -- 13: shop 2 has no 'b'; 14: a NULL in one column references nothing (MATCH SIMPLE).
                INSERT INTO public.orders VALUES (10, 1, 'a'), (11, 1, 'b'), (12, 2, 'a'), (13, 2, 'b'), (14, 9, NULL);
                """)
            let step = try makeStep(
                "fix_foreign_keys: {references: [{from: [orders.shop_id, orders.sku], to: [products.shop_id, products.sku], on_delete: cascade, index: true}], orphans: delete, archive_to: '\(folder)'}")
            let blocked = try makeStep("fix_foreign_keys: {references: [{from: [orders.shop_id, orders.sku], to: [products.shop_id, products.sku]}]}")
            guard case .blocked(let problems) = try blocked.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("expected the orphan to block")
                return
            }
            #expect(problems.map(\.description) == ["rows of orders whose (shop_id, sku) is in no row of products.(shop_id, sku) (1 row: 13)"])

            try applyAndCheckPrediction(step, on: connection)
            #expect(try connection.query("SELECT id FROM public.orders ORDER BY id").map { try $0.get(0, as: Int.self) } == [10, 11, 12, 14])
            #expect(try connection.scalar(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'orders_shop_id_sku_fkey'", as: String.self)
                == "FOREIGN KEY (shop_id, sku) REFERENCES products(shop_id, sku) ON DELETE CASCADE")
            #expect(try connection.scalar("SELECT to_regclass('public.orders_shop_id_sku_idx') IS NOT NULL", as: Bool.self) == true)
            let archive = try #require(ArchiveStore(directory: folder).rowArchives(of: ObjectName(parsing: "orders"), database: database.name).first)
            #expect(archive.manifest?.rows == 1)
            try connection.execute("DELETE FROM public.products WHERE id = 1")
            #expect(try connection.query("SELECT id FROM public.orders ORDER BY id").map { try $0.get(0, as: Int.self) } == [11, 12, 14],
                "the cascade matched both columns: only (1, 'a') went")
        }
    }

    @Test func severalColumnsAreCheckedWhenThePlanIsRead() throws {
        let step = try #require(try makeStep("fix_foreign_keys: {references: [{from: [orders.a, orders.b], to: [items.x, items.y]}]}") as? FixForeignKeysStep)
        #expect(step.references.first?.columns == ["a", "b"] && step.references.first?.targetColumns == ["x", "y"])
        for (yaml, message) in [
            ("{from: [orders.a, orders.b], to: items.x}", "from names 2 columns and to 1: they pair in order"),
            ("{from: [orders.a, lines.b], to: [items.x, items.y]}", "the columns of 'from' must all be of one table, not lines and orders"),
            ("{from: [orders.a, orders.a], to: [items.x, items.y]}", "'from' names a column twice"),
        ] {
            #expect(throws: (any Error).self, "\(message)") { try makeStep("fix_foreign_keys: {references: [\(yaml)]}") }
            do {
                _ = try makeStep("fix_foreign_keys: {references: [\(yaml)]}")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }
}
