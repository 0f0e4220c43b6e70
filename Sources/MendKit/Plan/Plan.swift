import Crypto
import Foundation
import Yams

/// A named repair plan, as read from `Plans/NAME.yaml` and checked.
public struct Plan: Sendable {
    public var name: String
    public var description: String?
    public var settings: PlanSettings
    public var steps: [PlannedStep]
    /// The file it was read from.
    public var path: String
    /// SHA-256 of the file's bytes, recorded in the journal with every run.
    public var sha256: String
    /// Findings of `pgmend doctor` kept on purpose (the plan's `ignore:` list).
    public var ignores: [PlanIgnore] = []
}

/// How the runner treats the database while it applies a plan.
public struct PlanSettings: Sendable, Equatable {
    /// `lock_timeout` for every DDL statement, in milliseconds.
    public var lockTimeout = 2000
    /// `statement_timeout` for every statement, in milliseconds; 0 means none.
    public var statementTimeout = 0
    /// Keys per backfill batch when batches are fixed; their most when they are sized to
    /// `batchTarget`.
    public var batchSize = 5000
    /// Whether the plan gave `batch_size`.
    public var batchSizeGiven = false
    /// Milliseconds a backfill batch should take: each pass sizes its batches to it from the
    /// time of the ones before. 0: fixed batches of `batchSize` (a plan that gives
    /// `batch_size` and no `batch_target`).
    public var batchTarget = 100
    /// The most keys an adaptive batch takes when the plan gives no `batch_size`.
    public static let adaptiveMaximum = 100_000
    /// Milliseconds to wait between two backfill batches (room for replication to keep up).
    public var batchPause = 0
    /// How many times a statement that hit lock_timeout is retried, with backoff.
    public var retries = 10
    /// Connections a backfill's first pass runs its batches on at once, each over its own
    /// share of the keys: `auto` (the default) lets each backfill choose (`BatchWorkers`).
    public var batchWorkers = BatchWorkers.auto
    /// The application's models, `MODULE:ATTR`: a dry run warns about the changes they would undo.
    public var models: String?
    /// Where the models' module is found (a folder put first on Python's path).
    public var modelsPath: String?

    public init() {}

    /// How the backfills of the plan size their batches.
    public var batchSizing: BatchSizing {
        batchTarget == 0 ? .fixed(batchSize) : .adaptive(targetMilliseconds: batchTarget, maximum: batchSizeGiven ? batchSize : Self.adaptiveMaximum)
    }

    /// The settings as `plan show` prints them.
    public var lines: [(name: String, value: String)] {
        [("lock_timeout", PlanDuration.text(milliseconds: lockTimeout)),
         ("statement_timeout", PlanDuration.text(milliseconds: statementTimeout)),
         ("batch_size", batchSizeGiven || batchTarget == 0 ? String(batchSize) : "at most \(Self.adaptiveMaximum) (batch_target)"),
         ("batch_target", batchTarget == 0 ? "none (fixed batches)" : PlanDuration.text(milliseconds: batchTarget)),
         ("batch_pause", PlanDuration.text(milliseconds: batchPause)),
         ("retries", String(retries)),
         ("batch_workers", batchWorkers.description)]
            + (models.map { [("models", $0)] } ?? []) + (modelsPath.map { [("models_path", $0)] } ?? [])
    }
}

/// One step of a plan: its kind, where it is written, and the step itself.
public struct PlannedStep: Sendable {
    /// 1-based position in the plan.
    public var number: Int
    public var location: FileLocation
    public var step: any RepairStep
    /// Where each of the step's options is written: a problem the server finds in one (a
    /// `done_when` it refuses) is reported there.
    public var optionLocations: [String: FileLocation] = [:]
    public var kind: String { type(of: step).kind }

    /// Where `option` is written, or the step when it is not (a default).
    public func location(of option: String) -> FileLocation {
        optionLocations[option] ?? location
    }

