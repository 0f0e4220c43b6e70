import PostgresClient
import SchemaModel

/// A table's column, as the type-changing steps name them: `apps.id`.
public struct ColumnName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var table: ObjectName
    public var column: String

    public init(table: ObjectName, column: String) {
        self.table = table
        self.column = column
    }

    /// `table.column` or `schema.table.column`: the last dot ends the table's name.
    public init?(parsing text: String) {
        guard let dot = text.lastIndex(of: "."), dot != text.startIndex, text.index(after: dot) != text.endIndex else { return nil }
        self.init(table: ObjectName(parsing: String(text[..<dot])), column: String(text[text.index(after: dot)...]))
    }

    /// `schema.table.column`, as views' `depends_on` lists columns.
    public var key: String { "\(table.key).\(column)" }
    public var description: String { "\(table).\(column)" }
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.table, lhs.column) < (rhs.table, rhs.column) }
}

extension OptionReader {
    /// A list of `table.column` names (`columns`, `exclude` of the type-changing steps).
    mutating func columnNames(_ key: String) -> [ColumnName]? {
        guard let items = locatedTextList(key, required: false) else { return nil }
        var names: [ColumnName] = []
        for (text, location) in items {
            guard let name = columnName(text, at: location, in: key) else { continue }
            if names.contains(name) { report(location, "\(name) is listed twice in '\(key)'") }
            names.append(name)
        }
        return names
    }

    /// One item of a list of `table.column` names, checked where it is written.
    mutating func columnName(_ text: String, at location: FileLocation, in key: String) -> ColumnName? {
        guard let name = ColumnName(parsing: text) else {
            report(location, "each item of '\(key)' in \(owner) must be written table.column, not '\(text)'")
            return nil
        }
        let table = text[..<(text.lastIndex(of: ".") ?? text.endIndex)]
        guard checkName(String(table), at: location, what: "the table of '\(text)'", qualified: "table"),
            checkName(name.column, at: location, what: "the column of '\(text)'")
        else { return nil }
        return name
    }

    /// `method: rewrite` (the default) or `online`; nil after a problem was reported.
    mutating func typeChangeMethod() -> TypeChangeMethod? {
        guard let text = optionalText("method") else { return .rewrite }
        guard let method = TypeChangeMethod(rawValue: text) else {
            report(location(of: "method"), "option 'method' of \(owner) must be rewrite or online, not '\(text)'")
            return nil
        }
        return method
    }
}

/// How a column's type changes: `ALTER ... TYPE` under one lock, or a shadow column swapped in.
enum TypeChangeMethod: String, Sendable {
    case rewrite, online
}

/// One column's change: the type it gets, how its values convert, and its default afterwards.
struct ColumnRetype: Sendable {
    var column: ColumnName
    /// The type as written in `ALTER ... TYPE`, and as the catalog will print it.
    var newType: String
    /// SQL over the quoted column that gives the new value; nil: the type's own cast.
    var using: String?
    /// The default expression afterwards, as SQL; nil: none. The old one is dropped first
    /// (PostgreSQL converts a default by an assignment cast, which text to uuid lacks).
    var newDefault: String?
    /// Whether the column had a default to drop.
    var hadDefault: Bool
    /// For `method: online`: the new value from `value` (the quoted column in a batch,
    /// `NEW."column"` in the trigger), as SQL that no session setting changes the result of;
    /// nil: `value::newType`.
    var convert: (@Sendable (_ value: String) -> String)? = nil
    /// For `method: online`: a value the conversion turns into NULL is journaled with this
    /// reason under the swap's lock (`on_invalid: null`); nil: the conversion nulls nothing.
    var nulledReason: String? = nil
    /// Values the conversion sets to NULL, as the assessment counted them: the change then
    /// carries the `deletes_data` hazard with their number.
    var nulledCount = 0
}

/// A change that can be made, or the problems that stop it.
enum Planned<Value> {
    case success(Value)
    case failure([StepProblem])
}

