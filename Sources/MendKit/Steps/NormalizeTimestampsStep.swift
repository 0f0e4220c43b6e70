import PostgresClient
import SchemaModel

/// `normalize_timestamps`: `timestamp without time zone` columns become `timestamptz`, each
/// value read as a wall-clock time in `assume_time_zone`. The altering transaction runs with
/// `TimeZone = 'UTC'` whatever the server's or database's default, so the instants do not
/// depend on where pgmend runs; when the assumed zone is UTC itself, PostgreSQL changes only
/// the catalog and does not rewrite the table.
///
/// ```yaml
/// - normalize_timestamps:
///     columns: all                    # or [users.created_at, ...]
///     exclude: [calendar.start_at]
///     assume_time_zone: Europe/Berlin
///     on_nonexistent: fail            # shift_forward | null: a local time in a DST gap
///     on_ambiguous: fail              # earlier | later: a local time clocks show twice
///     recreate_views: true
/// ```
public struct NormalizeTimestampsStep: RepairStep {
    public static let kind = "normalize_timestamps"
    public static let summary = "timestamp columns become timestamptz, values read in a named zone; no rewrite for UTC; views kept"

    /// Zone names that are UTC at every instant: the cast PostgreSQL skips the rewrite for.
    static let utcNames: Set<String> = [
        "utc", "etc/utc", "uct", "etc/uct", "universal", "etc/universal", "zulu", "etc/zulu", "gmt", "etc/gmt",
        "gmt0", "etc/gmt0", "gmt+0", "etc/gmt+0", "gmt-0", "etc/gmt-0", "greenwich", "etc/greenwich",
    ]

    /// nil: every `timestamp without time zone` column.
    public let columns: [ColumnName]?
    public let exclude: [ColumnName]
    public let zone: String
    public let recreateViews: Bool
    let method: TypeChangeMethod
    /// What a local time that never existed in the zone (in a gap where clocks jump forward)
    /// becomes: nil is `fail`.
    let onNonexistent: Nonexistent?
    /// Which instant a local time that clocks showed twice (clocks set back) becomes: nil is `fail`.
    let onAmbiguous: Ambiguous?

    enum Nonexistent: String { case shiftForward = "shift_forward", null }
    enum Ambiguous: String { case earlier, later }

    public init?(options: inout OptionReader) {
        var columns: [ColumnName]?
        var all = false
        if let value = options.rawValue("columns"), value.text == "all" {
            all = true
        } else if options.has("columns") {
            columns = options.columnNames("columns")
        } else {
            _ = options.rawValue("columns")
            options.report(options.location, "normalize_timestamps needs option 'columns': all, or a list of table.column")
        }
        let exclude = options.columnNames("exclude") ?? []
        let zone = options.text("assume_time_zone")
        if let zone, zone.isEmpty || zone.contains(where: { $0.isNewline || $0 == "\0" }) {
            options.report(options.location(of: "assume_time_zone"), "option 'assume_time_zone' of normalize_timestamps must be a time zone name like UTC or Europe/Berlin")
        }
        let recreateViews = options.bool("recreate_views", default: false)
        let method = options.typeChangeMethod()
        var onNonexistent: Nonexistent?
        if options.optionLocations["on_nonexistent"] != nil, !options.has("on_nonexistent") {
            // `on_nonexistent: null` unquoted is YAML's null: the operator wrote the null strategy.
            _ = options.optionalText("on_nonexistent")
            onNonexistent = .null
        } else if let text = options.optionalText("on_nonexistent"), text != "fail" {
            onNonexistent = Nonexistent(rawValue: text)
            if onNonexistent == nil {
                options.report(options.location(of: "on_nonexistent"), "option 'on_nonexistent' of normalize_timestamps must be shift_forward, \"null\" or fail, not '\(text)'")
            }
        }
        var onAmbiguous: Ambiguous?
        if let text = options.optionalText("on_ambiguous"), text != "fail" {
            onAmbiguous = Ambiguous(rawValue: text)
            if onAmbiguous == nil {
                options.report(options.location(of: "on_ambiguous"), "option 'on_ambiguous' of normalize_timestamps must be earlier, later or fail, not '\(text)'")
            }
        }
        guard let method, let zone, all || columns != nil, options.problems.isEmpty else { return nil }
        self.onNonexistent = onNonexistent
        self.onAmbiguous = onAmbiguous
        self.method = method
        self.columns = all ? nil : columns
        self.exclude = exclude
        self.zone = zone
        self.recreateViews = recreateViews
    }

