import Foundation

/// The `extract_json_fields` step of a `json_fields` finding: its fields with their inferred
/// types (`unique: true` for keys that look unique), and `on_conflict`, `on_invalid` and
/// `prefer` as decisions with the rows behind them, only where the evidence needs them.
extension JSONFieldsCheck {
    static func planSteps(_ findings: [Finding]) -> [PlanDraftStep] {
        findings.filter { $0.repair != nil }.compactMap(step)
    }

    static func step(_ finding: Finding) -> PlanDraftStep? {
        let list = { (key: String) -> [String] in if case .list(let values)? = finding.planData[key] { values } else { [] } }
        guard case .text(let table)? = finding.planData["table"], case .text(let column)? = finding.planData["column"] else { return nil }
        let counts = list("counts").compactMap(Int.init)
        guard counts.count == 4 else { return nil }
        let (invalid, repeated, differing, columnOnly) = (counts[0], counts[1], counts[2], counts[3])
        var fields: [YAMLValue] = []
        for spec in list("fields") {
            let parts = spec.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 4 else { continue }
            var pairs = [YAMLPair("name", .plain(parts[0])), YAMLPair("type", .plain(parts[1]))]
            if parts[2] == "true" { pairs.append(YAMLPair("unique", .bool(true))) }
            if let naive = Int(parts[3]), naive > 0 {
                pairs.append(YAMLPair("assume_time_zone", .decide("\(naive) values of \(parts[0]) have no offset: the zone they were written in (e.g. UTC)")))
            }
            fields.append(.map(pairs))
        }
        var options = [YAMLPair("table", .plain(table)), YAMLPair("column", .plain(column)), YAMLPair("fields", .list(fields))]
        if repeated > 0 {
            let by = { if case .text(let by)? = finding.planData["keep_first_by"] { by } else { "created_at" } }()
            options.append(YAMLPair("on_conflict", .decide(
                "\(repeated) value\(repeated == 1 ? " is" : "s are") held by more than one row: \(list("duplicates").joined(separator: "; "))."
                    + " {keep_first_by: \(by)}: the first row keeps it, the others get NULL (journaled in pgmend.set_aside); or fail, and fix those rows first")))
        }
        if invalid > 0 {
            options.append(YAMLPair("on_invalid", .decide(
                "\(invalid) value\(invalid == 1 ? " does" : "s do") not convert: \(list("invalid").joined(separator: "; "))."
                    + " \"null\": their columns get NULL and the values stay in the JSON; or fail, and fix them first")))
        }
        if finding.planData["has_column"] == .flag(true) && differing + columnOnly > 0 {
            options.append(YAMLPair("prefer", .decide(
                "\(differing + columnOnly) row\(differing + columnOnly == 1 ? "'s" : "s'") column already differs from the JSON: \(list("differs").joined(separator: "; "))."
                    + " json: the JSON's value wins; column: the column's value stays")))
        }
        // As the hand-written plan: keys whose values are in their columns go; set-aside ones stay.
        options.append(YAMLPair("remove_keys", .bool(true)))
        var comments = ["\(finding.id): \(finding.summary)."]
        if finding.sample != nil { comments.append("Counts from a sample: the step's own assessment reads every row.") }
        comments.append("Fields with the type their values have; add `default:` or `trim:` where the application wants them.")
        return PlanDraftStep(.jsonFields, kind: "extract_json_fields", comments: comments, options: options)
    }
}