/// The shared core of `normalize_uuid` and `normalize_timestamps`: a set of columns whose type
/// changes, the foreign-key partners that must change with them, the views that read them (kept
/// by dropping and recreating them in the altering transaction, or blocking the step), and the
/// schema afterwards. Foreign keys between the columns are dropped, the columns altered and the
/// keys re-added NOT VALID in one transaction, then validated, so no key ever points across
/// types.
enum ColumnTypeChange {
    /// Every column joined to `columns` by declared foreign keys, referencing or referenced,
    /// transitively: a group that must change type together.
    static func foreignKeyGroup(of columns: [ColumnName], in schema: Schema) -> [ColumnName] {
        var group = Set(columns)
        var queue = columns
        while let next = queue.popLast() {
            for (_, table) in schema.tables {
                for constraint in table.constraints.values {
                    guard let key = constraint.foreignKey, key.referencedColumns.count == constraint.columns.count else { continue }
                    let target = ObjectName(parsing: key.referencedTable)
                    for (local, remote) in zip(constraint.columns, key.referencedColumns) {
                        let from = ColumnName(table: table.objectName, column: local)
                        let to = ColumnName(table: target, column: remote)
                        for (here, there) in [(from, to), (to, from)] where here == next && !group.contains(there) {
                            group.insert(there)
                            queue.append(there)
                        }
                    }
                }
            }
        }
        return group.sorted()
    }

    /// Splits columns into their foreign-key groups, each sorted, in the order of their first column.
    static func groups(of columns: [ColumnName], in schema: Schema) -> [[ColumnName]] {
        var seen: Set<ColumnName> = []
        var groups: [[ColumnName]] = []
        for column in columns.sorted() where !seen.contains(column) {
            let group = foreignKeyGroup(of: [column], in: schema)
            seen.formUnion(group)
            groups.append(group)
        }
        return groups
    }

    /// The foreign keys that use any of the columns, on either side, by table.
    static func foreignKeys(touching columns: Set<ColumnName>, in schema: Schema) -> [(table: ObjectName, constraint: Constraint)] {
        var found: [(table: ObjectName, constraint: Constraint)] = []
        for table in schema.tables.values.sorted(by: { $0.objectName < $1.objectName }) {
            for constraint in table.constraints.values.sorted(by: { $0.name < $1.name }) {
                guard let key = constraint.foreignKey else { continue }
                let target = ObjectName(parsing: key.referencedTable)
                let uses = constraint.columns.contains { columns.contains(ColumnName(table: table.objectName, column: $0)) }
                    || key.referencedColumns.contains { columns.contains(ColumnName(table: target, column: $0)) }
                if uses { found.append((table.objectName, constraint)) }
            }
        }
        return found
    }

    /// A view to be dropped and recreated, as the live catalog holds it.
    struct SavedView {
        var name: ObjectName
        var depth: Int
        var definition: String
        var owner: String
        var options: [String]
        var comment: String?
        var columnComments: [(column: String, comment: String)]
        /// nil: the default privileges (no ACL); otherwise each grant.
        var grants: [(grantee: String?, privilege: String, grantable: Bool)]?
        var materialized: Bool
        var hasRulesOrTriggers: Bool
        var columnGrants: Bool

        var quoted: String { QualifiedName(schema: name.schema, name.name).quoted }

        var dropStatement: String { "DROP VIEW \(quoted)" }

        /// CREATE, owner, privileges and comments, as they were.
        var recreateStatements: [String] {
            var body = definition.trimmingCharacters(in: .whitespacesAndNewlines)
            if body.hasSuffix(";") { body.removeLast() }
            let with = options.isEmpty ? "" : " WITH (\(ColumnTypeChange.optionList(options)))"
            var statements = ["CREATE VIEW \(quoted)\(with) AS\n\(body)", "ALTER VIEW \(quoted) OWNER TO \(SQLIdentifier(owner).quoted)"]
            if let grants {
                statements.append("REVOKE ALL ON \(quoted) FROM PUBLIC, \(SQLIdentifier(owner).quoted)")
                for grant in grants {
                    let grantee = grant.grantee.map { SQLIdentifier($0).quoted } ?? "PUBLIC"
                    statements.append("GRANT \(grant.privilege) ON \(quoted) TO \(grantee)\(grant.grantable ? " WITH GRANT OPTION" : "")")
                }
            }
            if let comment { statements.append("COMMENT ON VIEW \(quoted) IS \(SQLLiteral.quoted(comment))") }
            for (column, comment) in columnComments {
                statements.append("COMMENT ON COLUMN \(quoted).\(SQLIdentifier(column).quoted) IS \(SQLLiteral.quoted(comment))")
            }
            return statements
        }
    }