    /// The SHA-256 of the step as understood (its kind and settings, defaults filled in): the
    /// journal records it, so a later run can tell that a step of this very text completed.
    public var textSHA256: String {
        let text = ([kind] + step.settings.map { "\($0.name)\u{1F}\($0.value)" }).joined(separator: "\u{1E}")
        return SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Reads plan files, reporting every problem at once with `file:line:column`.
public enum PlanLoader {
    /// Where archives go when neither the step nor the operator names a folder.
    public static let defaultArchiveFolder = "Snapshots/archive"

    /// `archiveFolder`: where the steps that name no folder archive to.
    public static func load(path: String, archiveFolder: String = defaultArchiveFolder) throws -> Plan {
        // Not read at all when it is far too big to be a plan.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > PlanLimits.maxBytes {
            throw PlanError([PlanProblem(
                FileLocation(file: path, line: 1, column: 1),
                "the file is \(size) bytes; a plan may be at most \(PlanLimits.maxBytes) bytes (1 MB)")])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PlanError([PlanProblem(FileLocation(file: path, line: 1, column: 1), "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PlanError([PlanProblem(FileLocation(file: path, line: 1, column: 1), "the file is not UTF-8 text")])
        }
        return try parse(text, file: path, archiveFolder: archiveFolder)
    }

    public static func parse(_ text: String, file: String, archiveFolder: String = defaultArchiveFolder) throws -> Plan {
        if let problem = PlanLimits.problem(text, file: file) { throw PlanError([problem]) }
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw PlanError([PlanProblem(FileLocation(file: file, line: 1, column: 1), "the file is empty; a plan needs name and steps")])
            }
            root = composed
        } catch let error as YamlError {
            // Tabs in block text (SQL pasted after `run: |`) are fine; only when YAML fails
            // are tabs the likely cause, and then they are named instead of YAML's complaint
            // about the same line.
            let tabs = tabProblems(text, file: file)
            let problem = yamlProblem(error, text: text, file: file)
            let tabLines = Set(tabs.map(\.location.line))
            throw PlanError(tabs + (tabLines.contains(problem.location.line) ? [] : [problem]))
        }

        let document = PlanValue(root, file: file)
        guard document.pairs != nil else {
            throw PlanError([PlanProblem(document.location, "a plan is a map with name, description, settings and steps, not \(document.kindDescription)")])
        }
        // Found in the YAML itself, wherever they stand; the readers below need not know them.
        let decisions = PlanDecisions.find(document)
        var top = OptionReader(owner: "the plan", map: document, noun: "key")
        let name = top.text("name")
        let description = top.optionalText("description")
        if let name {
            checkName(name, file: file, reader: &top)
        }

        var settings = PlanSettings()
        if let settingsValue = top.mapValue("settings") {
            var reader = OptionReader(owner: "settings", map: settingsValue)
            settings.lockTimeout = reader.duration("lock_timeout", default: settings.lockTimeout)
            settings.statementTimeout = reader.duration("statement_timeout", default: settings.statementTimeout)
            settings.batchSize = reader.int("batch_size", default: settings.batchSize, range: 1...10_000_000)
            settings.batchSizeGiven = reader.has("batch_size")
            // A plan that fixed its batches' size keeps them fixed unless it asks for a target.
            let target = reader.has("batch_size") ? 0 : settings.batchTarget
            settings.batchTarget = reader.duration("batch_target", default: target)
            if reader.has("batch_target") && settings.batchTarget > 60_000 {
                reader.report(reader.location(of: "batch_target"), "batch_target must be at most 1m: a batch holds its row locks that long")
            }
            settings.batchPause = reader.duration("batch_pause", default: settings.batchPause)
            settings.retries = reader.int("retries", default: settings.retries, range: 0...1000)
            settings.batchWorkers = BatchWorkers.read(&reader) ?? settings.batchWorkers
            settings.readModels(&reader)
            if settings.lockTimeout == 0 {
                reader.report(reader.location(of: "lock_timeout"), "lock_timeout must not be 0: DDL never waits for a lock without a timeout")
            }
            top.absorb(reader)
        }

        var steps: [PlannedStep] = []
        if let stepList = top.listValue("steps") {
            if stepList.isEmpty {
                top.report(top.location(of: "steps"), "'steps' is empty: a plan needs at least one step")
            }
            for (index, item) in stepList.enumerated() {
                if let step = readStep(item, number: index + 1, archiveFolder: archiveFolder, into: &top) { steps.append(step) }
            }
        }
        let ignores = PlanIgnore.read(&top)
        top.reportUnknownKeys()
        let problems = PlanDecisions.problems(decisions, others: top.problems)
        guard problems.isEmpty, let name else { throw PlanError(problems) }
        return Plan(
            name: name, description: description, settings: settings, steps: steps, path: file,
            sha256: SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined(), ignores: ignores)
    }

    /// A step is a one-key map: the kind, whose value holds its options.
    static func readStep(_ item: PlanValue, number: Int, archiveFolder: String, into top: inout OptionReader) -> PlannedStep? {
        guard let pairs = item.pairs else {
            if let text = item.text, StepRegistry.kind(named: text) != nil {
                top.report(item.location, "step \(number) is '\(text)' without options; write '\(text):' with its options on the lines below, indented")
                return nil
            }
            top.report(item.location, "step \(number) must be a map with one key, the step kind (one of \(StepRegistry.names.joined(separator: ", "))), not \(item.kindDescription)")
            return nil
        }
        guard pairs.count == 1, let (key, value) = pairs.first else {
            let kinds = pairs.compactMap { $0.key.text }.joined(separator: ", ")
            top.report(item.location, "step \(number) must have one key, the step kind; it has \(pairs.count) (\(kinds)): start each step with its own '- '")
            return nil
        }
        guard let kindName = key.text, let kind = StepRegistry.kind(named: kindName) else {
            let written = key.text ?? key.kindDescription
            top.report(key.location, "unknown step kind '\(written)'\(Suggestion.hint(for: written, among: StepRegistry.names))")
            return nil
        }
        guard value.isNull || value.pairs != nil else {
            top.report(value.location, "the options of \(kindName) must be a map, not \(value.kindDescription)")
            return nil
        }
        var options = OptionReader(owner: kindName, map: value.isNull ? key : value)
        options.archiveFolder = archiveFolder
        let step = kind.init(options: &options)
        top.absorb(options)
        return step.map { PlannedStep(number: number, location: key.location, step: $0, optionLocations: options.optionLocations) }
    }

    static func checkName(_ name: String, file: String, reader: inout OptionReader) {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }
        if !allowed {
            reader.report(reader.location(of: "name"), "plan name '\(name)' may use only lower-case letters, digits, '-' and '_'")
        }
        let base = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        if base != name {
            reader.report(reader.location(of: "name"), "plan name '\(name)' does not match its file name '\(base)'; `pgmend run NAME` finds plans by file name")
        }
    }

    /// Tabs in indentation confuse YAML's error messages; say it plainly, once per line.
    static func tabProblems(_ text: String, file: String) -> [PlanProblem] {
        var problems: [PlanProblem] = []
        for (number, line) in SourceLines.split(text).enumerated() {
            let indentation = line.prefix { $0 == " " || $0 == "\t" }
            if let tab = indentation.firstIndex(of: "\t") {
                let column = line.distance(from: line.startIndex, to: tab) + 1
                problems.append(PlanProblem(
                    FileLocation(file: file, line: number + 1, column: column),
                    "tab character in indentation; YAML indents with spaces"))
            }
        }
        return problems
    }

    static func yamlProblem(_ error: YamlError, text: String, file: String) -> PlanProblem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _), .composer(let context, let problem, let mark, _):
            var message = "YAML syntax: \(problem)"
            // Where the unfinished thing began: an unclosed quote or bracket is reported where
            // the file ends or the next line starts, far from the mistake.
            if let context, !context.text.isEmpty {
                message += " (\(context.text) that starts at line \(context.mark.line), column \(context.mark.column))"
            }
            if problem.hasPrefix("mapping values are not allowed") {
                message += "; quote a value that contains ': ', and put a step's options on their own lines"
            }
            return PlanProblem(FileLocation(file: file, line: mark.line, column: mark.column), message)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? "?"
            let second = secondOccurrence(of: key, after: context.mark, in: text)
            return PlanProblem(
                FileLocation(file: file, line: second?.line ?? context.mark.line, column: second?.column ?? context.mark.column),
                "duplicate key '\(key)' (first at line \(context.mark.line))")
        default:
            return PlanProblem(FileLocation(file: file, line: 1, column: 1), "YAML: \(error)")
        }
    }

    /// Where `key:` is written again at the same column, after its first occurrence.
    static func secondOccurrence(of key: String, after first: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = SourceLines.split(text)
        // YAML's mark and these lines count alike; should they ever not, no second key is found.
        guard first.line >= 1, first.column >= 1, first.line <= lines.count else { return nil }
        for index in first.line..<lines.count {
            let scalars = lines[index]
            let column = first.column - 1
            guard scalars.count > column else { continue }
            let rest = String(Substring(scalars.dropFirst(column)))
            if rest.hasPrefix(key + ":") || rest.hasPrefix("- " + key + ":") {
                return (index + 1, first.column + (rest.hasPrefix("- ") ? 2 : 0))
            }
        }
        return nil
    }
}

