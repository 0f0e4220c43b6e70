import Foundation
import PostgresClient

/// The plan text of `free_text_enum`'s repairs: a `backfill` that folds dirty variants into
/// their labels, a `backfill` for rare values (what they become is the operator's choice), then
/// `to_enum` with the labels to confirm. `to_enum` blocks on any value outside its labels, so
/// the backfills come first.
extension FreeTextEnumCheck {
    static func planSteps(_ findings: [Finding]) -> [PlanDraftStep] {
        var types: [SharedType] = []
        return findings.flatMap { steps($0, &types) }
    }

    /// An enum type an earlier step of the plan creates: a later column of the same kind
    /// (`memory_status_history.new_state` after `memories.state`) whose labels are among its
    /// labels gets the same type.
    struct SharedType {
        var name: String
        var word: String
        var labels: [String]
        var column: String
    }

    static func lastWord(_ column: String) -> String {
        column.lowercased().split(separator: "_").last.map(String.init) ?? column.lowercased()
    }

    static func list(_ finding: Finding, _ key: String) -> [String] {
        if case .list(let values)? = finding.planData[key] { return values }
        return []
    }

    static func text(_ finding: Finding, _ key: String) -> String? {
        if case .text(let value)? = finding.planData[key] { return value }
        return nil
    }

    /// A column name as plan SQL text writes it: bare when PostgreSQL reads it back unchanged.
    static func planIdentifier(_ name: String) -> String {
        let plain = name.first.map { $0 == "_" || ($0.isLetter && $0.isLowercase && $0.isASCII) } ?? false
            && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }
        return plain ? name : SQLIdentifier(name).quoted
    }

    static func steps(_ finding: Finding, _ types: inout [SharedType]) -> [PlanDraftStep] {
        guard let table = text(finding, "table"), let column = text(finding, "column") else { return [] }
        let quoted = planIdentifier(column)
        let labels = list(finding, "labels")
        let variants = list(finding, "variants")
        let variantLabels = list(finding, "variant_labels")
        let rare = list(finding, "rare")
        var steps: [PlanDraftStep] = []
        var comments = ["\(finding.id): \(finding.summary)."]
        if finding.sample != nil { comments.append("Counts from a sample: values outside it may exist; to_enum names any that block it.") }

        if !variants.isEmpty {
            let whens = zip(variants, variantLabels).map { "WHEN \(SQLLiteral.quoted($0)) THEN \(SQLLiteral.quoted($1))" }.joined(separator: " ")
            // Compared as text, so the step still reads right once to_enum has made the column
            // an enum: a second run finds nothing to fold instead of failing on 'Failed'.
            let expression = "CASE \(quoted)::text \(whens) ELSE \(quoted) END"
            let ambiguous = finding.planData["ambiguous"] == .flag(true)
            let set: YAMLValue = ambiguous
                ? .decide("two spellings of a label are both common (\(list(finding, "variant_text").joined(separator: "; "))): which spelling is the label? Proposed: \(expression)")
                : .plain(expression)
            steps.append(PlanDraftStep(
                .freeTextEnum, kind: "backfill",
                comments: comments + ["Dirty variants folded into their labels: \(list(finding, "variant_text").joined(separator: "; "))."],
                options: [
                    YAMLPair("table", .plain(table)), YAMLPair("set", .map([YAMLPair(column, set)])),
                    YAMLPair("where", .plain("\(quoted)::text IN (\(variants.map(SQLLiteral.quoted).joined(separator: ", ")))")),
                ]))
            comments = []
        }
        if !rare.isEmpty {
            let fallback = text(finding, "default") ?? (finding.planData["not_null"] == .flag(true) ? labels.first : nil)
            let target = fallback.map(SQLLiteral.quoted) ?? "NULL"
            let proposal = "CASE \(quoted)::text " + rare.map { "WHEN \(SQLLiteral.quoted($0)) THEN \(target)" }.joined(separator: " ") + " END"
            let question = "values outside the labels (\(labels.joined(separator: ", "))): \(list(finding, "rare_text").joined(separator: "; "))."
                + " What does each become? A label, or NULL (e.g. \(proposal)); or delete this step and add them to to_enum's labels below"
            steps.append(PlanDraftStep(
                .freeTextEnum, kind: "backfill", comments: comments + ["Rare values, outside every label: to_enum would block on them."],
                options: [
                    YAMLPair("table", .plain(table)), YAMLPair("set", .map([YAMLPair(column, .decide(question))])),
                    YAMLPair("where", .plain("\(quoted)::text IN (\(rare.map(SQLLiteral.quoted).joined(separator: ", ")))")),
                ]))
            comments = []
        }
        guard finding.repair == "to_enum" else { return steps }
        let rows = list(finding, "label_rows")
        var type = text(finding, "type") ?? "\(table)_\(column)"
        var proposed = labels
        let shared = types.first { $0.word == lastWord(column) && Set(labels).isSubset(of: Set($0.labels)) }
        if let shared {
            type = shared.name
            proposed = shared.labels
        } else {
            types.append(SharedType(name: type, word: lastWord(column), labels: labels, column: "\(table).\(column)"))
        }
        var question = "the labels, in the order the type sorts them; by rows: "
            + zip(labels, rows).map { "\($0) \($1)" }.joined(separator: ", ") + ". Proposed: [\(proposed.joined(separator: ", "))]"
        if let shared { question += ": the type \(type) of \(shared.column), whose labels these are among; give both the same labels" }
        if let similar = text(finding, "similar_enum") {
            question += ". The unused enum type \(similar) has these labels: to use it, set type to its name, these labels to its labels, and map the values to them in a backfill above"
        }
        comments.append("Made an enum type (add_check with `\(quoted) IN (...)` instead keeps the text type and needs no rewrite).")
        steps.append(PlanDraftStep(
            .freeTextEnum, kind: "to_enum", comments: comments,
            options: [
                YAMLPair("table", .plain(table)), YAMLPair("column", .plain(column)),
                YAMLPair("type", .plain(type)), YAMLPair("labels", .decide(question)),
            ]))
        return steps
    }
}
