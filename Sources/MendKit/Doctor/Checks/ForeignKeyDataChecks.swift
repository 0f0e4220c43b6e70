import SchemaModel

/// `missing_foreign_key` and `orphan_rows`. A `*_id` column that no foreign key covers, whose
/// name points to a parent table (`LikelyReference.parent`), is read once: when every value
/// has its parent row it is `missing_foreign_key`, otherwise `orphan_rows` with the count and
/// the first rows by key. A declared foreign key left `NOT VALID` is read the same way, and
/// its violating rows are `orphan_rows`. Both are repaired by `fix_foreign_keys`; what
/// becomes of orphans (`fail`, `null`, `delete`) is the operator's choice.
enum ForeignKeyDataChecks: DoctorCheck {
    static let classes: [FindingClass] = [.missingForeignKey, .orphanRows]

    static func references(_ context: DoctorContext) -> [LikelyReference] {
        var found: [LikelyReference] = []
        let index = TableIndex(context.schema)
        for table in ColumnRoles.tables(context) {
            let keys = table.constraints.values.filter { $0.kind == .foreignKey }.sorted { $0.name < $1.name }
            let covered = Set(keys.flatMap(\.columns))
            for column in table.columns where !covered.contains(column.name) && column.generatedExpression == nil {
                if let reference = LikelyReference.parent(of: column, in: table, tables: index) { found.append(reference) }
            }
            for key in keys where !key.validated {
                guard let foreign = key.foreignKey, let parent = context.schema.tables[foreign.referencedTable] else { continue }
                found.append(LikelyReference(table: table, columns: key.columns, parent: parent, parentColumns: foreign.referencedColumns, constraint: key))
            }
        }
        return found
    }

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        var findings: [Finding] = []
        for reference in references(context) {
            guard let census = try reference.census(context, reference.constraint == nil ? "missing_foreign_key" : "orphan_rows"), census.values > 0 else { continue }
            if census.orphans > 0 {
                findings.append(orphans(reference, census))
            } else if reference.constraint == nil {
                findings.append(missing(reference, census, context: context))
            }
        }
        return findings
    }

    static func typeNote(_ reference: LikelyReference) -> String? {
        guard reference.typesDiffer, let mine = reference.table.column(reference.columns[0])?.type,
              let theirs = reference.parent.column(reference.parentColumns[0])?.type else { return nil }
        return "\(mine) vs \(theirs): normalize_uuid must convert \(reference.from) first (the plan's uuid step comes before)"
    }

    static func indexed(_ reference: LikelyReference) -> Bool {
        reference.table.indexes.values.contains { index in
            index.valid && index.predicate == nil && index.keys.count >= reference.columns.count
                && zip(index.keys, reference.columns).allSatisfy { $0.isColumn && $0.expression == $1 }
        }
    }

    static func missing(_ reference: LikelyReference, _ census: LikelyReference.Census, context: DoctorContext) -> Finding {
        var evidence = [EvidenceItem("references", .text("\(reference.to) (by name)")), EvidenceItem("values", .int(census.values)),
                        EvidenceItem("without_parent", .int(0)), EvidenceItem("indexed", .flag(indexed(reference)))]
        if let note = typeNote(reference) { evidence.append(EvidenceItem("types", .text(note))) }
        return Finding(
            .missingForeignKey, .warning, objects: [reference.from, reference.to], table: reference.table.objectName.description,
            summary: "\(reference.from) has no foreign key, yet each of its \(census.values) values is a \(reference.to): declare it",
            evidence: evidence, sample: census.sample, repair: FixForeignKeysStep.kind,
            planData: planData(reference).merging(["siblings": .text(siblingActions(reference, context.schema))]) { $1 })
    }

    /// What the foreign keys already referencing the parent do on delete ("users is referenced
    /// with cascade by 6, no_action by 7"): the evidence for a new key's `on_delete`.
    static func siblingActions(_ reference: LikelyReference, _ schema: Schema) -> String {
        let parent = reference.parent.objectName.key
        var counts: [String: Int] = [:]
        for table in schema.tables.values {
            for key in table.constraints.values where key.foreignKey?.referencedTable == parent {
                counts[key.foreignKey!.onDelete.rawValue.lowercased().replacingOccurrences(of: " ", with: "_"), default: 0] += 1
            }
        }
        guard !counts.isEmpty else { return "no other foreign key references \(reference.parent.objectName)" }
        let list = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) by \($0.value)" }.joined(separator: ", ")
        return "\(reference.parent.objectName) is referenced with \(list)"
    }

    static func orphans(_ reference: LikelyReference, _ census: LikelyReference.Census) -> Finding {
        var evidence = [EvidenceItem("references", .text(reference.constraint.map { "\(reference.to) (\($0.name), NOT VALID)" } ?? "\(reference.to) (by name)")),
                        EvidenceItem("values", .int(census.values)), EvidenceItem("without_parent", .int(census.orphans)),
                        EvidenceItem("orphan_values", .list(census.examples.map { "\($0.key): \(ColumnRoles.quotedValue($0.value))" }))]
        if let note = typeNote(reference) { evidence.append(EvidenceItem("types", .text(note))) }
        let nullable = reference.columns.allSatisfy { reference.table.column($0)?.notNull == false }
        var data = planData(reference)
        data["orphans"] = .text("\(reference.from): \(census.orphans) of \(census.values) values have no \(reference.to) (\(evidence[3].value))"
            + (nullable ? "" : "; NOT NULL, so null is not possible"))
        let declared = reference.constraint.map { " (foreign key \($0.name) is NOT VALID)" } ?? ""
        return Finding(
            .orphanRows, .error, objects: [reference.from, reference.to] + (reference.constraint.map { ["\(reference.table.objectName).\($0.name)"] } ?? []),
            table: reference.table.objectName.description,
            summary: "\(census.orphans) of \(census.values) values of \(reference.from) have no \(reference.to)\(declared): a foreign key cannot be validated",
            evidence: evidence, rows: census.examples.map(\.key), sample: census.sample, repair: FixForeignKeysStep.kind, planData: data)
    }

    static func planData(_ reference: LikelyReference) -> [String: EvidenceValue] {
        var data: [String: EvidenceValue] = ["from": .list(reference.columns.map { ColumnRoles.name(reference.table, $0) }),
                                             "to": .list(reference.parentColumns.map { ColumnRoles.name(reference.parent, $0) })]
        if let key = reference.constraint?.foreignKey {
            data["on_delete"] = .text(key.onDelete.rawValue.lowercased().replacingOccurrences(of: " ", with: "_"))
            data["on_update"] = .text(key.onUpdate.rawValue.lowercased().replacingOccurrences(of: " ", with: "_"))
        }
        if !indexed(reference) { data["index"] = .flag(true) }
        return data
    }

    static func referenceItem(_ finding: Finding) -> YAMLValue {
        func side(_ key: String) -> YAMLValue {
            guard case .list(let names)? = finding.planData[key] else { return .plain("") }
            return names.count == 1 ? .plain(names[0]) : .list(names.map(YAMLValue.plain))
        }
        var pairs = [YAMLPair("from", side("from")), YAMLPair("to", side("to"))]
        for action in ["on_delete", "on_update"] {
            if let value = finding.planData[action]?.description, value != "no_action" { pairs.append(YAMLPair(action, .plain(value))) }
        }
        // A new key: what it does on delete is the operator's choice, beside what the parent's
        // other keys do.
        if finding.planData["on_delete"] == nil, let siblings = finding.planData["siblings"] {
            pairs.append(YAMLPair("on_delete", .decide(
                "ON DELETE of \(finding.subject) -> \(finding.objects.count > 1 ? finding.objects[1] : "its parent")? \(siblings) (cascade, set_null, restrict or no_action)")))
        }
        if finding.planData["index"] != nil { pairs.append(YAMLPair("index", .bool(true))) }
        return .map(pairs)
    }

    /// A `fix_foreign_keys` step for the references whose values all have a parent, and one,
    /// with `orphans` to decide, for those with orphans.
    static func planSteps(_ findings: [Finding]) -> [PlanDraftStep] {
        var steps: [PlanDraftStep] = []
        let missing = findings.filter { $0.classID == .missingForeignKey }
        if !missing.isEmpty {
            steps.append(PlanDraftStep(
                .missingForeignKey, kind: FixForeignKeysStep.kind, comments: missing.map { "\($0.id): \($0.summary)" },
                options: [YAMLPair("references", .list(missing.map(referenceItem)))]))
        }
        let orphans = findings.filter { $0.classID == .orphanRows }
        if !orphans.isEmpty {
            let question = "what becomes of rows without a parent: fail (keep them; the step stays blocked until they are fixed by hand), "
                + "\"null\" (set to NULL, journaled; nullable columns only) or delete (archived first, then deleted). "
                + orphans.compactMap { $0.planData["orphans"]?.description }.joined(separator: ". ")
            steps.append(PlanDraftStep(
                .orphanRows, kind: FixForeignKeysStep.kind, comments: orphans.map { "\($0.id): \($0.summary)" },
                options: [YAMLPair("references", .list(orphans.map(referenceItem))), YAMLPair("orphans", .decide(question))]))
        }
        return steps
    }
}