    /// The views that read any of the columns, and the views that read those, deepest last.
    static func dependentViews(of columns: [ColumnName], _ probe: Probe) throws -> [SavedView] {
        try probe.readOnly { probe in
            // Definitions print every name schema-qualified, as snapshots read them.
            try probe.connection.setLocal("search_path", "pg_catalog")
            let rows = try probe.query(
                """
                WITH RECURSIVE cols AS (
                    SELECT a.attrelid AS rel, a.attnum FROM unnest($1::text[], $2::text[]) u(t, c)
                    JOIN pg_attribute a ON a.attrelid = to_regclass(u.t) AND a.attname = u.c
                ), views(oid, depth) AS (
                    SELECT DISTINCT r.ev_class, 1 FROM cols
                    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = cols.rel AND d.refobjsubid = cols.attnum
                                    AND d.classid = 'pg_rewrite'::regclass
                    JOIN pg_rewrite r ON r.oid = d.objid AND r.ev_class <> cols.rel
                    UNION
                    SELECT r.ev_class, v.depth + 1 FROM views v
                    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = v.oid AND d.classid = 'pg_rewrite'::regclass
                    JOIN pg_rewrite r ON r.oid = d.objid AND r.ev_class <> v.oid
                )
                SELECT n.nspname, c.relname, max(v.depth)::int, pg_get_viewdef(c.oid), pg_get_userbyid(c.relowner),
                       coalesce(c.reloptions, '{}')::text[], obj_description(c.oid, 'pg_class'),
                       ARRAY(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                             AND col_description(c.oid, a.attnum) IS NOT NULL ORDER BY a.attnum)::text[],
                       ARRAY(SELECT col_description(c.oid, a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                             AND col_description(c.oid, a.attnum) IS NOT NULL ORDER BY a.attnum)::text[],
                       c.relacl IS NULL,
                       ARRAY(SELECT coalesce(r.rolname::text, '') FROM aclexplode(c.relacl) x LEFT JOIN pg_roles r ON r.oid = x.grantee
                             ORDER BY x.grantee, x.privilege_type)::text[],
                       ARRAY(SELECT x.privilege_type FROM aclexplode(c.relacl) x ORDER BY x.grantee, x.privilege_type)::text[],
                       ARRAY(SELECT x.is_grantable::text FROM aclexplode(c.relacl) x ORDER BY x.grantee, x.privilege_type)::text[],
                       c.relkind = 'm',
                       c.relhastriggers OR EXISTS (SELECT 1 FROM pg_rewrite o WHERE o.ev_class = c.oid AND o.rulename <> '_RETURN'),
                       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL)
                FROM views v JOIN pg_class c ON c.oid = v.oid JOIN pg_namespace n ON n.oid = c.relnamespace
                GROUP BY c.oid, n.nspname, c.relname
                ORDER BY 3, 1, 2
                """, [columns.map { QualifiedName(schema: $0.table.schema, $0.table.name).quoted }, columns.map(\.column)])
            return try rows.map { row in
                let noACL = try row.get(9, as: Bool.self)
                let grantees = try row.get(10, as: [String].self)
                let privileges = try row.get(11, as: [String].self)
                let grantable = try row.get(12, as: [String].self).map { $0 == "true" }
                let grants = noACL ? nil : (0..<grantees.count).map { i in (grantee: grantees[i].isEmpty ? nil : grantees[i], privilege: privileges[i], grantable: grantable[i]) }
                let commented = try row.get(7, as: [String].self)
                let comments = try row.get(8, as: [String].self)
                return SavedView(
                    name: ObjectName(schema: try row.get(0), name: try row.get(1)), depth: try row.get(2, as: Int.self),
                    definition: try row.get(3), owner: try row.get(4), options: try row.get(5, as: [String].self),
                    comment: try row.get(6, as: String?.self), columnComments: Array(zip(commented, comments)),
                    grants: grants, materialized: try row.get(13, as: Bool.self), hasRulesOrTriggers: try row.get(14, as: Bool.self),
                    columnGrants: try row.get(15, as: Bool.self))
            }
        }
    }

