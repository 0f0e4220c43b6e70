import PostgresClient
import SchemaModel

/// The server's spelling of what a plan writes: a type as `format_type` prints it, check
/// constraints and defaults as the catalog will print them. A step predicts what the catalog
/// says after it from these, never from the plan's own text.
extension Probe {
    /// `varchar(20)` -> `character varying(20)`, `int` -> `integer`, `mood` -> `public.mood`,
    /// as `format_type` prints it with `search_path = pg_catalog` (as snapshots are read).
    public func canonicalType(_ spelling: String) throws -> String {
        let type: PlanTypeName
        do {
            type = try PlanTypeName(checking: spelling)
        } catch {
            throw PostgresError(kind: .usage, message: "'\(spelling)' is not a type name: it \(error.message)")
        }
        return try canonicalType(type)
    }

    /// `canonicalType` of a type name the plan reader checked.
    public func canonicalType(_ type: PlanTypeName) throws -> String {
        try readOnly { probe in
            // A type name and nothing else: `to_regtype` reads its argument (a value, never
            // SQL) as a type name only, and refuses anything more (`int FROM pg_class ...`, a
            // `COLLATE`, which is the column's, not the type's) as a syntax error.
            do {
                _ = try probe.scalar("SELECT to_regtype(\(bind: type.text))::text", as: String.self)
            } catch var error as PostgresError where error.kind == .server && error.sqlState == .syntaxError {
                error.message = "'\(type)' is not a type name (\(error.message))"
                throw error
            }
            // Parsed and described, never run: the type of the one column is all that is read.
            let result = try probe.connection.describe("SELECT NULL::\(type)" as SQL)
            guard result.columnTypes.count == 1, let oid = result.columnTypes.first, let modifier = result.columnTypeModifiers.first else {
                throw PostgresError(kind: .usage, message: "'\(type)' is not a type")
            }
            try probe.connection.setLocal("search_path", "pg_catalog")
            return try probe.scalar("SELECT format_type(\(bind: oid.rawValue)::oid, \(bind: modifier == -1 ? nil : modifier)::int)", as: String.self) ?? type.text
        }
    }

    /// How the catalog will print the plan's check constraints and column defaults once they
    /// are on a table of `columns` (see `canonicalForms(columns:checkSQL:defaultSQL:)`).
    public func canonicalForms(
        columns: [Column], checks: [(name: String, expression: PlanExpression)], defaults: [(column: String, expression: PlanExpression)]
    ) throws -> CanonicalForms {
        try canonicalForms(
            columns: columns, checkSQL: checks.map { ($0.name, "\($0.expression)", $0.expression.text) },
            defaultSQL: defaults.map { ($0.column, "\($0.expression)", $0.expression.text) })
    }

    /// The same for expressions read from the catalog (a retyped table's checks and defaults):
    /// each must be one expression, as a plan's must.
    public func canonicalForms(
        columns: [Column], checks: [(name: String, expression: String)], defaults: [(column: String, expression: String)]
    ) throws -> CanonicalForms {
        func checked(_ text: String) throws -> PlanExpression {
            do { return try PlanExpression(checking: text) } catch {
                throw PostgresError(kind: .usage, message: "'\(text)' is not one expression: it \(error.message)")
            }
        }
        return try canonicalForms(
            columns: columns, checks: checks.map { ($0.name, try checked($0.expression)) }, defaults: defaults.map { ($0.column, try checked($0.expression)) })
    }

