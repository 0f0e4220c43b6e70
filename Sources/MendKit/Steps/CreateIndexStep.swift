import PostgresClient
import SchemaModel

/// `create_index`: an index the application's models declare and the table lacks, built
/// `CONCURRENTLY` (reads and writes go on). Satisfied when an index of that name and definition
/// exists, or another index of the table has the same definition; blocked when the name is
/// taken by another definition, or when a unique index would meet duplicate values.
public struct CreateIndexStep: RepairStep {
    public static let kind = "create_index"
    public static let summary = "build a missing index concurrently; duplicates of a unique one block it, listed by key"

    public let table: ObjectName
    public let name: String
    public let columns: [String]
    public let unique: Bool
    public let method: String
    public let predicate: PlanExpression?

    public init?(options: inout OptionReader) {
        let table = options.objectName("table")
        let name = options.identifier("name")
        var columns: [String] = []
        for column in options.locatedTextList("columns") ?? [] where options.checkName(column.text, at: column.location, what: "each item of 'columns' in create_index") {
            if columns.contains(column.text) {
                options.report(column.location, "column '\(column.text)' is named twice")
            } else {
                columns.append(column.text)
            }
        }
        if options.has("columns"), columns.isEmpty, options.problems.isEmpty {
            options.report(options.location(of: "columns"), "option 'columns' of create_index needs at least one column")
        }
        unique = options.bool("unique", default: false)
        method = options.optionalText("method") ?? "btree"
        if !method.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLowercase || $0.isNumber)) }) || method.isEmpty {
            options.report(options.location(of: "method"), "method must be an index access method name (btree, hash, gist, gin, brin, ...), not '\(method)'")
        }
        predicate = options.expression("where", required: false)
        guard let table, let name, !columns.isEmpty, options.problems.isEmpty else { return nil }
        self.table = table
        self.name = name
        self.columns = columns
    }

    public var scope: [ObjectName]? { [table] }

    public var settings: [(name: String, value: String)] {
        var lines = [
            ("table", table.description), ("name", name), ("columns", columns.joined(separator: ", ")),
            ("unique", "\(unique)"), ("method", method),
        ]
        if let predicate { lines.append(("where", predicate.text)) }
        return lines
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        guard let current = schema.tables[table.key] else {
            return .blocked([StepProblem("table \(table) does not exist", table: table)])
        }
        let missing = columns.filter { current.column($0) == nil }
        if !missing.isEmpty {
            let hint = Suggestion.hint(for: missing[0], among: current.columns.map(\.name))
            return .blocked([StepProblem("\(table) has no column \(missing.joined(separator: ", "))\(hint)", table: table)])
        }
        switch try probe.scalar("SELECT pg_indexam_has_property(oid, 'can_unique') FROM pg_am WHERE amname = \(bind: method) AND amtype = 'i'", as: Bool.self) {
        case nil: return .blocked([StepProblem("there is no index access method \(method)", table: table)])
        case false? where unique: return .blocked([StepProblem("access method \(method) does not support unique indexes", table: table)])
        default: break
        }
        let wanted = try printedIndex(current, probe)
        var leftover = false
        if let existing = current.indexes[name] {
            if !existing.valid {
                leftover = true
            } else if Self.sameDefinition(existing, wanted.index, predicateByPresence: wanted.fromPlan) {
                if wanted.fromPlan, existing.predicate != nil {
                    probe.noteApproximation("the predicate of \(name) compared by presence only, not by expression")
                }
                return .satisfied("\(table) has the index \(name): \(existing.definition)")
            } else {
                return .blocked([StepProblem(
                    "\(table) already has an index named \(name) with another definition: it is \(existing.definition), the plan wants \(wanted.index.definition); drop or rename it in an earlier step",
                    table: table)])
            }
        }
        if !leftover, let other = try otherRelation(probe) {
            return .blocked([StepProblem("the name \(name) is taken in schema \(table.schema) by \(other)", table: table)])
        }
        if !leftover, let other = current.indexes.values.sorted(by: { $0.name < $1.name }).first(where: {
            $0.valid && Self.sameDefinition($0, wanted.index, predicateByPresence: wanted.fromPlan)
        }) {
            return .satisfied("done: \(other.name) already indexes this (\(other.definition)); \(name) is not created")
        }
        guard try probe.tableExists(table) else {
            return .waiting("\(table) does not exist yet; an earlier step creates it")
        }
        let live = try probe.scalar(
            "SELECT array_agg(attname::text) FROM pg_attribute WHERE attrelid = to_regclass(\(bind: table.sqlName.quoted)) AND attnum > 0 AND NOT attisdropped",
            as: [String].self) ?? []
        if let absent = columns.first(where: { !live.contains($0) }) {
            return .waiting("\(table).\(absent) does not exist yet; an earlier step adds it")
        }
        if unique, let instead = try duplicates(probe, leftover: leftover) { return instead }

        let qualified = QualifiedName(schema: table.schema, name)
        var rehearsal = statement("")
        if leftover { rehearsal = "DROP INDEX IF EXISTS \(qualified);\n\(rehearsal)" }
        let effect = ConcurrentSQL(
            leftover
                ? "drop the invalid \(name) an interrupted build left on \(table), and build it again concurrently"
                : "build \(unique ? "unique " : "")index \(name) on \(table) concurrently",
            statement("CONCURRENTLY "), rehearsalSQL: rehearsal, lock: .shareUpdateExclusive, on: table, hazards: [.indexBuild],
            builds: ObjectName(schema: table.schema, name: name))
        var after = schema
        after.tables[table.key]?.indexes[name] = wanted.index
        return .needed([effect], after: after)
    }

    /// The CREATE INDEX statement, given `CONCURRENTLY ` (the build) or nothing (its rehearsal).
    func statement(_ concurrently: SQL) -> SQL {
        var text: SQL = "CREATE \(unique ? "UNIQUE " : "" as SQL)INDEX \(concurrently)\(ident: name) ON \(table.sqlName) USING \(ident: method) (\(columns.map(SQLIdentifier.init)))"
        if let predicate { text += " WHERE \(predicate)" }
        return text
    }

    /// Rows that share their key values with another (within the predicate): a unique index
    /// cannot be built over them. Blocked listing them by primary key; nil when there are none.
    /// `leftover`: an invalid index of this name is there (a unique build that met a duplicate
    /// written meanwhile fails and leaves one), which the message names.
    func duplicates(_ probe: Probe, leftover: Bool) throws -> Assessment? {
        let keys = columns.map(SQLIdentifier.init)
        let name = table.sqlName
        let within: SQL = predicate.map { "WHERE \($0) " } ?? ""
        var condition: SQL = "(\(keys)) IN (SELECT \(keys) FROM \(name) \(within)GROUP BY \(keys) HAVING count(*) > 1)"
        if let predicate { condition += " AND \(predicate)" }
        // The predicate is plan text: evaluated only when every function it calls is pure.
        if predicate != nil, let instead = try probe.unlessPure("SELECT count(*) FROM \(name) WHERE \(condition)", option: "where", table: table) {
            return instead
        }
        let found = try probe.planText("where") { try probe.offendingRows(in: table, where: condition) }
        guard found.count > 0 else { return nil }
        return .blocked([StepProblem(
            "rows of \(table) share their (\(columns.joined(separator: ", "))) with another\(predicate.map { " where \($0)" } ?? ""): a unique index cannot be built over them"
                + (leftover ? "; the invalid \(self.name) a failed build left stays until then, and is dropped and built again" : ""),
            count: found.count, sample: found.sample, table: table)])
    }

    /// Another relation of the schema (a table, a sequence, an index of another table) that
    /// holds the index's name.
    func otherRelation(_ probe: Probe) throws -> String? {
        try probe.scalar(
            """
            SELECT CASE WHEN c.relkind IN ('i', 'I') THEN 'an index on ' || i.indrelid::regclass::text ELSE 'a relation of kind ' || c.relkind::text END
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_index i ON i.indexrelid = c.oid
            WHERE n.nspname = \(bind: table.schema) AND c.relname = \(bind: name)
            """, as: String.self)
    }

    /// Whether two indexes are the same but for their names: their definitions, as
    /// `pg_get_indexdef` prints them, with the names taken out. `predicateByPresence`: the
    /// wanted one's predicate is the plan's spelling (a read-only session), compared only by
    /// whether there is one.
    static func sameDefinition(_ existing: Index, _ wanted: Index, predicateByPresence: Bool) -> Bool {
        guard predicateByPresence else { return anonymous(existing) == anonymous(wanted) }
        return existing.method == wanted.method && existing.unique == wanted.unique && existing.keys == wanted.keys
            && existing.include.isEmpty && (existing.predicate == nil) == (wanted.predicate == nil)
    }

    /// The definition without the index's name.
    static func anonymous(_ index: Index) -> String {
        var text = index.definition
        if let range = text.range(of: "INDEX \(PrintedNames.identifier(index.name)) ON ") { text.replaceSubrange(range, with: "INDEX ON ") }
        return text
    }

    /// The index as the catalog will describe it: built on an empty temporary table of the
    /// same columns in a transaction that is rolled back, and read back (`pg_get_indexdef`,
    /// the predicate as `pg_get_expr` prints it). Read-only, the plan's spelling, noted.
    func printedIndex(_ current: Table, _ probe: Probe) throws -> (index: Index, fromPlan: Bool) {
        let head = "CREATE \(unique ? "UNIQUE " : "")INDEX \(PrintedNames.identifier(name)) ON \(PrintedNames.qualified(table))"
        var index = Index(
            name: name, definition: "", method: method, keys: columns.map { IndexKey(expression: $0) }, unique: unique)
        if let session = probe.readOnlySession {
            index.predicate = predicate?.text
            index.definition = head + " USING \(method) (\(columns.map(PrintedNames.identifier).joined(separator: ", ")))"
                + (predicate.map { " WHERE (\($0.text))" } ?? "")
            session.note("index \(name) predicted in the plan's spelling, not the server's: learning that needs a temporary table, and this session is \(session.reason)")
            return (index, true)
        }
        let columnList: [SQL] = current.columns.map { "\(ident: $0.name) \(SQL.catalogText($0.type))" }
        let keys = columns.map(SQLIdentifier.init)
        let printed = try probe.rolledBack(readOnly: false) { probe -> (String, String?) in
            let connection = probe.connection
            try connection.setLocal("search_path", "pg_catalog")
            try connection.query("CREATE TEMP TABLE pgmend_canonical_index (\(columnList))" as SQL)
            let unique: SQL = unique ? "UNIQUE " : ""
            try probe.planText("columns") {
                try connection.query("CREATE \(unique)INDEX pgmend_canonical_keys ON pg_temp.pgmend_canonical_index USING \(ident: method) (\(keys))" as SQL)
            }
            var built = "pg_temp.pgmend_canonical_keys"
            if let predicate {
                // Refused here when it is not a predicate an index can have (a function that is
                // not immutable, a subquery, another table's column): the plan's `where`.
                try probe.planText("where") {
                    try connection.query("CREATE \(unique)INDEX pgmend_canonical_partial ON pg_temp.pgmend_canonical_index USING \(ident: method) (\(keys)) WHERE \(predicate)" as SQL)
                }
                built = "pg_temp.pgmend_canonical_partial"
            }
            let row = try connection.query(
                "SELECT pg_get_indexdef(i.indexrelid), pg_get_expr(i.indpred, i.indrelid, true) FROM pg_index i WHERE i.indexrelid = \(bind: built)::regclass")
            guard let row = row.first else { throw PostgresError(kind: .usage, message: "the index \(name) could not be read back") }
            return (try row.get(0, as: String.self), try row.get(1, as: String?.self))
        }
        guard let using = printed.0.range(of: " USING ") else {
            throw PostgresError(kind: .usage, message: "unexpected index definition \(printed.0)")
        }
        index.definition = head + printed.0[using.lowerBound...]
        index.predicate = printed.1
        return (index, false)
    }
}
