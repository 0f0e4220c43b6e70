import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// One database with every case the rules distinguish, one table per case, so a single plan
/// over several tables is exercised too.
private let cases: SQL = """
    CREATE TABLE public.exact (a int, b int);
    CREATE INDEX exact_a_1 ON public.exact (a);
    CREATE INDEX exact_a_2 ON public.exact (a);
    CREATE TABLE public.constrained (id int PRIMARY KEY, email text CONSTRAINT constrained_email_key UNIQUE);
    CREATE INDEX constrained_email_plain ON public.constrained (email);
    CREATE INDEX constrained_id_plain ON public.constrained (id);
    CREATE TABLE public.prefix (a int, b int);
    CREATE INDEX prefix_a ON public.prefix (a);
    CREATE INDEX prefix_a_b ON public.prefix (a, b);
    CREATE TABLE public.unique_prefix (a int, b int);
    CREATE UNIQUE INDEX unique_prefix_a ON public.unique_prefix (a);
    CREATE INDEX unique_prefix_a_b ON public.unique_prefix (a, b);
    CREATE TABLE public.partial (a int);
    CREATE INDEX partial_a ON public.partial (a);
    CREATE INDEX partial_a_positive ON public.partial (a) WHERE a > 0;
    CREATE TABLE public.ordered (a int);
    CREATE INDEX ordered_a ON public.ordered (a);
    CREATE INDEX ordered_a_desc ON public.ordered (a DESC);
    CREATE TABLE public.opclass (t text);
    CREATE INDEX opclass_t ON public.opclass (t);
    CREATE INDEX opclass_t_pattern ON public.opclass (t text_pattern_ops);
    CREATE TABLE public.expressions (e text);
    CREATE INDEX expressions_lower_1 ON public.expressions (lower(e));
    CREATE INDEX expressions_lower_2 ON public.expressions (lower(e));
    CREATE INDEX expressions_upper ON public.expressions (upper(e));
    CREATE TABLE public.covering (a int, b int);
    CREATE INDEX covering_a ON public.covering (a);
    CREATE INDEX covering_a_incl_b_1 ON public.covering (a) INCLUDE (b);
    CREATE INDEX covering_a_incl_b_2 ON public.covering (a) INCLUDE (b);
    CREATE TABLE public.invalid (a int);
    CREATE INDEX invalid_a_valid ON public.invalid (a);
    CREATE UNIQUE INDEX invalid_a_broken ON public.invalid (a);
    UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'public.invalid_a_broken'::regclass;
    CREATE TABLE public.replicated (code int NOT NULL);
    CREATE UNIQUE INDEX replicated_code_1 ON public.replicated (code);
    CREATE UNIQUE INDEX replicated_code_identity ON public.replicated (code);
    ALTER TABLE public.replicated REPLICA IDENTITY USING INDEX replicated_code_identity;
    CREATE TABLE public.clustered (a int);
    CREATE INDEX clustered_a_1 ON public.clustered (a);
    CREATE INDEX clustered_a_order ON public.clustered (a);
    ALTER TABLE public.clustered CLUSTER ON clustered_a_order;
    CREATE TABLE public.referenced (code int NOT NULL);
    CREATE UNIQUE INDEX referenced_code_used ON public.referenced (code);
    CREATE TABLE public.referencing (code int REFERENCES public.referenced (code));
    CREATE UNIQUE INDEX ix_referenced_code ON public.referenced (code);
    CREATE TABLE public.parted (a int, b int) PARTITION BY RANGE (a);
    CREATE TABLE public.parted_1 PARTITION OF public.parted FOR VALUES FROM (0) TO (10);
    CREATE INDEX parted_a_1 ON public.parted (a);
    CREATE INDEX parted_a_2 ON public.parted (a);
    CREATE TABLE public.preferred (a int);
    CREATE INDEX preferred_a_old ON public.preferred (a);
    CREATE INDEX ix_preferred_a ON public.preferred (a);
    """

