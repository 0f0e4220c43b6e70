import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The seed's shape: apps.id is varchar(36), referenced by memories.app_id (a foreign-key
/// pair), api_keys.user_id is UUID text without a key, one of its values not a UUID.
private let tables: SQL = """
    SET search_path = public;
    CREATE TABLE public.apps (id varchar(40) PRIMARY KEY, name text NOT NULL);
    CREATE TABLE public.memories (id int PRIMARY KEY, app_id varchar(40) REFERENCES public.apps (id) ON DELETE CASCADE, content text);
    CREATE INDEX memories_app_id_idx ON public.memories (app_id);
    CREATE TABLE public.api_keys (id int PRIMARY KEY, user_id varchar(36));
    INSERT INTO public.apps VALUES
        ('8440a8a2-aa0f-88be-9509-f1edcdbe7b44', 'lower'),
        ('ACE82018-0CDB-AA3F-AC99-AC4D2CC0D36B', 'upper'),
        ('{62e8f294-c4a0-4754-e6e3-4590cb20754c}', 'braces'),
        ('ddf7b0efeac66070344cdf888cf3f1e9', 'no hyphens');
    INSERT INTO public.memories VALUES
        (1, '8440a8a2-aa0f-88be-9509-f1edcdbe7b44', 'a'), (2, 'ACE82018-0CDB-AA3F-AC99-AC4D2CC0D36B', 'b'),
        (3, 'ddf7b0efeac66070344cdf888cf3f1e9', 'c'), (4, NULL, 'd');
    INSERT INTO public.api_keys VALUES (1, '8440a8a2-aa0f-88be-9509-f1edcdbe7b44'), (7, 'legacy-admin'), (8, ''), (9, NULL);
    """

