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
        public var type: String
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
    /// True: a value that does not convert is left out of the column (it stays in the JSON).
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
            let type = reader.sqlFragment("type", what: "one type name")
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
            var parts = [field.type]
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

        // Types: the server's spelling decides the family and whether an existing column fits.
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
            plans.append(FieldPlan(field: field, printedType: printed, family: family, exists: existing != nil, source: column, sourceIsJSON: source.type == "json", preferColumn: preferColumn ?? false))
        }
        guard problems.isEmpty else { return .blocked(problems) }

        let quotedTable = QualifiedName(schema: table.schema, table.name).quoted
        let keyColumns = primaryKey.columns
        let keyList = keyColumns.map { SQLIdentifier($0).quoted }.joined(separator: ", ")
        let keyText = keyColumns.count == 1 ? "\(SQLIdentifier(keyColumns[0]).quoted)::text" : "ROW(\(keyList))::text"

        // Every field's counts in one read of the table (and for a unique field, whether any
        // value repeats); rows are named only where a count says there are some (a second
        // read, of the problem rows' keys). Read once per run (`memoized`).
        // Each field's state is computed once per row in `s` (OFFSET 0 keeps the planner from
        // copying the expressions into every aggregate): 0 absent or JSON null, 1 converts,
        // 2 converts from another form, 3 does not convert; `d` the column differs; `g` the
        // value a unique index will hold. A unique field's repeats are counted by hash (a
        // collision only costs the exact query below, which then finds no group).
        var states: [String] = []
        var aggregates: [String] = []
        var presence: [String] = []
        for (index, plan) in plans.enumerated() {
            if plan.field.unique && !plan.exists {
                // A unique field whose column is still missing: the value its index will hold is
                // the JSON's value itself, so its state is told from that text (`g`), and the
                // conversion runs once per row, not twice.
                states.append("\(plan.present) AS p\(index)")
                states.append("\(plan.convertedForm) AS c\(index)")
                states.append("(\(plan.value))::text AS g\(index)")
                aggregates.append("count(*) FILTER (WHERE p\(index))")
                aggregates.append("count(*) FILTER (WHERE p\(index) AND g\(index) IS NOT NULL AND c\(index))")
                aggregates.append("count(*) FILTER (WHERE p\(index) AND g\(index) IS NULL)")
                presence.append("p\(index)")
            } else {
                states.append("CASE WHEN NOT \(plan.present) THEN 0 WHEN NOT \(plan.valid) THEN 3 WHEN \(plan.convertedForm) THEN 2 ELSE 1 END AS s\(index)")
                aggregates.append("count(*) FILTER (WHERE s\(index) > 0)")
                aggregates.append("count(*) FILTER (WHERE s\(index) = 2)")
                aggregates.append("count(*) FILTER (WHERE s\(index) = 3)")
                presence.append("s\(index) > 0")
            }
            if plan.exists {
                states.append("\(plan.columnDiffers) AS d\(index)")
                aggregates.append("count(*) FILTER (WHERE d\(index))")
            } else {
                aggregates.append("0::bigint")
            }
            if plan.field.unique {
                if plan.exists { states.append("\(plan.groupValue)::text AS g\(index)") }
                aggregates.append("count(g\(index)) - count(DISTINCT hashtextextended(g\(index), 0))")
            } else {
                aggregates.append("0::bigint")
            }
        }
        // Rows with any of the keys: all a backfill writes while a column is missing.
        aggregates.append("count(*) FILTER (WHERE \(presence.joined(separator: " OR ")))")
        // And the oldest transaction the read's snapshot did not see finished: every row version
        // written before it was read here (`trusted` below).
        aggregates.append("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        let countsQuery = "SELECT \(aggregates.joined(separator: ",\n  "))\nFROM (SELECT \(states.joined(separator: ",\n  ")) FROM \(quotedTable) OFFSET 0) s"
        let counts: [Int] = try probe.memoized(countsQuery) {
            try probe.readOnly { probe in
                // The distinct hashes sort in memory rather than on disk.
                try probe.connection.setLocal("work_mem", "64MB")
                return try probe.query(countsQuery).first.map { row in
                    try (0..<aggregates.count).map { try row.get(.index($0), as: Int.self) }
                } ?? []
            }
        }
        for index in plans.indices where counts.count == aggregates.count {
            plans[index].counts = FieldCounts(
                present: counts[index * 5], converted: counts[index * 5 + 1], invalid: counts[index * 5 + 2], differing: counts[index * 5 + 3],
                repeated: counts[index * 5 + 4])
        }

        // Unique groups: their losers become part of each field's target expression.
        var losers: [String: [String]] = [:]
        for plan in plans where plan.field.unique && plan.counts.repeated > 0 {
            let value = plan.groupValue
            let order = (onConflict.keepFirstBy.map { "\(SQLIdentifier($0).quoted), " } ?? "") + keyList
            let groupsQuery = """
                SELECT k, n FROM (SELECT \(keyText) AS k, \(keyList), count(*) OVER (PARTITION BY v) AS n,
                    row_number() OVER (PARTITION BY v ORDER BY \(order)) AS r
                  FROM (SELECT *, \(value) AS v FROM \(quotedTable)) t WHERE v IS NOT NULL) g
                WHERE n > 1 AND r > 1 ORDER BY \(keyList)
                """
            let groups: [String] = try probe.memoized(groupsQuery) {
                try probe.readOnly { probe in try probe.query(groupsQuery).map { try $0.get(0, as: String.self) } }
            }
            guard !groups.isEmpty else { continue }
            if onConflict == .fail {
                problems.append(StepProblem(
                    "\(plan.field.name): rows share a value with an earlier row; a unique index cannot be built (on_conflict: keep_first_by resolves it)",
                    count: groups.count, sample: Array(groups.prefix(10)), table: table))
            } else if groups.count > Self.setAsideLimit {
                problems.append(StepProblem(
                    "\(plan.field.name): more than \(Self.setAsideLimit) rows share a value; too many to set aside safely", count: groups.count,
                    sample: Array(groups.prefix(10)), table: table))
            } else {
                losers[plan.field.name] = groups
            }
        }
        for index in plans.indices {
            plans[index].losers = losers[plans[index].field.name] ?? []
            plans[index].keyText = keyText
            let plan = plans[index]
            if plan.counts.invalid > 0 && !invalidToNull {
                let invalid = try probe.offendingRows(in: table, where: "\(plan.present) AND NOT \(plan.valid)")
                problems.append(StepProblem(
                    "\(plan.field.name): values that do not convert to \(plan.printedType) (on_invalid: \"null\" leaves them out)",
                    count: invalid.count, sample: invalid.sample, table: table))
            }
            if plan.exists, preferColumn == nil, plan.counts.differing > 0 {
                let differing = try probe.offendingRows(in: table, where: plan.columnDiffers)
                if differing.count > 0 {
                    problems.append(StepProblem(
                        "\(plan.field.name): the column is already set and differs from the JSON (prefer: json or column decides)",
                        count: differing.count, sample: differing.sample, table: table))
                }
            }
        }
        guard problems.isEmpty else { return .blocked(problems) }

        var effects: [any Effect] = []
        var after = schema
        let missing = plans.filter { !$0.exists }
        if !missing.isEmpty {
            let clauses = missing.map { plan in
                "ADD COLUMN \(SQLIdentifier(plan.field.name).quoted) \(plan.printedType)"
                    + (plan.field.defaultValue.map { " DEFAULT \(SQLLiteral.quoted($0))::\(plan.printedType)" } ?? "")
            }
            effects.append(AtomicSQL(
                "add column\(missing.count == 1 ? "" : "s") \(missing.map(\.field.name).joined(separator: ", ")) to \(table)",
                ["ALTER TABLE \(quotedTable) " + clauses.joined(separator: ", ")], lock: .accessExclusive, on: table))
            let forms = try probe.planText("fields") {
                try probe.canonicalForms(
                    columns: missing.map { Column(name: $0.field.name, type: $0.printedType) }, checks: [],
                    defaults: missing.compactMap { plan in plan.field.defaultValue.map { (plan.field.name, "\(SQLLiteral.quoted($0))::\(plan.printedType)") } })
            }
            for plan in missing {
                after.tables[table.key]?.columns.append(Column(name: plan.field.name, type: plan.printedType, defaultExpression: forms.defaults[plan.field.name]))
            }
        }

        // What the move leaves out goes to the journal first, with what the row held.
        var setAside: [String] = []
        var journal: JournalSetAside?
        for plan in plans {
            let field = SQLLiteral.quoted(plan.field.name)
            let columnText = plan.exists ? "\(plan.columnSQL)::text" : "NULL::text"
            func part(_ reason: String, _ condition: String) -> String {
                "SELECT \(keyText) AS key, \(field)::text AS field, \(SQLLiteral.quoted(reason))::text AS reason, \(plan.json) AS json_value, \(columnText) AS column_value FROM \(quotedTable) WHERE \(condition)"
            }
            if invalidToNull { setAside.append(part("on_invalid: null", "\(plan.present) AND NOT \(plan.valid)")) }
            if !plan.losers.isEmpty {
                setAside.append(part("on_conflict: keep_first_by", "\(keyText) = ANY(\(SQLLiteral.quoted(JSONCast.arrayLiteral(plan.losers)))::text[])"))
            }
            if plan.exists, let preferColumn { setAside.append(part(preferColumn ? "prefer: column" : "prefer: json", plan.columnDiffers)) }
        }
        if !setAside.isEmpty {
            // Its rows, counted from what the counts above read: one row per part it matches.
            let count = plans.reduce(0) { sum, plan in
                sum + (invalidToNull ? plan.counts.invalid : 0) + plan.losers.count + (plan.exists && preferColumn != nil ? plan.counts.differing : 0)
            }
            if count > 0 { journal = JournalSetAside(table: table, query: setAside.joined(separator: "\nUNION ALL "), count: count) }
        }

        let key = keyColumns.map { name in (name: name, type: current.column(name)?.type ?? "text") }
        /// A row holds a value that does not convert.
        let unconvertible = plans.map { "(\($0.present) AND NOT \($0.valid))" }.joined(separator: " OR ")
        let assignments = plans.map { (column: $0.field.name, expression: $0.target) }
        let condition = plans.map { "\(SQLIdentifier($0.field.name).quoted) IS DISTINCT FROM \($0.target)" }.joined(separator: " OR ")
        // With a column missing the condition cannot be counted yet: every row with a key is,
        // and the counts' read counted them. Otherwise counted once per run while nothing has
        // changed (the dry run a real run shows first, then the step's own assessment): a full
        // read of the table each time otherwise.
        let needing: Int
        if !missing.isEmpty && counts.count == aggregates.count {
            needing = counts[counts.count - 2]
        } else {
            needing = try probe.memoizedCount("SELECT count(*) FROM \(quotedTable) WHERE " + (missing.isEmpty ? condition : plans.map(\.present).joined(separator: " OR ")))
        }
        if needing > 0 || !missing.isEmpty {
            var backfill = Backfill(table: table, key: key, assignments: assignments, condition: condition, matching: needing, batchSize: probe.settings.batchSize, workers: probe.settings.batchWorkers)
            backfill.purpose = fieldCounts(plans).joined(separator: "; ")
            // `condition` is "a column differs from its target": each target once per row.
            backfill.conditionIsDifference = true
            // The backfill's last read of the table is the proof that every row agrees; with
            // on_invalid: fail it also finds values written since that do not convert.
            if !invalidToNull {
                backfill.verify = (
                    "values of \(table).\(column) that do not convert, written after the step was assessed (on_invalid: \"null\" leaves them out)",
                    unconvertible)
            }
            // The rows this assessment read: a field none of whose values failed to convert
            // converts them without its checks (`Backfill.trusted`).
            if counts.count == aggregates.count, let snapshotXmin = counts.last, plans.contains(where: { $0.counts.invalid == 0 }) {
                backfill.trusted = (
                    assessedBefore: UInt64(snapshotXmin),
                    expressions: plans.map { $0.counts.invalid == 0 ? $0.target(value: $0.cast.unchecked) : nil })
            }
            // Journaled only when the move runs: a satisfied step has nothing left to set aside.
            if let journal { effects.append(journal) }
            effects.append(backfill)
        }

        for plan in plans where plan.field.unique {
            let existing = current.indexes.values.first { index in
                index.unique && index.predicate == nil && index.keys.count == 1 && index.keys[0].isColumn && index.keys[0].expression == plan.field.name
            }
            if let existing, existing.valid { continue }
            let name = existing?.name ?? Self.indexName(table: table.name, column: plan.field.name)
            let indexName = ObjectName(schema: table.schema, name: name)
            let column = SQLIdentifier(plan.field.name).quoted
            let quotedIndex = SQLIdentifier(name).quoted
            effects.append(ConcurrentSQL(
                "build unique index \(name) on \(table) (\(plan.field.name))",
                "CREATE UNIQUE INDEX CONCURRENTLY \(quotedIndex) ON \(quotedTable) (\(column))",
                rehearsalSQL: "CREATE UNIQUE INDEX \(quotedIndex) ON \(quotedTable) (\(column))",
                lock: .shareUpdateExclusive, on: table, hazards: [.indexBuild], builds: indexName))
            after.tables[table.key]?.indexes[name] = Index(
                name: name,
                definition: "CREATE UNIQUE INDEX \(PrintedNames.identifier(name)) ON \(PrintedNames.qualified(table)) USING btree (\(PrintedNames.identifier(plan.field.name)))",
                keys: [IndexKey(expression: plan.field.name)], unique: true)
        }

        var removal: Backfill?
        if removeKeys {
            let removable = plans.map(\.removable).joined(separator: " OR ")
            // One `#-` per field, removing its path or nothing (`{}`): the expression grows with
            // the fields, and each field's test is read from the document as it was.
            let sourceIsJSON = plans.first?.sourceIsJSON ?? false
            let removed = plans.reduce(SQLIdentifier(column).quoted + (sourceIsJSON ? "::jsonb" : "")) { document, plan in
                "(\(document) #- CASE WHEN \(plan.removable) THEN \(plan.pathLiteral) ELSE '{}'::text[] END)"
            }
            let expression = sourceIsJSON ? "(\(removed))::json" : removed
            let count = missing.isEmpty ? try probe.memoizedCount("SELECT count(*) FROM \(quotedTable) WHERE \(removable)") : needing
            // A backfill in this run makes more rows removable than the count says: the removal
            // runs after it whatever the count (its condition decides, row by row).
            if count > 0 || !missing.isEmpty || needing > 0 {
                let matching = missing.isEmpty ? count + needing : needing
                removal = Backfill(table: table, key: key, assignments: [(column, expression)], condition: removable, matching: matching, batchSize: probe.settings.batchSize, workers: probe.settings.batchWorkers)
                removal?.purpose = "remove from \(column) the keys whose values are in their columns (set-aside values stay)"
            }
        }

        if effects.isEmpty && removal == nil {
            let indexes = plans.filter(\.field.unique).isEmpty ? "" : ", unique indexes valid"
            return .satisfied("every column of \(plans.map(\.field.name).joined(separator: ", ")) exists and agrees with \(column)\(indexes)\(removeKeys ? ", keys removed" : "")")
        }
        // The proof: every row's column is what its JSON says (or what prefer/on_conflict/
        // on_invalid decided), and with on_invalid: fail no value is left that does not convert.
        // The backfill's last read is it when there is a backfill; otherwise (nothing to write:
        // an index or the keys' removal is what is left) it is a read of its own.
        if !effects.contains(where: { $0 is Backfill }) {
            let broken = [condition] + (invalidToNull ? [] : [unconvertible])
            effects.append(Assertion(
                "every row of \(table) agrees with \(column): \(plans.map(\.field.name).joined(separator: ", "))",
                query: "SELECT \(keyText) AS key FROM \(quotedTable) WHERE " + broken.joined(separator: " OR "), on: table))
        }
        if let removal { effects.append(removal) }
        return .needed(effects, after: after)
    }

    /// Per field, for the dry run: rows with the key, values accepted in another form (a
    /// string for a non-text type, trimmed text), values left out, rows set aside.
    func fieldCounts(_ plans: [FieldPlan]) -> [String] {
        plans.map { plan in
            var parts = ["\(plan.field.name): \(plan.counts.present) with the key"]
            if plan.counts.converted > 0 { parts.append("\(plan.counts.converted) accepted in another form") }
            if plan.counts.invalid > 0 { parts.append("\(plan.counts.invalid) not convertible, left out") }
            if !plan.losers.isEmpty {
                parts.append("\(plan.losers.count) set aside by keep_first_by (\(plan.losers.prefix(10).joined(separator: ", "))\(plan.losers.count > 10 ? ", ..." : ""))")
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

/// One field's rows, counted when assessed.
struct FieldCounts {
    var present = 0
    /// Accepted in another form than the type's own.
    var converted = 0
    var invalid = 0
    /// The column is set and differs from the JSON's value.
    var differing = 0
    /// For a unique field: values that more than one row would hold (rows minus distinct values).
    var repeated = 0
}

/// The SQL of one field: its JSON value, whether it converts, and what the column must hold.
struct FieldPlan {
    var field: ExtractJSONFieldsStep.Field
    var printedType: String
    var family: JSONCast.Family
    var exists: Bool
    var source: String
    var sourceIsJSON: Bool
    var preferColumn: Bool
    /// Primary keys (as text) of rows a unique group sets aside.
    var losers: [String] = []
    var keyText = ""
    var counts = FieldCounts()

    var columnSQL: String { SQLIdentifier(field.name).quoted }

    /// The JSON value at the path, as jsonb.
    var json: String { extract("->", "#>") }
    /// The value at the path as text (a string without its quotes).
    var text: String { extract("->>", "#>>") }
    func extract(_ key: String, _ path: String) -> String {
        let document = SQLIdentifier(source).quoted + (sourceIsJSON ? "::jsonb" : "")
        if field.path.count == 1 { return "(\(document) \(key) \(SQLLiteral.quoted(field.path[0])))" }
        return "(\(document) \(path) \(SQLLiteral.quoted(JSONCast.arrayLiteral(field.path)))::text[])"
    }
    /// The key is there with a value other than JSON null.
    /// (`jsonb_typeof` of a missing key is NULL: one extraction says both.)
    var present: String { "coalesce(jsonb_typeof(\(json)) <> 'null', false)" }
    /// SQL gets the server's printed type, not the plan's text: a name it knows, nothing else.
    var cast: JSONCast { JSONCast(family: family, json: json, text: text, type: printedType, trim: field.trim, timeZone: field.assumeTimeZone) }
    /// Converts losslessly (only meaningful where `present`).
    var valid: String { cast.valid }
    /// The value is written in a form other than the type's own: a string for a non-text
    /// type, or text that trimming changed.
    var convertedForm: String {
        switch family {
        case .text: return field.trim ? "\(text) <> btrim(\(text))" : "false"
        case .boolean, .integer, .numeric: return "jsonb_typeof(\(json)) = 'string'"
        default: return "false"
        }
    }
    /// The JSON's value as the column's type, NULL when absent, JSON null or not convertible.
    var value: String { cast.value }
    /// The column is set to something other than its declared default.
    var columnSet: String {
        guard exists else { return "false" }
        let notDefault = field.defaultValue.map { " AND \(columnSQL) IS DISTINCT FROM \(SQLLiteral.quoted($0))::\(printedType)" } ?? ""
        return "(\(columnSQL) IS NOT NULL\(notDefault))"
    }
    var columnDiffers: String { "(\(columnSet) AND \(value) IS NOT NULL AND \(columnSQL) IS DISTINCT FROM \(value))" }
    /// The value a unique group is judged by: what the column ends with, before set-asides.
    var groupValue: String {
        let column = exists ? columnSQL : "NULL::\(printedType)"
        let keep = preferColumn ? "WHEN \(columnSet) THEN \(column) " : ""
        return keep.isEmpty ? "coalesce(\(value), \(column))" : "(CASE \(keep)ELSE coalesce(\(value), \(column)) END)"
    }
    /// What the column must hold: nothing for a row a unique group set aside, else the JSON's
    /// value, unless there is none (absent, null, not convertible: the column is left as it
    /// is) or `prefer: column` keeps a column already set.
    var target: String { target(value: value) }
    /// The same, from `value` computed another way (`JSONCast.unchecked` for rows known to
    /// convert).
    func target(value: String) -> String {
        let setAside = losers.isEmpty ? "" : "WHEN \(keyText) = ANY(\(SQLLiteral.quoted(JSONCast.arrayLiteral(losers)))::text[]) THEN NULL "
        let keep = preferColumn ? "WHEN \(columnSet) THEN \(columnSQL) " : ""
        // coalesce evaluates the conversion once per row, where CASE ... THEN value would twice.
        let whens = setAside + keep
        return whens.isEmpty ? "coalesce(\(value), \(columnSQL))" : "(CASE \(whens)ELSE coalesce(\(value), \(columnSQL)) END)"
    }
    /// The key may go: its value is in the column (or it holds JSON null, which says nothing).
    var removable: String {
        "(\(json) IS NOT NULL AND (jsonb_typeof(\(json)) = 'null' OR (\(valid) AND \(columnSQL) IS NOT DISTINCT FROM \(value))))"
    }
    /// The field's path in the document, as `#-` takes it.
    var pathLiteral: String { "\(SQLLiteral.quoted(JSONCast.arrayLiteral(field.path)))::text[]" }
}

