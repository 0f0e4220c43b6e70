import SchemaModel

/// `uuid_as_text`: a `text`, `varchar` or `char` column whose values are UUIDs (all, or all but
/// named rows). Candidates by role first (`id`, `*_id`, `uuid`, `*_uuid`, and the text columns
/// a declared foreign key joins to one), kept when `pg_stats` holds mostly UUIDs (or nothing);
/// then one read per table counts each candidate's values. A column of 32 hex digits without
/// hyphens whose name says digest (`key_hash`, `token`, `md5`) is a digest that merely parses,
/// not an id. Repaired by `normalize_uuid`, the foreign-key group together.
enum UUIDAsTextCheck: DoctorCheck {
    static let classes: [FindingClass] = [.uuidAsText]

    static let digestWords: Set<String> = ["hash", "digest", "key", "token", "checksum", "md5", "sha", "sha1", "sha256", "secret", "signature", "etag"]

    /// `id`, `*_id`, `uuid`, `*_uuid` (any case).
    static func hasIDRole(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower == "id" || lower.hasSuffix("_id") || lower == "uuid" || lower.hasSuffix("_uuid")
    }

    static func namesDigest(_ name: String) -> Bool {
        ColumnRoles.words(name).contains { digestWords.contains($0) }
    }

    /// True unless the statistics hold values and fewer than half of them are UUIDs.
    static func statisticsAllow(_ stats: ColumnStats?) -> Bool {
        guard let values = stats?.sampleValues, !values.isEmpty else { return true }
        return values.count { UUIDTextForm($0) != .notUUID } * 2 >= values.count
    }

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        let tables = ColumnRoles.tables(context)
        let groups = ForeignKeyGroups(context.schema, where: { ColumnRoles.isTextLike($0.type) })
        var chosen: Set<String> = []
        for table in tables {
            for column in table.columns where ColumnRoles.isTextLike(column.type) && column.generatedExpression == nil && hasIDRole(column.name)
                && statisticsAllow(context.stats(table, column.name)) {
                chosen.insert(ColumnRoles.name(table, column.name))
            }
        }
        for name in chosen { chosen.formUnion(groups.members(of: name)) }

        var counts: [String: UUIDValueCensus.Counts] = [:]
        var samples: [String: SampleNote] = [:]
        var types: [String: String] = [:]
        var owners: [String: (table: String, column: String)] = [:]
        for table in tables {
            let columns = table.columns.filter { chosen.contains(ColumnRoles.name(table, $0.name)) }
            guard !columns.isEmpty, let census = try UUIDValueCensus.read(context, table, columns.map(\.name)) else { continue }
            for column in columns {
                let name = ColumnRoles.name(table, column.name)
                counts[name] = census.columns[column.name]
                samples[name] = census.sample
                types[name] = column.type
                owners[name] = (table.objectName.description, column.name)
            }
        }