    /// Splits the changes into the parts that must share a transaction: columns of one table,
    /// columns joined by foreign keys, columns read by one view. Each part is its own
    /// transaction, so no lock is held for longer than its own tables need.
    static func parts(of retypes: [ColumnRetype], in schema: Schema, _ probe: Probe) throws -> [[ColumnRetype]] {
        var parts: [[ColumnRetype]] = []
        var keysOfPart: [Set<String>] = []
        for retype in retypes {
            var keys: Set<String> = ["table " + retype.column.table.key]
            keys.formUnion(foreignKeyGroup(of: [retype.column], in: schema).map { "table " + $0.table.key })
            keys.formUnion(try dependentViews(of: [retype.column], probe).map { "view " + $0.name.key })
            let joined = keysOfPart.indices.filter { !keysOfPart[$0].isDisjoint(with: keys) }
            var part = [retype]
            for index in joined.reversed() {
                part = parts[index] + part
                keys.formUnion(keysOfPart[index])
                parts.remove(at: index)
                keysOfPart.remove(at: index)
            }
            parts.append(part)
            keysOfPart.append(keys)
        }
        return parts
    }

    /// `plan` for each part in turn, each from the schema the previous leaves.
    static func planInParts(
        _ retypes: [ColumnRetype], schema: Schema, probe: Probe, recreateViews: Bool,
        setAside: [AlterColumnTypes.SetAside], pinned: [(name: String, value: String)], refusal: String?, rewrites: (ColumnRetype) -> Bool,
        notes: [ColumnName: [String]]
    ) throws -> Assessment {
        var effects: [any Effect] = []
        var after = schema
        var problems: [StepProblem] = []
        for part in try parts(of: retypes, in: schema, probe) {
            let tables = Set(part.map(\.column.table))
            let outcome = try plan(
                part, schema: after, probe: probe, recreateViews: recreateViews,
                setAside: setAside.filter { tables.contains($0.table) }, pinned: pinned, refusal: refusal, rewrites: part.contains(where: rewrites),
                notes: part.flatMap { notes[$0.column] ?? [] })
            switch outcome {
            case .failure(let found): problems += found
            case .success(let done):
                effects += done.effects
                after = done.after
            }
        }
        if !problems.isEmpty { return .blocked(problems) }
        return .needed(effects, after: after)
    }

    /// What the change amounts to: the effects and the schema afterwards, or why it cannot be made.
    struct Outcome {
        var effects: [any Effect]
        var after: Schema
    }

