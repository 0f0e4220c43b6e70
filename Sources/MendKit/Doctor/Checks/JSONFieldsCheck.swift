import Foundation
import PostgresClient
import SchemaModel

/// `json_fields`: a JSON column that holds relational data: keys in many of its rows that a
/// column of the table is named after (a half-done extraction), that identify a row (phone
/// numbers, emails, ids: no unique constraint can hold them in JSON), or whose values are of one
/// type but for a few that are not (drift nothing stops). Consistent descriptive keys are the
/// document doing its job and give no finding. One read per JSON column (`JSONKeySurvey`); a
/// second, only for a column with a finding, names its problem rows. docs/doctor.md.
enum JSONFieldsCheck: DoctorCheck {
    static let classes: [FindingClass] = [.jsonFields]

    /// A key is frequent when it is in at least this share of the object rows.
    static let frequent = 0.2
    /// A key looks unique when at least this share of its values are distinct.
    static let distinctShare = 0.9

    /// Why a key is reported.
    struct Field {
        var key: JSONKeySurvey.Key
        var type: InferredType
        var column: Bool
        var unique: Bool
        var reasons: [String]
    }

    /// Names that identify a person or a row: phone numbers, emails, ids (by the last words:
    /// `phone_number`, `email`, `external_id`; not `phone_verified_at`).
    static func identifying(_ name: String) -> Bool {
        let words = name.lowercased().split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == "." || $0 == " " }).map(String.init)
        guard let last = words.last else { return false }
        if ["id", "uuid", "email", "mail", "phone", "mobile", "msisdn", "username", "login"].contains(last) { return true }
        let before = words.count > 1 ? words[words.count - 2] : ""
        return ["number", "no", "num", "address"].contains(last) && ["phone", "mobile", "email", "mail", "telephone"].contains(before)
    }

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        var found: [Finding] = []
        for table in context.tables where table.partitionOf == nil && table.kind != .foreign && context.mayHoldRows(table) {
            for json in table.columns where json.type == "json" || json.type == "jsonb" {
                let read = context.read(table)
                let what = "json_fields \(table.objectName).\(json.name)"
                guard let survey = try context.measure(what, { try JSONKeySurvey.read(table, json, read, context.connection) }) else { continue }
                let (fields, others) = classify(table, json, survey)
                guard !fields.isEmpty else { continue }
                let problems = try context.measure(what + " rows") {
                    try JSONProblemRows.read(table, json, fields, others, read, context)
                } ?? JSONProblemRows()
                found.append(finding(table, json, survey, fields, others, problems, read, context))
            }
        }
        return found
    }

    /// The keys with a reason (`Field`s), and the other frequent scalar keys, each with its type.
    static func classify(_ table: Table, _ json: Column, _ survey: JSONKeySurvey) -> (fields: [Field], others: [(JSONKeySurvey.Key, InferredType)]) {
        guard survey.objects > 0 else { return ([], []) }
        let columns = Dictionary(JSONKeySurvey.matchingColumns(table, json: json.name).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var fields: [Field] = []
        var others: [(JSONKeySurvey.Key, InferredType)] = []
        for key in survey.keys where Double(key.present + key.jsonNull) >= frequent * Double(survey.objects) {
            guard var type = InferredType.infer(key) else { continue }
            var reasons: [String] = []
            let column = columns[key.name]
            if let column {
                type = InferredType(printed: column.type, family: column.family, converts: key.columnConverts, invalid: key.present - key.columnConverts)
                reasons.append("column \(table.objectName).\(key.name) exists")
            }
            let scalar = key.present - key.nested
            let unique = identifying(key.name) && scalar >= 2 && Double(key.distinct) >= distinctShare * Double(scalar)
            if unique { reasons.append("looks unique (\(key.distinct) distinct of \(scalar))") }
            if type.invalid > 0 && (column != nil || type.printed != "text") { reasons.append("\(type.invalid) value\(type.invalid == 1 ? "" : "s") not \(type.planText)") }
            if reasons.isEmpty {
                others.append((key, type))
            } else {
                fields.append(Field(key: key, type: type, column: column != nil, unique: unique, reasons: reasons))
            }
        }
        return (fields, others)
    }

    static func finding(
        _ table: Table, _ json: Column, _ survey: JSONKeySurvey, _ reported: [Field], _ others: [(JSONKeySurvey.Key, InferredType)],
        _ problems: JSONProblemRows, _ read: TableRead, _ context: DoctorContext
    ) -> Finding {
        let name = "\(table.objectName.description).\(json.name)"
        // Keys found only in rows that hold a reported key go with them (sms_enabled beside phone_number).
        let companions = others.filter { !problems.outside.contains($0.0.name) }
        let rest = others.filter { problems.outside.contains($0.0.name) }
        func share(_ key: JSONKeySurvey.Key) -> String {
            "\(key.present + key.jsonNull) of \(survey.objects) rows (\(Int((100 * Double(key.present + key.jsonNull) / Double(survey.objects)).rounded()))%)"
        }
        var fieldTexts = reported.map { field in
            "\(field.key.name) \(field.type.planText)\(field.unique ? " unique" : ""): in \(share(field.key)), \(field.type.converts) convert; \(field.reasons.joined(separator: ", "))"
        }
        fieldTexts += companions.map { "\($0.0.name) \($0.1.planText): in \(share($0.0)), \($0.1.converts) convert; only in rows with the keys above" }
        var evidence = [EvidenceItem("object_rows", .count(survey.objects)), EvidenceItem("fields", .list(fieldTexts))]
        if !rest.isEmpty { evidence.append(EvidenceItem("other_keys", .list(rest.map { "\($0.0.name) \($0.1.planText): in \(share($0.0))" }))) }
        let invalid = reported.reduce(0) { $0 + $1.type.invalid }
        let repeated = problems.duplicates.count
        let differing = reported.reduce(0) { $0 + $1.key.differs }
        let columnOnly = reported.filter(\.column).reduce(0) { $0 + (survey.columnOnly[$1.key.name] ?? 0) }
        if !problems.invalid.isEmpty { evidence.append(EvidenceItem("invalid", .list(problems.invalid))) }
        if !problems.duplicates.isEmpty { evidence.append(EvidenceItem("duplicates", .list(problems.duplicates))) }
        if !problems.differs.isEmpty { evidence.append(EvidenceItem("differs_from_column", .list(problems.differs))) }
        if !problems.columnOnly.isEmpty { evidence.append(EvidenceItem("column_only", .list(problems.columnOnly))) }
        let keepFirstBy = keepFirstByColumn(table)
        evidence.append(EvidenceItem("on_conflict", .text(repeated > 0 ? "needed: \(repeated) value\(repeated == 1 ? " is" : "s are") held by more than one row (keep_first_by \(keepFirstBy ?? "a column"), or fail)" : "fail")))
        evidence.append(EvidenceItem("on_invalid", .text(invalid > 0 ? "needed: \(invalid) value\(invalid == 1 ? "" : "s") do not convert (\"null\", or fail)" : "fail")))
        if reported.contains(where: \.column) {
            evidence.append(EvidenceItem("prefer", .text(differing + columnOnly > 0 ? "needed: \(differing) row\(differing == 1 ? "" : "s") differ from the column, \(columnOnly) set in the column only (json or column)" : "not needed")))
        }
        let conflicts = repeated + differing + columnOnly
        let keys = reported.map(\.key.name) + companions.map(\.0.name)
        var summary = "\(name) holds \(keys.count) key\(keys.count == 1 ? "" : "s") in most rows that belong in columns (\(keys.joined(separator: ", ")))"
        if invalid > 0 { summary += "; \(invalid) value\(invalid == 1 ? " does" : "s do") not convert" }
        if conflicts > 0 { summary += "; \(conflicts) row\(conflicts == 1 ? "" : "s") conflict (shared values, or the column says otherwise)" }
        let fieldSpecs = reported.map { "\($0.key.name)\t\($0.type.planText)\t\($0.unique)\t\($0.type.naive)" }
            + companions.map { "\($0.0.name)\t\($0.1.planText)\tfalse\t\($0.1.naive)" }
        var planData: [String: EvidenceValue] = [
            "table": .text(table.objectName.description), "column": .text(json.name), "fields": .list(fieldSpecs),
            "invalid": .list(problems.invalid), "duplicates": .list(problems.duplicates),
            "differs": .list(problems.differs + problems.columnOnly), "has_column": .flag(reported.contains(where: \.column)),
            "counts": .list([String(invalid), String(repeated), String(differing), String(columnOnly)]),
        ]
        if let keepFirstBy { planData["keep_first_by"] = .text(keepFirstBy) }
        return Finding(
            .jsonFields, invalid + conflicts > 0 ? .error : .warning, objects: [name], table: table.objectName.description, summary: summary,
            evidence: evidence, rows: problems.rows, sample: read.sample, repair: table.primaryKey == nil ? nil : "extract_json_fields", planData: planData)
    }

    /// The column `keep_first_by` would order a group's rows by: when they were created.
    static func keepFirstByColumn(_ table: Table) -> String? {
        ["created_at", "inserted_at", "created", "created_on", "creation_date"].first { name in
            table.column(name).map { $0.type.hasPrefix("timestamp") || $0.type == "date" } ?? false
        }
    }
}