extension OptionReader {
    /// A nested map (like `settings`), or nil with a problem when it is something else.
    mutating func mapValue(_ key: String) -> PlanValue? {
        guard let value = rawValue(key) else { return nil }
        guard value.pairs != nil else {
            report(value.location, "'\(key)' must be a map, not \(value.kindDescription)")
            return nil
        }
        return value
    }

    /// A required list (like `steps`).
    mutating func listValue(_ key: String) -> [PlanValue]? {
        guard let value = rawValue(key) else {
            report(location, "\(owner) needs \(noun) '\(key)'")
            return nil
        }
        guard let list = value.list else {
            report(value.location, "'\(key)' must be a list, not \(value.kindDescription)")
            return nil
        }
        return list
    }
}

/// A plan's lines as YAML counts them, for positions of our own beside the parser's: a line
/// ends at LF, CR or CRLF (and NEL, LS and PS, which libyaml also breaks on), and columns count
/// Unicode scalars, as libyaml's do. Swift's `Character` is no unit for either: "\r\n" is one
/// Character, so splitting on "\n" finds a CRLF file to be a single line.
enum SourceLines {
    static func split(_ text: String) -> [Substring.UnicodeScalarView] {
        let scalars = Substring(text).unicodeScalars
        var lines: [Substring.UnicodeScalarView] = []
        var start = scalars.startIndex
        var index = start
        while index < scalars.endIndex {
            let scalar = scalars[index]
            guard ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains(scalar) else {
                index = scalars.index(after: index)
                continue
            }
            lines.append(scalars[start..<index])
            index = scalars.index(after: index)
            if scalar == "\r", index < scalars.endIndex, scalars[index] == "\n" {
                index = scalars.index(after: index)
            }
            start = index
        }
        lines.append(scalars[start...])
        return lines
    }
}
