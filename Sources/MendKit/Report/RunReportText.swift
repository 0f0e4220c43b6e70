import SchemaModel

/// A run report for people, in lines of at most 100 columns: a header, one line per step with
/// a mark, then what a person needs next. A dry run shows each needed step's actions and SQL
/// (a long statement cut after a few lines unless `verbose`); a run and a rehearsal show per
/// step one line of outcome (rows, time, the archive by its real name), the details only of a
/// step that stopped, and the SQL only when `verbose`. Colours only when asked (a terminal).
public struct RunReportText {
    /// How much of the steps' actions is shown.
    public enum Detail: Sendable {
        /// Step lines and schema changes; the details only of a step that stopped.
        case brief
        /// A dry run's actions with their SQL cut after a few lines; a run's step lines.
        case normal
        /// Every action and every statement in full, in every mode.
        case verbose
    }

    let report: RunReport
    let color: Bool
    let detail: Detail
    static let width = 100

    public init(_ report: RunReport, color: Bool = false, detail: Detail = .normal) {
        self.report = report
        self.color = color
        self.detail = detail
    }

    public var text: String {
        var lines = header()
        lines.append("")
        for step in report.steps { lines += stepLines(step) }
        lines += RunReportDetails(width: Self.width, sqlLines: detail == .verbose ? nil : 6).lines(of: report.steps.filter(showsDetails))
        lines.append("")
        if !report.warnings.isEmpty {
            lines.append("warnings: the plan's models would undo \(report.warnings.count == 1 ? "this change" : "these \(report.warnings.count) changes"):")
            lines += report.warnings.flatMap { wrap($0.description, width: Self.width, first: "  ! ", rest: "    ") }
            lines.append("")
        }
        lines += footer()
        return lines.joined(separator: "\n") + "\n"
    }

    private func header() -> [String] {
        let mode = switch report.mode {
        case .dryRun: "dry run (changes nothing)"
        case .rehearsal: "rehearsal (one transaction, rolled back)"
        case .apply: "run"
        }
        return wrap("plan \(report.plan.name) (\(report.plan.path), sha256 \(report.plan.sha256.prefix(12))) - \(mode)", width: Self.width, first: "", rest: "  ")
            + wrap("database \(report.database), PostgreSQL \(report.serverVersion)", width: Self.width, first: "", rest: "  ")
    }

    /// A step that stopped is always detailed; the others in a dry run, or when verbose.
    private func showsDetails(_ step: RunReport.StepReport) -> Bool {
        guard !step.actions.isEmpty || !step.problems.isEmpty else { return false }
        if step.status == .blocked || step.status == .failed { return true }
        return detail == .verbose || (detail == .normal && report.mode == .dryRun)
    }

    private func stepLines(_ step: RunReport.StepReport) -> [String] {
        let status = report.mode == .rehearsal && step.status == .applied ? "rehearsed" : step.status.rawValue
        var line = "\(step.number). \(step.kind)\(summary(step)): \(status)"
        var notes: [String] = []
        if step.status == .applied {
            line += outcome(step).map { " - \($0)" } ?? ""
            notes = step.actions.compactMap(\.note)
        } else if let reason = step.reason {
            line += " - \(reason)"
        }
        if let note = step.note { notes.append("note: \(note)") }
        // The mark is drawn after wrapping: its colour codes take no columns.
        var lines = wrap(line, width: Self.width, first: "  ", rest: "     ")
        lines[0] = mark(step.status) + lines[0].dropFirst(1)
        for note in notes { lines += wrap(note, width: Self.width, first: "     ", rest: "       ") }
        return lines
    }

    /// What an applied step did: its statements, rows, batches and time.
    private func outcome(_ step: RunReport.StepReport) -> String? {
        let ran = step.actions.filter(\.executed)
        guard !ran.isEmpty else { return nil }
        var facts = [Self.tally(ran, files: "written")]
        let rows = ran.compactMap(\.rowsAffected)
        if !rows.isEmpty {
            let batches = ran.compactMap(\.batches).reduce(0, +)
            facts.append(TextLayout.count(rows.reduce(0, +), "row") + (batches > 1 ? " in \(TextLayout.count(batches, "batch"))" : ""))
        }
        if let attempts = ran.compactMap(\.attempts).max(), attempts > 1 { facts.append("\(attempts) attempts") }
        let milliseconds = ran.compactMap(\.durationMs).reduce(0, +)
        facts.append(Self.duration(milliseconds))
        if let longest = ran.compactMap(\.longestTransactionMs).max(), ran.contains(where: { ($0.batches ?? 1) > 1 }) {
            let p99 = ran.compactMap(\.batchP99Ms).max()
            facts.append("longest transaction \(Self.duration(longest))" + (p99.map { " (p99 \(Self.duration($0)))" } ?? ""))
        }
        return facts.joined(separator: ", ")
    }

