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
///     assume_time_zone: UTC
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
        guard let method, let zone, all || columns != nil, options.problems.isEmpty else { return nil }
        self.method = method
        self.columns = all ? nil : columns
        self.exclude = exclude
        self.zone = zone
        self.recreateViews = recreateViews
    }

    public var scope: [ObjectName]? { ColumnTypeChange.scope(of: columns) }

    public var settings: [(name: String, value: String)] {
        ColumnTypeChange.settings(
            columns: columns, chosen: "all", exclude: exclude, own: [("assume_time_zone", zone)], recreateViews: recreateViews, method: method)
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
            if let pending = ColumnTypeChange.pendingValidations(of: converted, in: schema) { return pending }
            return .satisfied(columns == nil ? "no column is timestamp without time zone" : "every column is timestamp with time zone")
        }

        let quotedZone = SQLLiteral.quoted(zone)
        var retypes: [ColumnRetype] = []
        var notes: [ColumnName: [String]] = [:]
        for name in ColumnTypeChange.foreignKeyGroup(of: chosen, in: schema) {
            guard let column = schema.tables[name.table.key]?.column(name.column) else { continue }
            guard Self.isNaive(column.type), !exclude.contains(name) else {
                problems.append(StepProblem("\(name) is joined by a foreign key to a column that changes, and cannot change with it", table: name.table))
                continue
            }
            guard try probe.tableExists(name.table) else {
                return .waiting("\(name.table) does not exist yet; an earlier step creates it")
            }
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
            let quotedColumn = SQLIdentifier(name.column).quoted
            // Under TimeZone = 'UTC' the plain cast reads the value as UTC; PostgreSQL then
            // knows that nothing changes on disk and skips the rewrite, unless the type has a
            // precision (`timestamp(3)`): its length coercion makes PostgreSQL rewrite.
            // Online, the trigger and the batches run in the application's and pgmend's sessions,
            // whatever their zone: the conversion names the zone even when it is UTC.
            retypes.append(ColumnRetype(
                column: name, newType: Self.zoned(column.type), using: isUTC ? nil : "\(quotedColumn) AT TIME ZONE \(quotedZone)",
                newDefault: newDefault, hadDefault: column.defaultExpression != nil, convert: { "\($0) AT TIME ZONE \(quotedZone)" }))
        }
        guard problems.isEmpty else { return .blocked(problems) }
        if method == .online {
            return try OnlineTypeChange.planInParts(
                retypes, .timestamps(zone: zone), schema: schema, probe: probe, recreateViews: recreateViews, notes: notes)
        }
        let utc = isUTC
        return try ColumnTypeChange.planInParts(
            retypes, schema: schema, probe: probe, recreateViews: recreateViews, setAside: [], pinned: [("TimeZone", "UTC")], refusal: nil,
            rewrites: { !utc || $0.newType.hasPrefix("timestamp(") }, notes: notes)
    }

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
