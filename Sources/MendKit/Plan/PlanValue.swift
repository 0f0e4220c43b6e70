import Foundation
import PostgresClient
import SchemaModel
import Yams

/// A value in a plan file and where it is written, read with typed accessors that record a
/// problem (with its location) instead of failing, so a whole plan is checked in one pass.
public struct PlanValue {
    let node: Node
    let file: String

    init(_ node: Node, file: String) {
        self.node = node
        self.file = file
    }

    public var location: FileLocation {
        let mark = node.mark
        return FileLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// What kind of YAML value this is, as a person would say it.
    var kindDescription: String {
        switch node {
        case .mapping: "a map"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar(let scalar):
            if node.null != nil { "empty" } else if scalar.style == .plain, node.int != nil { "a number" } else if scalar.style == .plain, node.bool != nil { "true/false" } else { "text" }
        }
    }

    var isNull: Bool { node.null != nil }

    /// Text: any scalar but null (so `to: 2024` names a table called 2024).
    var text: String? {
        guard case .scalar(let scalar) = node, node.null == nil else { return nil }
        return scalar.string
    }

    var bool: Bool? {
        guard case .scalar = node, node.null == nil else { return nil }
        return node.bool
    }

    var int: Int? {
        guard case .scalar = node, node.null == nil else { return nil }
        return node.int
    }

    var list: [PlanValue]? {
        guard case .sequence(let sequence) = node else { return nil }
        return sequence.map { PlanValue($0, file: file) }
    }

    /// Key/value pairs in file order.
    var pairs: [(key: PlanValue, value: PlanValue)]? {
        guard case .mapping(let mapping) = node else { return nil }
        return mapping.map { (PlanValue($0.key, file: file), PlanValue($0.value, file: file)) }
    }
}

/// Reads one map of options (a step's, or a plan's `settings`), recording every problem.
///
/// Each accessor also records that its key is known, so keys nobody asked for are reported
/// as unknown, with the closest known key suggested.
public struct OptionReader {
    /// What the options belong to, for messages: `rename_table`, `settings`, `column`.
    public let owner: String
    /// What its keys are called in messages: "option", or "key" for the plan's own.
    public let noun: String
    let map: PlanValue
    private let entries: [(key: String, keyValue: PlanValue, value: PlanValue)]
    private(set) var known: [String] = []
    public private(set) var problems: [PlanProblem] = []
    /// The folder archives go to when a step names none: `Snapshots/archive`, or what the
    /// operator gave (`run --archives`, `PGMEND_ARCHIVES`).
    public internal(set) var archiveFolder = PlanLoader.defaultArchiveFolder

    init(owner: String, map: PlanValue, noun: String = "option") {
        self.owner = owner
        self.noun = noun
        self.map = map
        self.entries = (map.pairs ?? []).map { ($0.key.text ?? "", $0.key, $0.value) }
    }

    public var location: FileLocation { map.location }

    /// Where `key` is written, or the map when it is not there.
    public func location(of key: String) -> FileLocation {
        entries.first { $0.key == key }?.value.location ?? map.location
    }

    /// Where each option's value is written, by key.
    public var optionLocations: [String: FileLocation] {
        Dictionary(entries.map { ($0.key, $0.value.location) }, uniquingKeysWith: { first, _ in first })
    }

    /// Whether `key` is written with a value (not null).
    public func has(_ key: String) -> Bool {
        entries.contains { $0.key == key && !$0.value.isNull }
    }

    public mutating func report(_ location: FileLocation, _ message: String) {
        problems.append(PlanProblem(location, message))
    }

    /// The value of `key` whatever its type, marking the key known; nil when absent or null.
    mutating func rawValue(_ key: String) -> PlanValue? {
        known.append(key)
        guard let entry = entries.first(where: { $0.key == key }), !entry.value.isNull else { return nil }
        return entry.value
    }

    private mutating func value(_ key: String, required: Bool) -> PlanValue? {
        known.append(key)
        guard let entry = entries.first(where: { $0.key == key }), !entry.value.isNull else {
            if required { report(map.location, "\(owner) needs \(noun) '\(key)'") }
            return nil
        }
        return entry.value
    }

    private mutating func wrongType(_ key: String, _ value: PlanValue, expected: String) {
        report(value.location, "\(noun) '\(key)' of \(owner) must be \(expected), not \(value.kindDescription)")
    }

    public mutating func text(_ key: String) -> String? { readText(key, required: true) }
    public mutating func optionalText(_ key: String) -> String? { readText(key, required: false) }

    private mutating func readText(_ key: String, required: Bool) -> String? {
        guard let value = value(key, required: required) else { return nil }
        guard let text = value.text else {
            wrongType(key, value, expected: "text")
            return nil
        }
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            report(value.location, "\(noun) '\(key)' of \(owner) is empty")
            return nil
        }
        return text
    }

