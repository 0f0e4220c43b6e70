@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `method: online` builds a copy of every index on a converted column on its shadow column,
/// then swaps it in. A key of the copy has the collation and the operator class of the
/// original, written so that the server finds them: quoted, with their schema (issue 20, bug 1:
/// `COLLATE C` and an operator class of another schema written bare made the build fail).
@Suite("method: online copies an index's collations and operator classes")
struct OnlineIndexCopyTests {
    /// An operator class in a schema of its own, with a name that needs quoting: a copy of
    /// `text_pattern_ops` (creating one needs superuser; the test cluster's role is).
    static let patternClass: SQL = """
        CREATE SCHEMA "Ops";
        CREATE OPERATOR CLASS "Ops"."Pattern_ops" FOR TYPE text USING btree AS
            OPERATOR 1 ~<~, OPERATOR 2 ~<=~, OPERATOR 3 =, OPERATOR 4 ~>=~, OPERATOR 5 ~>~,
            FUNCTION 1 bttext_pattern_cmp(text, text);
        """

    static func indexDefinitions(_ connection: Connection) throws -> [String] {
        try connection.query(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'public.t'::regclass ORDER BY 1"
        ).map { try $0.get(0, as: String.self) }
    }

    /// Applies `step` (its prediction checked) and expects every index of `public.t` as it was.
    static func expectIndexesRebuiltAsTheyWere(_ step: String, setup: SQL) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(setup)
            let before = try indexDefinitions(connection)
            try applyAndCheckPrediction(try makeStep(step), on: connection)
            #expect(try indexDefinitions(connection) == before)
        }
    }

    @Test func normalizeUUIDOnlineRebuildsIndexesWithACollationAndAnOperatorClassOfAnotherSchema() throws {
        try Self.expectIndexesRebuiltAsTheyWere("normalize_uuid: {columns: [t.app_uuid], method: online}", setup: Self.patternClass + """
            CREATE TABLE public.t (id int PRIMARY KEY, app_uuid text NOT NULL, name text NOT NULL);
            CREATE INDEX t_app_name_c_idx ON public.t (app_uuid, name COLLATE "C");
            CREATE INDEX t_app_name_pattern_idx ON public.t (app_uuid, name "Ops"."Pattern_ops" DESC);
            INSERT INTO public.t SELECT g, upper(md5(g::text)::uuid::text), 'n' || g FROM generate_series(1, 100) g;
            """)
    }

    @Test func normalizeTimestampsOnlineRebuildsIndexesWithACollationAndAnOperatorClassOfAnotherSchema() throws {
        try Self.expectIndexesRebuiltAsTheyWere(
            "normalize_timestamps: {columns: [t.created_at], assume_time_zone: UTC, method: online}", setup: Self.patternClass + """
            CREATE TABLE public.t (id int PRIMARY KEY, created_at timestamp NOT NULL, name text NOT NULL);
            CREATE INDEX t_created_name_c_idx ON public.t (created_at, name COLLATE "C") INCLUDE (id);
            CREATE INDEX t_created_name_pattern_idx ON public.t (name "Ops"."Pattern_ops", created_at);
            INSERT INTO public.t SELECT g, timestamp '2024-01-01' + g * interval '1 hour', 'n' || g FROM generate_series(1, 100) g;
            """)
    }
}
