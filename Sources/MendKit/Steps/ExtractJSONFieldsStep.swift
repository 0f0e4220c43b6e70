import PostgresClient
import SchemaModel

/// `extract_json_fields`: values kept in a JSON column (`users.metadata`) become typed columns.
/// Every value is checked server-side and read-only before anything changes: values that do
/// not convert losslessly, unique fields whose rows share a value, and columns already set to
/// something else block the step, by primary key, unless an option says what to do.
///
/// ```yaml
/// - extract_json_fields:
///     table: users
///     column: metadata
///     fields:
///       - {name: phone_number, type: "varchar(20)", unique: true, trim: true}
///       - {name: phone_verified, type: boolean, default: false}
///     on_conflict: {keep_first_by: created_at}
///     on_invalid: "null"
///     prefer: json
/// ```
/// Effects: ADD COLUMN (constant defaults), a batched backfill, a unique index built
/// concurrently per unique field, an assertion that every row agrees, and with `remove_keys`
/// a batched removal of the keys whose values are now in their columns.
public struct ExtractJSONFieldsStep: RepairStep {
    public static let kind = "extract_json_fields"
    public static let summary = "move JSON fields into typed columns: values checked first, backfilled in batches, verified"

    /// One JSON field and the column it goes to.
    public struct Field: Sendable {
        public var name: String
        /// The path in the JSON, one element per dotted part.
        public var path: [String]
        /// The type as the plan writes it.
        public var type: PlanTypeName
        public var unique: Bool
        public var trim: Bool
        /// The column's default, plan text written as a constant of the type.
        public var defaultValue: String?
        public var assumeTimeZone: String?
    }

    public enum ConflictRule: Sendable, Equatable {
        case fail
        case keepFirstBy(String)
    }

    public let table: ObjectName
    public let column: String
    public let fields: [Field]
    public let onConflict: ConflictRule
    /// True: a value that does not convert makes its column NULL (it stays in the JSON).
    public let invalidToNull: Bool
    /// nil: a column already set to another value blocks the step.
    public let preferColumn: Bool?
    public let removeKeys: Bool

    public init?(options: inout OptionReader) {
        let table = options.objectName("table")
        let column = options.identifier("column")
        var fields: [Field] = []
        var names: Set<String> = []
        for var reader in options.mapList("fields", itemOwner: "field") ?? [] {
            let name = reader.identifier("name")
            let key = reader.optionalText("key")
            let type = reader.typeName("type")
            let unique = reader.bool("unique", default: false)
            let trim = reader.bool("trim", default: false)
            var defaultValue: String?
            if let value = reader.rawValue("default") {
                if let text = value.text { defaultValue = text } else { reader.report(value.location, "option 'default' of field must be a single value") }
            }
            let zone = reader.optionalText("assume_time_zone")
            if let name, !names.insert(name).inserted { reader.report(reader.location(of: "name"), "field '\(name)' is named twice") }
            let path = (key ?? name ?? "").split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if key != nil && path.contains(where: \.isEmpty) { reader.report(reader.location(of: "key"), "option 'key' of field has an empty part") }
            if let name, let type {
                fields.append(Field(name: name, path: path, type: type, unique: unique, trim: trim, defaultValue: defaultValue, assumeTimeZone: zone))
            }
            options.absorb(reader)
        }
        var onConflict = ConflictRule.fail
        if let value = options.rawValue("on_conflict") {
            if value.text == "fail" {
                onConflict = .fail
            } else if value.pairs != nil {
                var reader = OptionReader(owner: "on_conflict", map: value)
                if let by = reader.identifier("keep_first_by") { onConflict = .keepFirstBy(by) }
                options.absorb(reader)
            } else {
                options.report(value.location, "option 'on_conflict' of extract_json_fields must be fail or {keep_first_by: column}")
            }
        }
        var invalidToNull = false
        if options.optionLocations["on_invalid"] != nil, !options.has("on_invalid") {
            // `on_invalid: null` unquoted is YAML's null: the operator wrote the null strategy,
            // as for fix_foreign_keys' `orphans: null`, not "no option" (which means fail).
            invalidToNull = true
            _ = options.rawValue("on_invalid")
        } else if let value = options.rawValue("on_invalid") {
            switch value.text {
            case "fail": invalidToNull = false
            case "null": invalidToNull = true
            default: options.report(value.location, "option 'on_invalid' of extract_json_fields must be fail or \"null\"")
            }
        }
        var prefer: Bool?
        if let value = options.rawValue("prefer") {
            switch value.text {
            case "json": prefer = false
            case "column": prefer = true
            default: options.report(value.location, "option 'prefer' of extract_json_fields must be json or column")
            }
        }
        let removeKeys = options.bool("remove_keys", default: false)
        guard let table, let column, !fields.isEmpty, options.problems.isEmpty else { return nil }
        self.table = table
        self.column = column
        self.fields = fields
        self.onConflict = onConflict
        self.invalidToNull = invalidToNull
        self.preferColumn = prefer
        self.removeKeys = removeKeys
    }