    public var scope: [ObjectName]? { ColumnTypeChange.scope(of: columns) }

    public var settings: [(name: String, value: String)] {
        ColumnTypeChange.settings(
            columns: columns, chosen: "all", exclude: exclude,
            own: [("assume_time_zone", zone), ("on_nonexistent", onNonexistent?.rawValue ?? "fail"), ("on_ambiguous", onAmbiguous?.rawValue ?? "fail")],
            recreateViews: recreateViews, method: method)
    }

    var isUTC: Bool { Self.utcNames.contains(zone.lowercased()) }

    static func isNaive(_ type: String) -> Bool {
        type == "timestamp without time zone" || (type.hasPrefix("timestamp(") && type.hasSuffix(") without time zone"))
    }

    static func zoned(_ type: String) -> String {
        String(type.dropLast(" without time zone".count)) + " with time zone"
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        guard try probe.isKnownTimeZone(zone) else {
            return .blocked([StepProblem("assume_time_zone '\(zone)' is not a time zone PostgreSQL knows (pg_timezone_names)")])
        }
        var problems: [StepProblem] = []
        var chosen: [ColumnName] = []
        if let columns {
            let listed = ColumnTypeChange.listed(columns, excluding: exclude, in: schema)
            problems = listed.problems
            for (name, column) in listed.found {
                if Self.isNaive(column.type) {
                    chosen.append(name)
                } else if !column.type.hasSuffix(" with time zone") {
                    problems.append(StepProblem("\(name) is \(column.type), not timestamp without time zone", table: name.table))
                }
            }
        } else {
            for table in schema.tables.values.sorted(by: { $0.objectName < $1.objectName }) where table.schema != "pgmend" {
                for column in table.columns where Self.isNaive(column.type) && column.generatedExpression == nil {
                    let name = ColumnName(table: table.objectName, column: column.name)
                    if !exclude.contains(name) { chosen.append(name) }
                }
            }
        }
        guard problems.isEmpty else { return .blocked(problems) }
        guard !chosen.isEmpty else {
            // A foreign key a killed run re-added NOT VALID and did not validate.
            let converted = columns ?? schema.tables.values.filter { $0.schema != "pgmend" }.flatMap { table in
                table.columns.filter { $0.type.hasSuffix(" with time zone") && $0.type.hasPrefix("timestamp") }
                    .map { ColumnName(table: table.objectName, column: $0.name) }
            }
            if let pending = try ColumnTypeChange.leftToFinish(of: converted, in: schema, method: method, probe) { return pending }
            return .satisfied(columns == nil ? "no column is timestamp without time zone" : "every column is timestamp with time zone")
        }

        var retypes: [ColumnRetype] = []
        var setAside: [AlterColumnTypes.SetAside] = []
        let clock = self.clock
        var notes: [ColumnName: [String]] = [:]
        let group = ForeignKeyGroup.of(chosen, in: schema)
        for name in group {
            guard let column = schema.tables[name.table.key]?.column(name.column) else { continue }
            guard Self.isNaive(column.type), !exclude.contains(name) else {
                problems.append(StepProblem("\(name) is joined by a foreign key to a column that changes, and cannot change with it", table: name.table))
                continue
            }
            guard try probe.tableExists(name.table) else {
                return .waiting("\(name.table) does not exist yet; an earlier step creates it")
            }
            // Local times the zone's clocks skipped or showed twice: blocked unless the plan
            // says what they become.
            let nulled = isUTC ? 0 : try irregularValues(of: name, column, group: group, schema: schema, problems: &problems, notes: &notes[name, default: []], probe)
            var newDefault: String?
            if let expression = column.defaultExpression {
                switch defaultAfter(expression) {
                case .some(let converted):
                    newDefault = converted
                    if converted != expression { notes[name, default: []].append("default of \(name) \(expression) becomes \(converted)") }
                case .none:
                    problems.append(StepProblem(
                        "the default of \(name), \(expression), is not one pgmend can carry to timestamptz (now() and the like, or timezone('\(zone)', now())): change it first",
                        table: name.table))
                    continue
                }
            }
            let quotedColumn: SQL = "\(ident: name.column)"
            // Under TimeZone = 'UTC' the plain cast reads the value as UTC; PostgreSQL then
            // knows that nothing changes on disk and skips the rewrite, unless the type has a
            // precision (`timestamp(3)`): its length coercion makes PostgreSQL rewrite.
            // Online, the trigger and the batches run in the application's and pgmend's sessions,
            // whatever their zone: the conversion names the zone even when it is UTC.
            var retype = ColumnRetype(
                column: name, newType: Self.zoned(column.type), using: isUTC ? nil : clock.converted(quotedColumn),
                newDefault: newDefault, hadDefault: column.defaultExpression != nil, convert: { clock.converted($0) })
            if onNonexistent == .null, !isUTC, !column.notNull {
                retype.nulledReason = "on_nonexistent: null"
                retype.nulledCount = nulled
                if method == .rewrite {
                    setAside.append(ColumnTypeChange.setAside(
                        name.table, key: try probe.rowKey(of: name.table), column: name.column, reason: "on_nonexistent: null",
                        where: "\(quotedColumn) IS NOT NULL AND \(clock.nonexistent(quotedColumn))"))
                }
            }
            retypes.append(retype)
        }
        guard problems.isEmpty else { return .blocked(problems) }
        if method == .online {
            return try OnlineTypeChange.planInParts(
                retypes, .timestamps(zone: zone), schema: schema, probe: probe, recreateViews: recreateViews, notes: notes)
        }
        let utc = isUTC
        return try ColumnTypeChange.planInParts(
            retypes, schema: schema, probe: probe, recreateViews: recreateViews, setAside: setAside, pinned: [("TimeZone", "UTC")], refusal: nil,
            rewrites: { !utc || $0.newType.hasPrefix("timestamp(") }, notes: notes)
    }