    /// Plan text that pgmend writes into SQL as one expression (a CHECK, a DEFAULT, a
    /// condition, a `set` value): refused here, with its location, unless it is one fragment
    /// (`PlanExpression(checking:)`), so no option but an `sql` step's can become a statement.
    public mutating func expression(_ key: String, required: Bool = true) -> PlanExpression? {
        checked(key, required: required, what: "one SQL expression") { text throws(PlanExpression.Problem) in try PlanExpression(checking: text) }
    }

    /// A type name the plan writes (`varchar(20)`), checked as `expression` is; the server says
    /// later whether it is a type (`Probe.canonicalType`).
    public mutating func typeName(_ key: String, required: Bool = true) -> PlanTypeName? {
        checked(key, required: required, what: "one type name") { text throws(PlanExpression.Problem) in try PlanTypeName(checking: text) }
    }

    private mutating func checked<T>(_ key: String, required: Bool, what: String, _ make: (String) throws(PlanExpression.Problem) -> T) -> T? {
        guard let text = readText(key, required: required) else { return nil }
        do {
            return try make(text)
        } catch {
            report(location(of: key), "\(noun) '\(key)' of \(owner) must be \(what); it \(error.message) (at character \(error.offset + 1))")
            return nil
        }
    }

    // MARK: Names PostgreSQL stores

    /// A name PostgreSQL stores as written (a column, a constraint, an index): 1 to 63 bytes.
    public mutating func identifier(_ key: String, required: Bool = true) -> String? {
        guard let text = readText(key, required: required) else { return nil }
        return checkName(text, at: location(of: key), what: "\(noun) '\(key)' of \(owner)") ? text : nil
    }

    /// A table or type name as written, `name` or `schema.name`, each part 1 to 63 bytes.
    public mutating func qualifiedName(_ key: String, required: Bool = true, part: String = "table") -> String? {
        guard let text = readText(key, required: required) else { return nil }
        return checkName(text, at: location(of: key), what: "\(noun) '\(key)' of \(owner)", qualified: part) ? text : nil
    }

    /// A table: `users` (in `public`) or `audit.log`.
    public mutating func objectName(_ key: String, required: Bool = true) -> ObjectName? {
        qualifiedName(key, required: required).map(ObjectName.init(parsing:))
    }

    /// A list of tables, each checked where it is written; nil when any is not a name.
    public mutating func objectNameList(_ key: String, required: Bool = true) -> [ObjectName]? {
        guard let items = locatedTextList(key, required: required) else { return nil }
        var names: [ObjectName] = []
        for item in items where checkName(item.text, at: item.location, what: "each item of '\(key)' in \(owner)", qualified: "table") {
            names.append(ObjectName(parsing: item.text))
        }
        return names.count == items.count ? names : nil
    }

    /// Reports, and returns false, when `text` cannot be a name in PostgreSQL. With
    /// `qualified` (what the last part names: "table", "type"), `text` may be `schema.name`
    /// and each part is checked.
    public mutating func checkName(_ text: String, at location: FileLocation, what: String, qualified: String? = nil) -> Bool {
        if text.isEmpty {
            report(location, "\(what) is empty")
            return false
        }
        if let qualified, text.contains(".") {
            let name = ObjectName(parsing: text)
            for (part, partName) in [("schema", name.schema), (qualified, name.name)] {
                if let problem = PostgresName.problem(partName) {
                    report(location, "\(what) '\(text)': its \(part) name \(problem)")
                    return false
                }
            }
            return true
        }
        if let problem = PostgresName.problem(text) {
            report(location, "\(what) '\(text)' \(problem)")
            return false
        }
        return true
    }

    public mutating func bool(_ key: String, default defaultValue: Bool) -> Bool {
        guard let value = value(key, required: false) else { return defaultValue }
        guard let bool = value.bool else {
            wrongType(key, value, expected: "true or false")
            return defaultValue
        }
        return bool
    }

    public mutating func int(_ key: String, default defaultValue: Int, range: ClosedRange<Int>) -> Int {
        guard let value = value(key, required: false) else { return defaultValue }
        let outOfRange = "\(noun) '\(key)' of \(owner) must be between \(range.lowerBound) and \(range.upperBound), not \(value.text ?? "")"
        guard let int = value.int else {
            // Digits too many for an Int are a number out of range, not text.
            if let text = value.text, PlanNumber.isWholeNumber(text) {
                report(value.location, outOfRange)
            } else {
                wrongType(key, value, expected: "a whole number")
            }
            return defaultValue
        }
        guard range.contains(int) else {
            report(value.location, outOfRange)
            return defaultValue
        }
        return int
    }

