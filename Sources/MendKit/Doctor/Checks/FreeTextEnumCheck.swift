import Foundation
import PostgresClient
import SchemaModel

/// `free_text_enum`: a text column that holds a closed set of labels (a status, a tier) with no
/// enum type or CHECK to keep it closed, and the dirty variants that crept in because nothing
/// did (`'SYNCED'`, `'Failed'`, `'in progress'` beside `in_progress`), plus rare values outside
/// every label (`'premium'`). Statistics first: only columns whose name says they hold a set
/// and whose `pg_stats` say they have few distinct values are read, one query per table for all
/// of its candidates. docs/doctor.md gives the rule.
enum FreeTextEnumCheck: DoctorCheck {
    static let classes: [FindingClass] = [.freeTextEnum]

    /// What a column's name says its values are.
    enum Role: String {
        /// A lifecycle (`status`, `state`, `tier`, `stage`, `phase`): a closed set the
        /// application moves rows through. Reported clean or dirty.
        case lifecycle
        /// A classification (`type`, `kind`, `role`, `category`, `source`, `provider`, `mode`,
        /// `level`): an open set that grows with the code. Reported only for dirty variants.
        case classification
    }

    static let lifecycleWords: Set<String> = ["status", "state", "tier", "stage", "phase"]
    static let classificationWords: Set<String> = ["type", "kind", "role", "category", "source", "provider", "mode", "level"]
    /// More distinct values than this (by the statistics) is no label set.
    static let maxDistinct = 50.0
    /// More labels than this (after folding variants) is no label set either.
    static let maxLabels = 20

    /// The last word of a name (`sync_status` -> `status`, `syncStatus` -> `status`), lowercased.
    static func role(of name: String) -> Role? {
        var words: [String] = []
        var word = ""
        for character in name {
            if character == "_" || character == " " || character == "-" {
                if !word.isEmpty { words.append(word) }
                word = ""
            } else if character.isUppercase, let last = word.last, last.isLowercase {
                words.append(word)
                word = String(character)
            } else {
                word.append(character)
            }
        }
        if !word.isEmpty { words.append(word) }
        guard let last = words.last?.lowercased() else { return nil }
        if lifecycleWords.contains(last) { return .lifecycle }
        if classificationWords.contains(last) { return .classification }
        return nil
    }

    /// The form variants are folded to: lowercased, trimmed, `-` and spaces as `_`.
    static func canonical(_ value: String) -> String {
        value.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            .replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
    }

    static func isText(_ type: String) -> Bool {
        type == "text" || type.hasPrefix("character varying") || type.hasPrefix("character(") || type == "character"
    }

    /// A candidate column, chosen from the catalog and the statistics.
    struct Candidate {
        var column: String
        var role: Role
        /// Values the statistics call common: rows holding others are named in the read.
        var common: [String]
    }