    /// The values of `name` that never existed in the zone or that its clocks showed twice:
    /// problems unless the plan says what they become, notes when it does. Returns how many the
    /// conversion sets to NULL. The table's other columns that change are counted in the same pass.
    func irregularValues(
        of name: ColumnName, _ column: Column, group: [ColumnName], schema: Schema, problems: inout [StepProblem], notes: inout [String], _ probe: Probe
    ) throws -> Int {
        var nulled = 0
        let siblings = group.filter { $0.table == name.table && !exclude.contains($0) && (schema.tables[$0.table.key]?.column($0.column).map { Self.isNaive($0.type) } ?? false) }
        let found = try clock.irregular(name, siblings: siblings.map(\.column), in: schema, probe)
        if found.nonexistent.count > 0 {
            let rows = found.nonexistent
            switch onNonexistent {
            case nil:
                problems.append(StepProblem(
                    "values of \(name) that never existed in \(zone) (clocks jumped over them); say what they become with on_nonexistent: shift_forward or \"null\"",
                    count: rows.count, sample: rows.sample, table: name.table))
            case .shiftForward:
                notes.append("\(rows.count) value\(rows.count == 1 ? "" : "s") of \(name) in a daylight-saving gap moved forward by the gap (on_nonexistent: shift_forward)")
            case .null:
                if column.notNull {
                    problems.append(StepProblem(
                        "values of \(name) that never existed in \(zone) (on_nonexistent: null cannot clear them: the column is NOT NULL)",
                        count: rows.count, sample: rows.sample, table: name.table))
                }
                nulled = rows.count
                notes.append("\(rows.count) value\(rows.count == 1 ? "" : "s") of \(name) in a daylight-saving gap set to NULL, journaled first (on_nonexistent: null)")
            }
        }
        if found.ambiguous.count > 0 {
            let rows = found.ambiguous
            if let onAmbiguous {
                notes.append("\(rows.count) value\(rows.count == 1 ? "" : "s") of \(name) that clocks showed twice read as the \(onAmbiguous.rawValue) instant (on_ambiguous: \(onAmbiguous.rawValue))")
            } else {
                problems.append(StepProblem(
                    "values of \(name) that clocks in \(zone) showed twice (set back), so either of two instants; say which with on_ambiguous: earlier or later",
                    count: rows.count, sample: rows.sample, table: name.table))
            }
        }
        return nulled
    }

    var clock: WallClock { WallClock(zone: zone, onNonexistent: onNonexistent, onAmbiguous: onAmbiguous) }

