import Foundation

/// A value in a plan `--write-plan` writes: scalars quoted only where YAML needs it, lists and
/// maps in flow style, and `decide`, the marker of a choice only the operator can make.
public indirect enum YAMLValue: Sendable, Hashable {
    case plain(String)
    case int(Int64)
    case bool(Bool)
    case list([YAMLValue])
    case map([YAMLPair])
    /// `{decide: "question, with the evidence"}`: `plan check` and `run` refuse the plan,
    /// naming its line, until it is replaced by a value.
    case decide(String)

    /// The value on one line.
    public var flow: String {
        switch self {
        case .plain(let text): YAMLValue.written(text)
        case .int(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        case .list(let items): "[" + items.map(\.flow).joined(separator: ", ") + "]"
        case .map(let pairs): "{" + pairs.map { "\(YAMLValue.written($0.key)): \($0.value.flow)" }.joined(separator: ", ") + "}"
        case .decide(let question): "{decide: \(YAMLValue.quoted(question))}"
        }
    }

    /// `text` as a YAML scalar: bare when YAML reads it back as this very string, otherwise
    /// in double quotes.
    public static func written(_ text: String) -> String {
        let reserved: Set<String> = ["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"]
        let bare = !text.isEmpty && !reserved.contains(text.lowercased())
            && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_.%()-/".unicodeScalars.contains($0)) }
            && !(text.first!.isNumber || text.first == "-" || text.first == ".")
        return bare ? text : quoted(text)
    }

    /// `text` in YAML double quotes.
    public static func quoted(_ text: String) -> String { DoubleQuoted.literal(text) }
}

/// One key and its value in a `YAMLValue.map` or a step's options.
public struct YAMLPair: Sendable, Hashable {
    public var key: String
    public var value: YAMLValue

    public init(_ key: String, _ value: YAMLValue) {
        self.key = key
        self.value = value
    }
}

/// A step of the plan doctor writes: the finding(s) behind it as comments, then the step.
public struct PlanDraftStep: Sendable, Hashable {
    /// The class whose repair it is: steps are written in the classes' order.
    public var classID: FindingClass
    public var comments: [String]
    public var kind: String
    public var options: [YAMLPair]

    public init(_ classID: FindingClass, kind: String, comments: [String], options: [YAMLPair]) {
        self.classID = classID
        self.kind = kind
        self.comments = comments
        self.options = options
    }

    /// The step as a plan list item, indented under `steps:`.
    var lines: [String] { Self.lines(kind: kind, comments: comments, options: options) }

    /// A step of kind `kind` as a plan list item, its comments above it; also for plans other
    /// commands write (`pgmend drift --write-plan`).
    static func lines(kind: String, comments: [String], options: [YAMLPair]) -> [String] {
        var lines = comments.flatMap { PlanWriter.comment($0, indent: "  ") }
        lines.append("  - \(kind):")
        for option in options {
            switch option.value {
            // A list of maps, or one that would not fit in 100 columns: one item a line.
            case .list(let items) where items.contains(where: { if case .map = $0 { true } else { false } })
                || "      \(option.key): \(option.value.flow)".count > 100:
                lines.append("      \(option.key):")
                lines += items.map { "        - \($0.flow)" }
            default:
                lines.append("      \(option.key): \(option.value.flow)")
            }
        }
        return lines
    }
}

/// Writes the plan `pgmend doctor --write-plan FILE` saves: the steps that repair the
/// findings, in the seeds' priority order, each commented with the findings behind it;
/// choices only a person can make as `decide:` entries; findings no step kind repairs in
/// `ignore:`, each with a decision (keep it, saying why, or repair it by hand and delete the
/// entry).
public enum PlanWriter {
    public static func text(_ report: DoctorReport, path: String) -> String {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var byClass: [FindingClass: [Finding]] = [:]
        for finding in report.findings { byClass[finding.classID, default: []].append(finding) }
        var steps: [PlanDraftStep] = []
        var covered: Set<String> = []
        for check in Doctor.checks {
            let mine = check.classes.flatMap { byClass[$0] ?? [] }
            guard !mine.isEmpty else { continue }
            steps += check.planSteps(mine)
            covered.formUnion(mine.filter { $0.repair != nil }.map(\.id))
        }
        steps.sort { $0.classID.order < $1.classID.order }
        let manual = report.findings.filter { !covered.contains($0.id) }

        var lines = [
            "# Written by `pgmend doctor --write-plan` from database \(report.database): \(report.findings.count) findings.",
            "# Each step repairs the findings in the comment above it. Replace every `decide:` with your",
            "# choice (`pgmend plan check \(name)` names those left); delete a step to leave its findings as",
            "# they are. Findings no step repairs are in `ignore:` at the end: keep each (say why in",
            "# `reason`) or repair it by hand and delete its entry.",
            "name: \(YAMLValue.written(name))",
            "description: \(YAMLValue.written("Repairs what pgmend doctor found in \(report.database)"))",
            "settings:",
            "  lock_timeout: 2s",
            "  retries: 5",
            "steps:",
        ]
        if steps.isEmpty {
            lines += ["  # No finding has a step that repairs it; this step does nothing.",
                      "  - sql: {run: \"SELECT 1\", done_when: \"SELECT true\"}"]
        }
        for step in steps { lines += [""] + step.lines }
        if !manual.isEmpty {
            lines += ["", "ignore:"]
            for finding in manual {
                lines += comment("\(finding.id): \(finding.summary)", indent: "  ")
                let question = "keep \(finding.subject) as it is? Write why here, or repair it by hand and delete this entry"
                lines.append("  - {class: \(finding.classID.rawValue), object: \(YAMLValue.written(finding.subject)), reason: \(YAMLValue.decide(question).flow)}")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` as YAML comment lines of at most 100 columns.
    static func comment(_ text: String, indent: String) -> [String] {
        wrap(text, width: 100 - indent.count - 2).map { "\(indent)# \($0)" }
    }
}
