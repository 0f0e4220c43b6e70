/// The details of a run report's steps for people: each action with its lock and hazards,
/// its SQL laid out in 100 columns, and the problems with a few primary keys.
struct RunReportDetails {
    let width: Int
    /// Lines shown of one statement before "… N more lines"; nil: all of it (`--verbose`).
    let sqlLines: Int?
    /// Primary keys shown of a problem's rows before "and N more".
    static let keysShown = 5

    /// The steps' details, each after an empty line. A statement that several actions run
    /// (the key-range query of every backfill pass) is shown once, with its count.
    func lines(of steps: [RunReport.StepReport]) -> [String] {
        var occurrences: [String: Int] = [:]
        for action in steps.flatMap(\.actions) {
            for statement in Self.statements(action.sql) where Self.repeatable(statement) { occurrences[statement, default: 0] += 1 }
        }
        var shown: Set<String> = []
        var lines: [String] = []
        for step in steps {
            lines.append("")
            lines.append("step \(step.number), \(step.kind) (\(step.location)):")
            for action in step.actions {
                lines += wrap("\(action.summary) [\(facts(action).joined(separator: "; "))]", width: width, first: "  - ", rest: "    ")
                for statement in Self.statements(action.sql) {
                    let count = occurrences[statement] ?? 1
                    if count > 1 && shown.contains(statement) {
                        let first = statement.prefix { $0 != "\n" }
                        lines.append(String("      -- again, as above: \(first)".prefix(width - 1)) + "…")
                        continue
                    }
                    shown.insert(statement)
                    lines += sql(statement)
                    if count > 1 { lines.append("      -- (\(count) times in this plan; shown once)") }
                }
                if let batches = action.batches, batches > 1 { lines.append("      -- (ran once per batch: \(TextLayout.count(batches, "batch")))") }
            }
            for problem in step.problems { lines += self.problem(problem) }
        }
        return lines
    }

    private func facts(_ action: RunReport.ActionReport) -> [String] {
        let on = action.tables.isEmpty || action.lock == LockLevel.none.rawValue ? "" : " on " + action.tables.joined(separator: ", ")
        var facts = ["lock \(action.lock)\(on)"]
        if !action.hazards.isEmpty {
            let rows = action.deletesRows.map { " (\(TextLayout.count($0, "row")))" } ?? ""
            facts.append("hazards: " + action.hazards.map { $0 == Hazard.deletesData.rawValue ? $0 + rows : $0 }.joined(separator: ", "))
        }
        if !action.transactional { facts.append("outside a transaction") }
        if action.executed {
            var ran = "ran"
            if let rows = action.rowsAffected { ran += ", " + TextLayout.count(rows, "row") }
            if let attempts = action.attempts, attempts > 1 { ran += ", \(attempts) attempts" }
            if let longest = action.longestTransactionMs { ran += ", longest transaction \(RunReportText.duration(longest))" }
            if let p99 = action.batchP99Ms { ran += " (p99 \(RunReportText.duration(p99)))" }
            if let note = action.note { ran += "; \(note)" }
            facts.append(ran)
        }
        return facts
    }

    /// A statement laid out, cut after `sqlLines` lines.
    private func sql(_ statement: String) -> [String] {
        let lines = SQLLayout.lines(statement.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n"), width: width)
        guard let limit = sqlLines, lines.count > limit + 1 else { return lines }
        return Array(lines.prefix(limit)) + ["      … \(TextLayout.count(lines.count - limit, "more line")) (--verbose shows the whole statement)"]
    }

    private func problem(_ problem: RunReport.ProblemReport) -> [String] {
        var text = problem.message
        if let count = problem.count {
            text += " (\(TextLayout.count(count, "row"))"
            if !problem.sample.isEmpty {
                let shown = problem.sample.prefix(Self.keysShown)
                let more = count - shown.count
                text += "; primary keys: " + shown.joined(separator: ", ") + (more > 0 ? " and \(more) more" : "")
            }
            text += ")"
        }
        return wrap(text, width: width, first: "  ! ", rest: "    ")
    }

    /// The statements of an action's SQL: lines up to one ending in `;`, a comment line alone.
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current: [Substring] = []
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("--") && current.isEmpty {
                statements.append(String(line))
                continue
            }
            current.append(line)
            if trimmed.hasSuffix(";") {
                statements.append(current.joined(separator: "\n"))
                current = []
            }
        }
        if !current.isEmpty { statements.append(current.joined(separator: "\n")) }
        return statements
    }

    /// Worth showing once: a statement, not a comment, long enough that its repeat costs lines.
    static func repeatable(_ statement: String) -> Bool {
        !statement.hasPrefix("--") && statement.count > 60
    }
}
