import SchemaModel

/// The rules that decide which indexes of one table go (docs/steps.md, `dedupe_indexes`): a
/// pure function of the table as the snapshot model holds it and the facts the model lacks
/// (`LiveIndexFact`), so it is tested without a server (`DedupeChoiceTests`).
///
/// - Duplicates: indexes of one `Shape` form a group; the best by the keep order stays, the
///   others go unless protected or stricter than it.
/// - Redundant: a plain btree index whose keys lead a longer valid btree index (same
///   predicate, collations and operator classes) goes.
/// - Look-alikes: indexes with the same method and key expressions that differ otherwise are
///   named, and stay.
struct IndexRedundancy {
    var table: Table
    /// By `schema.table.index`.
    var facts: [String: LiveIndexFact]
    /// Index names never dropped.
    var keep: Set<String>

    struct Drop: Equatable {
        var index: String
        /// The index that stays in its place: the kept duplicate, or the one it leads.
        var keptInstead: String
        var reason: String
    }

    struct Verdict {
        var drops: [Drop] = []
        /// Pairs with the same method and key expressions that differ otherwise, so both stay:
        /// "a and b (partial)".
        var lookAlikes: [String] = []
    }

    /// What makes two indexes interchangeable for queries: everything but the name, the rule
    /// a unique index enforces (uniqueness, NULLS NOT DISTINCT, deferrable) and validity. The
    /// rule decides which of a group is kept, and whether another may go (`enforces`).
    struct Shape: Hashable {
        var method: String
        var keys: [IndexKey]
        var include: [String]
        var predicate: String?
        var collations: [String]
        var operatorClasses: [String]

        init(_ index: Index, _ fact: LiveIndexFact?) {
            method = index.method
            keys = index.keys
            include = index.include
            predicate = index.predicate
            collations = fact?.collations ?? []
            operatorClasses = fact?.operatorClasses ?? []
        }
    }

    /// One step of the keep order: what it prefers, and whether it only compares unique indexes.
    struct Criterion {
        var reason: String
        var holds: (Index) -> Bool
        var amongUnique: Bool
    }

    var indexes: [Index] { table.indexes.values.sorted { $0.name < $1.name } }

    func fact(_ index: Index) -> LiveIndexFact? { facts[table.objectName.key + "." + index.name] }
    func shape(_ index: Index) -> Shape { Shape(index, fact(index)) }

    /// Why no rule drops `index`; nil: a rule may.
    func protection(of index: Index) -> String? {
        if index.primary { return "backs the primary key" }
        if let constraint = index.constraint { return "backs constraint \(constraint)" }
        if fact(index)?.replicaIdentity == true { return "is the replica identity" }
        if fact(index)?.clustered == true { return "is the clustered index" }
        if fact(index)?.usedByForeignKey == true { return "a foreign key checks against it" }
        if keep.contains(index.name) { return "is in keep" }
        return nil
    }

    /// The keep order, best first; the OID last makes it total (a live index has one).
    /// Validity decides first: an invalid index is never the one kept, whatever else it is.
    /// Between two unique indexes the stricter rule comes next, before a constraint: a plain
    /// unique constraint beside a NULLS NOT DISTINCT unique index, or a DEFERRABLE one beside
    /// an immediate index, leaves the stricter index standing.
    var criteria: [Criterion] {
        [
            Criterion(reason: "it is valid", holds: \.valid, amongUnique: false),
            Criterion(reason: "it is NULLS NOT DISTINCT", holds: { fact($0)?.nullsNotDistinct == true }, amongUnique: true),
            Criterion(reason: "it is not deferrable", holds: { fact($0)?.immediate != false }, amongUnique: true),
            Criterion(reason: "it backs a constraint", holds: { $0.primary || $0.constraint != nil }, amongUnique: false),
            Criterion(reason: "it is unique", holds: \.unique, amongUnique: false),
            Criterion(reason: "its name matches prefer", holds: { fact($0)?.preferred == true }, amongUnique: false),
        ]
    }

    /// The first criterion that tells `a` and `b` apart.
    func decider(_ a: Index, _ b: Index) -> Criterion? {
        criteria.first { (!$0.amongUnique || (a.unique && b.unique)) && $0.holds(a) != $0.holds(b) }
    }

    /// Whether `a` comes before `b` in the keep order.
    func better(_ a: Index, _ b: Index) -> Bool {
        if let criterion = decider(a, b) { return criterion.holds(a) }
        return (fact(a)?.oid ?? Int64.max, a.name) < (fact(b)?.oid ?? Int64.max, b.name)
    }

    /// Whether `kept` enforces every rule `other` enforces, so dropping `other` lets no row in
    /// that it refuses: a non-unique index enforces nothing; a unique one is matched only by a
    /// unique one that is NULLS NOT DISTINCT when it is, and checked immediately when it is.
    static func enforces(_ kept: Index, _ keptFact: LiveIndexFact?, asMuchAs other: Index, _ otherFact: LiveIndexFact?) -> Bool {
        guard other.unique else { return true }
        guard kept.unique else { return false }
        if otherFact?.nullsNotDistinct == true && keptFact?.nullsNotDistinct != true { return false }
        if otherFact?.immediate != false && keptFact?.immediate == false { return false }
        return true
    }

    /// Which indexes go, and the look-alikes that stay.
    func verdict(includeRedundant: Bool) -> Verdict {
        var drops = duplicates()
        if includeRedundant { drops += redundantPrefixes(dropped: Set(drops.map(\.index))) }
        return Verdict(drops: drops, lookAlikes: lookAlikes(dropped: Set(drops.map(\.index))))
    }

