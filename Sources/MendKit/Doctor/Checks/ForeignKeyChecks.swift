import Foundation
import SchemaModel

/// One foreign key as doctor's checks see it: the referencing table, the constraint, and the
/// referenced table when the catalog read it.
struct ForeignKeyRef {
    var table: Table
    var constraint: Constraint
    var key: ForeignKey
    var parent: Table?

    /// `table.constraint`, schema-qualified outside `public`.
    var object: String { ObjectName(schema: table.schema, name: "\(table.name).\(constraint.name)").description }
    var parentName: String { parent?.objectName.description ?? key.referencedTable }
    var from: [String] { constraint.columns.map { "\(table.objectName).\($0)" } }
    var to: [String] { key.referencedColumns.map { "\(parentName).\($0)" } }
    /// `documents.user_id`: how evidence names the reference.
    var label: String { "\(table.objectName).\(constraint.columns.joined(separator: ","))" }

    /// Every foreign key of the catalog, partitions left out (theirs are their parent's).
    static func all(_ context: DoctorContext) -> [ForeignKeyRef] {
        context.tables.filter { $0.partitionOf == nil && $0.kind != .foreign }.flatMap { table in
            table.constraints.values.sorted { $0.name < $1.name }.compactMap { constraint in
                constraint.foreignKey.map { ForeignKeyRef(table: table, constraint: constraint, key: $0, parent: context.schema.tables[$0.referencedTable]) }
            }
        }
    }

    /// Whether `fix_foreign_keys` can state this reference without changing what it enforces:
    /// MATCH SIMPLE, not deferrable, the referenced columns exactly a primary key or unique
    /// constraint, and both sides of one type (it refuses others).
    var fixable: Bool {
        guard key.match == .simple, !constraint.deferrable, let parent else { return false }
        let target = Set(key.referencedColumns)
        guard parent.constraints.values.contains(where: { ($0.kind == .primaryKey || $0.kind == .unique) && Set($0.columns) == target }) else { return false }
        return zip(constraint.columns, key.referencedColumns).allSatisfy { type(table, $0) == type(parent, $1) }
    }

    func type(_ table: Table, _ column: String) -> String? { table.columns.first { $0.name == column }?.type }

    /// The draft of this reference for `fix_foreign_keys`, with its current actions.
    var draft: ReferenceDraft {
        ReferenceDraft(object: object, from: from, to: to, onDelete: key.onDelete.option, onUpdate: key.onUpdate.option)
    }
}

extension ForeignKey.Action {
    /// As `fix_foreign_keys` spells it: `cascade`, `set_null`, `no_action`...
    var option: String { rawValue.lowercased().replacingOccurrences(of: " ", with: "_") }
}

