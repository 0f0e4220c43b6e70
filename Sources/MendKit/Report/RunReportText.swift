import SchemaModel

/// A run report for people: a header, one line per step with a mark, the details of what is
/// needed or blocked, and the schema changes. Colours only when asked (on a terminal).
public struct RunReportText {
    let report: RunReport
    let color: Bool

    public init(_ report: RunReport, color: Bool = false) {
        self.report = report
        self.color = color
    }

    public var text: String {
        var lines: [String] = []
        let mode = switch report.mode {
        case .dryRun: "dry run (changes nothing)"
        case .rehearsal: "rehearsal (one transaction, rolled back)"
        case .apply: "run"
        }
        lines.append("plan \(report.plan.name) (\(report.plan.path), sha256 \(report.plan.sha256.prefix(12))) - \(mode)")
        lines.append("database \(report.database), PostgreSQL \(report.serverVersion)")
        lines.append("")
        for step in report.steps {
            var line = "\(mark(step.status)) \(step.number). \(step.kind)\(summary(step)): \(step.status.rawValue)"
            if let reason = step.reason { line += " - \(reason)" }
            lines.append(line)
            if let note = step.note { lines.append("    note: \(note)") }
        }
        let details = report.steps.filter { !$0.actions.isEmpty || !$0.problems.isEmpty }
        for step in details {
            lines.append("")
            lines.append("step \(step.number), \(step.kind) (\(step.location)):")
            for action in step.actions {
                var facts = ["lock \(action.lock)" + (action.tables.isEmpty || action.lock == LockLevel.none.rawValue ? "" : " on " + action.tables.joined(separator: ", "))]
                if !action.hazards.isEmpty {
                    let rows = action.deletesRows.map { " (\($0) row\($0 == 1 ? "" : "s"))" } ?? ""
                    facts.append("hazards: " + action.hazards.map { $0 == Hazard.deletesData.rawValue ? $0 + rows : $0 }.joined(separator: ", "))
                }
                if !action.transactional { facts.append("outside a transaction") }
                if action.executed {
                    facts.append("ran" + (action.rowsAffected.map { ", \($0) row\($0 == 1 ? "" : "s")" } ?? "") + ((action.attempts ?? 1) > 1 ? ", \(action.attempts ?? 1) attempts" : "")
                        + (action.longestTransactionMs.map { ", longest transaction \($0) ms" } ?? "") + (action.note.map { "; \($0)" } ?? ""))
                }
                lines.append("  - \(action.summary) [\(facts.joined(separator: "; "))]")
                for sqlLine in action.sql.split(separator: "\n", omittingEmptySubsequences: false) {
                    lines.append("      \(sqlLine)")
                }
            }
            for problem in step.problems {
                var line = "  ! \(problem.message)"
                if let count = problem.count {
                    line += " (\(count) row\(count == 1 ? "" : "s")"
                    if !problem.sample.isEmpty { line += "; primary keys: " + problem.sample.joined(separator: ", ") + (count > problem.sample.count ? ", ..." : "") }
                    line += ")"
                }
                lines.append(line)
            }
        }
        lines.append("")
        if !report.warnings.isEmpty {
            lines.append("warnings: the plan's models would undo \(report.warnings.count == 1 ? "this change" : "these \(report.warnings.count) changes"):")
            lines += report.warnings.map { "  ! \($0.description)" }
            lines.append("")
        }
        if report.mode == .dryRun || report.actualChanges == nil {
            lines.append(changes("predicted schema changes", report.predictedChanges))
            if !report.predictionComplete {
                // Each cause its own line, so a plan with neither raw SQL nor a waiting step
                // is not told it has them.
                let noted = report.steps.contains { $0.note != nil }
                let unforeseeable = report.steps.contains { $0.status == .waiting || ($0.status == .needed && $0.actions.contains(where: \.raw)) }
                if unforeseeable || !noted {
                    lines.append("  (incomplete: raw SQL, and steps waiting for earlier ones, change what pgmend cannot predict before they run)")
                }
                if noted {
                    lines.append("  (incomplete: the steps with a note were predicted without the server's spelling of their checks and defaults)")
                }
            }
        } else if let actual = report.actualChanges {
            lines.append(changes("schema changes", actual))
        }
        if let pre = report.preSnapshot { lines.append("pre-snapshot:  \(pre)") }
        if let post = report.postSnapshot { lines.append("post-snapshot: \(post)") }
        if report.mode != .dryRun {
            lines.append("\(report.statementsExecuted) statement\(report.statementsExecuted == 1 ? "" : "s") executed")
        }
        if let message = report.message { lines.append(message) }
        return lines.joined(separator: "\n") + "\n"
    }

    private func changes(_ title: String, _ changes: [SchemaChange]) -> String {
        guard !changes.isEmpty else { return "\(title): none" }
        return "\(title) (\(changes.count)):\n" + changes.map { "  \($0.description)" }.joined(separator: "\n")
    }

    private func summary(_ step: RunReport.StepReport) -> String {
        let keys = ["table", "tables", "name", "from", "to", "column"]
        let parts = keys.compactMap { key in step.settings[key].map { "\(key)=\($0)" } }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }

    private func mark(_ status: StepStatus) -> String {
        let (symbol, code) = switch status {
        case .satisfied, .applied: ("✓", "32")
        case .needed: ("•", "33")
        case .waiting: ("…", "36")
        case .blocked, .failed: ("✗", "31")
        }
        return color ? "\u{1B}[\(code)m\(symbol)\u{1B}[0m" : symbol
    }
}