    static func candidates(_ table: Table, _ context: DoctorContext) -> [Candidate] {
        guard table.partitionOf == nil, table.kind != .foreign else { return [] }
        let rows = context.facts(table).estimatedRows
        let checked = Set(table.constraints.values.filter { $0.kind == .check }.flatMap(\.columns))
        let unique = Set(table.constraints.values.filter { ($0.kind == .primaryKey || $0.kind == .unique) && $0.columns.count == 1 }.flatMap(\.columns))
            .union(table.indexes.values.filter { $0.unique && $0.keys.count == 1 && $0.predicate == nil }.map { $0.keys[0].expression })
        return table.columns.compactMap { column in
            guard isText(column.type), column.generatedExpression == nil, !checked.contains(column.name), !unique.contains(column.name),
                  let role = role(of: column.name), let stats = context.stats(table, column.name), stats.nullFraction < 1
            else { return nil }
            let distinct = stats.distinctValues(rows: max(rows, 0))
            guard distinct >= 2, distinct <= maxDistinct else { return nil }
            // An open set is read only when its statistics already show two spellings of a value.
            if role == .classification {
                let folded = Dictionary(grouping: stats.sampleValues, by: canonical)
                guard folded.values.contains(where: { Set($0).count > 1 }) else { return nil }
            }
            let common = zip(stats.commonValues, stats.commonFrequencies)
                .filter { $0.1 >= 0.01 && $0.1 * Double(max(rows, 1)) >= 2.5 }.map(\.0)
            return Candidate(column: column.name, role: role, common: common)
        }
    }

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        var found: [Finding] = []
        for table in context.tables where context.mayHoldRows(table) {
            let candidates = candidates(table, context)
            guard !candidates.isEmpty else { continue }
            let read = context.read(table)
            guard let values = try context.measure("free_text_enum \(table.objectName)", { try readValues(table, candidates, read, context) }) else { continue }
            for (index, candidate) in candidates.enumerated() {
                let labelSet = LabelSet(values: values[index] ?? [])
                if let finding = finding(table, candidate, labelSet, read, context) { found.append(finding) }
            }
        }
        return found
    }

    /// One query for all of a table's candidates (`GROUPING SETS`, one scan): each value with
    /// its rows and, for values the statistics do not call common, the first keys.
    static func readValues(_ table: Table, _ candidates: [Candidate], _ read: TableRead, _ context: DoctorContext) throws -> [Int: [ValueCount]] {
        let key = context.rowKey(table)
        let t = SQLIdentifier("t")
        let columns: [SQL] = candidates.map { "\(t).\(ident: $0.column)" }
        let which: [SQL] = columns.enumerated().map { "WHEN GROUPING(\($1)) = 0 THEN \(literal: $0)" }
        let uncommon: [SQL] = zip(columns, candidates).map { column, candidate in
            "(\(column) IS NOT NULL AND NOT ((\(column))::text = ANY(\(bind: candidate.common)::text[])))"
        }
        let texts: [SQL] = columns.map { "(\($0))::text" }
        let sets: [SQL] = columns.map { "(\($0))" }
        let query: SQL = """
            SELECT CASE \(which, separator: " ") END AS i, coalesce(\(texts, separator: ", ")) AS v, count(*) AS n,
                   (array_agg(\(key.text(of: t)) ORDER BY \(key.order(of: t))) FILTER (WHERE \(uncommon, separator: " OR ")))[1:10] AS keys
            FROM \(JSONKeySurvey.source(read)) AS \(t)
            GROUP BY GROUPING SETS (\(sets, separator: ", "))
            """
        var values: [Int: [ValueCount]] = [:]
        for row in try context.connection.query(query) {
            guard let value = try row.get(1, as: String?.self) else { continue }
            let index = try row.get(0, as: Int.self)
            values[index, default: []].append(ValueCount(value: value, rows: try row.get(2, as: Int.self), keys: try row.get(3, as: [String]?.self) ?? []))
        }
        return values
    }

    static func finding(_ table: Table, _ candidate: Candidate, _ set: LabelSet, _ read: TableRead, _ context: DoctorContext) -> Finding? {
        guard set.labels.count >= 2, set.labels.count <= maxLabels, set.labels.allSatisfy({ $0.value.utf8.count <= PostgresName.maxBytes }) else { return nil }
        let dirty = !set.variants.isEmpty || (candidate.role == .lifecycle && !set.rare.isEmpty)
        guard candidate.role == .lifecycle || !set.variants.isEmpty else { return nil }
        let name = "\(table.objectName.description).\(candidate.column)"
        var evidence = [
            EvidenceItem("rows_read", .count(set.total)),
            EvidenceItem("labels", .list(set.labels.map { "\($0.value) \($0.rows)" })),
        ]
        if !set.variants.isEmpty { evidence.append(EvidenceItem("variants", .list(set.variants.map(\.description)))) }
        if candidate.role == .lifecycle && !set.rare.isEmpty { evidence.append(EvidenceItem("rare_values", .list(set.rare.map(\.description)))) }
        let similar = similarEnum(set.labels.map(\.value), context)
        if let similar { evidence.append(EvidenceItem("similar_enum", .text(similar))) }
        let column = table.column(candidate.column)
        let defaultLabel = column?.defaultExpression.flatMap(ToEnumStep.quotedLiteral)
        // The default is a label whether or not a row holds it now: to_enum keeps it.
        var set = set
        if let defaultLabel, !set.labels.contains(where: { $0.value == defaultLabel }), defaultLabel.utf8.count <= PostgresName.maxBytes {
            set.labels.append(LabelSet.Label(value: defaultLabel, rows: 0))
            evidence[1] = EvidenceItem("labels", .list(set.labels.map { "\($0.value) \($0.rows)" }))
            evidence.append(EvidenceItem("default", .text("\(defaultLabel) (the column's default, in no row)")))
        }
        var rows = set.variants.flatMap(\.keys) + (candidate.role == .lifecycle ? set.rare.flatMap(\.keys) : [])
        rows = Array(Set(rows)).sorted()
        let labels = set.labels.map(\.value)
        var summary = "\(name) holds \(labels.count) labels (\(labels.prefix(6).joined(separator: ", "))\(labels.count > 6 ? ", ..." : ""))"
        summary += candidate.role == .lifecycle ? " with no enum type or CHECK" : ""
        if dirty {
            var parts: [String] = []
            if !set.variants.isEmpty { parts.append("\(set.variants.count) dirty variant\(set.variants.count == 1 ? "" : "s")") }
            if candidate.role == .lifecycle && !set.rare.isEmpty { parts.append("\(set.rare.count) rare value\(set.rare.count == 1 ? "" : "s")") }
            summary += ", and \(parts.joined(separator: " and "))"
        }
        var planData: [String: EvidenceValue] = [
            "column": .text(candidate.column), "table": .text(table.objectName.description), "role": .text(candidate.role.rawValue),
            "labels": .list(labels), "label_rows": .list(set.labels.map { String($0.rows) }),
            "variants": .list(set.variants.map(\.value)), "variant_labels": .list(set.variants.map(\.label)),
            "variant_text": .list(set.variants.map(\.description)), "ambiguous": .flag(set.variants.contains(where: \.ambiguous)),
            "rare": .list(candidate.role == .lifecycle ? set.rare.map(\.value) : []),
            "rare_text": .list(candidate.role == .lifecycle ? set.rare.map(\.description) : []),
            "type": .text(enumTypeName(table, candidate.column)), "not_null": .flag(column?.notNull ?? false),
        ]
        if let defaultLabel { planData["default"] = .text(defaultLabel) }
        if let similar { planData["similar_enum"] = .text(similar) }
        return Finding(
            .freeTextEnum, dirty ? .error : .warning, objects: [name], table: table.objectName.description, summary: summary,
            evidence: evidence, rows: rows, sample: read.sample, repair: candidate.role == .lifecycle ? "to_enum" : "backfill", planData: planData)
    }

    /// The name a new enum type gets: `<table>_<column>` (a name PostgreSQL takes, at most 63 bytes).
    static func enumTypeName(_ table: Table, _ column: String) -> String {
        var name = "\(table.name)_\(column)".lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.map(String.init).joined()
        while name.utf8.count > PostgresName.maxBytes { name.removeLast() }
        return table.schema == "public" ? name : "\(table.schema).\(name)"
    }

    /// An enum type of the database whose labels are these, compared folded (`subscriptiontier`
    /// with FREE, PRO, ENTERPRISE for free, pro, enterprise): `name (LABEL, ...)`.
    static func similarEnum(_ labels: [String], _ context: DoctorContext) -> String? {
        let folded = Set(labels.map(canonical))
        return context.schema.enums.values.sorted { $0.name < $1.name }
            .first { Set($0.labels.map(canonical)) == folded }
            .map { "\(ObjectName(schema: $0.schema, name: $0.name).description) (\($0.labels.joined(separator: ", ")))" }
    }
}

