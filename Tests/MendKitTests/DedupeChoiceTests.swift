@testable import MendKit
import SchemaModel
import Testing

/// Which indexes `dedupe_indexes` drops, decided from the snapshot model and the facts the
/// model lacks (`LiveIndexFact`), without a server.
@Suite("dedupe_indexes chooses what to drop from the model alone")
struct DedupeChoiceTests {
    /// A btree index of `public.t` on `columns`.
    static func index(
        _ name: String, _ columns: [String], unique: Bool = false, valid: Bool = true, constraint: String? = nil,
        predicate: String? = nil, include: [String] = []
    ) -> Index {
        Index(
            name: name, definition: "CREATE INDEX \(name) ON public.t USING btree (\(columns.joined(separator: ", ")))",
            keys: columns.map { IndexKey(expression: $0) }, include: include, predicate: predicate, unique: unique, primary: false,
            valid: valid, constraint: constraint)
    }

    /// The facts of each index: its OID by its position in `indexes` (older first), the rest as given.
    static func choice(
        _ indexes: [Index], keep: Set<String> = [], includeRedundant: Bool = true, facts adjust: (inout [String: LiveIndexFact]) -> Void = { _ in }
    ) -> IndexRedundancy.Verdict {
        var facts: [String: LiveIndexFact] = [:]
        for (position, index) in indexes.enumerated() {
            facts["public.t." + index.name] = LiveIndexFact(
                oid: Int64(1000 + position), replicaIdentity: false, clustered: false, usedByForeignKey: false, bytes: 8192, size: "8192 bytes",
                preferred: false, collations: index.keys.map { _ in "0" }, operatorClasses: index.keys.map { _ in "3126" })
        }
        adjust(&facts)
        let table = Table(schema: "public", name: "t", indexes: Dictionary(uniqueKeysWithValues: indexes.map { ($0.name, $0) }))
        return IndexRedundancy(table: table, facts: facts, keep: keep).verdict(includeRedundant: includeRedundant)
    }

    @Test func theOlderOfTwoDuplicatesStays() {
        let verdict = Self.choice([Self.index("a_old", ["a"]), Self.index("a_new", ["a"])])
        #expect(verdict.drops == [.init(index: "a_new", keptInstead: "a_old", reason: "duplicate of a_old (kept: it is older)")])
    }

    @Test func aUniqueIndexStaysOverAPlainDuplicateAndAnInvalidOneNeverStays() {
        let verdict = Self.choice([Self.index("a_plain", ["a"]), Self.index("a_unique", ["a"], unique: true), Self.index("a_broken", ["a"], valid: false)])
        #expect(verdict.drops.map(\.index).sorted() == ["a_broken", "a_plain"])
        #expect(verdict.drops.allSatisfy { $0.keptInstead == "a_unique" })
        #expect(verdict.drops.first { $0.index == "a_broken" }?.reason == "duplicate of a_unique (kept: it is valid)")
    }

    @Test func aConstraintsIndexAndOneInKeepAreNeverDropped() {
        let verdict = Self.choice(
            [Self.index("a_first", ["a"]), Self.index("a_key", ["a"], unique: true, constraint: "t_a_key"), Self.index("a_kept", ["a"])], keep: ["a_kept"])
        #expect(verdict.drops.map(\.index) == ["a_first"])
    }

    @Test func aPrefixOfALongerIndexIsRedundantUnlessTheOptionSaysNo() {
        let indexes = [Self.index("a", ["a"]), Self.index("a_b", ["a", "b"]), Self.index("a_b_c", ["a", "b", "c"])]
        let verdict = Self.choice(indexes)
        #expect(verdict.drops == [
            .init(index: "a", keptInstead: "a_b_c", reason: "redundant: its keys lead a_b_c"),
            .init(index: "a_b", keptInstead: "a_b_c", reason: "redundant: its keys lead a_b_c"),
        ])
        #expect(Self.choice(indexes, includeRedundant: false).drops.isEmpty)
    }

    @Test func aPartialIndexBesideAFullOneIsALookAlikeAndStays() {
        let verdict = Self.choice([Self.index("a", ["a"]), Self.index("a_live", ["a"], predicate: "(deleted_at IS NULL)")])
        #expect(verdict.drops.isEmpty)
        #expect(verdict.lookAlikes == ["a and a_live (partial)"])
    }

    @Test func anotherOperatorClassOrCollationIsNoDuplicate() {
        let verdict = Self.choice([Self.index("a", ["a"]), Self.index("a_pattern", ["a"])]) { facts in
            facts["public.t.a_pattern"]?.operatorClasses = ["10049"]
        }
        #expect(verdict.drops.isEmpty)
        #expect(verdict.lookAlikes == ["a and a_pattern (operator class)"])
    }

    @Test func aStricterUniqueIndexStaysBesideAConstraint() {
        let verdict = Self.choice([Self.index("a_key", ["a"], unique: true, constraint: "t_a_key"), Self.index("a_nnd", ["a"], unique: true)]) { facts in
            facts["public.t.a_nnd"]?.nullsNotDistinct = true
        }
        #expect(verdict.drops.isEmpty)
    }

    @Test func aPreferredNameWinsAmongEquals() {
        let verdict = Self.choice([Self.index("idx_a", ["a"]), Self.index("ix_t_a", ["a"])]) { facts in
            facts["public.t.ix_t_a"]?.preferred = true
        }
        #expect(verdict.drops == [.init(index: "idx_a", keptInstead: "ix_t_a", reason: "duplicate of ix_t_a (kept: its name matches prefer)")])
    }
}