/// `fk_without_index`, `mixed_on_delete`, `cascade_blocked`, `duplicate_foreign_key`,
/// `fk_type_mismatch` and `not_valid_constraint`: catalog rules over the foreign keys and
/// constraints, repaired together by one `fix_foreign_keys` step (and `add_check` or `sql`
/// for checks).
enum ForeignKeyChecks: DoctorCheck {
    static let classes: [FindingClass] = [.notValidConstraint, .mixedOnDelete, .cascadeBlocked, .duplicateForeignKey, .fkTypeMismatch, .fkWithoutIndex]

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        let keys = ForeignKeyRef.all(context)
        return notValid(context, keys) + mixedOnDelete(keys, all: keys) + cascadeBlocked(keys) + duplicates(keys) + typeMismatches(keys)
            + withoutIndex(context, keys)
    }

    /// A foreign key whose columns lead no valid, non-partial index of its table (in any order):
    /// each delete or key update of a parent row scans the child table.
    static func withoutIndex(_ context: DoctorContext, _ keys: [ForeignKeyRef]) -> [Finding] {
        keys.filter { ref in
            let columns = Set(ref.constraint.columns)
            return !ref.table.indexes.values.contains { index in
                index.valid && index.predicate == nil && index.keys.count >= columns.count
                    && index.keys.prefix(columns.count).allSatisfy(\.isColumn)
                    && Set(index.keys.prefix(columns.count).map(\.expression)) == columns
            }
        }.map { ref in
            let facts = context.facts(ref.table)
            let parentRows = ref.parent.map { context.facts($0).estimatedRows } ?? -1
            return Finding(
                .fkWithoutIndex, .warning, objects: [ref.object], table: ref.table.objectName.description,
                summary: "\(ref.label) references \(ref.parentName) without an index: each delete of a \(ref.parentName) row scans \(ref.table.objectName)",
                evidence: [
                    EvidenceItem("columns", .list(ref.constraint.columns)), EvidenceItem("references", .text(ref.to.joined(separator: ", "))),
                    EvidenceItem("on_delete", .text(ref.key.onDelete.option)), EvidenceItem("estimated_rows", .int(max(facts.estimatedRows, 0))),
                    EvidenceItem("size", .text(ByteSize.text(facts.totalBytes))), EvidenceItem("parent_estimated_rows", .int(max(parentRows, 0))),
                ],
                repair: ref.fixable ? FixForeignKeysStep.kind : nil,
                planData: ref.fixable ? ReferenceDraft.with(ref.draft) { $0.index = true } : [:])
        }
    }

    /// The foreign keys referencing one table whose ON DELETE differ: deleting a parent row
    /// cascades into some children and is refused by others. The subject is the parent.
    static func mixedOnDelete(_ keys: [ForeignKeyRef], all: [ForeignKeyRef]) -> [Finding] {
        let byParent = Dictionary(grouping: keys, by: \.key.referencedTable)
        return byParent.keys.sorted().compactMap { parentKey in
            let refs = byParent[parentKey] ?? []
            let byAction = Dictionary(grouping: refs, by: \.key.onDelete.option)
            guard byAction.count > 1, let parentName = refs.first?.parentName else { return nil }
            let ranked = byAction.keys.sorted { (byAction[$0]?.count ?? 0, $1) > (byAction[$1]?.count ?? 0, $0) }
            let majority = ranked[0]
            let spread = ranked.map { action in "\(action): " + (byAction[action] ?? []).map(\.label).joined(separator: ", ") }
            let counts = ranked.map { "\($0) by \(byAction[$0]?.count ?? 0)" }.joined(separator: ", ")
            var data: [String: EvidenceValue] = [:]
            let fixable = refs.allSatisfy(\.fixable)
            if fixable {
                for ref in refs {
                    var draft = ref.draft
                    draft.decide = "ON DELETE of \(ref.label) -> \(ref.to.joined(separator: ", ")) (now \(ref.key.onDelete.option))? "
                        + "\(parentName) is referenced with \(counts); most use \(majority)"
                    data.merge(ReferenceDraft.with(draft) { _ in }) { a, _ in a }
                    if ref.key.onDelete != .cascade { data.merge(cascadeQuestions(into: ref, all)) { a, _ in a } }
                }
            }
            var evidence = ranked.map { EvidenceItem($0, .list((byAction[$0] ?? []).map(\.label))) }
            evidence.append(EvidenceItem("majority", .text(majority)))
            return Finding(
                .mixedOnDelete, .warning, objects: [parentName] + ranked.flatMap { (byAction[$0] ?? []).map(\.object) }, table: nil,
                summary: "the foreign keys referencing \(parentName) differ in ON DELETE (\(spread.map { $0.prefix { $0 != ":" } }.joined(separator: " vs "))): "
                    + "deleting a \(parentName) row cascades into some tables and is refused by others",
                evidence: evidence, repair: fixable ? FixForeignKeysStep.kind : nil, planData: data)
        }
    }

    /// The references that would refuse the deletes if `ref` became ON DELETE CASCADE (its
    /// table's rows referenced with NO ACTION or RESTRICT): asked beside it, so a plan that
    /// chooses cascade does not leave deletes failing one table further down.
    static func cascadeQuestions(into ref: ForeignKeyRef, _ all: [ForeignKeyRef]) -> [String: EvidenceValue] {
        var data: [String: EvidenceValue] = [:]
        for below in all where below.key.referencedTable == ref.table.objectName.key && below.fixable
            && (below.key.onDelete == .noAction || below.key.onDelete == .restrict)
        {
            var draft = below.draft
            draft.decide = "ON DELETE of \(below.label) (now \(below.key.onDelete.option))? If \(ref.label) becomes cascade, deleting a \(ref.parentName) row "
                + "deletes \(ref.table.objectName) rows, which fails while \(below.table.objectName) references them"
            data.merge(ReferenceDraft.with(draft) { _ in }) { a, _ in a }
        }
        return data
    }

    /// A foreign key that refuses deletes (NO ACTION, RESTRICT) of rows that a CASCADE deletes:
    /// deleting the grandparent fails whenever such a row has children, so the CASCADE above
    /// does not do what it declares.
    static func cascadeBlocked(_ keys: [ForeignKeyRef]) -> [Finding] {
        let cascadesInto = Dictionary(grouping: keys.filter { $0.key.onDelete == .cascade }, by: { $0.table.objectName.key })
        return keys.compactMap { ref in
            guard ref.key.onDelete == .noAction || ref.key.onDelete == .restrict, let parent = ref.parent,
                let paths = cascadesInto[parent.objectName.key]
            else { return nil }
            let via = paths.map { "\($0.parentName) -> \($0.label) (cascade)" }
            var draft = ref.draft
            draft.decide = "ON DELETE of \(ref.label) (now \(ref.key.onDelete.option))? Deleting from \(paths.map(\.parentName).joined(separator: ", ")) "
                + "cascades into \(parent.objectName) and fails on its rows that \(ref.table.objectName) references; no_action keeps refusing"
            return Finding(
                .cascadeBlocked, .warning, objects: [ref.object], table: ref.table.objectName.description,
                summary: "\(ref.label) refuses (\(ref.key.onDelete.option)) the deletes that cascade into \(parent.objectName): "
                    + "deleting from \(paths.map(\.parentName).joined(separator: ", ")) fails when a \(parent.objectName) row has \(ref.table.objectName) rows",
                evidence: [EvidenceItem("on_delete", .text(ref.key.onDelete.option)), EvidenceItem("cascade_paths", .list(via))],
                repair: ref.fixable ? FixForeignKeysStep.kind : nil, planData: ref.fixable ? ReferenceDraft.with(draft) { _ in } : [:])
        }
    }

    /// Two foreign keys of one table on the same columns to the same columns: every write
    /// checks both. The one first by name is kept.
    static func duplicates(_ keys: [ForeignKeyRef]) -> [Finding] {
        let groups = Dictionary(grouping: keys) { [$0.table.objectName.key, $0.constraint.columns.joined(separator: ","), $0.key.referencedTable, $0.key.referencedColumns.joined(separator: ",")] }
        return groups.values.filter { $0.count > 1 }.flatMap { group -> [Finding] in
            let ranked = group.sorted { $0.constraint.name < $1.constraint.name }
            let kept = ranked[0]
            return ranked.dropFirst().map { ref in
                var draft = kept.draft
                if ref.key.onDelete != kept.key.onDelete || ref.key.onUpdate != kept.key.onUpdate {
                    draft.decide = "ON DELETE of \(ref.label)? \(kept.constraint.name) says \(kept.key.onDelete.option), \(ref.constraint.name) says \(ref.key.onDelete.option)"
                }
                return Finding(
                    .duplicateForeignKey, .warning, objects: [ref.object, kept.object], table: ref.table.objectName.description,
                    summary: "\(ref.object) repeats \(kept.object) (\(ref.label) -> \(ref.to.joined(separator: ", "))): every write checks both",
                    evidence: [
                        EvidenceItem("kept_instead", .text(kept.object)), EvidenceItem("on_delete", .text(ref.key.onDelete.option)),
                        EvidenceItem("kept_on_delete", .text(kept.key.onDelete.option)),
                    ],
                    repair: kept.fixable ? FixForeignKeysStep.kind : nil, planData: kept.fixable ? ReferenceDraft.with(draft) { _ in } : [:])
            }
        }
    }

    /// A foreign key whose column's type differs from the referenced column's (length and
    /// precision aside): `integer` referencing `bigint` overflows before its parent does.
    static func typeMismatches(_ keys: [ForeignKeyRef]) -> [Finding] {
        keys.compactMap { ref in
            guard let parent = ref.parent else { return nil }
            let pairs = zip(ref.constraint.columns, ref.key.referencedColumns).compactMap { column, target -> String? in
                guard let mine = ref.type(ref.table, column), let theirs = ref.type(parent, target), baseType(mine) != baseType(theirs) else { return nil }
                return "\(ref.table.objectName).\(column) \(mine) -> \(parent.objectName).\(target) \(theirs)"
            }
            guard !pairs.isEmpty else { return nil }
            return Finding(
                .fkTypeMismatch, .warning, objects: [ref.object], table: ref.table.objectName.description,
                summary: "\(ref.label) is not of the type it references (\(pairs.joined(separator: "; "))): "
                    + "values of the parent may not fit, and each check converts",
                evidence: [EvidenceItem("columns", .list(pairs))], repair: nil)
        }
    }

    /// A type without its length or precision: `character varying`, `numeric`.
    static func baseType(_ type: String) -> String {
        type.replacingOccurrences(of: #"\([0-9, ]*\)"#, with: "", options: .regularExpression)
    }

    /// CHECK and foreign key constraints added `NOT VALID` and never validated: rows from before
    /// may break them, and the planner cannot rely on them.
    static func notValid(_ context: DoctorContext, _ keys: [ForeignKeyRef]) -> [Finding] {
        let references = Dictionary(uniqueKeysWithValues: keys.map { ($0.object, $0) })
        return context.tables.filter { $0.partitionOf == nil }.flatMap { table in
            table.constraints.values.filter { !$0.validated }.sorted { $0.name < $1.name }.map { constraint in
                let object = ObjectName(schema: table.schema, name: "\(table.name).\(constraint.name)").description
                var repair = SQLStep.kind
                var data: [String: EvidenceValue] = ["schema": .text(table.schema), "table": .text(table.name), "constraint": .text(constraint.name)]
                if let ref = references[object], ref.fixable {
                    repair = FixForeignKeysStep.kind
                    data = ReferenceDraft.with(ref.draft) { _ in }
                } else if constraint.kind == .check, let expression = constraint.checkExpression {
                    repair = AddCheckStep.kind
                    data["expression"] = .text(expression)
                }
                let what = constraint.kind == .foreignKey ? "foreign key" : "check"
                return Finding(
                    .notValidConstraint, .warning, objects: [object], table: table.objectName.description,
                    summary: "\(what) \(object) is NOT VALID: rows written before it was added are not known to satisfy it",
                    evidence: [EvidenceItem("kind", .text(what)), EvidenceItem("definition", .text(constraint.definition))], repair: repair, planData: data)
            }
        }
    }
}