    /// Builds the change of `retypes` (every column of their foreign-key groups included by the
    /// caller). `setAside` is journaled under the locks first; `pinned` settings hold for the
    /// altering transaction; `refusal` says what a value the conversion refuses means;
    /// `rewrites` says whether the tables are rewritten.
    static func plan(
        _ retypes: [ColumnRetype], schema: Schema, probe: Probe, recreateViews: Bool,
        setAside: [AlterColumnTypes.SetAside], pinned: [(name: String, value: String)], refusal: String?, rewrites: Bool, notes: [String]
    ) throws -> Planned<Outcome> {
        var problems: [StepProblem] = []
        let changing = Set(retypes.map(\.column))
        let tables = Array(Set(retypes.map(\.column.table))).sorted()

        for column in retypes.map(\.column) {
            guard let table = schema.tables[column.table.key] else { continue }
            if table.kind != .ordinary || table.partitionOf != nil {
                problems.append(StepProblem("\(column.table) is partitioned or a partition: changing a column type there is not supported yet", table: column.table))
            }
            for index in table.indexes.values.sorted(by: { $0.name < $1.name }) {
                let usesInExpression = index.keys.contains { !$0.isColumn && mentions($0.expression, column.column) }
                    || (index.predicate.map { mentions($0, column.column) } ?? false)
                    || index.keys.contains { $0.isColumn && $0.expression == column.column && $0.operatorClass != nil }
                if usesInExpression {
                    problems.append(StepProblem(
                        "index \(index.name) uses \(column) in an expression, a predicate or with an operator class of its type: drop it first and build it again after",
                        table: column.table))
                }
            }
            if table.columns.contains(where: { $0.generatedExpression.map { mentions($0, column.column) } ?? false }) {
                problems.append(StepProblem("a generated column of \(column.table) reads \(column.column): not supported yet", table: column.table))
            }
        }

        // Views: saved and recreated, or named.
        let views = try dependentViews(of: retypes.map(\.column), probe)
        if !views.isEmpty && !recreateViews {
            problems.append(StepProblem(
                "views read \(retypes.map(\.column.description).joined(separator: ", ")): \(views.map(\.name.description).joined(separator: ", ")) (recreate_views: true drops and recreates them in the same transaction)",
                table: retypes.first?.column.table))
        }
        for view in views where view.materialized || view.hasRulesOrTriggers || view.columnGrants {
            let what = view.materialized ? "is a materialized view" : view.hasRulesOrTriggers ? "has rules or triggers" : "has column privileges"
            problems.append(StepProblem("view \(view.name) \(what): pgmend does not recreate it; drop it first", table: retypes.first?.column.table))
        }

        // Check constraints and defaults, as the server will print them on the new types.
        var after = schema
        for table in tables {
            guard var model = schema.tables[table.key] else { continue }
            let mine = retypes.filter { $0.column.table == table }
            var columns = model.columns
            for retype in mine {
                guard let position = columns.firstIndex(where: { $0.name == retype.column.column }) else { continue }
                columns[position].type = retype.newType
                columns[position].defaultExpression = nil
            }
            let checks = model.constraints.values.filter { constraint in
                constraint.kind == .check && mine.contains { mentions(constraint.definition, $0.column.column) }
            }.sorted { $0.name < $1.name }
            var forms = CanonicalForms()
            do {
                forms = try probe.canonicalForms(
                    columns: columns.map { Column(name: $0.name, type: $0.type) },
                    checks: checks.compactMap { check in check.checkExpression.map { (check.name, $0) } },
                    defaults: mine.compactMap { retype in retype.newDefault.map { (retype.column.column, $0) } })
            } catch let error as PostgresError where error.kind == .server {
                problems.append(StepProblem(
                    "a check constraint or default of \(table) does not hold for the new type (\(error.message)): change it first", table: table))
                continue
            }
            for retype in mine {
                guard let position = model.columns.firstIndex(where: { $0.name == retype.column.column }) else { continue }
                model.columns[position].type = retype.newType
                model.columns[position].defaultExpression = retype.newDefault.map { forms.defaults[retype.column.column] ?? $0 }
                model.columns[position].collation = nil
            }
            for check in checks {
                if let form = forms.checks[check.name] {
                    model.constraints[check.name]?.definition = check.validated ? form.definition : form.definition + " NOT VALID"
                    model.constraints[check.name]?.checkExpression = form.expression
                }
            }
            after.tables[table.key] = model
        }

        // Foreign keys among the columns: dropped before, added NOT VALID after, validated.
        let keys = foreignKeys(touching: changing, in: schema)
        for (table, constraint) in keys {
            guard let key = constraint.foreignKey else { continue }
            let target = ObjectName(parsing: key.referencedTable)
            for (local, remote) in zip(constraint.columns, key.referencedColumns) {
                let from = ColumnName(table: table, column: local)
                let to = ColumnName(table: target, column: remote)
                if changing.contains(from) != changing.contains(to) {
                    problems.append(StepProblem("foreign key \(constraint.name) joins \(from) and \(to), and only one of them would change type", table: table))
                }
            }
        }
        guard problems.isEmpty else { return .failure(problems) }

        // The views afterwards: their columns' types asked of the server on stand-ins.
        let viewColumns = try predictedViewColumns(views, retypes: retypes, schema: schema, probe: probe)
        switch viewColumns {
        case .failure(let found): return .failure(found)
        case .success(let types):
            for (key, columns) in types {
                guard after.views[key] != nil else { continue }
                for (position, column) in (after.views[key]?.columns ?? []).enumerated() {
                    if let type = columns[column.name] { after.views[key]?.columns[position].type = type }
                }
            }
        }

        var statements: [String] = []
        statements += views.reversed().map(\.dropStatement)
        for (table, constraint) in keys {
            statements.append("ALTER TABLE \(quoted(table)) DROP CONSTRAINT \(SQLIdentifier(constraint.name).quoted)")
        }
        for table in tables {
            var parts: [String] = []
            for retype in retypes where retype.column.table == table {
                let column = SQLIdentifier(retype.column.column).quoted
                if retype.hadDefault { parts.append("ALTER COLUMN \(column) DROP DEFAULT") }
                parts.append("ALTER COLUMN \(column) TYPE \(retype.newType)" + (retype.using.map { " USING \($0)" } ?? ""))
                if let value = retype.newDefault { parts.append("ALTER COLUMN \(column) SET DEFAULT \(value)") }
            }
            statements.append("ALTER TABLE \(quoted(table))\n  " + parts.joined(separator: ",\n  "))
        }
        for (table, constraint) in keys {
            var definition = constraint.definition
            if definition.hasSuffix(" NOT VALID") { definition.removeLast(" NOT VALID".count) }
            statements.append("ALTER TABLE \(quoted(table)) ADD CONSTRAINT \(SQLIdentifier(constraint.name).quoted) \(definition) NOT VALID")
        }
        for view in views { statements += view.recreateStatements }

        let sizes = try probe.query(
            "SELECT pg_size_pretty(pg_table_size(to_regclass(t))) FROM unnest($1::text[]) WITH ORDINALITY u(t, o) ORDER BY o",
            [tables.map { quoted($0) }]
        ).map { try $0.get(0, as: String.self) }
        let sized = zip(tables, sizes).map { "\($0) \($1)" }.joined(separator: ", ")
        var summary = "change \(retypes.map(\.column.description).joined(separator: ", ")) to \(Set(retypes.map(\.newType)).sorted().joined(separator: ", "))"
        summary += rewrites ? "; rewrites \(sized) under ACCESS EXCLUSIVE" : "; no table rewrite (\(sized)), ACCESS EXCLUSIVE while the catalog changes"
        if !keys.isEmpty { summary += "; foreign keys \(keys.map(\.constraint.name).joined(separator: ", ")) dropped and re-added NOT VALID" }
        if !views.isEmpty { summary += "; views \(views.map(\.name.description).joined(separator: ", ")) dropped and recreated with their owner, grants and comments" }
        if !notes.isEmpty { summary += "; " + notes.joined(separator: "; ") }
        var hazards: [Hazard] = [.accessExclusiveLock]
        if rewrites { hazards.append(.tableRewrite) }
        let nulled = retypes.map(\.nulledCount).reduce(0, +)
        if nulled > 0 { hazards.append(.deletesData) }
        let lockTables = Array(Set(tables + keys.flatMap { [$0.table] + ($0.constraint.foreignKey.map { [ObjectName(parsing: $0.referencedTable)] } ?? []) })).sorted()
        var effects: [any Effect] = [
            AlterColumnTypes(
                summary: summary, tables: lockTables, pinned: pinned, refusal: refusal, setAside: setAside, statements: statements.map(SQL.legacy), hazards: hazards,
                deletesRows: nulled > 0 ? nulled : nil)
        ]
        for (table, constraint) in keys where constraint.validated {
            effects.append(AtomicSQL(
                "validate \(constraint.name) against existing rows",
                [.legacy("ALTER TABLE \(quoted(table)) VALIDATE CONSTRAINT \(SQLIdentifier(constraint.name).quoted)")],
                lock: .shareUpdateExclusive, on: table, hazards: [.fullTableScan]))
        }
        return .success(Outcome(effects: effects, after: after))
    }