    private func footer() -> [String] {
        var lines: [String] = []
        switch report.mode {
        case .dryRun:
            lines += changes("predicted schema changes", report.predictedChanges)
            lines += incompleteNotes()
            if let pending = report.pendingWork { lines += wrap("to run: " + pending, width: Self.width, first: "", rest: "  ") }
        case .rehearsal:
            if let actual = report.actualChanges {
                lines += changes("schema changes, rolled back", actual, asPredicted: true)
            } else {
                lines += changes("predicted schema changes", report.predictedChanges)
            }
            let ran = report.steps.flatMap(\.actions).filter(\.executed)
            lines.append("\(Self.tally(ran, statements: "rehearsed", files: "rehearsed")), rolled back; nothing changed")
        case .apply:
            if let actual = report.actualChanges {
                lines += changes("schema changes", actual, asPredicted: true)
            } else {
                lines += changes("predicted schema changes", report.predictedChanges)
            }
            if let pre = report.preSnapshot { lines += wrap("pre-snapshot:  \(pre)", width: Self.width, first: "", rest: "  ") }
            if let post = report.postSnapshot { lines += wrap("post-snapshot: \(post)", width: Self.width, first: "", rest: "  ") }
            let ran = report.steps.flatMap(\.actions).filter(\.executed)
            // "nothing to do ... (0 statements executed)" says it already.
            if !(ran.isEmpty && report.message?.hasPrefix("nothing to do") == true) { lines.append(Self.tally(ran, statements: "executed", files: "written")) }
        }
        if let message = report.message { lines += wrap(message, width: Self.width, first: "", rest: "  ") }
        return lines
    }

    private func incompleteNotes() -> [String] {
        guard !report.predictionComplete else { return [] }
        var lines: [String] = []
        // Each cause its own line, so a plan with neither raw SQL nor a waiting step is not
        // told it has them.
        let noted = report.steps.contains { $0.note != nil }
        let unforeseeable = report.steps.contains { $0.status == .waiting || ($0.status == .needed && $0.actions.contains(where: \.raw)) }
        if unforeseeable || !noted {
            lines += wrap(
                "(incomplete: raw SQL, and steps waiting for earlier ones, change what pgmend cannot predict before they run)",
                width: Self.width, first: "  ", rest: "   ")
        }
        if noted {
            lines += wrap(
                "(incomplete: the steps with a note were predicted without the server's spelling of their checks and defaults)",
                width: Self.width, first: "  ", rest: "   ")
        }
        return lines
    }

    /// `changes` under `title`. `asPredicted`: changes that happened, which a run does not
    /// list again when they are the dry run's prediction (its operator has seen them), unless
    /// verbose.
    private func changes(_ title: String, _ changes: [SchemaChange], asPredicted: Bool = false) -> [String] {
        guard !changes.isEmpty else { return ["\(title): none"] }
        if asPredicted, detail != .verbose, report.predictionComplete,
           changes.map(\.description).sorted() == report.predictedChanges.map(\.description).sorted() {
            return ["\(title) (\(changes.count)): as the dry run predicted (--verbose lists them)"]
        }
        return ["\(title) (\(changes.count)):"] + changes.flatMap { wrap($0.description, width: Self.width, first: "  ", rest: "      ") }
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

    /// "3 statements executed", "2 files written", "3 statements executed, 2 files written":
    /// a plan that only wrote files is not said to have run statements.
    static func tally(_ actions: [RunReport.ActionReport], statements verb: String? = nil, files fileVerb: String? = nil) -> String {
        let files = actions.filter(\.writesFile).count
        let statements = actions.count - files
        var parts: [String] = []
        if statements > 0 || files == 0 { parts.append(TextLayout.count(statements, "statement") + (verb.map { " \($0)" } ?? "")) }
        if files > 0 { parts.append(TextLayout.count(files, "file") + (fileVerb.map { " \($0)" } ?? "")) }
        return parts.joined(separator: ", ")
    }

    static func duration(_ milliseconds: Int) -> String {
        milliseconds < 1000 ? "\(milliseconds) ms" : "\(milliseconds / 1000).\(milliseconds % 1000 / 100) s"
    }
}