    /// A duration in PostgreSQL's units (`500ms`, `2s`, `1min`, `0` for none), in milliseconds,
    /// at most `PlanDuration.limit`.
    public mutating func duration(_ key: String, default defaultValue: Int) -> Int {
        guard let value = value(key, required: false) else { return defaultValue }
        switch value.text.map(PlanDuration.parse) {
        case .milliseconds(let milliseconds):
            return milliseconds
        case .tooLong:
            report(value.location, "\(noun) '\(key)' of \(owner) must be at most \(PlanDuration.text(milliseconds: PlanDuration.limit)), not '\(value.text ?? "")'")
            return defaultValue
        case .malformed, nil:
            report(value.location, "\(noun) '\(key)' of \(owner) must be a duration like 500ms, 2s or 1min, not '\(value.text ?? value.kindDescription)'")
            return defaultValue
        }
    }

    public mutating func textList(_ key: String, required: Bool = true) -> [String]? {
        locatedTextList(key, required: required)?.map(\.text)
    }

    /// A list of texts, each with where it is written (to point at one bad item).
    public mutating func locatedTextList(_ key: String, required: Bool = true) -> [(text: String, location: FileLocation)]? {
        guard let value = value(key, required: required) else { return nil }
        guard let items = value.list else {
            wrongType(key, value, expected: "a list")
            return nil
        }
        var texts: [(text: String, location: FileLocation)] = []
        for item in items {
            guard let text = item.text else {
                report(item.location, "each item of '\(key)' in \(owner) must be text, not \(item.kindDescription)")
                continue
            }
            texts.append((text, item.location))
        }
        if items.isEmpty { report(value.location, "\(noun) '\(key)' of \(owner) is an empty list") }
        return texts
    }

    /// A list of maps, each read by its own reader (create_table's columns, indexes).
    public mutating func mapList(_ key: String, itemOwner: String, required: Bool = true) -> [OptionReader]? {
        guard let value = value(key, required: required) else { return nil }
        guard let items = value.list else {
            wrongType(key, value, expected: "a list")
            return nil
        }
        var readers: [OptionReader] = []
        for item in items {
            guard item.pairs != nil else {
                report(item.location, "each item of '\(key)' in \(owner) must be a map, not \(item.kindDescription)")
                continue
            }
            readers.append(OptionReader(owner: itemOwner, map: item))
        }
        if items.isEmpty { report(value.location, "\(noun) '\(key)' of \(owner) is an empty list") }
        return readers
    }

    /// Takes in a nested reader's problems.
    public mutating func absorb(_ nested: OptionReader) {
        var nested = nested
        nested.reportUnknownKeys()
        problems += nested.problems
    }

    /// Reports every key no accessor asked for, suggesting the closest known one.
    public mutating func reportUnknownKeys() {
        for entry in entries where !known.contains(entry.key) {
            report(entry.keyValue.location, "unknown \(noun) '\(entry.key)' for \(owner)\(Suggestion.hint(for: entry.key, among: known))")
        }
        known = entries.map(\.key)  // reported once
    }
}

/// Durations as PostgreSQL writes them in settings like lock_timeout.
enum PlanDuration {
    /// The longest duration a plan may give: a lock or statement wait longer than a day is a
    /// mistake, and it keeps every duration far inside PostgreSQL's `int` milliseconds
    /// (lock_timeout and statement_timeout are at most 2147483647 ms).
    static let limit = 24 * 3_600_000

    enum Parsed: Equatable {
        case milliseconds(Int)
        /// Well written, but longer than `limit` (or too long to count).
        case tooLong
        case malformed
    }

    static func parse(_ text: String) -> Parsed {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty else { return .malformed }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        let factor: Int
        switch unit {
        case "" where digits.allSatisfy({ $0 == "0" }), "ms": factor = 1
        case "s": factor = 1000
        case "min": factor = 60_000
        case "h": factor = 3_600_000
        default: return .malformed
        }
        // More digits than an Int holds, or a product that overflows, is as much too long as
        // any other amount over the limit; neither may trap.
        guard let amount = Int(digits) else { return .tooLong }
        let (milliseconds, overflow) = amount.multipliedReportingOverflow(by: factor)
        guard !overflow, milliseconds <= limit else { return .tooLong }
        return .milliseconds(milliseconds)
    }

    /// Milliseconds, or nil for text that is not a duration within the limit.
    static func milliseconds(_ text: String) -> Int? {
        if case .milliseconds(let milliseconds) = parse(text) { return milliseconds }
        return nil
    }

    static func text(milliseconds: Int) -> String {
        if milliseconds == 0 { return "0" }
        if milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)min" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}

/// The length PostgreSQL allows a name: `NAMEDATALEN - 1` bytes. The server cuts a longer name
/// short without an error, so a plan that names a longer table, column or label would look for
/// one that never exists, and run again forever.
enum PostgresName {
    static let maxBytes = 63

    /// What is wrong with `name` (one part, not `schema.name`), or nil.
    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        let bytes = name.utf8.count
        guard bytes <= maxBytes else {
            return "is \(bytes) bytes long; PostgreSQL keeps only the first \(maxBytes) bytes of a name"
        }
        return nil
    }
}

/// Whole numbers as a plan writes them.
enum PlanNumber {
    /// Optional sign and ASCII digits: a number, however many digits it has.
    static func isWholeNumber(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
