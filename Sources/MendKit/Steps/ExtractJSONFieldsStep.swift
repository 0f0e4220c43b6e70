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
            plans.append(FieldPlan(field: field, printedType: printed, family: family, exists: existing != nil, source: column, sourceIsJSON: source.type == "json", preferColumn: preferColumn ?? false, invalidToNull: invalidToNull))
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
        // copying the expressions into every aggregate): 0 absent, 4 JSON null, 1 converts,
        // 2 converts from another form, 5 converts but rounds, 3 does not convert; `d` what the
        // column says against it (`FieldPlan.columnState`); `g` the value a unique index will
        // hold. A unique field's repeats are counted by hash (a collision only costs the exact
        // query below, which then finds no group).
        var states: [String] = []
        var aggregates: [String] = []
        var presence: [String] = []
        for (index, plan) in plans.enumerated() {
            let rounds = plan.cast.rounded(plan.value)
            if plan.field.unique && !plan.exists && rounds == nil {
                // A unique field whose column is still missing: the value its index will hold is
                // the JSON's value itself, so its state is told from that text (`g`), and the
                // conversion runs once per row, not twice.
                states.append("\(plan.kind) AS p\(index)")
                states.append("\(plan.convertedForm) AS c\(index)")
                states.append("(\(plan.value))::text AS g\(index)")
                let present = "p\(index) NOT IN ('', 'null')"
                aggregates.append("count(*) FILTER (WHERE \(present))")
                aggregates.append("count(*) FILTER (WHERE \(present) AND g\(index) IS NOT NULL AND c\(index))")
                aggregates.append("0::bigint")
                aggregates.append("count(*) FILTER (WHERE \(present) AND g\(index) IS NULL)")
                aggregates.append("count(*) FILTER (WHERE p\(index) = 'null')")
                presence.append(plan.field.defaultValue == nil ? present : "p\(index) <> ''")
            } else {
                let rounded = rounds.map { " WHEN \($0) THEN 5" } ?? ""
                states.append(
                    "CASE \(plan.kind) WHEN '' THEN 0 WHEN 'null' THEN 4 ELSE CASE WHEN NOT \(plan.valid) THEN 3\(rounded) WHEN \(plan.convertedForm) THEN 2 ELSE 1 END END AS s\(index)")
                aggregates.append("count(*) FILTER (WHERE s\(index) IN (1, 2, 3, 5))")
                aggregates.append("count(*) FILTER (WHERE s\(index) = 2)")
                aggregates.append("count(*) FILTER (WHERE s\(index) = 5)")
                aggregates.append("count(*) FILTER (WHERE s\(index) = 3)")
                aggregates.append("count(*) FILTER (WHERE s\(index) = 4)")
                // A JSON null changes a column that starts at a default.
                presence.append(plan.field.defaultValue == nil ? "s\(index) IN (1, 2, 3, 5)" : "s\(index) > 0")
            }
            if plan.exists {
                states.append("\(plan.columnState) AS d\(index)")
                aggregates.append("count(*) FILTER (WHERE d\(index) = 1)")
                aggregates.append("count(*) FILTER (WHERE d\(index) = 2)")
                aggregates.append("count(*) FILTER (WHERE d\(index) = 3)")
            } else {
                aggregates += ["0::bigint", "0::bigint", "0::bigint"]
            }
            if plan.field.unique {
                if plan.exists || rounds != nil { states.append("\(plan.groupValue)::text AS g\(index)") }
                aggregates.append("count(g\(index)) - count(DISTINCT hashtextextended(g\(index), 0))")
            } else {
                aggregates.append("0::bigint")
            }
        }
        let perField = 9
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
            let field = Array(counts[(index * perField)..<((index + 1) * perField)])
            plans[index].counts = FieldCounts(
                present: field[0], converted: field[1], rounded: field[2], invalid: field[3], jsonNull: field[4], differing: field[5],
                differingInvalid: field[6], columnOnly: field[7], repeated: field[8])
            // `prefer: json`: a key the application removes during the run clears the column,
            // when no row had its column set without the key now (so a set column without its
            // key can only be a key removed since). Otherwise (keys an earlier run's
            // remove_keys took out, a column written on its own) an absent key says nothing.
            plans[index].clearsRemovedKey = preferColumn == false && plans[index].counts.columnOnly == 0
        }

        // Unique groups: their losers become part of each field's target expression. Every row
        // of each group is read, with its value and the keep_first_by column's, so that a
        // conflict can be named in full.
        var losers: [String: [(key: String, value: String)]] = [:]
        var groupsByField: [String: [[UniqueGroupRow]]] = [:]
        for plan in plans where plan.field.unique && plan.counts.repeated > 0 {
            let value = plan.groupValue
            let order = (onConflict.keepFirstBy.map { "\(SQLIdentifier($0).quoted), " } ?? "") + keyList
            let by = onConflict.keepFirstBy.map { "(\(SQLIdentifier($0).quoted))::text" } ?? "NULL::text"
            let groupsQuery = """
                SELECT k, v, b, r FROM (SELECT \(keyText) AS k, v::text AS v, \(by) AS b, count(*) OVER (PARTITION BY v) AS n,
                    row_number() OVER (PARTITION BY v ORDER BY \(order)) AS r
                  FROM (SELECT *, \(value) AS v FROM \(quotedTable)) t WHERE v IS NOT NULL) g
                WHERE n > 1 ORDER BY v, r
                """
            let rows: [UniqueGroupRow] = try probe.memoized(groupsQuery) {
                try probe.readOnly { probe in
                    try probe.query(groupsQuery).map { row in
                        UniqueGroupRow(
                            key: try row.get(0, as: String.self), value: try row.get(1, as: String.self), by: try row.get(2, as: String?.self),
                            rank: try row.get(3, as: Int.self))
                    }
                }
            }
            var groups: [[UniqueGroupRow]] = []
            for row in rows {
                if row.rank == 1 || groups.isEmpty { groups.append([row]) } else { groups[groups.count - 1].append(row) }
            }
            let setAside = rows.filter { $0.rank > 1 }
            guard !setAside.isEmpty else { continue }
            let named = Array(groups.prefix(10))
            let listed = named.map { Self.describe($0, by: onConflict.keepFirstBy) }.joined(separator: "; ") + (groups.count > named.count ? "; ..." : "")
            let sample = named.flatMap { $0.map(\.key) }
            if onConflict == .fail {
                problems.append(StepProblem(
                    "\(plan.field.name): \(groups.count) value\(groups.count == 1 ? " is" : "s are") held by more than one row; a unique index cannot be built"
                        + " (on_conflict: {keep_first_by: column} keeps the first row of each group): \(listed)",
                    count: rows.count, sample: sample, table: table))
            } else if setAside.count > Self.setAsideLimit {
                problems.append(StepProblem(
                    "\(plan.field.name): more than \(Self.setAsideLimit) rows share a value; too many to set aside safely: \(listed)", count: rows.count,
                    sample: sample, table: table))
            } else {
                losers[plan.field.name] = setAside.map { ($0.key, $0.value) }
                groupsByField[plan.field.name] = groups
            }
        }
        for index in plans.indices {
            plans[index].losers = losers[plans[index].field.name] ?? []
            plans[index].keyText = keyText
            let plan = plans[index]
            if plan.counts.invalid > 0 && !invalidToNull {
                let invalid = try probe.offendingRows(in: table, where: "\(plan.present) AND NOT \(plan.valid)")
                problems.append(StepProblem(
                    "\(plan.field.name): values that do not convert to \(plan.printedType) (on_invalid: \"null\" makes them NULL, the value stays in the JSON)",
                    count: invalid.count, sample: invalid.sample, table: table))
            }
            // Without prefer, a set column the JSON contradicts blocks: another value, JSON null,
            // or (with on_invalid: null, which would make it NULL) a value that does not convert.
            let contradicted = plan.counts.differing + (invalidToNull ? plan.counts.differingInvalid : 0)
            if plan.exists, preferColumn == nil, contradicted > 0 {
                let differing = try probe.offendingRows(
                    in: table, where: invalidToNull ? "(\(plan.columnDiffers) OR \(plan.columnSetInvalid))" : plan.columnDiffers)
                if differing.count > 0 {
                    problems.append(StepProblem(
                        "\(plan.field.name): the column is already set and the JSON says otherwise (another value\(invalidToNull ? ", null or a value that does not convert" : " or null"); prefer: json or column decides)",
                        count: differing.count, sample: differing.sample, table: table))
                }
            }
            // A column that does not allow NULL: a row whose column would get NULL (a value
            // that does not convert, JSON null, a row set aside) blocks the step before any
            // change, where the batch would otherwise fail on it halfway.
            if current.column(plan.field.name)?.notNull == true {
                let nulled = try probe.offendingRows(in: table, where: "(\(plan.target)) IS NULL")
                if nulled.count > 0 {
                    problems.append(StepProblem(
                        "\(plan.field.name): rows whose column would get NULL (a value that does not convert, JSON null or a row set aside), but \(table).\(plan.field.name) is NOT NULL",
                        count: nulled.count, sample: nulled.sample, table: table))
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
                [.legacy("ALTER TABLE \(quotedTable) " + clauses.joined(separator: ", "))], lock: .accessExclusive, on: table))
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
            if let losing = plan.setAside { setAside.append(part("on_conflict: keep_first_by", losing)) }
            if plan.exists, let preferColumn { setAside.append(part(preferColumn ? "prefer: column" : "prefer: json", plan.columnDiffers)) }
        }
        if !setAside.isEmpty {
            // Its rows, counted from what the counts above read: one row per part it matches.
            let count = plans.reduce(0) { sum, plan in
                sum + (invalidToNull ? plan.counts.invalid : 0) + plan.losers.count + (plan.exists && preferColumn != nil ? plan.counts.differing : 0)
            }
            if count > 0 { journal = JournalSetAside(table: table, query: .legacy(setAside.joined(separator: "\nUNION ALL ")), count: count) }
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
            var backfill = Backfill(table: table, key: key, assignments: assignments.map { ($0.column, SQL.legacy($0.expression)) }, condition: .legacy(condition), matching: needing, batchSize: probe.settings.batchSize, workers: probe.settings.batchWorkers)
            backfill.purpose = fieldCounts(plans, groups: groupsByField).joined(separator: "; ")
            // `condition` is "a column differs from its target": each target once per row.
            backfill.conditionIsDifference = true
            // The backfill's last read of the table is the proof that every row agrees; with
            // on_invalid: fail it also finds values written since that do not convert.
            if !invalidToNull {
                backfill.verify = (
                    "values of \(table).\(column) that do not convert, written after the step was assessed (on_invalid: \"null\" makes them NULL)",
                    .legacy(unconvertible))
            }
            // The rows this assessment read: a field none of whose values failed to convert
            // converts them without its checks (`Backfill.trusted`).
            if counts.count == aggregates.count, let snapshotXmin = counts.last, plans.contains(where: { $0.counts.invalid == 0 }) {
                backfill.trusted = (
                    assessedBefore: UInt64(snapshotXmin),
                    expressions: plans.map { $0.counts.invalid == 0 ? SQL.legacy($0.target(value: $0.cast.unchecked)) : nil })
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
                .legacy("CREATE UNIQUE INDEX CONCURRENTLY \(quotedIndex) ON \(quotedTable) (\(column))"),
                rehearsalSQL: .legacy("CREATE UNIQUE INDEX \(quotedIndex) ON \(quotedTable) (\(column))"),
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
                removal = Backfill(table: table, key: key, assignments: [(column, .legacy(expression))], condition: .legacy(removable), matching: matching, batchSize: probe.settings.batchSize, workers: probe.settings.batchWorkers)
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
                query: .legacy("SELECT \(keyText) AS key FROM \(quotedTable) WHERE " + broken.joined(separator: " OR ")), on: table))
        }
        if let removal { effects.append(removal) }
        return .needed(effects, after: after)
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
                let listed = (groups[plan.field.name] ?? []).prefix(10).map { Self.describe($0, by: onConflict.keepFirstBy) }
                let more = (groups[plan.field.name]?.count ?? 0) > listed.count ? " / ..." : ""
                parts.append("\(plan.losers.count) set aside by keep_first_by (\(listed.joined(separator: " / "))\(more))")
            }
            return parts.joined(separator: ", ")
        }
    }

    /// A group of rows that would share a unique field's value, for people:
    /// `'+15550000004' held by 4 (created_at 2026-01-01 04:00:00) keeps it, 44 (created_at ...)`.
    static func describe(_ group: [UniqueGroupRow], by: String?) -> String {
        guard let value = group.first?.value else { return "" }
        let rows = group.map { row in
            guard let by else { return row.key }
            return "\(row.key) (\(by) \(row.by ?? "NULL"))" + (row.rank == 1 ? " keeps it" : "")
        }
        return "\(SQLLiteral.quoted(value)) held by " + rows.joined(separator: ", ")
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
    /// The key holds a value other than JSON null.
    var present = 0
    /// Accepted in another form than the type's own.
    var converted = 0
    /// Accepted, but the column does not give the JSON's number back (`real`, `double
    /// precision`, `numeric(p, s)`).
    var rounded = 0
    var invalid = 0
    /// The key holds JSON null.
    var jsonNull = 0
    /// The column is set and the JSON says otherwise: another value, or null.
    var differing = 0
    /// The column is set and the JSON's value does not convert.
    var differingInvalid = 0
    /// The column is set and the key is absent.
    var columnOnly = 0
    /// For a unique field: values that more than one row would hold (rows minus distinct values).
    var repeated = 0
}

