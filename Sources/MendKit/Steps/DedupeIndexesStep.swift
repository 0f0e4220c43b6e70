import PostgresClient
import SchemaModel

/// `dedupe_indexes`: drops indexes that another index of the same table already makes
/// useless (an exact duplicate, or a plain btree index whose keys lead a longer one), each with
/// `DROP INDEX CONCURRENTLY`; what enforces a constraint, identifies rows for replication or
/// orders the table is never dropped.
public struct DedupeIndexesStep: RepairStep {
    public static let kind = "dedupe_indexes"
    public static let summary = "drop duplicate and left-prefix redundant indexes concurrently, keeping the best of each group"

    /// nil: every table the plan's catalog covers.
    public let tables: [ObjectName]?
    public let includeRedundant: Bool
    /// Index names never dropped.
    public let keep: [String]
    /// A LIKE pattern: among equals, an index whose name matches it is kept.
    public let prefer: String?

    public init?(options: inout OptionReader) {
        var tables: [ObjectName]?
        var good = true
        if let value = options.rawValue("tables"), value.text == "all" {
            tables = nil
        } else if options.has("tables") {
            tables = options.objectNameList("tables")
            good = tables != nil
        }
        includeRedundant = options.bool("include_redundant", default: true)
        var keep: [String] = []
        if options.has("keep") {
            guard let names = options.locatedTextList("keep") else { return nil }
            for name in names where options.checkName(name.text, at: name.location, what: "each item of 'keep' in dedupe_indexes") {
                keep.append(name.text)
            }
            good = good && keep.count == names.count
        }
        prefer = options.optionalText("prefer")
        guard good else { return nil }
        self.tables = tables
        self.keep = keep
    }

    public var scope: [ObjectName]? { tables }

    public var settings: [(name: String, value: String)] {
        var lines = [
            ("tables", tables.map { $0.map(\.description).joined(separator: ", ") } ?? "all"),
            ("include_redundant", "\(includeRedundant)"),
        ]
        if !keep.isEmpty { lines.append(("keep", keep.joined(separator: ", "))) }
        if let prefer { lines.append(("prefer", prefer)) }
        return lines
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        var chosen: [Table] = []
        for name in tables ?? schema.tables.values.map(\.objectName).sorted() {
            guard let table = schema.tables[name.key] else {
                return .blocked([StepProblem("table \(name) does not exist", table: name)])
            }
            chosen.append(table)
        }
        let facts = try LiveIndexFact.read(chosen.map(\.objectName), prefer: prefer, probe)
        var effects: [any Effect] = []
        var after = schema
        var looked: [String] = []
        var freed: Int64 = 0
        // A partitioned table's index cannot be dropped concurrently, nor a partition's index
        // that is attached to its parent's: they are left alone.
        for table in chosen where table.kind != .partitioned && table.partitionOf == nil {
            let verdict = IndexRedundancy.judge(table, facts: facts, keep: Set(keep), includeRedundant: includeRedundant)
            looked += verdict.lookAlikes.map { "\(table.objectName): \($0)" }
            for (position, drop) in verdict.drops.enumerated() {
                guard let index = table.indexes[drop.index] else { continue }
                let fact = facts[table.objectName.key + "." + index.name]
                freed += fact?.bytes ?? 0
                let kept = facts[table.objectName.key + "." + drop.keptInstead]?.size ?? "size unknown"
                var summary = "drop index \(index.name) on \(table.objectName): \(drop.reason); \(fact?.size ?? "size unknown") freed; kept over it: \(drop.keptInstead), \(kept)"
                if position == 0, !verdict.lookAlikes.isEmpty {
                    summary += "; look-alikes kept: " + verdict.lookAlikes.joined(separator: ", ")
                }
                effects.append(Self.drop(index, of: table.objectName, summary: summary))
                after.tables[table.objectName.key]?.indexes[index.name] = nil
            }
        }
        guard !effects.isEmpty else {
            let checked = chosen.count == 1 ? "\(chosen[0].objectName)" : "\(chosen.count) tables"
            return .satisfied("no duplicate or redundant index on \(checked)" + (looked.isEmpty ? "" : "; look-alikes kept: " + looked.joined(separator: ", ")))
        }
        if freed > 0, let total = try probe.scalar("SELECT pg_size_pretty($1::bigint)", [freed], as: String.self), var last = effects.last as? ConcurrentSQL {
            last.summary += " (\(total) freed in all)"
            effects[effects.count - 1] = last
        }
        return .needed(effects, after: after)
    }

