import Foundation

/// How much a finding matters to the operator.
/// - `error`: data is wrong or will be lost, or a repair the seeds call for will fail on it.
/// - `warning`: drift that costs (space, speed, correctness of later changes) but breaks nothing now.
/// - `info`: worth knowing; nothing to repair unless the operator decides so.
public enum Severity: String, Codable, Sendable, Comparable, CaseIterable {
    case error, warning, info

    var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// What kind of drift a finding is. The raw value is the stable id that `--only`, a plan's
/// `ignore:` and the JSON output use; docs/doctor.md describes each.
public enum FindingClass: String, Codable, Sendable, CaseIterable, Comparable {
    // In the seeds' priority order: the order `--write-plan` writes the repairs in.
    case jsonFields = "json_fields"
    case backupTable = "backup_table"
    case uuidAsText = "uuid_as_text"
    case naiveTimestamp = "naive_timestamp"
    case jsonColumn = "json_column"
    case duplicateIndex = "duplicate_index"
    case redundantIndex = "redundant_index"
    case invalidIndex = "invalid_index"
    case unusedIndex = "unused_index"
    case btreeIndexOnArray = "btree_index_on_array"
    case freeTextEnum = "free_text_enum"
    case unusedEnum = "unused_enum"
    case notValidConstraint = "not_valid_constraint"
    case missingForeignKey = "missing_foreign_key"
    case orphanRows = "orphan_rows"
    case mixedOnDelete = "mixed_on_delete"
    case cascadeBlocked = "cascade_blocked"
    case duplicateForeignKey = "duplicate_foreign_key"
    case fkTypeMismatch = "fk_type_mismatch"
    case fkWithoutIndex = "fk_without_index"
    case noPrimaryKey = "no_primary_key"
    case nullableUniqueDuplicates = "nullable_unique_duplicates"
    case sequenceNearOverflow = "sequence_near_overflow"
    case serialNotKey = "serial_not_key"

    /// Position in the seeds' priority order.
    public var order: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: FindingClass, b: FindingClass) -> Bool { a.order < b.order }

    /// Parses a comma-separated `--only` list; unknown ids are returned apart.
    public static func parseList(_ text: String) -> (classes: Set<FindingClass>, unknown: [String]) {
        var classes: Set<FindingClass> = []
        var unknown: [String] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            if let found = FindingClass(rawValue: part) { classes.insert(found) } else { unknown.append(part) }
        }
        return (classes, unknown)
    }
}

/// One value of a finding's evidence: what JSON shows as a number, string, boolean or list.
public enum EvidenceValue: Sendable, Hashable, Encodable, CustomStringConvertible {
    case int(Int64)
    case number(Double)
    case text(String)
    case flag(Bool)
    case list([String])

    public static func count(_ value: Int) -> EvidenceValue { .int(Int64(value)) }

    public var description: String {
        switch self {
        case .int(let value): String(value)
        case .number(let value): value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3g", value)
        case .text(let value): value
        case .flag(let value): value ? "yes" : "no"
        case .list(let values): values.joined(separator: ", ")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .text(let value): try container.encode(value)
        case .flag(let value): try container.encode(value)
        case .list(let values): try container.encode(values)
        }
    }
}

/// A labelled piece of evidence: `rows: 2000`, `twin: memories`. Labels are snake_case; they
/// are the JSON keys.
public struct EvidenceItem: Sendable, Hashable {
    public var label: String
    public var value: EvidenceValue

    public init(_ label: String, _ value: EvidenceValue) {
        self.label = label
        self.value = value
    }
}

/// How much of a table a finding's figures come from: all of it, or a `TABLESAMPLE SYSTEM`
/// sample of `percent` of its pages (its counts are then estimates of the sample, not scaled).
public struct SampleNote: Sendable, Hashable, Encodable {
    public var percent: Double

    public init(percent: Double) { self.percent = percent }

    public var description: String { "counts from a \(String(format: "%.3g", percent))% sample (estimates; --exact reads everything)" }
}

/// One problem doctor found: its class, the objects it is about, the evidence, how much it
/// matters, and the step kind that repairs it.
public struct Finding: Sendable, Hashable {
    public var classID: FindingClass
    public var severity: Severity
    /// The objects, most important first, as a plan names them: a table `users`, a column
    /// `users.metadata`, an index or type by its name (`idx_apikey_user_id`), a constraint
    /// `table.constraint`, each schema-qualified outside `public`.
    public var objects: [String]
    /// The table the finding is about (display name), when it is about one: findings about a
    /// table that is itself a leftover backup are folded into its `backup_table` finding.
    public var table: String?
    /// One sentence a person reads first.
    public var summary: String
    public var evidence: [EvidenceItem]
    /// Rows that show the problem, by primary key (`RowKey` text), in key order.
    public var rows: [String]
    /// Set when the figures come from a sample.
    public var sample: SampleNote?
    /// The step kind that repairs it; nil when no step kind does (the plan writer then asks
    /// the operator to keep it, in `ignore:`, or repair it by hand).
    public var repair: String?
    /// What the plan writer needs beyond the evidence (options of the repairing step), keyed
    /// by option name. Not shown.
    public var planData: [String: EvidenceValue]

    public init(
        _ classID: FindingClass, _ severity: Severity, objects: [String], table: String?, summary: String, evidence: [EvidenceItem] = [], rows: [String] = [],
        sample: SampleNote? = nil, repair: String?, planData: [String: EvidenceValue] = [:]
    ) {
        self.classID = classID
        self.severity = severity
        self.objects = objects
        self.table = table
        self.summary = summary
        self.evidence = evidence
        self.rows = rows
        self.sample = sample
        self.repair = repair
        self.planData = planData
    }

    /// The object a plan's `ignore:` entry names.
    public var subject: String { objects.first ?? "" }

    /// `class object`: unique within one report.
    public var id: String { "\(classID.rawValue) \(subject)" }
}

extension Finding: Encodable {
    enum CodingKeys: String, CodingKey { case classID = "class", severity, objects, table, summary, evidence, rows, sample, repair }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(classID, forKey: .classID)
        try container.encode(severity, forKey: .severity)
        try container.encode(objects, forKey: .objects)
        try container.encode(table, forKey: .table)
        try container.encode(summary, forKey: .summary)
        try container.encode(EvidenceObject(items: evidence), forKey: .evidence)
        try container.encode(rows, forKey: .rows)
        try container.encode(sample, forKey: .sample)
        try container.encode(repair, forKey: .repair)
    }
}

/// Evidence as one JSON object, its labels the keys.
struct EvidenceObject: Encodable {
    var items: [EvidenceItem]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for item in items { try container.encode(item.value, forKey: Key(stringValue: item.label)) }
    }
}
