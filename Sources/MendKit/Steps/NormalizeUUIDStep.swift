import PostgresClient
import SchemaModel

/// `normalize_uuid`: UUIDs kept as text become native `uuid` columns, each column together
/// with every column a declared foreign key joins it to. Values are read first: forms the
/// `uuid` type accepts (upper case, braces, no hyphens) are counted and normalised; anything
/// else blocks the step by primary key, or with `on_invalid: null` is journaled and cleared.
///
/// ```yaml
/// - normalize_uuid:
///     columns: [apps.id, api_keys.user_id]   # or auto: true
///     # a column of which fewer than half the values are UUIDs, named with its own options:
///     #   - users.legacy_ref: {on_invalid: "null", expect_invalid: 12519}
///     exclude: [user_integrations.id]
///     on_invalid: fail
///     recreate_views: true
/// ```
public struct NormalizeUUIDStep: RepairStep {
    public static let kind = "normalize_uuid"
    public static let summary = "UUIDs kept as text become uuid columns, foreign-key partners together, views kept; bad values block"

    /// The forms PostgreSQL's `uuid` input accepts: 32 hex digits, a hyphen allowed after any
    /// group of four, the whole optionally in braces (`string_to_uuid` in uuid.c).
    static let acceptedPattern = "^([0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}|\\{[0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}\\})$"
    /// The form `uuid` prints: lower case, 8-4-4-4-12.
    static let canonicalPattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

    public let columns: [ColumnName]?
    public let exclude: [ColumnName]
    public let invalidToNull: Bool
    /// Columns named in `columns` with options of their own, by column.
    let overrides: [ColumnName: ColumnOverride]

    /// `- table.column: {on_invalid: "null", expect_invalid: N}`: this column's `on_invalid`,
    /// and how many values that are not UUIDs the operator expects it to hold, at most. Only
    /// so is a column of which fewer than half the values are UUIDs converted.
    struct ColumnOverride {
        var invalidToNull: Bool?
        var expectInvalid: Int?
        var location: FileLocation?
    }
    public let recreateViews: Bool
    let method: TypeChangeMethod

    /// `on_invalid` of `reader`: true for null, false for fail, nil when not written.
    static func onInvalid(_ reader: inout OptionReader) -> Bool? {
        if reader.optionLocations["on_invalid"] != nil, !reader.has("on_invalid") {
            // `on_invalid: null` unquoted is YAML's null: the operator wrote the null strategy.
            _ = reader.optionalText("on_invalid")
            return true
        }
        guard let text = reader.optionalText("on_invalid") else { return nil }
        switch text {
        case "fail": return false
        case "null": return true
        default:
            reader.report(reader.location(of: "on_invalid"), "option 'on_invalid' of \(reader.owner) must be fail or \"null\", not '\(text)'")
            return nil
        }
    }

    /// `columns`: each item `table.column`, or a map of one `table.column` to its own options.
    static func columnList(_ options: inout OptionReader) -> (names: [ColumnName], overrides: [ColumnName: ColumnOverride])? {
        guard let value = options.rawValue("columns") else { return nil }
        guard let items = value.list else {
            options.report(value.location, "option 'columns' of normalize_uuid must be a list, not \(value.kindDescription)")
            return nil
        }
        if items.isEmpty { options.report(value.location, "option 'columns' of normalize_uuid is an empty list") }
        var names: [ColumnName] = []
        var overrides: [ColumnName: ColumnOverride] = [:]
        for item in items {
            var name: ColumnName?
            if let text = item.text {
                name = options.columnName(text, at: item.location, in: "columns")
            } else if let pairs = item.pairs, pairs.count == 1, let text = pairs[0].key.text {
                name = options.columnName(text, at: pairs[0].key.location, in: "columns")
                guard let found = name else { continue }
                guard pairs[0].value.pairs != nil else {
                    options.report(pairs[0].value.location, "the options of \(text) in 'columns' of normalize_uuid must be a map like {on_invalid: \"null\", expect_invalid: 100}, not \(pairs[0].value.kindDescription)")
                    continue
                }
                var reader = OptionReader(owner: "column \(text) of normalize_uuid", map: pairs[0].value)
                var override = ColumnOverride(invalidToNull: onInvalid(&reader), location: pairs[0].value.location)
                if reader.optionLocations["expect_invalid"] != nil {
                    override.expectInvalid = reader.int("expect_invalid", default: 0, range: 0...Int(Int32.max))
                }
                options.absorb(reader)
                overrides[found] = override
            } else {
                options.report(item.location, "each item of 'columns' in normalize_uuid must be table.column, or table.column: {options}, not \(item.kindDescription)")
                continue
            }
            guard let name else { continue }
            if names.contains(name) { options.report(item.location, "\(name) is listed twice in 'columns'") }
            names.append(name)
        }
        return (names, overrides)
    }

