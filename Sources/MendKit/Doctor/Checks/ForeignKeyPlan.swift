import Foundation
import PostgresClient
import SchemaModel

/// One reference of the `fix_foreign_keys` step doctor writes, as a finding carries it to the
/// plan writer (JSON text in `planData`, keyed `reference:<table.constraint>`): several
/// findings about one foreign key (no index, mixed ON DELETE, not valid) become one reference.
struct ReferenceDraft: Codable, Hashable {
    var object: String
    var from: [String]
    var to: [String]
    var onDelete: String
    var onUpdate: String
    var index = false
    /// The question when ON DELETE is the operator's to choose.
    var decide: String?

    static let prefix = "reference:"

    /// `draft`, changed by `change`, as plan data.
    static func with(_ draft: ReferenceDraft, _ change: (inout ReferenceDraft) -> Void) -> [String: EvidenceValue] {
        var draft = draft
        change(&draft)
        guard let data = try? JSONEncoder().encode(draft), let text = String(data: data, encoding: .utf8) else { return [:] }
        return [prefix + draft.object: .text(text)]
    }

    static func drafts(_ finding: Finding) -> [ReferenceDraft] {
        finding.planData.keys.sorted().filter { $0.hasPrefix(prefix) }.compactMap { key in
            guard case .text(let text) = finding.planData[key] else { return nil }
            return try? JSONDecoder().decode(ReferenceDraft.self, from: Data(text.utf8))
        }
    }

    /// Another finding's draft of the same reference folded in: an index if either wants one,
    /// every question asked.
    mutating func merge(_ other: ReferenceDraft) {
        index = index || other.index
        if let question = other.decide, decide?.contains(question) != true {
            decide = decide.map { $0 + "; " + question } ?? question
        }
    }

    /// The reference as a `references:` item.
    var yaml: YAMLValue {
        func columns(_ names: [String]) -> YAMLValue { names.count == 1 ? .plain(names[0]) : .list(names.map { .plain($0) }) }
        var pairs = [YAMLPair("from", columns(from)), YAMLPair("to", columns(to))]
        pairs.append(YAMLPair("on_delete", decide.map { .decide($0 + " (cascade, set_null, restrict or no_action)") } ?? .plain(onDelete)))
        if onUpdate != "no_action" { pairs.append(YAMLPair("on_update", .plain(onUpdate))) }
        if index { pairs.append(YAMLPair("index", .bool(true))) }
        return .map(pairs)
    }
}

extension ForeignKeyChecks {
    /// One `fix_foreign_keys` step over every reference the findings name (an index where one
    /// is missing, ON DELETE to decide where it is mixed or blocks a cascade, a NOT VALID one
    /// validated), then an `add_check` or `sql` step for each NOT VALID constraint that is no
    /// such reference.
    static func planSteps(_ findings: [Finding]) -> [PlanDraftStep] {
        var drafts: [String: ReferenceDraft] = [:]
        var order: [String] = []
        var comments: [String] = []
        var first: FindingClass?
        for finding in findings where finding.repair == FixForeignKeysStep.kind {
            comments.append("\(finding.id): \(finding.summary)")
            first = min(first ?? finding.classID, finding.classID)
            for draft in ReferenceDraft.drafts(finding) {
                if drafts[draft.object] == nil {
                    order.append(draft.object)
                    drafts[draft.object] = draft
                } else {
                    drafts[draft.object]?.merge(draft)
                }
            }
        }
        var steps: [PlanDraftStep] = []
        if let first, !order.isEmpty {
            steps.append(PlanDraftStep(
                first, kind: FixForeignKeysStep.kind, comments: comments,
                options: [YAMLPair("references", .list(order.compactMap { drafts[$0]?.yaml }))]))
        }
        for finding in findings where finding.classID == .notValidConstraint {
            steps += validation(finding)
        }
        return steps
    }

    /// The step that validates a NOT VALID constraint that `fix_foreign_keys` does not: a check
    /// through `add_check` (which names the rows that break it), anything else through `sql`.
    static func validation(_ finding: Finding) -> [PlanDraftStep] {
        guard case .text(let schema) = finding.planData["schema"], case .text(let table) = finding.planData["table"],
            case .text(let name) = finding.planData["constraint"]
        else { return [] }
        let comments = ["\(finding.id): \(finding.summary)"]
        let tableName = ObjectName(schema: schema, name: table)
        if finding.repair == AddCheckStep.kind, case .text(let expression) = finding.planData["expression"] {
            return [PlanDraftStep(
                .notValidConstraint, kind: AddCheckStep.kind, comments: comments + ["add_check only validates a NOT VALID check of this expression."],
                options: [YAMLPair("table", .plain(tableName.description)), YAMLPair("name", .plain(name)), YAMLPair("expression", .plain(expression))])]
        }
        guard finding.repair == SQLStep.kind else { return [] }
        // Plan text, not a statement of pgmend's: the sql step sends it as the plan has it.
        let target = tableName.sqlName.description
        let constraint = SQLIdentifier(name).description
        let regclass = SQLLiteral.quoted(tableName.sqlName.quoted)
        let validated = "SELECT coalesce((SELECT convalidated FROM pg_constraint WHERE conrelid = to_regclass(" + regclass
            + ") AND conname = " + SQLLiteral.quoted(name) + "), true)"
        return [PlanDraftStep(
            .notValidConstraint, kind: SQLStep.kind, comments: comments + ["VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE: reads and writes go on."],
            options: [
                YAMLPair("run", .plain("ALTER TABLE " + target + " VALIDATE CONSTRAINT " + constraint)), YAMLPair("done_when", .plain(validated)),
                YAMLPair("lock", .plain("share_update_exclusive")),
            ])]
    }
}