/// What the rules drop from `cases`, and why.
private let expectedDrops = [
    "constrained_email_plain": "duplicate of constrained_email_key (kept: it backs a constraint)",
    "constrained_id_plain": "duplicate of constrained_pkey (kept: it backs a constraint)",
    "covering_a_incl_b_2": "duplicate of covering_a_incl_b_1 (kept: it is older)",
    "exact_a_2": "duplicate of exact_a_1 (kept: it is older)",
    "expressions_lower_2": "duplicate of expressions_lower_1 (kept: it is older)",
    "invalid_a_broken": "duplicate of invalid_a_valid (kept: it is valid)",
    "prefix_a": "redundant: its keys lead prefix_a_b",
    "preferred_a_old": "duplicate of ix_preferred_a (kept: its name matches prefer)",
]

/// Pairs of indexes with the same keys that differ in one property each: the rule a unique
/// index enforces (NULLS NOT DISTINCT, DEFERRABLE), a collation the catalog reader prints as
/// the column's own, the access method. One table per pair.
private let ruleCases: SQL = """
    CREATE TABLE public.nulls (a int);
    CREATE UNIQUE INDEX nulls_a_plain ON public.nulls (a);
    CREATE UNIQUE INDEX nulls_a_not_distinct ON public.nulls (a) NULLS NOT DISTINCT;
    CREATE TABLE public.nulls_constraint (a int CONSTRAINT nulls_constraint_a_key UNIQUE);
    CREATE UNIQUE INDEX nulls_constraint_a_not_distinct ON public.nulls_constraint (a) NULLS NOT DISTINCT;
    CREATE TABLE public.deferred (a int CONSTRAINT deferred_a_key UNIQUE DEFERRABLE INITIALLY DEFERRED);
    CREATE UNIQUE INDEX deferred_a_immediate ON public.deferred (a);
    CREATE TABLE public.collated (s text COLLATE "und-x-icu", b int);
    CREATE INDEX collated_s ON public.collated (s);
    CREATE INDEX collated_s_default ON public.collated (s COLLATE "default");
    CREATE TABLE public.collated_prefix (s text COLLATE "und-x-icu", b int);
    CREATE INDEX collated_prefix_s ON public.collated_prefix (s);
    CREATE INDEX collated_prefix_s_default_b ON public.collated_prefix (s COLLATE "default", b);
    CREATE TABLE public.hashed (a int);
    CREATE INDEX hashed_a_btree ON public.hashed (a);
    CREATE INDEX hashed_a_hash ON public.hashed USING hash (a);
    """

@Suite("dedupe_indexes")
struct DedupeIndexesTests {
    static func drops(_ effects: [any Effect]) -> [String: String] {
        var drops: [String: String] = [:]
        for effect in effects {
            // "drop index NAME on TABLE: REASON; SIZE freed..."
            let text = effect.summary.dropFirst("drop index ".count)
            guard let space = text.firstIndex(of: " "), let colon = text.range(of: ": ") else { continue }
            let reason = text[colon.upperBound...].prefix { $0 != ";" }
            drops[String(text[..<space])] = String(reason)
        }
        return drops
    }