/// One row of a group of rows that would share a unique field's value.
struct UniqueGroupRow {
    var key: String
    /// The value, as text.
    var value: String
    /// The `keep_first_by` column's value, as text (nil without one, or NULL).
    var by: String?
    /// Its place in the group: 1 keeps the value.
    var rank: Int
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
    /// `on_invalid: null`: a value that does not convert makes the column NULL.
    var invalidToNull = false
    /// A key absent from a row whose column is set clears the column (`prefer: json`, when no
    /// row had its column set without its key when assessed: such a row lost its key since).
    var clearsRemovedKey = false
    /// Rows a unique group sets aside: their primary keys (as text), each with the value (as
    /// text) it shares with an earlier row.
    var losers: [(key: String, value: String)] = []
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
    /// The JSON type of the value, `''` when the key is absent: one extraction tells absent,
    /// JSON null and a value apart (`CASE \(kind) WHEN ...` evaluates it once).
    var kind: String { "coalesce(jsonb_typeof(\(json)), '')" }
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
        return columnSetNow
    }
    /// The same in a statement that runs after the column was added (it may have been written
    /// since).
    var columnSetNow: String {
        let notDefault = field.defaultValue.map { " AND \(columnSQL) IS DISTINCT FROM \(SQLLiteral.quoted($0))::\(printedType)" } ?? ""
        return "(\(columnSQL) IS NOT NULL\(notDefault))"
    }
    /// The column is set and the JSON says otherwise: JSON null, or another value (a value that
    /// does not convert is not counted here: `columnSetInvalid`). What `prefer` decides.
    var columnDiffers: String {
        "(\(columnSet) AND CASE jsonb_typeof(\(json)) WHEN 'null' THEN true ELSE \(value) IS NOT NULL AND \(columnSQL) IS DISTINCT FROM \(value) END)"
    }
    /// The column is set and the JSON's value does not convert: with `on_invalid: null` the
    /// column would become NULL, so without `prefer` this blocks as a difference does.
    var columnSetInvalid: String { "(\(columnSet) AND \(present) AND NOT \(valid))" }
    /// Per row, in one CASE: 0 nothing to tell, 1 `columnDiffers`, 2 `columnSetInvalid`, 3 the
    /// column is set and the key absent.
    var columnState: String {
        "CASE WHEN NOT \(columnSet) THEN 0 ELSE CASE \(kind) WHEN '' THEN 3 WHEN 'null' THEN 1"
            + " ELSE CASE WHEN \(value) IS NULL THEN 2 WHEN \(columnSQL) IS DISTINCT FROM \(value) THEN 1 ELSE 0 END END END"
    }

    /// What the column gets when the JSON's value is none (`value` NULL): JSON null clears it
    /// (`prefer: column` keeps the column, set or not); a value that does not convert makes it
    /// NULL with `on_invalid: null` (never the column's default: the default would read as a
    /// value the row never had) and leaves it to the proof otherwise; an absent key leaves it as
    /// it is, unless `clearsRemovedKey`. A set column `prefer: column` keeps never gets here.
    /// `columnExists` false: read while the column is still missing (it is NULL then).
    func noValue(columnExists: Bool) -> String {
        let column = columnExists ? columnSQL : "NULL::\(printedType)"
        // What each of the three cases gets: the key absent, JSON null, a value that does not
        // convert. A cleared column without a default is NULL whether it was set or not.
        let absent = !(clearsRemovedKey && columnExists) ? column
            : field.defaultValue == nil ? "NULL" : "(CASE WHEN \(columnSetNow) THEN NULL ELSE \(column) END)"
        let null = preferColumn ? column : "NULL"
        let invalid = invalidToNull ? "NULL" : column
        // Each extraction of the value costs: one `CASE` over what the cases need.
        if absent == null && null == invalid { return absent == "NULL" ? "NULL::\(printedType)" : absent }
        if absent == invalid { return "(CASE jsonb_typeof(\(json)) WHEN 'null' THEN \(null) ELSE \(absent) END)" }
        if null == invalid { return "(CASE WHEN \(json) IS NULL THEN \(absent) ELSE \(null) END)" }
        return "(CASE \(kind) WHEN '' THEN \(absent) WHEN 'null' THEN \(null) ELSE \(invalid) END)"
    }

    /// What the column ends with, before set-asides, from `value` computed one way or another:
    /// the column when `prefer: column` keeps it, else the JSON's value, else `noValue`.
    func kept(value: String, columnExists: Bool = true) -> String {
        // coalesce evaluates the conversion once per row, where CASE ... THEN value would twice.
        let json = "coalesce(\(value), \(noValue(columnExists: columnExists)))"
        return preferColumn && columnExists ? "(CASE WHEN \(columnSet) THEN \(columnSQL) ELSE \(json) END)" : json
    }

    /// The value a unique group is judged by: what the column ends with, before set-asides
    /// (readable while the column is missing).
    var groupValue: String { kept(value: value, columnExists: exists) }

    /// The row is set aside by a unique group: it is one of `losers` and still holds the value
    /// it lost with. A row the application gave another value since (a fresh phone number) is
    /// no longer set aside; the decision needs the row alone, so the backfill's proof, which
    /// skips rows its own batches wrote, still sees every row whose decision could change.
    var setAside: String? {
        guard !losers.isEmpty else { return nil }
        let keys = "\(SQLLiteral.quoted(JSONCast.arrayLiteral(losers.map(\.key))))::text[]"
        let values = "\(SQLLiteral.quoted(JSONCast.arrayLiteral(losers.map(\.value))))::text[]"
        // AND evaluates left to right and stops at false: the group value only for the losers.
        return "(\(keyText) = ANY(\(keys)) AND (\(groupValue))::text = (\(values))[array_position(\(keys), \(keyText))])"
    }

    /// What the column must hold: nothing for a row a unique group sets aside, else `kept`.
    var target: String { target(value: value) }
    /// The same, from `value` computed another way (`JSONCast.unchecked` for rows known to
    /// convert).
    func target(value: String) -> String {
        let kept = kept(value: value)
        guard let setAside else { return kept }
        return "(CASE WHEN \(setAside) THEN NULL ELSE \(kept) END)"
    }
    /// The key may go: its value is in the column, and the column gives it back exactly (a
    /// rounded number stays), or it holds JSON null, which says nothing.
    var removable: String {
        let exact = cast.rounded(columnSQL).map { " AND NOT \($0)" } ?? ""
        return "(\(json) IS NOT NULL AND (jsonb_typeof(\(json)) = 'null' OR (\(valid) AND \(columnSQL) IS NOT DISTINCT FROM \(value)\(exact))))"
    }
    /// The field's path in the document, as `#-` takes it.
    var pathLiteral: String { "\(SQLLiteral.quoted(JSONCast.arrayLiteral(field.path)))::text[]" }
}
