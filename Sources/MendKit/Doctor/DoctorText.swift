import Foundation

/// The report as people read it, at most 100 columns wide.
public enum DoctorText {
    static let width = 100
    static let indent = "         "
    /// Items of a list shown before "and N more".
    static let listLimit = 8

    public static func lines(_ report: DoctorReport) -> [String] {
        var lines: [String] = []
        let sampledNote = report.exact
            ? "every table read whole (--exact)"
            : report.sampled.isEmpty
                ? "every table read whole"
                : "\(report.sampled.count) table\(report.sampled.count == 1 ? "" : "s") over \(ByteSize.text(report.sampleAboveBytes)) read as a sample"
        lines += wrap("doctor: database \(report.database), \(TextLayout.count(report.tables, "table")), \(sampledNote)", width: width)
        for finding in report.findings {
            lines.append("")
            lines += block(finding)
        }
        if !report.kept.isEmpty {
            lines += ["", "kept on purpose (ignore:):"]
            for kept in report.kept {
                lines += wrap("\(kept.finding.id), \(kept.keptBy)\(kept.reason.map { ": \($0)" } ?? "")", width: width - 2).map { "  \($0)" }
            }
        }
        for unused in report.unusedIgnores {
            lines += wrap("note: ignore entry matches no finding: \(unused)", width: width)
        }
        for skipped in report.skipped {
            lines += wrap("not checked: \(skipped.what): \(skipped.reason)", width: width)
        }
        lines.append("")
        lines += wrap(summary(report), width: width)
        return lines
    }

    static func summary(_ report: DoctorReport) -> String {
        let counts = report.counts
        var text = report.findings.isEmpty
            ? "No findings."
            : "\(count(report.findings.count, "finding")): \(count(counts["error"] ?? 0, "error")), \(count(counts["warning"] ?? 0, "warning")), \(counts["info"] ?? 0) info."
        if !report.kept.isEmpty { text += " \(report.kept.count) kept by ignore:." }
        if !report.skipped.isEmpty { text += " \(count(report.skipped.count, "read")) not finished (see above)." }
        if !report.findings.isEmpty { text += " pgmend doctor --write-plan FILE writes the plan that repairs them." }
        return text
    }

    static func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }

    /// One finding: severity, class and objects; then the summary, each piece of evidence on
    /// its own line (a list one item a line, cut after `listLimit`), rows, sample and repair,
    /// each wrapped under the first line.
    static func block(_ finding: Finding) -> [String] {
        let severity = finding.severity.rawValue.uppercased()
        let objects = finding.objects.count > 3
            ? "\(finding.objects.prefix(2).joined(separator: ", ")) and \(finding.objects.count - 2) more"
            : finding.objects.joined(separator: ", ")
        let head = wrap("\(finding.classID.rawValue): \(objects)", width: width - indent.count)
        var lines = head.enumerated().map { number, line in
            (number == 0 ? severity + String(repeating: " ", count: indent.count - severity.count) : indent) + line
        }
        // Wrapped lines after the first are indented by `extra`, the first by `first`.
        func add(_ text: String, first: String = "", extra: String = "") {
            lines += wrap(text, width: width - indent.count - extra.count).enumerated().map { number, line in
                indent + (number == 0 ? first : extra) + line
            }
        }
        add(finding.summary)
        for item in finding.evidence {
            let label = item.label.replacingOccurrences(of: "_", with: " ")
            if case .list(let values) = item.value, values.count > 1 {
                lines.append(indent + label + ":")
                for value in values.prefix(listLimit) { add(value, first: "  ", extra: "    ") }
                if values.count > listLimit { add("and \(values.count - listLimit) more (--format json lists them)", first: "  ") }
            } else {
                add("\(label): \(item.value)", extra: "  ")
            }
        }
        if !finding.rows.isEmpty {
            let shown = finding.rows.prefix(5).joined(separator: ", ")
            add("rows: \(shown)\(finding.rows.count > 5 ? ", and \(finding.rows.count - 5) more (--format json lists them)" : "")", extra: "  ")
        }
        if let sample = finding.sample { add(sample.description) }
        add("repair: \(finding.repair ?? "by hand (no step kind does it)")")
        return lines
    }
}
