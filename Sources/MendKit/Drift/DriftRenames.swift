import Foundation
import SchemaModel

/// Tables the database has under one name and a source under another: rename and split
/// candidates.
///
/// The rule (docs/drift.md): a table only the database has and a table only the source has,
/// in the same schema, are a candidate pair when
/// - their names are related, one's words (split at `_`) beginning the other's (`calendar`,
///   `calendar_events`; `wheel`, `wheel_scores`) or the two differing by a plural `s`
///   (`goal`, `goals`), and they share at least `relatedThreshold` of their column names
///   (Jaccard: common names over all names); or
/// - whatever their names, they share at least `unrelatedThreshold` of their (name, type)
///   column pairs and at least three columns.
/// A database table with two or more such partners is a split candidate (`wheel` ->
/// `wheel_categories`, `wheel_scores`). Column names alone are weak evidence between tables
/// of one application (most have `id`, `user_id`, `created_at`), so a related name is required
/// below the high threshold; the figures are reported for the operator to judge.
public enum DriftRenames {
    public static let relatedThreshold = 0.1
    public static let unrelatedThreshold = 0.75

    static func candidates(database: Schema, source: Schema, label: String) -> [RenameCandidate] {
        let onlyDatabase = database.tables.keys.filter { source.tables[$0] == nil }.sorted()
        let onlySource = source.tables.keys.filter { database.tables[$0] == nil }.sorted()
        var found: [RenameCandidate] = []
        for key in onlyDatabase {
            guard let old = database.tables[key] else { continue }
            var partners: [(table: Table, similarity: CandidateSimilarity, related: Bool)] = []
            for otherKey in onlySource {
                guard let new = source.tables[otherKey], new.schema == old.schema else { continue }
                let similarity = measure(old, new)
                let related = namesRelated(old.name, new.name)
                if related ? similarity.columns >= relatedThreshold
                    : similarity.typedColumns >= unrelatedThreshold && similarity.common.count >= 3 {
                    partners.append((new, similarity, related))
                }
            }
            guard !partners.isEmpty else { continue }
            let split = partners.count > 1
            let reason: String
            if split {
                reason = "\(old.objectName) is in the database, \(partners.map { $0.table.objectName.description }.joined(separator: " and ")) in \(label): "
                    + "names beginning alike and columns in common"
            } else if partners[0].related {
                reason = "names related (\(old.name), \(partners[0].table.name)) and \(partners[0].similarity.common.count) column names in common"
            } else {
                reason = "\(partners[0].similarity.common.count) columns in common with the same types"
            }
            found.append(RenameCandidate(
                kind: split ? .split : .rename, from: old.objectName.description,
                to: partners.map { $0.table.objectName.description }, sources: [label],
                similarity: partners.map(\.similarity), reason: reason))
        }
        return found
    }

    /// One candidate per database table and targets, naming every source that gave it; the
    /// figures are the first source's.
    static func merged(_ found: [(label: String, candidates: [RenameCandidate])]) -> [RenameCandidate] {
        var merged: [RenameCandidate] = []
        for (label, candidates) in found {
            for candidate in candidates {
                if let position = merged.firstIndex(where: { $0.from == candidate.from && $0.to == candidate.to }) {
                    merged[position].sources.append(label)
                } else {
                    merged.append(candidate)
                }
            }
        }
        return merged.sorted { ($0.from, $0.to.joined(separator: ",")) < ($1.from, $1.to.joined(separator: ",")) }
    }

    static func measure(_ a: Table, _ b: Table) -> CandidateSimilarity {
        let namesA = Set(a.columns.map(\.name)), namesB = Set(b.columns.map(\.name))
        let typedA = Set(a.columns.map { "\($0.name) \($0.type)" }), typedB = Set(b.columns.map { "\($0.name) \($0.type)" })
        return CandidateSimilarity(
            table: b.objectName.description, columns: jaccard(namesA, namesB), typedColumns: jaccard(typedA, typedB),
            common: a.columns.map(\.name).filter(namesB.contains))
    }

    static func jaccard(_ a: Set<String>, _ b: Set<String>) -> Double {
        let union = a.union(b).count
        guard union > 0 else { return 0 }
        return (Double(a.intersection(b).count) / Double(union) * 100).rounded() / 100
    }

    /// `calendar` and `calendar_events`, `goal` and `goals`: one name's words begin the other's,
    /// or they differ by a final `s`.
    static func namesRelated(_ a: String, _ b: String) -> Bool {
        let (x, y) = (a.lowercased(), b.lowercased())
        if x + "s" == y || y + "s" == x { return true }
        let (wordsX, wordsY) = (x.split(separator: "_"), y.split(separator: "_"))
        let (short, long) = wordsX.count <= wordsY.count ? (wordsX, wordsY) : (wordsY, wordsX)
        return !short.isEmpty && short.count < long.count && Array(long.prefix(short.count)) == short
    }

    /// A similarity as the text shows it: two decimals.
    static func figure(_ value: Double) -> String { String(format: "%.2f", value) }
}