    /// One `DROP INDEX CONCURRENTLY` (a brief SHARE UPDATE EXCLUSIVE lock; reads and writes go
    /// on). Its SQL starts with the statement that builds the index again, as a comment: the
    /// journal records every effect's SQL, so `pgmend.statements` holds the way back.
    static func drop(_ index: Index, of table: ObjectName, summary: String) -> ConcurrentSQL {
        let name = QualifiedName(schema: table.schema, index.name).quoted
        return ConcurrentSQL(
            summary, .legacy("-- to put it back: \(restoreStatement(index.definition));\nDROP INDEX CONCURRENTLY IF EXISTS \(name)"),
            rehearsalSQL: .legacy("DROP INDEX IF EXISTS \(name)"), lock: .shareUpdateExclusive, on: table)
    }

    /// `pg_get_indexdef`'s text, built concurrently so that putting it back blocks no writes.
    static func restoreStatement(_ definition: String) -> String {
        for prefix in ["CREATE UNIQUE INDEX ", "CREATE INDEX "] where definition.hasPrefix(prefix) {
            return prefix + "CONCURRENTLY " + definition.dropFirst(prefix.count)
        }
        return definition
    }
}

/// What the schema model does not hold about an index and the keep order needs: its OID (age),
/// whether it is the replica identity or the clustered index, its size, and whether its name
/// matches `prefer`. Keyed by `schema.table.index`.
struct LiveIndexFact {
    var oid: Int64
    var replicaIdentity: Bool
    var clustered: Bool
    /// A foreign key of another table checks against it (a unique index that is no constraint):
    /// DROP INDEX would refuse.
    var usedByForeignKey: Bool
    var bytes: Int64
    var size: String
    var preferred: Bool
    /// `UNIQUE NULLS NOT DISTINCT`: at most one row whose keys are all NULL.
    var nullsNotDistinct: Bool = false
    /// False for a `DEFERRABLE` unique or exclusion constraint's index: checked at the end of
    /// the statement or transaction, never a foreign key's target.
    var immediate: Bool = true
    /// `indcollation` and `indclass` of the key columns, as OIDs: compared as stored, so a
    /// collation or operator class the catalog reader prints as the default (an explicit
    /// `COLLATE "default"` on a column of another collation) still tells two indexes apart.
    var collations: [String] = []
    var operatorClasses: [String] = []

    static func read(_ tables: [ObjectName], prefer: String?, _ probe: Probe) throws -> [String: LiveIndexFact] {
        guard !tables.isEmpty else { return [:] }
        var facts: [String: LiveIndexFact] = [:]
        for row in try probe.query(
            """
            SELECT n.nspname || '.' || c.relname || '.' || ic.relname, i.indexrelid::int8, i.indisreplident, i.indisclustered,
                   EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid),
                   pg_relation_size(i.indexrelid), pg_size_pretty(pg_relation_size(i.indexrelid)), coalesce(ic.relname LIKE $2, false),
                   i.indnullsnotdistinct, i.indimmediate, i.indcollation::text, i.indclass::text
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname || '.' || c.relname = ANY($1::text[])
            """, [tables.map(\.key), prefer])
        {
            facts[try row.get(0, as: String.self)] = LiveIndexFact(
                oid: try row.get(1), replicaIdentity: try row.get(2), clustered: try row.get(3), usedByForeignKey: try row.get(4), bytes: try row.get(5),
                size: try row.get(6), preferred: try row.get(7), nullsNotDistinct: try row.get(8), immediate: try row.get(9),
                collations: try row.get(10, as: String.self).split(separator: " ").map(String.init),
                operatorClasses: try row.get(11, as: String.self).split(separator: " ").map(String.init))
        }
        return facts
    }
}

/// The rules that decide which indexes of one table go (docs/steps.md, `dedupe_indexes`).
enum IndexRedundancy {
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