@Suite("normalize_uuid")
struct NormalizeUUIDTests {
    @Test func foreignKeyPairConvertsTogetherValidatedAndValuesEqualTheirOldTextLowerCased() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables + "CREATE TABLE public.old_apps AS SELECT id, name FROM public.apps; CREATE TABLE public.old_memories AS SELECT id, app_id FROM public.memories;")
            // Only apps.id is named: memories.app_id goes with it by its foreign key.
            let step = try makeStep("normalize_uuid: {columns: [apps.id]}")
            try applyAndCheckPrediction(step, on: connection)
            let types = try connection.query(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid IN ('public.apps'::regclass, 'public.memories'::regclass) AND attname IN ('id', 'app_id') AND attrelid::regclass::text || attname <> 'memoriesid'")
            #expect(try types.map { try $0.get(0, as: String.self) } == ["uuid", "uuid"])
            let key = try connection.query(
                "SELECT convalidated, confdeltype::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'public.memories'::regclass AND contype = 'f'")
            #expect(key.count == 1)
            #expect(try key.first?.get(0, as: Bool.self) == true, "validated")
            #expect(try key.first?.get(1, as: String.self) == "c", "ON DELETE CASCADE kept")
            #expect(try connection.scalar("SELECT count(*) FROM public.apps a JOIN public.old_apps o USING (name) WHERE a.id::text <> lower(replace(replace(replace(o.id, '-', ''), '{', ''), '}', ''))::uuid::text", as: Int.self) == 0)
            #expect(try connection.scalar("SELECT count(*) FROM public.memories m JOIN public.old_memories o USING (id) WHERE m.app_id IS DISTINCT FROM o.app_id::uuid", as: Int.self) == 0)
            #expect(try connection.scalar("SELECT to_regclass('public.memories_app_id_idx') IS NOT NULL", as: Bool.self) == true, "the index survives")
            // The key references the new type: a child of an unknown app is refused.
            #expect(throws: PostgresError.self) { try connection.execute("INSERT INTO public.memories VALUES (9, gen_random_uuid(), 'x')") }
        }
    }

    @Test func normalisedFormsAreCountedInTheDryRun() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables)
            let step = try makeStep("normalize_uuid: {columns: [apps.id]}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .needed(let effects, _) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected needed")
                return
            }
            let summary = effects.first?.summary ?? ""
            #expect(summary.contains("3 values of apps.id will be normalised"), "\(summary)")
            #expect(summary.contains("2 values of memories.app_id will be normalised"), "\(summary)")
            #expect(summary.contains("memories.app_id joins by foreign key"), "\(summary)")
            #expect(effects.first?.hazards == [.accessExclusiveLock, .tableRewrite])
            #expect(effects.count == 2, "the change, then VALIDATE")
        }
    }

    @Test func nonUUIDValueBlocksNamingTheRows() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables)
            let step = try makeStep("normalize_uuid: {auto: true}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .blocked(let problems) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected blocked")
                return
            }
            #expect(problems.map(\.description) == ["values of api_keys.user_id that are not UUIDs (2 rows: 7, 8)"])
        }
    }

    @Test func autoConvertsTheUUIDColumnsAndLeavesOthers() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables + "CREATE TABLE public.customers (id int PRIMARY KEY, stripe_id text); INSERT INTO public.customers VALUES (1, 'cus_123');")
            let step = try makeStep("normalize_uuid: {auto: true, exclude: [api_keys.user_id]}")
            try applyAndCheckPrediction(step, on: connection)
            let converted = try connection.query(
                "SELECT attrelid::regclass::text || '.' || attname FROM pg_attribute JOIN pg_class c ON c.oid = attrelid AND c.relkind = 'r' WHERE atttypid = 'uuid'::regtype AND attrelid::regclass::text NOT LIKE 'pg_%' ORDER BY 1"
            ).map { try $0.get(0, as: String.self) }
            #expect(converted == ["apps.id", "memories.app_id"])
        }
    }

    @Test func onInvalidNullSetsAsideTheValuesThenClearsThem() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables)
            // One of api_keys.user_id's three values is a UUID: named with its own options.
            let step = try makeStep("normalize_uuid: {columns: [api_keys.user_id: {on_invalid: null, expect_invalid: 2}]}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .needed(let effects, _) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected needed")
                return
            }
            let change = try #require(effects.first as? AlterColumnTypes)
            #expect(change.setAside.count == 1)
            #expect(change.hazards == [.accessExclusiveLock, .tableRewrite, .deletesData] && change.deletesRows == 2)
            try applyAndCheckPrediction(step, on: connection)
            #expect(try connection.scalar("SELECT count(*) FROM public.api_keys WHERE user_id IS NULL", as: Int.self) == 3)
            #expect(try connection.scalar("SELECT user_id::text FROM public.api_keys WHERE id = 1", as: String.self) == "8440a8a2-aa0f-88be-9509-f1edcdbe7b44")
        }
    }

    @Test func viewsBlockUnlessRecreatedThenKeepGrantsOwnerAndComment() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(tables + """
                DO $$ BEGIN CREATE ROLE pgmend_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
                DO $$ BEGIN CREATE ROLE pgmend_view_owner; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
                CREATE VIEW public.app_memories WITH (security_barrier = true) AS
                    SELECT a.id, a.name, m.content FROM public.apps a JOIN public.memories m ON m.app_id = a.id;
                CREATE VIEW public.app_names AS SELECT app_memories.id, app_memories.name FROM public.app_memories;
                GRANT SELECT ON public.app_memories TO pgmend_reader;
                GRANT SELECT, INSERT ON public.app_names TO pgmend_reader WITH GRANT OPTION;
                GRANT SELECT ON public.app_names TO PUBLIC;
                ALTER VIEW public.app_memories OWNER TO pgmend_view_owner;
                COMMENT ON VIEW public.app_memories IS 'memories with their app';
                COMMENT ON COLUMN public.app_memories.content IS 'what was remembered';
                """)
            let blocked = try makeStep("normalize_uuid: {columns: [apps.id]}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .blocked(let problems) = try blocked.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected views to block")
                return
            }
            #expect(problems.first?.message.contains("app_memories, app_names") == true, "\(problems)")

            let facts: SQL = """
                SELECT c.relname::text, pg_get_userbyid(c.relowner)::text, coalesce(obj_description(c.oid, 'pg_class'), ''),
                       coalesce(array_to_string(c.reloptions, ','), ''),
                       coalesce((SELECT string_agg(x.grantee::regrole::text || ':' || x.privilege_type || ':' || x.is_grantable, ',' ORDER BY x.grantee::regrole::text, x.privilege_type)
                                 FROM aclexplode(c.relacl) x), ''),
                       coalesce(col_description(c.oid, 3), ''), pg_get_viewdef(c.oid)
                FROM pg_class c WHERE c.relname IN ('app_memories', 'app_names') ORDER BY 1
                """
            let before = try connection.query(facts).map { row in try (0..<7).map { try row.get(.index($0), as: String.self) } }
            let step = try makeStep("normalize_uuid: {columns: [apps.id], recreate_views: true}")
            try applyAndCheckPrediction(step, on: connection)
            let after = try connection.query(facts).map { row in try (0..<7).map { try row.get(.index($0), as: String.self) } }
            #expect(after == before)
            #expect(try connection.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.app_names'::regclass AND attname = 'id'", as: String.self) == "uuid")
        }
    }

    @Test func aDefaultThatIsNoUUIDBlocks() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.t (id text PRIMARY KEY DEFAULT gen_random_uuid()::text, other_id text DEFAULT 'none');
                INSERT INTO public.t (id, other_id) VALUES ('8440a8a2-aa0f-88be-9509-f1edcdbe7b44', '8440a8a2-aa0f-88be-9509-f1edcdbe7b44');
                """)
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .blocked(let problems) = try makeStep("normalize_uuid: {columns: [t.other_id]}").assess(schema, Probe(connection: connection)) else {
                Issue.record("expected the default to block")
                return
            }
            #expect(problems.first?.message.contains("default") == true, "\(problems)")
            try applyAndCheckPrediction(try makeStep("normalize_uuid: {columns: [t.id]}"), on: connection)
            #expect(try connection.scalar("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'public.t'::regclass AND adnum = 1", as: String.self) == "gen_random_uuid()")
        }
    }

    @Test func onlineIsAcceptedWithOnInvalidNullToo() throws {
        let step = try makeStep("normalize_uuid: {columns: [apps.id], method: online}")
        #expect(step.settings.contains { $0.name == "method" && $0.value == "online" })
        let nulling = try makeStep("normalize_uuid: {auto: true, on_invalid: \"null\", method: online}")
        #expect(nulling.settings.contains { $0.name == "on_invalid" && $0.value == "null" })
        #expect(throws: (any Error).self) { try makeStep("normalize_uuid: {columns: [apps.id], method: later}") }
    }

    /// A column of other identifiers with on_invalid: null would lose every value: fewer than
    /// half its values are UUIDs, so it is "not a UUID column" until the plan names it with its
    /// own on_invalid: null and an expect_invalid of at least what it would clear; then the
    /// change carries deletes_data with that count.
    @Test func aColumnOfOtherIdentifiersIsNotAUUIDColumn() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE TABLE public.users (id int PRIMARY KEY, stripe_customer_id text);
                INSERT INTO public.users SELECT g, 'cus_' || g FROM generate_series(1, 12) g;
                INSERT INTO public.users VALUES (13, NULL), (14, md5('x')::uuid::text);
                """)
            func assess(_ yaml: String) throws -> Assessment {
                try makeStep(yaml).assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection))
            }
            for yaml in [
                "normalize_uuid: {columns: [users.stripe_customer_id], on_invalid: null}",
                "normalize_uuid: {columns: [users.stripe_customer_id: {on_invalid: null}]}",
                "normalize_uuid: {columns: [users.stripe_customer_id: {on_invalid: null, expect_invalid: 11}]}",
                "normalize_uuid: {auto: true, on_invalid: null}",
            ] {
                guard case .blocked(let problems) = try assess(yaml) else {
                    Issue.record("\(yaml): expected blocked")
                    continue
                }
                #expect(problems.map(\.message) == [
                    "users.stripe_customer_id is not a UUID column: 1 of its 13 values are UUIDs; to convert it and set the other 12 to NULL, name it under columns as users.stripe_customer_id: {on_invalid: \"null\", expect_invalid: 12}"
                ], "\(yaml)")
                #expect(problems.first?.count == 12 && problems.first?.sample.prefix(2) == ["1", "2"])
            }
            guard case .needed(let effects, _) = try assess("normalize_uuid: {columns: [users.stripe_customer_id: {on_invalid: null, expect_invalid: 12}]}") else {
                Issue.record("expected needed once acknowledged")
                return
            }
            let change = try #require(effects.first as? AlterColumnTypes)
            #expect(change.hazards.contains(.deletesData) && change.deletesRows == 12)
            try applyAndCheckPrediction(try makeStep("normalize_uuid: {columns: [users.stripe_customer_id: {on_invalid: \"null\", expect_invalid: 20}]}"), on: connection)
            #expect(try connection.scalar("SELECT count(stripe_customer_id) FROM public.users", as: Int.self) == 1)
        }
    }

    @Test func expectInvalidIsCheckedWhereItIsWritten() throws {
        let yaml = "normalize_uuid: {columns: [users.ref: {expect_invalid: 3}, users.other: {on_invalid: null, expect_invalid: many, typo: 1}]}"
        do {
            _ = try makeStep(yaml)
            Issue.record("expected plan problems")
        } catch let error as PlanError {
            #expect(error.problems.map(\.description) == [
                "t.yaml:3:43: expect_invalid of users.ref in normalize_uuid needs on_invalid: \"null\" (for the column or the step): with fail, a value that is not a UUID blocks the step",
                "t.yaml:3:112: option 'expect_invalid' of column users.other of normalize_uuid must be a whole number, not text",
                "t.yaml:3:118: unknown option 'typo' for column users.other of normalize_uuid",
            ])
        }
    }
}