    @Test func dropsExactlyWhatTheRulesSayAndThenNothing() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(cases)
            let step = try makeStep("dedupe_indexes: {tables: all, prefer: 'ix_%'}")
            let probe = Probe(connection: connection)
            let before = try CatalogReader(connection: connection).readSchema()
            guard case .needed(let effects, _) = try step.assess(before, probe) else {
                Issue.record("expected the step to be needed")
                return
            }
            #expect(Self.drops(effects) == expectedDrops)
            // Look-alikes are named with what sets them apart.
            let text = effects.map(\.summary).joined(separator: "\n")
            for difference in ["partial_a and partial_a_positive (partial)", "ordered_a and ordered_a_desc (DESC)", "opclass_t and opclass_t_pattern (text_pattern_ops)"] {
                #expect(!text.contains(difference), "no table of \(difference) loses an index, so it shows in the satisfied reason only")
            }
            #expect(text.contains("covering_a and covering_a_incl_b_1 (INCLUDE)"))
            // The way back is in the statement the journal records.
            let exact = try #require(effects.first { $0.summary.hasPrefix("drop index exact_a_2 ") })
            #expect(exact.sql == """
                -- to put it back: CREATE INDEX CONCURRENTLY exact_a_2 ON public.exact USING btree (a);
                DROP INDEX CONCURRENTLY IF EXISTS "public"."exact_a_2"
                """)
            #expect(!exact.transactional)

            try applyAndCheckPrediction(step, on: connection)
            let left = try connection.query(
                "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('i', 'I') ORDER BY 1"
            ).map { try $0.get(0, as: String.self) }
            for name in expectedDrops.keys { #expect(!left.contains(name)) }
            for kept in ["unique_prefix_a", "partial_a_positive", "ordered_a_desc", "opclass_t_pattern", "expressions_upper", "covering_a",
                         "replicated_code_1", "replicated_code_identity", "clustered_a_1", "clustered_a_order", "ix_preferred_a",
                         "parted_a_1", "parted_a_2", "referenced_code_used", "ix_referenced_code"] {
                #expect(left.contains(kept), "\(kept) was dropped")
            }
            guard case .satisfied(let reason) = try step.assess(try CatalogReader(connection: connection).readSchema(), probe) else {
                Issue.record("a second assessment found more to do")
                return
            }
            #expect(reason.contains("ordered_a and ordered_a_desc (DESC)"))
            #expect(reason.contains("opclass_t and opclass_t_pattern (text_pattern_ops)"))
            #expect(reason.contains("partial_a and partial_a_positive (partial)"))
        }
    }

    @Test func optionsLimitWhatIsDropped() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(cases)
            let step = try makeStep("dedupe_indexes: {tables: [exact, prefix, preferred], include_redundant: false, keep: [exact_a_2]}")
            let before = try CatalogReader(connection: connection).readSchema(tables: step.scope)
            guard case .needed(let effects, _) = try step.assess(before, Probe(connection: connection)) else {
                Issue.record("expected the step to be needed")
                return
            }
            // Without prefer, the older one stays; exact_a_2 is kept by name; prefix_a is only redundant.
            #expect(Self.drops(effects) == ["ix_preferred_a": "duplicate of preferred_a_old (kept: it is older)"])
        }
    }

    /// The PostgreSQL wiki's duplicate-index query ("Index Maintenance"), written from its
    /// description: indexes of one table with equal indclass, indkey, indexprs and indpred.
    /// Every group it finds loses all but one member here, except where these rules are
    /// stricter (named in docs/steps.md): sort order and collation, which it does not compare,
    /// groups whose other members are protected (replica identity, cluster, a foreign key's
    /// unique index), partitioned tables and partitions; and it misses
    /// expression duplicates written in different statements, which these rules find.
    @Test func agreesWithTheWikiQueryExceptWhereStricter() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(cases)
            let groups = try connection.query(
                """
                SELECT array_agg(indexrelid::regclass::text ORDER BY indexrelid::regclass::text)
                FROM pg_index WHERE indrelid::regclass::text NOT LIKE 'pg_%'
                GROUP BY indrelid, indclass::text, indkey::text, coalesce(indexprs::text, ''), coalesce(indpred::text, '')
                HAVING count(*) > 1
                """
            ).map { try $0.get(0, as: [String].self) }
            let step = try makeStep("dedupe_indexes: {tables: all, include_redundant: false, prefer: 'ix_%'}")
            let before = try CatalogReader(connection: connection).readSchema()
            guard case .needed(let effects, _) = try step.assess(before, Probe(connection: connection)) else {
                Issue.record("expected the step to be needed")
                return
            }
            let dropped = Set(Self.drops(effects).keys)
            let stricter: Set<[String]> = [
                ["ordered_a", "ordered_a_desc"],
                ["replicated_code_1", "replicated_code_identity"],
                ["clustered_a_1", "clustered_a_order"],
                ["ix_referenced_code", "referenced_code_used"],
                ["parted_a_1", "parted_a_2"],
                ["parted_1_a_idx", "parted_1_a_idx1"],
            ]
            var flagged: Set<String> = []
            for group in groups {
                flagged.formUnion(group)
                let lost = group.filter(dropped.contains)
                if stricter.contains(group) {
                    #expect(lost.isEmpty, "\(group)")
                } else {
                    #expect(lost.count == group.count - 1, "the wiki flags \(group); dropped: \(lost)")
                }
            }
            // The stored expression tree carries the position of the expression in the
            // statement that created it, so the wiki's text comparison misses expression
            // indexes created by different statements; the deparsed expressions are equal.
            #expect(dropped.subtracting(flagged) == ["expressions_lower_2"])
        }
    }

    /// One index as pghero sees it: the text between the first and the last parenthesis of
    /// its definition, split into "columns" (so `a DESC`, `t text_pattern_ops`, `lower(e)`,
    /// and `a) INCLUDE (b` are columns too), the access method, and the stored expression
    /// and predicate trees as text. Only the indexes `pg_stat_user_indexes` lists (none of a
    /// partitioned table).
    struct PgHeroIndex {
        var table: String
        var name: String
        var columns: [String]
        var method: String
        var unique: Bool
        var primary: Bool
        var valid: Bool
        var expressions: String?
        var predicate: String?
    }

    /// pghero's duplicate-index rule, written from its documentation and behaviour (not its
    /// code): a valid index that is neither primary nor unique is unneeded when another valid
    /// index of the same table, with the same method, expressions and predicate, has its
    /// columns as a leading prefix, unless the two are equal and the other is neither primary,
    /// unique nor first by name. Returns unneeded -> covering.
    static func pgHeroFlags(_ connection: Connection) throws -> [String: String] {
        let indexes = try connection.query(
            """
            SELECT s.schemaname || '.' || s.relname, s.indexrelname::text, pg_get_indexdef(i.indexrelid), am.amname::text,
                   i.indisunique, i.indisprimary, i.indisvalid, i.indexprs::text, i.indpred::text
            FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
            JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
            """
        ).map { row -> PgHeroIndex in
            let definition = try row.get(2, as: String.self)
            let open = definition.firstIndex(of: "(") ?? definition.startIndex
            let close = definition.lastIndex(of: ")") ?? definition.endIndex
            let inner = String(definition[definition.index(after: open)..<close]).replacingOccurrences(of: ") WHERE (", with: " WHERE ")
            return PgHeroIndex(
                table: try row.get(0), name: try row.get(1),
                columns: inner.components(separatedBy: ", ").map { $0.replacingOccurrences(of: "\"", with: "") },
                method: try row.get(3), unique: try row.get(4), primary: try row.get(5), valid: try row.get(6),
                expressions: try row.get(7, as: String?.self), predicate: try row.get(8, as: String?.self))
        }
        var flags: [String: String] = [:]
        for index in indexes where index.valid && !index.primary && !index.unique {
            let covering = indexes.first { other in
                other.table == index.table && other.name != index.name && other.valid && other.method == index.method
                    && other.expressions == index.expressions && other.predicate == index.predicate
                    && other.columns.count >= index.columns.count && Array(other.columns.prefix(index.columns.count)) == index.columns
                    && (other.columns != index.columns || index.name > other.name || other.primary || other.unique)
            }
            if let covering { flags[index.name] = covering.name }
        }
        return flags
    }

    /// pghero's "duplicate indexes" on the same database: what it flags is dropped here, and
    /// what is dropped here it flags, except for the differences named in docs/steps.md.
    @Test func agreesWithPgHeroExceptWhereNamed() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(cases)
            let flagged = try Self.pgHeroFlags(connection)
            let step = try makeStep("dedupe_indexes: {tables: all, prefer: 'ix_%'}")
            let before = try CatalogReader(connection: connection).readSchema()
            guard case .needed(let effects, _) = try step.assess(before, Probe(connection: connection)) else {
                Issue.record("expected the step to be needed")
                return
            }
            let dropped = Self.drops(effects)
            // The oracle is not empty: it flags the plain cases.
            #expect(["exact_a_2", "constrained_email_plain", "constrained_id_plain", "prefix_a", "covering_a_incl_b_2"].allSatisfy { flagged[$0] != nil }, "\(flagged)")
            // Of two equal indexes pghero keeps the one first by name; here the keep order
            // decides. Where that keeps the other one of a pair, the pair still loses one.
            let otherSurvivor = flagged.filter { dropped[$0.key] == nil && dropped[$0.value] != nil }.map(\.key).sorted()
            #expect(otherSurvivor == [], "no case of this database keeps the other one")
            // Stricter here: the clustered index is never dropped; partitions are left alone.
            let pgHeroOnly = flagged.keys.filter { dropped[$0] == nil && !otherSurvivor.contains($0) }.sorted()
            #expect(pgHeroOnly == ["clustered_a_order", "parted_1_a_idx1"])
            // Found here only: an expression duplicate made by another statement (pghero
            // compares the stored trees, which hold the statement position), and an invalid
            // duplicate of a valid index (pghero lists invalid indexes apart, never as duplicates).
            let oursOnly = dropped.keys.filter { flagged[$0] == nil && !flagged.values.contains($0) }.sorted()
            #expect(oursOnly == ["expressions_lower_2", "invalid_a_broken"])
        }
    }

    /// Two indexes are duplicates only when they enforce the same rule: a plain unique index
    /// beside a NULLS NOT DISTINCT one goes (the stricter stays, and a second NULL is still
    /// refused); a NULLS NOT DISTINCT index beside a plain unique constraint, and an immediate
    /// unique index beside a DEFERRABLE constraint (checked at commit only), both stay;
    /// so do indexes whose stored collations differ where the printed keys do not, for the
    /// duplicate and the left-prefix rule, and indexes of different access methods. The wiki's
    /// query groups each such pair.
    @Test func keepsIndexesThatEnforceADifferentRule() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(ruleCases)
            let step = try makeStep("dedupe_indexes: {tables: all}")
            let probe = Probe(connection: connection)
            guard case .needed(let effects, _) = try step.assess(try CatalogReader(connection: connection).readSchema(), probe) else {
                Issue.record("expected the step to be needed")
                return
            }
            #expect(Self.drops(effects) == ["nulls_a_plain": "duplicate of nulls_a_not_distinct (kept: it is NULLS NOT DISTINCT)"])
            try applyAndCheckPrediction(step, on: connection)
            let left = try connection.query(
                "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'i' ORDER BY 1"
            ).map { try $0.get(0, as: String.self) }
            #expect(left == [
                "collated_prefix_s", "collated_prefix_s_default_b", "collated_s", "collated_s_default", "deferred_a_immediate", "deferred_a_key", "hashed_a_btree", "hashed_a_hash",
                "nulls_a_not_distinct", "nulls_constraint_a_key", "nulls_constraint_a_not_distinct",
            ])
            guard case .satisfied(let reason) = try step.assess(try CatalogReader(connection: connection).readSchema(), probe) else {
                Issue.record("a second assessment found more to do")
                return
            }
            for pair in [
                "deferred_a_immediate and deferred_a_key (DEFERRABLE)", "nulls_constraint_a_key and nulls_constraint_a_not_distinct (NULLS NOT DISTINCT)",
                "collated_s and collated_s_default (collation)",
            ] {
                #expect(reason.contains(pair), "\(reason)")
            }
            // What the rules promise still holds: one NULL only, and a duplicate refused at once
            // inside a transaction, not at its commit.
            try connection.execute("INSERT INTO public.nulls VALUES (NULL)")
            #expect(throws: PostgresError.self) { try connection.execute("INSERT INTO public.nulls VALUES (NULL)") }
            try connection.execute("INSERT INTO public.nulls_constraint VALUES (NULL)")
            #expect(throws: PostgresError.self) { try connection.execute("INSERT INTO public.nulls_constraint VALUES (NULL)") }
            try connection.execute("BEGIN; INSERT INTO public.deferred VALUES (1)")
            #expect(throws: PostgresError.self) { try connection.execute("INSERT INTO public.deferred VALUES (1)") }
            try connection.execute("ROLLBACK")

            // The wiki's query (equal indclass, indkey, expressions, predicate) groups every
            // pair kept here but the hash one: these rules are stricter.
            let groups = try connection.query(
                """
                SELECT array_agg(indexrelid::regclass::text ORDER BY indexrelid::regclass::text)
                FROM pg_index WHERE indrelid::regclass::text NOT LIKE 'pg_%'
                GROUP BY indrelid, indclass::text, indkey::text, coalesce(indexprs::text, ''), coalesce(indpred::text, '')
                HAVING count(*) > 1 ORDER BY 1
                """
            ).map { try $0.get(0, as: [String].self) }
            #expect(groups == [
                ["collated_s", "collated_s_default"], ["deferred_a_immediate", "deferred_a_key"],
                ["nulls_constraint_a_key", "nulls_constraint_a_not_distinct"],
            ])
        }
    }
}