    public init?(options: inout OptionReader) {
        let listed = Self.columnList(&options)
        let columns = listed?.names
        let auto = options.bool("auto", default: false)
        let exclude = options.columnNames("exclude") ?? []
        let invalidToNull = Self.onInvalid(&options) ?? false
        for (name, override) in listed?.overrides ?? [:] where override.expectInvalid != nil && !(override.invalidToNull ?? invalidToNull) {
            options.report(override.location ?? options.location(of: "columns"), "expect_invalid of \(name) in normalize_uuid needs on_invalid: \"null\" (for the column or the step): with fail, a value that is not a UUID blocks the step")
        }
        let recreateViews = options.bool("recreate_views", default: false)
        let method = options.typeChangeMethod()
        if columns == nil && !auto {
            options.report(options.location, "normalize_uuid needs option 'columns' (a list of table.column) or auto: true")
        } else if columns != nil && auto {
            options.report(options.location(of: "auto"), "normalize_uuid takes either 'columns' or auto: true, not both")
        }
        guard let method, options.problems.isEmpty else { return nil }
        self.method = method
        self.columns = auto ? nil : columns
        self.exclude = exclude
        self.invalidToNull = invalidToNull
        self.overrides = listed?.overrides ?? [:]
        self.recreateViews = recreateViews
    }

    public var scope: [ObjectName]? { ColumnTypeChange.scope(of: columns) }

    public var settings: [(name: String, value: String)] {
        ColumnTypeChange.settings(
            columns: columns, chosen: "auto (text columns named id or *_id holding UUIDs)", exclude: exclude,
            own: [("on_invalid", invalidToNull ? "null" : "fail")] + overrides.keys.sorted().map { name in
                let override = overrides[name] ?? ColumnOverride()
                let own = [override.invalidToNull.map { "on_invalid: \($0 ? "null" : "fail")" }, override.expectInvalid.map { "expect_invalid: \($0)" }]
                return (name.description, own.compactMap { $0 }.joined(separator: ", "))
            }, recreateViews: recreateViews, method: method)
    }

    static func isTextLike(_ type: String) -> Bool {
        type == "text" || type.hasPrefix("character varying") || type.hasPrefix("character(") || type == "character"
    }

    /// Counts of one column's values: non-null, accepted by `uuid`, already in its printed form.
    struct ValueCounts { var present = 0, accepted = 0, canonical = 0 }

    /// Whether `value` (SQL) is a form `uuid` accepts. It goes into DDL and a trigger's body,
    /// where nothing is bound: the pattern is a literal.
    static func accepted(_ value: SQL) -> SQL { "\(value)::text ~ \(literal: acceptedPattern)" }
    static func invalid(_ column: String) -> SQL { "\(ident: column) IS NOT NULL AND NOT (\(accepted("\(ident: column)")))" }