    /// Each view's column types after the change, by view key and column name: the views are
    /// built again as temporary views over empty temporary stand-ins of the tables with the new
    /// types, in a transaction that is rolled back. A view whose query no longer works on the
    /// new types blocks the step. In a read-only session, a view column named as a changed
    /// column and of its old type is taken to change with it (noted as approximate).
    static func predictedViewColumns(
        _ views: [SavedView], retypes: [ColumnRetype], schema: Schema, probe: Probe
    ) throws -> Planned<[String: [String: String]]> {
        guard !views.isEmpty else { return .success([:]) }
        if probe.readOnlySession != nil {
            var result: [String: [String: String]] = [:]
            for view in views {
                for column in schema.views[view.name.key]?.columns ?? [] {
                    for retype in retypes where retype.column.column == column.name && schema.tables[retype.column.table.key]?.column(column.name)?.type == column.type {
                        result[view.name.key, default: [:]][column.name] = retype.newType
                    }
                }
            }
            probe.noteApproximation("the column types of views \(views.map(\.name.description).joined(separator: ", ")) predicted by name")
            return .success(result)
        }
        return try probe.assessing { probe in
            let connection = probe.connection
            try connection.setLocal("search_path", "pg_catalog")
            var replacements: [(old: String, new: String, bareOld: String, bareNew: String)] = []
            let tables = Array(Set(retypes.map(\.column.table))).sorted()
            for (number, table) in tables.enumerated() {
                let stand = "pgmend_type_\(number)"
                try connection.query("CREATE TEMP TABLE \(SQLIdentifier(stand).quoted) (LIKE \(quoted(table)))")
                for retype in retypes where retype.column.table == table {
                    let column = SQLIdentifier(retype.column.column).quoted
                    try connection.query("ALTER TABLE pg_temp.\(SQLIdentifier(stand).quoted) ALTER COLUMN \(column) TYPE \(retype.newType) USING NULL")
                }
                replacements.append((PrintedNames.qualified(table), "pg_temp.\(stand)", PrintedNames.identifier(table.name), stand))
            }
            var result: [String: [String: String]] = [:]
            for (number, view) in views.enumerated() {
                let stand = "pgmend_view_\(number)"
                var definition = view.definition.trimmingCharacters(in: .whitespacesAndNewlines)
                if definition.hasSuffix(";") { definition.removeLast() }
                for replacement in replacements {
                    definition = PrintedNames.replacingName(replacement.old, with: replacement.new, in: definition)
                    definition = PrintedNames.replacingName(replacement.bareOld, with: replacement.bareNew, in: definition, qualifier: true)
                }
                do {
                    try connection.query("SAVEPOINT pgmend_view")
                    try connection.query("CREATE TEMP VIEW \(SQLIdentifier(stand).quoted) AS \(definition)")
                    try connection.query("RELEASE SAVEPOINT pgmend_view")
                } catch let error as PostgresError where error.kind == .server {
                    _ = try? connection.query("ROLLBACK TO SAVEPOINT pgmend_view")
                    return .failure([StepProblem(
                        "view \(view.name) cannot be recreated on the new types (\(error.message)): change it first",
                        table: retypes.first?.column.table)])
                }
                for row in try connection.query(
                    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                    ["pg_temp.\(SQLIdentifier(stand).quoted)"])
                {
                    result[view.name.key, default: [:]][try row.get(0, as: String.self)] = try row.get(1, as: String.self)
                }
                replacements.append((PrintedNames.qualified(view.name), "pg_temp.\(stand)", PrintedNames.identifier(view.name.name), stand))
            }
            return .success(result)
        }
    }