    /// The default on the timestamptz column: the current-time functions stay as they are;
    /// the wall clock of the assumed zone (`timezone('utc'::text, now())`) becomes `now()`.
    /// nil: one that depends on the session's zone or is a constant, which pgmend leaves to
    /// the operator.
    func defaultAfter(_ expression: String) -> String? {
        let current = ["now()", "CURRENT_TIMESTAMP", "statement_timestamp()", "transaction_timestamp()", "clock_timestamp()"]
        if current.contains(expression) { return expression }
        for clock in ["now()", "CURRENT_TIMESTAMP", "statement_timestamp()", "transaction_timestamp()", "clock_timestamp()"] {
            for form in ["timezone('%@'::text, \(clock))", "(\(clock) AT TIME ZONE '%@'::text)"] {
                let parts = form.components(separatedBy: "%@")
                guard expression.hasPrefix(parts[0]), expression.hasSuffix(parts[1]), expression.count > parts[0].count + parts[1].count else { continue }
                let named = String(expression.dropFirst(parts[0].count).dropLast(parts[1].count))
                let sameZone = named.lowercased() == zone.lowercased() || (isUTC && Self.utcNames.contains(named.lowercased()))
                if sameZone && !named.contains("'") { return clock == "CURRENT_TIMESTAMP" ? "CURRENT_TIMESTAMP" : clock }
            }
        }
        return nil
    }
}

/// Local times in a zone, as SQL that no session setting changes: which never existed (in a
/// gap where clocks jumped forward), which clocks showed twice (set back), and the instant a
/// value becomes under the plan's `on_nonexistent` and `on_ambiguous`.
///
/// PostgreSQL's own reading (`t AT TIME ZONE z`), checked by `NormalizeTimestampsTests`: a time
/// in a gap takes the offset from before the jump, which is the time moved forward by the
/// gap's length (`2024-03-31 02:30` in Europe/Berlin is 03:30+02); a time shown twice takes
/// the offset from after the set-back, the later of its two instants.
struct WallClock: Sendable {
    var zone: String
    var onNonexistent: NormalizeTimestampsStep.Nonexistent?
    var onAmbiguous: NormalizeTimestampsStep.Ambiguous?

    /// The zone as a literal: it goes into DDL and a trigger's body, where nothing is bound.
    var zoneLiteral: SQL { "\(literal: zone)" }

    /// The instant PostgreSQL reads `value` (a naive timestamp, SQL) as.
    func instant(_ value: SQL) -> SQL { "(\(value) AT TIME ZONE \(zoneLiteral))" }

    /// True when the zone's clocks never showed `value`: read and shown again, it moves.
    func nonexistent(_ value: SQL) -> SQL { "(\(instant(value)) AT TIME ZONE \(zoneLiteral) <> \(value))" }

    /// `value` read with the offset the zone had a day before PostgreSQL's instant for it:
    /// for a time shown twice, that is the offset before the set-back, so the earlier instant.
    /// A shift of any size (30 minutes at Lord Howe) is read from the zone, none assumed.
    func earlier(_ value: SQL) -> SQL {
        let dayBefore: SQL = "(\(instant(value)) - interval '1 day')"
        let offset: SQL = "(\(dayBefore) AT TIME ZONE \(zoneLiteral) - \(dayBefore) AT TIME ZONE 'UTC')"
        return "((\(value) - \(offset)) AT TIME ZONE 'UTC')"
    }

    /// True when clocks showed `value` twice: read with the earlier offset it is an earlier
    /// instant that the zone also shows as `value`.
    func ambiguous(_ value: SQL) -> SQL {
        "(\(earlier(value)) < \(instant(value)) AND \(earlier(value)) AT TIME ZONE \(zoneLiteral) = \(value))"
    }

    /// The timestamptz `value` becomes: PostgreSQL's reading (a gap's time moved forward, the
    /// later of two instants), with the plan's choices written out where they differ from it.
    func converted(_ value: SQL) -> SQL {
        var sql: SQL = "\(value) AT TIME ZONE \(zoneLiteral)"
        if onAmbiguous == .earlier { sql = "CASE WHEN \(ambiguous(value)) THEN \(earlier(value)) ELSE \(sql) END" }
        if onNonexistent == .null { sql = "CASE WHEN \(nonexistent(value)) THEN NULL ELSE \(sql) END" }
        return sql
    }