    static func counts(of columns: [String], in table: ObjectName, _ probe: Probe) throws -> [String: ValueCounts] {
        guard !columns.isEmpty else { return [:] }
        let name = table.sqlName
        let patterns = columns.flatMap { column -> [SQL] in
            let quoted: SQL = "\(ident: column)"
            return [
                "count(\(quoted))", "count(*) FILTER (WHERE \(accepted(quoted)))",
                "count(*) FILTER (WHERE \(quoted)::text ~ \(literal: canonicalPattern))",
            ]
        }
        // The cast is several times faster than the patterns: tried first, it answers for a
        // column whose every value converts; the first one that does not sends it to the
        // patterns. One read of the table (two for a column with a bad value), shared by the
        // dry run a run shows first and the assessment.
        let casts = columns.flatMap { column -> [SQL] in
            let text: SQL = "\(ident: column)::text"
            return ["count(\(text))", "count(\(text)::uuid)", "count(*) FILTER (WHERE \(text)::uuid::text = \(text))"]
        }
        let counts = try probe.memoizedCounts(
            "SELECT \(casts, separator: ", ") FROM \(name)", fallback: "SELECT \(patterns, separator: ", ") FROM \(name)", failing: .invalidTextRepresentation)
        guard counts.count == columns.count * 3 else { return [:] }
        var result: [String: ValueCounts] = [:]
        for (position, column) in columns.enumerated() {
            result[column] = ValueCounts(present: counts[position * 3], accepted: counts[position * 3 + 1], canonical: counts[position * 3 + 2])
        }
        return result
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        var (chosen, problems) = try chosenColumns(schema, probe)
        guard problems.isEmpty else { return .blocked(problems) }
        guard !chosen.isEmpty else {
            // A foreign key a killed run re-added NOT VALID and did not validate.
            let converted = columns ?? schema.tables.values.filter { $0.schema != "pgmend" }.flatMap { table in
                table.columns.filter { $0.type == "uuid" && ($0.name == "id" || $0.name.hasSuffix("_id")) }
                    .map { ColumnName(table: table.objectName, column: $0.name) }
            }
            if let pending = try ColumnTypeChange.leftToFinish(of: converted, in: schema, method: method, probe) { return pending }
            return .satisfied(columns == nil ? "no text column named id or *_id holds UUIDs" : "every column is uuid")
        }

        // Foreign-key partners go with them.
        let group = ForeignKeyGroup.of(chosen, in: schema)
        var retypes: [ColumnRetype] = []
        var setAside: [AlterColumnTypes.SetAside] = []
        var notes: [ColumnName: [String]] = [:]
        for name in group {
            guard let table = schema.tables[name.table.key], let column = table.column(name.column) else { continue }
            if exclude.contains(name) {
                problems.append(StepProblem("\(name) is excluded, but a foreign key joins it to \(chosen.map(\.description).joined(separator: ", ")): they change type together", table: name.table))
                continue
            }
            guard Self.isTextLike(column.type) else {
                problems.append(StepProblem("\(name) is \(column.type) and joined by a foreign key to \(chosen.first?.description ?? ""): not text, varchar or char", table: name.table))
                continue
            }
            guard try probe.tableExists(name.table) else {
                return .waiting("\(name.table) does not exist yet; an earlier step creates it")
            }
            if !chosen.contains(name) { notes[name, default: []].append("\(name) joins by foreign key") }
            let counts = try Self.counts(of: [name.column], in: name.table, probe)[name.column] ?? ValueCounts()
            let invalid = counts.present - counts.accepted
            let quotedColumn: SQL = "\(ident: name.column)"
            if counts.accepted > counts.canonical {
                let n = counts.accepted - counts.canonical
                notes[name, default: []].append("\(n) value\(n == 1 ? "" : "s") of \(name) will be normalised (upper case, braces or no hyphens)")
            }
            let override = overrides[name]
            let toNull = override?.invalidToNull ?? invalidToNull
            if invalid > 0 {
                if let problem = try Self.invalidValuesProblem(name, column, counts: counts, toNull: toNull, expectInvalid: override?.expectInvalid, probe) {
                    problems.append(problem)
                    continue
                }
                notes[name, default: []].append("\(invalid) value\(invalid == 1 ? "" : "s") of \(name) that are not UUIDs set to NULL, journaled first")
            }
            var retype = ColumnRetype(
                column: name, newType: "uuid", using: nil, newDefault: column.defaultExpression.map(Self.uuidDefault), hadDefault: column.defaultExpression != nil)
            if toNull && !column.notNull {
                // Online, a value the application writes meanwhile that is no UUID is nulled
                // by the trigger and journaled under the swap's lock.
                retype.convert = { "CASE WHEN \(Self.accepted($0)) THEN \($0)::text::uuid END" }
                retype.nulledReason = "on_invalid: null"
                retype.nulledCount = invalid
                if method == .rewrite {
                    setAside.append(ColumnTypeChange.setAside(
                        name.table, key: try probe.rowKey(of: name.table), column: name.column, reason: "on_invalid: null", where: Self.invalid(name.column)))
                }
            } else {
                // A value committed while pgmend waited that is no UUID makes this cast fail
                // under the lock, and the change with it (AlterColumnTypes.refusal); online, the
                // trigger refuses it.
                retype.convert = { "\($0)::text::uuid" }
            }
            retype.using = retype.convert?(quotedColumn)
            retypes.append(retype)
        }
        guard problems.isEmpty else { return .blocked(problems) }

        if method == .online {
            return try OnlineTypeChange.planInParts(retypes, .uuid, schema: schema, probe: probe, recreateViews: recreateViews, notes: notes)
        }
        return try ColumnTypeChange.planInParts(
            retypes, schema: schema, probe: probe, recreateViews: recreateViews, setAside: setAside, pinned: [],
            refusal: "a value committed while pgmend waited is not a UUID", rewrites: { _ in true },
            notes: notes)
    }