    /// The foreign keys on `columns` (and their groups) left NOT VALID, each validated: what a
    /// run killed between re-adding them and validating them left to do. nil: none.
    static func pendingValidations(of columns: [ColumnName], in schema: Schema) -> Assessment? {
        pendingValidations(of: columns, in: schema, after: [])
    }

    /// What a change killed after its swap or ALTER left to do on the converted `columns`:
    /// with `method: online`, the ANALYZE after the swap (`OnlineTypeChange.statisticsLeft`),
    /// then the foreign keys left NOT VALID. nil: nothing.
    static func leftToFinish(of columns: [ColumnName], in schema: Schema, method: TypeChangeMethod, _ probe: Probe) throws -> Assessment? {
        // The foreign-key partners were swapped with them.
        let analyze = method == .online ? try OnlineTypeChange.statisticsLeft(of: foreignKeyGroup(of: columns, in: schema), probe) : []
        return pendingValidations(of: columns, in: schema, after: analyze)
    }

    static func pendingValidations(of columns: [ColumnName], in schema: Schema, after first: [any Effect]) -> Assessment? {
        let group = Set(foreignKeyGroup(of: columns, in: schema))
        let pending = foreignKeys(touching: group, in: schema).filter { !$0.constraint.validated }
        guard !pending.isEmpty || !first.isEmpty else { return nil }
        var after = schema
        var effects: [any Effect] = first
        for (table, constraint) in pending {
            effects.append(AtomicSQL(
                "validate \(constraint.name) against existing rows (left NOT VALID)",
                [.legacy("ALTER TABLE \(quoted(table)) VALIDATE CONSTRAINT \(SQLIdentifier(constraint.name).quoted)")],
                lock: .shareUpdateExclusive, on: table, hazards: [.fullTableScan]))
            after.tables[table.key]?.constraints[constraint.name]?.validated = true
            if constraint.definition.hasSuffix(" NOT VALID") {
                after.tables[table.key]?.constraints[constraint.name]?.definition = String(constraint.definition.dropLast(" NOT VALID".count))
            }
        }
        return .needed(effects, after: after)
    }