    static func judge(_ table: Table, facts: [String: LiveIndexFact], keep: Set<String>, includeRedundant: Bool) -> Verdict {
        func fact(_ index: Index) -> LiveIndexFact? { facts[table.objectName.key + "." + index.name] }
        func shape(_ index: Index) -> Shape { Shape(index, fact(index)) }
        func constraintBacked(_ index: Index) -> Bool { index.primary || index.constraint != nil }
        /// Indexes dropped by no rule.
        func protected(_ index: Index) -> String? {
            if index.primary { return "backs the primary key" }
            if let constraint = index.constraint { return "backs constraint \(constraint)" }
            if fact(index)?.replicaIdentity == true { return "is the replica identity" }
            if fact(index)?.clustered == true { return "is the clustered index" }
            if fact(index)?.usedByForeignKey == true { return "a foreign key checks against it" }
            if keep.contains(index.name) { return "is in keep" }
            return nil
        }
        // The keep order, best first; the OID last makes it total (a live index has one).
        // Validity decides first: an invalid index is never the one kept, whatever else it is.
        // Between two unique indexes the stricter rule comes next, before a constraint: a
        // plain unique constraint beside a NULLS NOT DISTINCT unique index, or a DEFERRABLE
        // one beside an immediate index, leaves the stricter index standing.
        let criteria: [(reason: String, holds: (Index) -> Bool, amongUnique: Bool)] = [
            ("it is valid", \.valid, false),
            ("it is NULLS NOT DISTINCT", { fact($0)?.nullsNotDistinct == true }, true),
            ("it is not deferrable", { fact($0)?.immediate != false }, true),
            ("it backs a constraint", constraintBacked, false),
            ("it is unique", \.unique, false),
            ("its name matches prefer", { fact($0)?.preferred == true }, false),
        ]
        func decider(_ a: Index, _ b: Index) -> (reason: String, holds: (Index) -> Bool, amongUnique: Bool)? {
            criteria.first { (!$0.amongUnique || (a.unique && b.unique)) && $0.holds(a) != $0.holds(b) }
        }
        func better(_ a: Index, _ b: Index) -> Bool {
            if let criterion = decider(a, b) { return criterion.holds(a) }
            return (fact(a)?.oid ?? Int64.max, a.name) < (fact(b)?.oid ?? Int64.max, b.name)
        }
        func why(_ kept: Index, over other: Index) -> String {
            decider(kept, other)?.reason ?? "it is older"
        }

        var verdict = Verdict()
        var dropped: Set<String> = []
        let indexes = table.indexes.values.sorted { $0.name < $1.name }
        let groups = Dictionary(grouping: indexes, by: shape)
        for group in groups.values.sorted(by: { $0[0].name < $1[0].name }) where group.count > 1 {
            let ranked = group.sorted(by: better)
            let best = ranked[0]
            // An invalid index is never the one kept: with no valid one, the group is left alone.
            guard best.valid else { continue }
            for other in ranked.dropFirst() {
                if protected(other) != nil { continue }
                // A valid index whose rule the kept one does not enforce stays (the kept one is
                // then a protected, laxer one: a constraint beside a stricter plain index).
                if other.valid && !enforces(best, fact(best), asMuchAs: other, fact(other)) { continue }
                dropped.insert(other.name)
                verdict.drops.append(Drop(index: other.name, keptInstead: best.name, reason: "duplicate of \(best.name) (kept: \(why(best, over: other)))"))
            }
        }
        if includeRedundant {
            let standing = indexes.filter { !dropped.contains($0.name) }
            for candidate in standing where !candidate.unique && protected(candidate) == nil && candidate.method == "btree" {
                let keys = candidate.keys.count
                let covering = standing.filter { other in
                    other.name != candidate.name && other.valid && other.method == "btree" && other.predicate == candidate.predicate
                        && other.keys.count > keys && Array(other.keys.prefix(keys)) == candidate.keys
                        && Array(shape(other).collations.prefix(keys)) == shape(candidate).collations
                        && Array(shape(other).operatorClasses.prefix(keys)) == shape(candidate).operatorClasses
                        && Set(candidate.include).isSubset(of: Set(other.keys.map(\.expression) + other.include))
                }
                // The longest covering index is the one no prefix rule drops in turn.
                guard let longest = covering.max(by: { ($0.keys.count, fact($1)?.oid ?? Int64.max) < ($1.keys.count, fact($0)?.oid ?? Int64.max) }) else {
                    continue
                }
                dropped.insert(candidate.name)
                verdict.drops.append(Drop(index: candidate.name, keptInstead: longest.name, reason: "redundant: its keys lead \(longest.name)"))
            }
        }
        // Pairs of kept indexes first, then a kept one beside a dropped one (a partial index
        // next to a dropped full one was looked at too), each kept index named once. Two of
        // one shape that both stay because their rules differ are look-alikes too.
        var named: Set<String> = []
        for keptOnly in [true, false] {
            for (i, a) in indexes.enumerated() {
                for b in indexes[(i + 1)...] where a.method == b.method && a.keys.map(\.expression) == b.keys.map(\.expression) {
                    let text = difference(a, fact(a), b, fact(b))
                    guard shape(a) != shape(b) || (!text.isEmpty && !dropped.contains(a.name) && !dropped.contains(b.name)) else { continue }
                    let kept = [a, b].filter { !dropped.contains($0.name) }.map(\.name)
                    guard keptOnly ? kept.count == 2 : kept.count == 1 && !named.contains(kept[0]) else { continue }
                    named.formUnion(kept)
                    verdict.lookAlikes.append("\(a.name) and \(b.name) (\(text.isEmpty ? "differ" : text))")
                }
            }
        }
        return verdict
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