    /// The local dates on which the zone's clocks change, with a day either side, between
    /// 1900 and 2100 (a day whose local length is not 24 hours): only values on those dates,
    /// or outside those years, can have been skipped or shown twice.
    func transitionDates(_ probe: Probe) throws -> [String] {
        let sql: SQL = """
            SELECT coalesce(array_agg(DISTINCT (d + k * interval '1 day')::date::text), '{}')
            FROM generate_series('1900-01-01'::timestamp, '2100-01-01'::timestamp, interval '1 day') d
            CROSS JOIN generate_series(-1, 2) k
            WHERE (d + interval '1 day') AT TIME ZONE \(bind: zone) - d AT TIME ZONE \(bind: zone) <> interval '1 day'
            """
        // About 0.2 s of the server's time (73,000 days): once per run and zone.
        return try probe.memoized(sql.description) { try probe.scalar(sql, as: [String].self) ?? [] }
    }

    /// The rows of `name` that never existed and that clocks showed twice, counted and sampled
    /// by primary key. Counted in one pass with `siblings` (the table's other columns that
    /// change, `name`'s own included): the query is the same for each of them, so the probe
    /// runs it once. A column is not read at all when the zone changes its clocks on no date
    /// between 1900 and 2100, nor when an index on it shows its values lie outside every such
    /// date; otherwise only the rows on those dates (or outside those years) are checked value
    /// by value.
    func irregular(_ name: ColumnName, siblings: [String], in schema: Schema, _ probe: Probe) throws
        -> (nonexistent: (count: Int, sample: [String]), ambiguous: (count: Int, sample: [String]))
    {
        let none = (count: 0, sample: [String]())
        let dates = try transitionDates(probe)
        let table = name.table.sqlName
        var read: [(column: String, candidates: SQL)] = []
        for column in Set(siblings + [name.column]).sorted() {
            if let candidates = try candidates(column, of: name.table, dates: dates, in: schema, probe) { read.append((column, candidates)) }
        }
        guard let position = read.firstIndex(where: { $0.column == name.column }) else { return (none, none) }
        let selects = read.flatMap { column, candidates -> [SQL] in
            let quoted: SQL = "\(ident: column)"
            return ["count(*) FILTER (WHERE \(candidates) AND \(nonexistent(quoted)))", "count(*) FILTER (WHERE \(candidates) AND \(ambiguous(quoted)))"]
        }
        let anyCandidate: [SQL] = read.map { "(\($0.candidates))" }
        let counts = try probe.memoizedCounts("SELECT \(selects, separator: ", ") FROM \(table) WHERE \(anyCandidate, separator: " OR ")")
        guard counts.count == read.count * 2 else { return (none, none) }
        let candidates = read[position].candidates
        let column: SQL = "\(ident: name.column)"
        let gap = counts[position * 2] > 0 ? try probe.offendingRows(in: name.table, where: "\(candidates) AND \(nonexistent(column))") : none
        let twice = counts[position * 2 + 1] > 0 ? try probe.offendingRows(in: name.table, where: "\(candidates) AND \(ambiguous(column))") : none
        return (gap, twice)
    }

    /// Which rows of `column` can hold such a time, as SQL: those on a date of `dates` or
    /// outside 1900 to 2100. nil: none can, the column is not read.
    func candidates(_ name: String, of table: ObjectName, dates allDates: [String], in schema: Schema, _ probe: Probe) throws -> SQL? {
        var dates = allDates
        let column: SQL = "\(ident: name)"
        // An index led by the column gives its range without reading the table.
        let indexed = schema.tables[table.key]?.indexes.values.contains {
            $0.valid && $0.method == "btree" && $0.predicate == nil && $0.keys.first?.isColumn == true && $0.keys.first?.expression == name
        } ?? false
        var outside: SQL = "\(column) < '1900-01-02' OR \(column) >= '2099-12-30'"
        if indexed {
            let sql: SQL = "SELECT min(\(column))::date::text, max(\(column))::date::text FROM \(table.sqlName)"
            let range = try probe.memoized(sql.description) {
                try probe.readOnly { probe in
                    try probe.query(sql).first.map { [try $0.get(0, as: String?.self), try $0.get(1, as: String?.self)] } ?? [nil, nil]
                }
            }
            guard range.count == 2, let low = range[0], let high = range[1] else { return nil }
            dates = dates.filter { $0 >= low && $0 <= high }
            if low >= "1900-01-02" && high < "2099-12-30" { outside = "false" }
        }
        // No clock change between 1900 and 2100 (a fixed offset), or none in the column's range.
        if dates.isEmpty && (outside == "false" || !indexed) { return nil }
        return "(\(column)::date = ANY(\(bind: dates)::date[]) OR \(outside))"
    }
}