/// One value of a column with its rows, and the first keys when it was not a common value.
struct ValueCount: Sendable {
    var value: String
    var rows: Int
    var keys: [String]
}

/// A column's values sorted into labels, dirty variants of a label, and rare values. Values
/// are grouped by their folded form (`FreeTextEnumCheck.canonical`); a group with at least
/// `threshold` rows is a label (its most common spelling), its other spellings variants; the
/// values of a smaller group are rare.
struct LabelSet {
    struct Label { var value: String; var rows: Int }
    struct Variant {
        var value: String
        var label: String
        var rows: Int
        var keys: [String]
        /// Common enough to be a label of its own: which spelling wins is a choice.
        var ambiguous: Bool
        var description: String { "\(SQLLiteral.quoted(value)) -> \(label): \(rows) row\(rows == 1 ? "" : "s")\(keys.isEmpty ? "" : " (\(keys.joined(separator: ", ")))")" }
    }
    struct Rare {
        var value: String
        var rows: Int
        var keys: [String]
        var description: String { "\(SQLLiteral.quoted(value)): \(rows) row\(rows == 1 ? "" : "s")\(keys.isEmpty ? "" : " (\(keys.joined(separator: ", ")))")" }
    }

    var labels: [Label] = []
    var variants: [Variant] = []
    var rare: [Rare] = []
    var total = 0

    init(values: [ValueCount]) {
        total = values.reduce(0) { $0 + $1.rows }
        let threshold = max(2, Int((Double(total) * 0.001).rounded(.up)))
        let groups = Dictionary(grouping: values) { FreeTextEnumCheck.canonical($0.value) }
        for (folded, members) in groups {
            let sorted = members.sorted { ($0.rows, $0.value == folded ? 1 : 0, $1.value) > ($1.rows, $1.value == folded ? 1 : 0, $0.value) }
            let rows = members.reduce(0) { $0 + $1.rows }
            if rows >= threshold {
                labels.append(Label(value: sorted[0].value, rows: rows))
                variants += sorted.dropFirst().map { Variant(value: $0.value, label: sorted[0].value, rows: $0.rows, keys: $0.keys, ambiguous: $0.rows >= threshold) }
            } else {
                rare += members.map { Rare(value: $0.value, rows: $0.rows, keys: $0.keys) }
            }
        }
        labels.sort { ($0.rows, $1.value) > ($1.rows, $0.value) }
        variants.sort { ($0.label, $0.value) < ($1.label, $1.value) }
        rare.sort { $0.value < $1.value }
    }
}