    /// How the catalog will print check constraints and column defaults once they are on
    /// `table`: they are put on a temporary table of the same columns, read back, and rolled
    /// back. Nothing outside this session's temporary schema is touched. Each comes as the SQL
    /// to put on the table and as it was written, for a read-only session.
    ///
    /// In a read-only session (`readOnlySession`) no temporary table can be had, and there is
    /// no read-only way to make the server print an expression as the catalog will: the forms
    /// are the plan's own text (`fromPlan`), and the step's report says so.
    public func canonicalForms(
        columns: [Column], checkSQL checks: [(name: String, sql: SQL, written: String)], defaultSQL defaults: [(column: String, sql: SQL, written: String)]
    ) throws -> CanonicalForms {
        for column in columns {
            do { _ = try PlanTypeName(checking: column.type) } catch {
                throw PostgresError(kind: .usage, message: "'\(column.type)' is not a type name: it \(error.message)")
            }
        }
        guard !checks.isEmpty || !defaults.isEmpty else { return CanonicalForms() }
        if let session = readOnlySession {
            var forms = CanonicalForms(fromPlan: true)
            for check in checks { forms.checks[check.name] = ("CHECK (\(check.written))", check.written) }
            for value in defaults { forms.defaults[value.column] = value.written }
            let what = checks.map { "check \($0.name)" } + defaults.map { "the default of \($0.column)" }
            session.note(
                "\(what.joined(separator: ", ")) predicted in the plan's spelling, not the server's: learning that needs a temporary table, and this session is \(session.reason)")
            return forms
        }
        // A temporary table cannot be created read-only, so this transaction is writable; it
        // is always rolled back, and every statement goes through the extended protocol, which
        // takes one statement only. Defaults and NOT VALID checks are stored, never evaluated.
        return try rolledBack(readOnly: false) { probe in
            let connection = probe.connection
            try connection.setLocal("search_path", "pg_catalog")
            // The types are the server's printing (`canonicalType`) or the catalog's.
            let columnList: [SQL] = columns.map { "\(ident: $0.name) \(SQL.catalogText($0.type))" }
            try connection.query("CREATE TEMP TABLE pgmend_canonical (\(columnList))" as SQL)
            for value in defaults {
                try connection.query("ALTER TABLE pg_temp.pgmend_canonical ALTER COLUMN \(ident: value.column) SET DEFAULT \(value.sql)")
            }
            for check in checks {
                try connection.query("ALTER TABLE pg_temp.pgmend_canonical ADD CONSTRAINT \(ident: check.name) CHECK \(check.sql) NOT VALID")
            }
            return try Self.readCanonicalForms(connection)
        }
    }

    /// The checks and defaults of `pg_temp.pgmend_canonical`, as the catalog prints them.
    private static func readCanonicalForms(_ connection: Connection) throws -> CanonicalForms {
        var forms = CanonicalForms()
        for row in try connection.query(
            SQL("""
            SELECT co.conname, pg_get_constraintdef(co.oid, true), pg_get_expr(co.conbin, co.conrelid, true),
                   ARRAY(SELECT a.attname FROM unnest(co.conkey) k(attnum)
                         JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum)::text[]
            FROM pg_constraint co WHERE co.conrelid = 'pg_temp.pgmend_canonical'::regclass AND co.contype = 'c'
            """))
        {
            let name = try row.get(0, as: String.self)
            let definition = try row.get(1, as: String.self)
            // Added NOT VALID here only so no row is needed; the step validates for real.
            let valid = definition.hasSuffix(" NOT VALID") ? String(definition.dropLast(" NOT VALID".count)) : definition
            forms.checks[name] = (valid, try row.get(2, as: String.self))
            forms.checkColumns[name] = try row.get(3, as: [String].self)
        }
        for row in try connection.query(
            SQL("""
            SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
            JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
            WHERE d.adrelid = 'pg_temp.pgmend_canonical'::regclass
            """))
        {
            forms.defaults[try row.get(0, as: String.self)] = try row.get(1, as: String.self)
        }
        return forms
    }
}

/// Check constraints and defaults as the catalog prints them.
public struct CanonicalForms {
    /// True when they are the plan's own text, the server's being out of reach without
    /// writing (`Probe.readOnlySession`): they may differ from the catalog's only in spelling,
    /// so they are not to be compared with what the catalog holds.
    public var fromPlan = false
    /// By constraint name: the `pg_get_constraintdef` text and the bare expression.
    public var checks: [String: (definition: String, expression: String)] = [:]
    /// By constraint name: the columns the check reads.
    public var checkColumns: [String: [String]] = [:]
    /// By column name: the default expression.
    public var defaults: [String: String] = [:]
}

