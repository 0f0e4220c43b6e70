import Foundation

/// The report as people read it, at most 100 columns wide.
public enum DoctorText {
    static let width = 100
    static let indent = "         "

    public static func lines(_ report: DoctorReport) -> [String] {
        var lines: [String] = []
        let sampledNote = report.exact
            ? "every table read whole (--exact)"
            : report.sampled.isEmpty
                ? "every table read whole"
                : "\(report.sampled.count) table\(report.sampled.count == 1 ? "" : "s") over \(ByteSize.text(report.sampleAboveBytes)) read as a sample"
        lines += wrap("doctor: database \(report.database), \(report.tables) tables, \(sampledNote)", width: width)
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

    /// One finding: severity, class and subject; then the summary, evidence, rows, sample and
    /// repair, each wrapped under the first line.
    static func block(_ finding: Finding) -> [String] {
        let head = "\(finding.severity.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)) \(finding.classID.rawValue)  \(finding.objects.joined(separator: ", "))"
        var lines = wrap(head, width: width)
        func add(_ text: String) { lines += wrap(text, width: width - indent.count).map { indent + $0 } }
        add(finding.summary)
        if !finding.evidence.isEmpty {
            add(finding.evidence.map { "\($0.label.replacingOccurrences(of: "_", with: " ")): \($0.value)" }.joined(separator: "; "))
        }
        if !finding.rows.isEmpty {
            let shown = finding.rows.prefix(5).joined(separator: ", ")
            add("rows: \(shown)\(finding.rows.count > 5 ? ", and \(finding.rows.count - 5) more (--format json lists them)" : "")")
        }
        if let sample = finding.sample { add(sample.description) }
        add("repair: \(finding.repair ?? "by hand (no step kind does it)")")
        return lines
    }
}