    public var scope: [ObjectName]? { [table] }

    public var settings: [(name: String, value: String)] {
        var result: [(name: String, value: String)] = [("table", table.description), ("column", column)]
        for field in fields {
            var parts = [field.type.text]
            if field.path != [field.name] { parts.append("key \(field.path.joined(separator: "."))") }
            if field.unique { parts.append("unique") }
            if field.trim { parts.append("trim") }
            if let value = field.defaultValue { parts.append("default \(value)") }
            if let zone = field.assumeTimeZone { parts.append("assume_time_zone \(zone)") }
            result.append(("field \(field.name)", parts.joined(separator: ", ")))
        }
        switch onConflict {
        case .fail: result.append(("on_conflict", "fail"))
        case .keepFirstBy(let by): result.append(("on_conflict", "keep_first_by \(by)"))
        }
        result.append(("on_invalid", invalidToNull ? "null" : "fail"))
        result.append(("prefer", preferColumn.map { $0 ? "column" : "json" } ?? "(none: a differing column blocks)"))
        result.append(("remove_keys", removeKeys ? "true" : "false"))
        return result
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        guard let current = schema.tables[table.key] else {
            return .blocked([StepProblem("table \(table) does not exist", table: table)])
        }
        guard let source = current.column(column) else {
            return .blocked([StepProblem("\(table) has no column \(column)", table: table)])
        }
        guard source.type == "jsonb" || source.type == "json" else {
            return .blocked([StepProblem("\(table).\(column) is \(source.type), not json or jsonb", table: table)])
        }
        guard let primaryKey = current.primaryKey else {
            return .blocked([StepProblem("\(table) has no primary key; rows are named and backfilled by it", table: table)])
        }
        guard try probe.tableExists(table) else {
            return .waiting("\(table) does not exist yet; an earlier step creates it")
        }
        if case .keepFirstBy(let by) = onConflict, current.column(by) == nil {
            return .blocked([StepProblem("\(table) has no column \(by) (on_conflict keep_first_by)", table: table)])
        }
        var (plans, typeProblems) = try fieldPlans(current, sourceIsJSON: source.type == "json", probe)
        guard typeProblems.isEmpty else { return .blocked(typeProblems) }
        let key = RowKey(primaryKey.columns)
        let quotedTable = table.sqlName
        let survey = try FieldSurvey.read(plans, from: quotedTable, probe: probe)
        for index in plans.indices {
            plans[index].keyText = key.text()
            guard let counts = survey?.fields[index] else { continue }
            plans[index].counts = counts
            // `prefer: json`: a key the application removes during the run clears the column,
            // when no row had its column set without the key now (so a set column without its
            // key can only be a key removed since). Otherwise (keys an earlier run's
            // remove_keys took out, a column written on its own) an absent key says nothing.
            plans[index].clearsRemovedKey = preferColumn == false && counts.columnOnly == 0
        }
        let conflicts = FieldConflicts(step: self, probe: probe, key: key, table: quotedTable)
        let unique = try conflicts.uniqueGroups(plans)
        var problems = unique.problems
        for index in plans.indices {
            plans[index].losers = unique.losers[plans[index].field.name] ?? []
            problems += try conflicts.rowProblems(plans[index], notNull: current.column(plans[index].field.name)?.notNull == true)
        }
        guard problems.isEmpty else { return .blocked(problems) }
        return try FieldEffects(step: self, plans: plans, probe: probe, current: current, key: key, survey: survey, groups: unique.groups).assessment(schema)
    }