        var findings: [Finding] = []
        var done: Set<String> = []
        for name in counts.keys.sorted() where !done.contains(name) {
            let members = groups.ordered(groups.members(of: name)).filter { counts[$0] != nil }
            done.formUnion(members)
            guard members.contains(where: { member in counts[member].map { qualifies(owners[member]?.column ?? member, $0) } ?? false }) else { continue }
            findings.append(finding(members, counts: counts, types: types, sample: members.compactMap { samples[$0] }.first, table: owners[members[0]]?.table))
        }
        return findings
    }

    /// Mostly UUIDs (at least half of its values; a stray bad value is evidence, not a
    /// reason to look away), and not a digest that merely parses.
    static func qualifies(_ column: String, _ counts: UUIDValueCensus.Counts) -> Bool {
        guard counts.values > 0, counts.accepted > 0, counts.accepted * 2 >= counts.values else { return false }
        return !(namesDigest(column) && counts.undashed == counts.accepted)
    }

    static func finding(
        _ members: [String], counts: [String: UUIDValueCensus.Counts], types: [String: String], sample: SampleNote?, table: String?
    ) -> Finding {
        let subject = members[0]
        let all = members.compactMap { counts[$0] }
        let values = all.reduce(0) { $0 + $1.values }
        let canonical = all.reduce(0) { $0 + $1.canonical }
        let nonCanonical = all.reduce(0) { $0 + $1.nonCanonical }
        let notUUID = all.reduce(0) { $0 + $1.notUUID }
        let several = members.count > 1
        var rows: [String] = []
        var badValues: [String] = []
        for member in members {
            for bad in counts[member]?.bad ?? [] {
                rows.append(several ? "\(member) \(bad.key)" : bad.key)
                badValues.append("\(several ? member + " " : "")\(bad.key): \(ColumnRoles.quotedValue(bad.value))")
            }
        }
        var evidence = [EvidenceItem("type", .text(types[subject] ?? "")), EvidenceItem("values", .int(values)),
                        EvidenceItem("canonical", .int(canonical)), EvidenceItem("non_canonical", .int(nonCanonical)),
                        EvidenceItem("not_uuid", .int(notUUID))]
        if several {
            evidence.append(EvidenceItem("fk_group", .list(members)))
            evidence.append(EvidenceItem("columns", .list(members.map { member in
                let c = counts[member] ?? UUIDValueCensus.Counts()
                return "\(member) \(types[member] ?? ""): \(c.values) values, \(c.nonCanonical) non-canonical, \(c.notUUID) not UUIDs"
            })))
        }
        if !badValues.isEmpty { evidence.append(EvidenceItem("not_uuid_values", .list(badValues))) }
        let with = several ? " (with \(members.dropFirst().joined(separator: ", ")), joined by foreign keys)" : ""
        let summary = notUUID > 0
            ? "\(subject)\(with) holds UUIDs as \(types[subject] ?? "text"), but \(notUUID) of \(values) values \(notUUID == 1 ? "is no UUID" : "are no UUIDs"): converting to uuid is blocked until they are fixed"
            : "\(subject)\(with) holds UUIDs as \(types[subject] ?? "text")"
                + (nonCanonical > 0 ? " (\(nonCanonical) of \(values) not in uuid's printed form)" : "") + ": store them as uuid"
        var planData: [String: EvidenceValue] = ["columns": .list(members)]
        if notUUID > 0 {
            planData["invalid"] = .list(members.filter { (counts[$0]?.notUUID ?? 0) > 0 })
            planData["invalid_values"] = .list(badValues)
            planData["not_uuid"] = .int(notUUID)
        }
        return Finding(
            .uuidAsText, notUUID > 0 ? .error : .warning, objects: members, table: table, summary: summary,
            evidence: evidence, rows: rows, sample: sample, repair: NormalizeUUIDStep.kind, planData: planData)
    }

    /// One `normalize_uuid` step naming every column; a column holding values that are no
    /// UUIDs is a `decide:` item (fix the rows first, or leave the column out).
    static func planSteps(_ findings: [Finding]) -> [PlanDraftStep] {
        guard !findings.isEmpty else { return [] }
        var items: [YAMLValue] = []
        var comments: [String] = []
        for finding in findings {
            comments.append("\(finding.id): \(finding.summary)")
            guard case .list(let columns)? = finding.planData["columns"] else { continue }
            let invalid: Set<String> = if case .list(let names)? = finding.planData["invalid"] { Set(names) } else { [] }
            let examples = finding.planData["invalid_values"]?.description ?? ""
            for column in columns {
                guard invalid.contains(column) else { items.append(.plain(column)); continue }
                let question = "\(column) holds values that are no UUIDs (\(examples)); the conversion is blocked by them. "
                    + "Fix or delete those rows first and replace this item with \(column); or, if the column is nullable, "
                    + "write \(column): {on_invalid: \"null\"} to set them to NULL (journaled); or delete this item to leave \(column) as text"
                items.append(.map([YAMLPair(column, .decide(question))]))
            }
        }
        return [PlanDraftStep(.uuidAsText, kind: NormalizeUUIDStep.kind, comments: comments, options: [YAMLPair("columns", .list(items))])]
    }
}

/// Columns joined by declared single-column foreign keys, transitively: what
/// `normalize_uuid` converts together. Named as a plan names columns (`apps.id`).
struct ForeignKeyGroups {
    private var parent: [String: String] = [:]
    /// Columns that are referenced: listed first in a group.
    private var referenced: Set<String> = []
    private var referencing: Set<String> = []
    /// Each joined column's group, computed once.
    private var groups: [String: Set<String>] = [:]

    init(_ schema: Schema, where include: (Column) -> Bool) {
        for reference in ColumnRoles.singleColumnReferences(schema) {
            guard let from = reference.from.table.column(reference.from.column), let to = reference.to.table.column(reference.to.column),
                  include(from), include(to) else { continue }
            let a = ColumnRoles.name(reference.from.table, reference.from.column)
            let b = ColumnRoles.name(reference.to.table, reference.to.column)
            referenced.insert(b)
            referencing.insert(a)
            union(a, b)
        }
        var byRoot: [String: Set<String>] = [:]
        for name in parent.keys { byRoot[root(name), default: []].insert(name) }
        for name in parent.keys { groups[name] = byRoot[root(name)] }
    }

    private func root(_ name: String) -> String {
        var current = name
        while let next = parent[current], next != current { current = next }
        return current
    }

    private mutating func union(_ a: String, _ b: String) {
        let (ra, rb) = (root(a), root(b))
        if parent[a] == nil { parent[a] = a }
        if parent[b] == nil { parent[b] = b }
        if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
    }

    /// `name` and every column joined to it (just `name` when no key joins it).
    func members(of name: String) -> Set<String> {
        groups[name] ?? [name]
    }

    /// The referenced columns that reference nothing first (the parents' keys), then the rest,
    /// each part sorted.
    func ordered(_ members: Set<String>) -> [String] {
        members.sorted { a, b in
            let (pa, pb) = (referenced.contains(a) && !referencing.contains(a), referenced.contains(b) && !referencing.contains(b))
            return pa != pb ? pa : a < b
        }
    }
}
