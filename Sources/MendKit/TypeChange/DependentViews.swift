import PostgresClient
import SchemaModel

/// A view that reads a changing column, as the live catalog holds it: dropped before the
/// change and created again after it, in the same transaction, with its owner, privileges and
/// comments.
struct SavedView {
    var name: ObjectName
    var depth: Int
    /// `pg_get_viewdef`'s text, every name schema-qualified.
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

    var qualifiedName: QualifiedName { name.sqlName }

    var dropStatement: SQL { "DROP VIEW \(qualifiedName)" }

    /// The definition without its trailing semicolon.
    var body: String {
        var body = definition.trimmingCharacters(in: .whitespacesAndNewlines)
        if body.hasSuffix(";") { body.removeLast() }
        return body
    }

    /// CREATE, owner, privileges and comments, as they were.
    var recreateStatements: [SQL] {
        let with: SQL = options.isEmpty ? "" : " WITH (\(ColumnTypeChange.optionList(options)))"
        var statements: [SQL] = [
            "CREATE VIEW \(qualifiedName)\(with) AS\n\(SQL.catalogText(body))", "ALTER VIEW \(qualifiedName) OWNER TO \(ident: owner)",
        ]
        if let grants {
            statements.append("REVOKE ALL ON \(qualifiedName) FROM PUBLIC, \(ident: owner)")
            for grant in grants {
                let grantee: SQL = grant.grantee.map { "\(ident: $0)" } ?? "PUBLIC"
                let option: SQL = grant.grantable ? " WITH GRANT OPTION" : ""
                statements.append("GRANT \(SQL.catalogText(grant.privilege)) ON \(qualifiedName) TO \(grantee)\(option)")
            }
        }
        if let comment { statements.append("COMMENT ON VIEW \(qualifiedName) IS \(literal: comment)") }
        for (column, comment) in columnComments {
            statements.append("COMMENT ON COLUMN \(qualifiedName).\(ident: column) IS \(literal: comment)")
        }
        return statements
    }

    /// Why pgmend does not recreate it (nil: it does).
    var notRecreated: String? {
        if materialized { return "is a materialized view" }
        if hasRulesOrTriggers { return "has rules or triggers" }
        if columnGrants { return "has column privileges" }
        return nil
    }
}

/// The views over changing columns, found by the catalog's dependencies (`pg_depend` from a
/// view's rewrite rule to a column), and their column types on the new column types.
enum DependentViews {
    /// The views that read any of the columns, and the views that read those, deepest last.
    static func of(_ columns: [ColumnName], _ probe: Probe) throws -> [SavedView] {
        try probe.readOnly { probe in
            // Definitions print every name schema-qualified, as snapshots read them.
            try probe.connection.setLocal("search_path", "pg_catalog")
            let tables = columns.map { $0.table.sqlName.quoted }
            return try probe.query(query(tables: tables, columns: columns.map(\.column))).map(savedView)
        }
    }

    private static func query(tables: [String], columns: [String]) -> SQL {
        """
        WITH RECURSIVE cols AS (
            SELECT a.attrelid AS rel, a.attnum FROM unnest(\(bind: tables)::text[], \(bind: columns)::text[]) u(t, c)
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
        """
    }

    private static func savedView(_ row: Row) throws -> SavedView {
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

    /// Each view's column types after the change, by view key and column name: the views are
    /// built again as temporary views over empty temporary stand-ins of the tables with the new
    /// types, in a transaction that is rolled back. A view whose query no longer works on the
    /// new types blocks the step. In a read-only session, a view column named as a changed
    /// column and of its old type is taken to change with it (noted as approximate).
    static func predictedColumns(
        _ views: [SavedView], retypes: [ColumnRetype], schema: Schema, probe: Probe
    ) throws -> Planned<[String: [String: String]]> {
        guard !views.isEmpty else { return .success([:]) }
        if probe.readOnlySession != nil { return .success(predictedByName(views, retypes: retypes, schema: schema, probe: probe)) }
        return try probe.assessing { probe in
            let connection = probe.connection
            try connection.setLocal("search_path", "pg_catalog")
            var replacements: [(old: String, new: String, bareOld: String, bareNew: String)] = []
            let tables = Array(Set(retypes.map(\.column.table))).sorted()
            for (number, table) in tables.enumerated() {
                let stand = "pgmend_type_\(number)"
                try connection.query("CREATE TEMP TABLE \(ident: stand) (LIKE \(table.sqlName))")
                for retype in retypes where retype.column.table == table {
                    try connection.query("ALTER TABLE pg_temp.\(ident: stand) ALTER COLUMN \(ident: retype.column.column) TYPE \(retype.newTypeSQL) USING NULL")
                }
                replacements.append((PrintedNames.qualified(table), "pg_temp.\(stand)", PrintedNames.identifier(table.name), stand))
            }
            var result: [String: [String: String]] = [:]
            for (number, view) in views.enumerated() {
                let stand = "pgmend_view_\(number)"
                var definition = view.body
                for replacement in replacements {
                    definition = PrintedNames.replacingName(replacement.old, with: replacement.new, in: definition)
                    definition = PrintedNames.replacingName(replacement.bareOld, with: replacement.bareNew, in: definition, qualifier: true)
                }
                do {
                    try connection.query("SAVEPOINT pgmend_view")
                    try connection.query("CREATE TEMP VIEW \(ident: stand) AS \(SQL.catalogText(definition))")
                    try connection.query("RELEASE SAVEPOINT pgmend_view")
                } catch let error as PostgresError where error.kind == .server {
                    _ = try? connection.query("ROLLBACK TO SAVEPOINT pgmend_view")
                    return .failure([StepProblem(
                        "view \(view.name) cannot be recreated on the new types (\(error.message)): change it first",
                        table: retypes.first?.column.table)])
                }
                let standName = QualifiedName(schema: "pg_temp", stand).quoted
                for row in try connection.query(
                    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = \(bind: standName)::regclass AND a.attnum > 0 AND NOT a.attisdropped")
                {
                    result[view.name.key, default: [:]][try row.get(0, as: String.self)] = try row.get(1, as: String.self)
                }
                replacements.append((PrintedNames.qualified(view.name), "pg_temp.\(stand)", PrintedNames.identifier(view.name.name), stand))
            }
            return .success(result)
        }
    }

    /// A read-only session cannot build stand-ins: a view column named as a changed column and
    /// of its old type is taken to change with it.
    private static func predictedByName(_ views: [SavedView], retypes: [ColumnRetype], schema: Schema, probe: Probe) -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        for view in views {
            for column in schema.views[view.name.key]?.columns ?? [] {
                for retype in retypes where retype.column.column == column.name && schema.tables[retype.column.table.key]?.column(column.name)?.type == column.type {
                    result[view.name.key, default: [:]][column.name] = retype.newType
                }
            }
        }
        probe.noteApproximation("the column types of views \(views.map(\.name.description).joined(separator: ", ")) predicted by name")
        return result
    }
}