    /// Each field's plan from the server's spelling of its type, which decides the family and
    /// whether an existing column fits.
    /// Its problems are reported together, before any row is read.
    func fieldPlans(_ current: Table, sourceIsJSON: Bool, _ probe: Probe) throws -> (plans: [FieldPlan], problems: [StepProblem]) {
        var problems: [StepProblem] = []
        var plans: [FieldPlan] = []
        for field in fields {
            let printed = try probe.planText("fields") { try probe.canonicalType(field.type) }
            guard let family = JSONCast.Family(printedType: printed) else {
                problems.append(StepProblem("type \(printed) not supported by extract_json_fields yet (field \(field.name))", table: table))
                continue
            }
            if let zone = field.assumeTimeZone, try !probe.isKnownTimeZone(zone) {
                problems.append(StepProblem("assume_time_zone '\(zone)' of field \(field.name) is not a time zone PostgreSQL knows", table: table))
            }
            let existing = current.column(field.name)
            if let existing, existing.type != printed {
                problems.append(StepProblem("\(table).\(field.name) exists as \(existing.type), not \(printed)", table: table))
                continue
            }
            plans.append(FieldPlan(
                field: field, printedType: printed, family: family, exists: existing != nil, source: column, sourceIsJSON: sourceIsJSON,
                preferColumn: preferColumn ?? false, invalidToNull: invalidToNull))
        }
        return (plans, problems)
    }

    /// Per field, for the dry run: rows with the key, values accepted in another form (a
    /// string for a non-text type, trimmed text), values accepted but rounded (their key stays),
    /// values that do not convert (NULL in the column), rows set aside with their groups.
    func fieldCounts(_ plans: [FieldPlan], groups: [String: [[UniqueGroupRow]]] = [:]) -> [String] {
        plans.map { plan in
            var parts = ["\(plan.field.name): \(plan.counts.present) with the key"]
            if plan.counts.converted > 0 { parts.append("\(plan.counts.converted) accepted in another form") }
            if plan.counts.rounded > 0 { parts.append("accepted, rounded: \(plan.counts.rounded) row\(plan.counts.rounded == 1 ? "" : "s"), kept in the JSON") }
            if plan.counts.invalid > 0 {
                parts.append(invalidToNull
                    ? "\(plan.counts.invalid) not convertible: NULL instead of their value (kept in the JSON)"
                    : "\(plan.counts.invalid) not convertible")
            }
            if !plan.losers.isEmpty {
                let listed = (groups[plan.field.name] ?? []).prefix(10).map { UniqueGroupRow.describe($0, by: onConflict.keepFirstBy) }
                let more = (groups[plan.field.name]?.count ?? 0) > listed.count ? " / ..." : ""
                parts.append("\(plan.losers.count) set aside by keep_first_by (\(listed.joined(separator: " / "))\(more))")
            }
            return parts.joined(separator: ", ")
        }
    }

    /// Rows a unique field may set aside by `keep_first_by`: their keys go into the backfill's
    /// SQL, so their number is bounded.
    static let setAsideLimit = 10_000

    /// `users_phone_number_key`, PostgreSQL's name for a unique constraint's index, within the
    /// 63 bytes a name may have (`GeneratedName`).
    static func indexName(table: String, column: String) -> String {
        GeneratedName.make([table, column], suffix: "key")
    }
}

extension ExtractJSONFieldsStep.ConflictRule {
    var keepFirstBy: String? {
        if case .keepFirstBy(let by) = self { return by }
        return nil
    }
}