    /// A type-changing step's settings as `plan show` prints them: its columns (`chosen` says
    /// what nil means), exclusions, its own options, then `recreate_views` and `method`.
    static func settings(
        columns: [ColumnName]?, chosen: String, exclude: [ColumnName], own: [(name: String, value: String)], recreateViews: Bool, method: TypeChangeMethod
    ) -> [(name: String, value: String)] {
        [
            ("columns", columns.map { $0.map(\.description).joined(separator: ", ") } ?? chosen),
            ("exclude", exclude.isEmpty ? "(none)" : exclude.map(\.description).joined(separator: ", ")),
        ] + own + [
            ("recreate_views", recreateViews ? "true" : "false"),
            ("method", method.rawValue),
        ]
    }

    /// The tables of `columns`, each once, in order: a step's scope (nil: the whole catalog).
    static func scope(of columns: [ColumnName]?) -> [ObjectName]? {
        guard let columns else { return nil }
        var tables: [ObjectName] = []
        for column in columns where !tables.contains(column.table) { tables.append(column.table) }
        return tables
    }

    /// The listed columns that are not excluded, with their catalog entries; a missing table
    /// or column is a problem.
    static func listed(_ columns: [ColumnName], excluding exclude: [ColumnName], in schema: Schema) -> (found: [(ColumnName, Column)], problems: [StepProblem]) {
        var found: [(ColumnName, Column)] = []
        var problems: [StepProblem] = []
        for name in columns where !exclude.contains(name) {
            guard let table = schema.tables[name.table.key] else {
                problems.append(StepProblem("table \(name.table) does not exist", table: name.table))
                continue
            }
            guard let column = table.column(name.column) else {
                problems.append(StepProblem("\(name.table) has no column \(name.column)", table: name.table))
                continue
            }
            found.append((name, column))
        }
        return (found, problems)
    }

    static func quoted(_ table: ObjectName) -> String { QualifiedName(schema: table.schema, table.name).quoted }

    /// `name=value` options as the catalog keeps them (`reloptions`, `attoptions`), written for
    /// a `WITH (...)` or `SET (...)` clause: `"fillfactor" = '70'`.
    static func optionList(_ options: [String]) -> String {
        options.map { option -> String in
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? "\(SQLIdentifier(parts[0]).quoted) = \(SQLLiteral.quoted(parts[1]))" : SQLIdentifier(option).quoted
        }.joined(separator: ", ")
    }

    /// What `pgmend.set_aside` gets for the rows of `table` matching `condition`: the key (the
    /// primary key, as text; a row of several columns; the ctid without one), the column's
    /// name and its old value as text, and `reason`.
    static func setAside(
        _ table: ObjectName, key: [String], column: String, reason: String, where condition: String
    ) -> AlterColumnTypes.SetAside {
        let keyText = key.isEmpty ? "ctid::text" : key.count == 1
            ? "\(SQLIdentifier(key[0]).quoted)::text" : "ROW(\(key.map { SQLIdentifier($0).quoted }.joined(separator: ", ")))::text"
        return AlterColumnTypes.SetAside(
            table: table,
            query: .legacy("SELECT \(keyText) AS key, \(SQLLiteral.quoted(column))::text AS field, \(SQLLiteral.quoted(reason))::text AS reason, NULL::jsonb AS json_value, \(SQLIdentifier(column).quoted)::text AS column_value FROM \(quoted(table)) WHERE \(condition)"))
    }

    /// Whether catalog text (a definition, an expression) names the column as a whole word.
    static func mentions(_ text: String, _ column: String) -> Bool {
        PrintedNames.replacingName(PrintedNames.identifier(column), with: "\u{1}", in: text) != text
    }
}