    /// The columns to convert, the listed ones or (`auto: true`) the text columns named id or
    /// *_id that hold at least one UUID; listed ones that cannot be are problems.
    func chosenColumns(_ schema: Schema, _ probe: Probe) throws -> (chosen: [ColumnName], problems: [StepProblem]) {
        var problems: [StepProblem] = []
        var chosen: [ColumnName] = []
        if let columns {
            let listed = ColumnTypeChange.listed(columns, excluding: exclude, in: schema)
            problems = listed.problems
            for (name, column) in listed.found {
                if column.type == "uuid" { continue }
                guard Self.isTextLike(column.type) else {
                    problems.append(StepProblem("\(name) is \(column.type), not text, varchar or char", table: name.table))
                    continue
                }
                chosen.append(name)
            }
        } else {
            // Text columns named id or *_id that hold at least one UUID: a column of other
            // identifiers (`cus_123`) is left alone, one with a stray bad value is blocked.
            for table in schema.tables.values.sorted(by: { $0.objectName < $1.objectName }) where table.schema != "pgmend" {
                let names = table.columns.filter { column in
                    Self.isTextLike(column.type) && (column.name == "id" || column.name.hasSuffix("_id"))
                        && !exclude.contains(ColumnName(table: table.objectName, column: column.name))
                }.map(\.name)
                guard !names.isEmpty, try probe.tableExists(table.objectName) else { continue }
                // One query per column, the same text the group's check below sends: counted once.
                for name in names where (try Self.counts(of: [name], in: table.objectName, probe)[name]?.accepted ?? 0) > 0 {
                    chosen.append(ColumnName(table: table.objectName, column: name))
                }
            }
        }
        return (chosen, problems)
    }

    /// Why the values of `name` that are no UUIDs block the step, named by row; nil when the
    /// conversion may set them to NULL.
    static func invalidValuesProblem(
        _ name: ColumnName, _ column: Column, counts: ValueCounts, toNull: Bool, expectInvalid: Int?, _ probe: Probe
    ) throws -> StepProblem? {
        let invalid = counts.present - counts.accepted
        let rows = try probe.offendingRows(in: name.table, where: Self.invalid(name.column))
        // Mostly other identifiers (`cus_123`): on_invalid: null would clear most of the
        // column. Only a column named with its own on_invalid: null and expect_invalid
        // of at least this many is converted. (With fail, its values block below.)
        if toNull, counts.accepted * 2 < counts.present, (expectInvalid ?? -1) < invalid {
            return StepProblem(
                "\(name) is not a UUID column: \(counts.accepted) of its \(counts.present) values are UUIDs; to convert it and set the other \(invalid) to NULL, name it under columns as \(name): {on_invalid: \"null\", expect_invalid: \(invalid)}",
                count: rows.count, sample: rows.sample, table: name.table)
        }
        if let expected = expectInvalid, invalid > expected {
            return StepProblem(
                "values of \(name) that are not UUIDs: more than its expect_invalid: \(expected)", count: rows.count, sample: rows.sample, table: name.table)
        }
        if !toNull || column.notNull {
            let why = toNull ? " (on_invalid: null cannot clear them: the column is NOT NULL)" : ""
            return StepProblem("values of \(name) that are not UUIDs\(why)", count: rows.count, sample: rows.sample, table: name.table)
        }
        return nil
    }

    /// A text column's default on the uuid column: without its cast to text
    /// (`(gen_random_uuid())::text` -> `(gen_random_uuid())`). The server then decides whether
    /// it is a uuid; one that is not blocks the step.
    static func uuidDefault(_ expression: String) -> String {
        for suffix in ["::text", "::character varying", "::bpchar"] where expression.hasSuffix(suffix) {
            return String(expression.dropLast(suffix.count))
        }
        return expression
    }
}