    /// In each group of one shape, every index but the best, unless protected, or stricter
    /// than the best (a constraint beside a stricter plain index: both stay).
    func duplicates() -> [Drop] {
        var drops: [Drop] = []
        let groups = Dictionary(grouping: indexes, by: shape)
        for group in groups.values.sorted(by: { $0[0].name < $1[0].name }) where group.count > 1 {
            let ranked = group.sorted(by: better)
            let best = ranked[0]
            // An invalid index is never the one kept: with no valid one, the group is left alone.
            guard best.valid else { continue }
            for other in ranked.dropFirst() where protection(of: other) == nil {
                if other.valid && !Self.enforces(best, fact(best), asMuchAs: other, fact(other)) { continue }
                let why = decider(best, other)?.reason ?? "it is older"
                drops.append(Drop(index: other.name, keptInstead: best.name, reason: "duplicate of \(best.name) (kept: \(why))"))
            }
        }
        return drops
    }

    /// Plain btree indexes, not dropped already, whose keys lead a longer valid btree index
    /// with the same predicate, collations and operator classes that holds their INCLUDE
    /// columns; the longest such index is named (no prefix rule drops it in turn).
    func redundantPrefixes(dropped: Set<String>) -> [Drop] {
        var dropped = dropped
        var drops: [Drop] = []
        let standing = indexes.filter { !dropped.contains($0.name) }
        for candidate in standing where !candidate.unique && protection(of: candidate) == nil && candidate.method == "btree" {
            let covering = standing.filter { leads(candidate, $0) }
            guard let longest = covering.max(by: { ($0.keys.count, fact($1)?.oid ?? Int64.max) < ($1.keys.count, fact($0)?.oid ?? Int64.max) }) else {
                continue
            }
            dropped.insert(candidate.name)
            drops.append(Drop(index: candidate.name, keptInstead: longest.name, reason: "redundant: its keys lead \(longest.name)"))
        }
        return drops
    }

    /// Whether `candidate`'s keys lead `other`'s, so `other` serves every query it serves.
    func leads(_ candidate: Index, _ other: Index) -> Bool {
        let keys = candidate.keys.count
        return other.name != candidate.name && other.valid && other.method == "btree" && other.predicate == candidate.predicate
            && other.keys.count > keys && Array(other.keys.prefix(keys)) == candidate.keys
            && Array(shape(other).collations.prefix(keys)) == shape(candidate).collations
            && Array(shape(other).operatorClasses.prefix(keys)) == shape(candidate).operatorClasses
            && Set(candidate.include).isSubset(of: Set(other.keys.map(\.expression) + other.include))
    }

    /// Pairs of kept indexes first, then a kept one beside a dropped one (a partial index next
    /// to a dropped full one was looked at too), each kept index named once. Two of one shape
    /// that both stay because their rules differ are look-alikes too.
    func lookAlikes(dropped: Set<String>) -> [String] {
        var lookAlikes: [String] = []
        var named: Set<String> = []
        let indexes = self.indexes
        for keptOnly in [true, false] {
            for (i, a) in indexes.enumerated() {
                for b in indexes[(i + 1)...] where a.method == b.method && a.keys.map(\.expression) == b.keys.map(\.expression) {
                    let text = Self.difference(a, fact(a), b, fact(b))
                    guard shape(a) != shape(b) || (!text.isEmpty && !dropped.contains(a.name) && !dropped.contains(b.name)) else { continue }
                    let kept = [a, b].filter { !dropped.contains($0.name) }.map(\.name)
                    guard keptOnly ? kept.count == 2 : kept.count == 1 && !named.contains(kept[0]) else { continue }
                    named.formUnion(kept)
                    lookAlikes.append("\(a.name) and \(b.name) (\(text.isEmpty ? "differ" : text))")
                }
            }
        }
        return lookAlikes
    }

    /// What tells two look-alikes apart, as the operator would name it.
    static func difference(_ a: Index, _ aFact: LiveIndexFact?, _ b: Index, _ bFact: LiveIndexFact?) -> String {
        var differences: [String] = []
        if a.predicate != b.predicate { differences.append("partial") }
        for (x, y) in zip(a.keys, b.keys) {
            if x.descending != y.descending { differences.append("DESC") }
            // NULLS FIRST is the default of DESC: only a NULLS clause written against it counts.
            if (x.nullsFirst != x.descending) != (y.nullsFirst != y.descending) { differences.append("NULLS order") }
            if x.operatorClass != y.operatorClass { differences.append(x.operatorClass ?? y.operatorClass ?? "operator class") }
            if x.collation != y.collation { differences.append("collation " + (x.collation ?? y.collation ?? "")) }
        }
        if a.include != b.include { differences.append("INCLUDE") }
        // What the printed keys do not show: the stored collations and operator classes, and
        // the rule a unique index enforces.
        if a.keys.map(\.collation) == b.keys.map(\.collation), aFact?.collations != bFact?.collations { differences.append("collation") }
        if a.keys.map(\.operatorClass) == b.keys.map(\.operatorClass), aFact?.operatorClasses != bFact?.operatorClasses {
            differences.append("operator class")
        }
        if a.unique && b.unique {
            if aFact?.nullsNotDistinct != bFact?.nullsNotDistinct { differences.append("NULLS NOT DISTINCT") }
            if aFact?.immediate != bFact?.immediate { differences.append("DEFERRABLE") }
        }
        var seen: Set<String> = []
        return differences.filter { seen.insert($0).inserted }.joined(separator: ", ")
    }
}
