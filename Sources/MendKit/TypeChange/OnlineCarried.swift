import PostgresClient
import SchemaModel

extension OnlineTypeChange {
    static func analyze(_ table: ObjectName, _ summary: String) -> AtomicSQL {
        AtomicSQL(summary, ["ANALYZE \(table.sqlName)"], lock: .shareUpdateExclusive, on: table)
    }

    /// The ANALYZE a swap left undone (the run was killed between the swap and it): a table
    /// among `columns`' that has rows and statistics on some column, but none on one of
    /// `columns` (that gathers any: `SET STATISTICS 0` asks for none). A swapped column is a
    /// new column, with no statistics, while the table's others keep theirs; the swap's own
    /// ANALYZE covers the whole table, so after it no column lacks them. A table that was
    /// never analyzed shows nothing: it is left to autovacuum, as before the change.
    static func statisticsLeft(of columns: [ColumnName], _ probe: Probe) throws -> [any Effect] {
        guard !columns.isEmpty else { return [] }
        let names = columns.map { $0.table.sqlName.quoted }
        let tables = try probe.query(
            """
            SELECT DISTINCT n.nspname::text, c.relname::text
            FROM unnest(\(bind: names)::text[], \(bind: columns.map(\.column))::text[]) u(t, col)
            JOIN pg_attribute a ON a.attrelid = to_regclass(u.t) AND a.attname = u.col AND NOT a.attisdropped AND coalesce(a.attstattarget, -1) <> 0
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname)
              AND EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname)
            ORDER BY 1, 2
            """
        ).map { ObjectName(schema: try $0.get(0), name: try $0.get(1)) }
        var effects: [any Effect] = []
        // An empty table gets no statistics from ANALYZE: it would be needed again on every run.
        for table in tables where try probe.scalar("SELECT EXISTS (SELECT 1 FROM \(table.sqlName))" as SQL, as: Bool.self) == true {
            effects.append(analyze(table, "gather statistics on \(table): a converted column has none while its other columns have some (the run that swapped it ended before its ANALYZE)"))
        }
        return effects
    }
}

/// What a column has that its renamed shadow does not, and the swap sets again: its statistics
/// target, its options (`n_distinct`), its privileges. A privilege granted by a role other than
/// the table's owner cannot be granted again as that role (PostgreSQL records pgmend's grants
/// as the owner's): it is named, and the step blocked.
struct CarriedColumn {
    var name: String
    var statistics: Int?
    var options: [String]
    /// Each grant: the role (nil: PUBLIC), the privilege, whether with grant option.
    var grants: [(grantee: String?, privilege: String, grantable: Bool)]
    var otherGrantors: [String]

    /// The columns of `table` among `columns` that have any of it.
    static func read(of table: ObjectName, columns: [String], _ probe: Probe) throws -> [CarriedColumn] {
        // In the ACL's own order, so the grants give the same array back.
        let grants: SQL = "aclexplode(a.attacl) WITH ORDINALITY x(grantor, grantee, privilege_type, is_grantable, n)"
        return try probe.query(
            """
            SELECT a.attname::text, CASE WHEN a.attstattarget >= 0 THEN a.attstattarget::int END, coalesce(a.attoptions, '{}')::text[],
                   ARRAY(SELECT coalesce(r.rolname::text, '') FROM \(grants) LEFT JOIN pg_roles r ON r.oid = x.grantee ORDER BY x.n)::text[],
                   ARRAY(SELECT x.privilege_type FROM \(grants) ORDER BY x.n)::text[],
                   ARRAY(SELECT x.is_grantable::text FROM \(grants) ORDER BY x.n)::text[],
                   ARRAY(SELECT DISTINCT pg_get_userbyid(x.grantor)::text FROM aclexplode(a.attacl) x WHERE x.grantor <> c.relowner ORDER BY 1)::text[]
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE a.attrelid = to_regclass(\(bind: table.sqlName.quoted)) AND a.attname = ANY(\(bind: columns)::text[])
              AND (a.attstattarget >= 0 OR a.attoptions IS NOT NULL OR a.attacl IS NOT NULL)
            ORDER BY a.attnum
            """
        ).map { row in
            let grantees = try row.get(3, as: [String].self)
            let privileges = try row.get(4, as: [String].self)
            let grantable = try row.get(5, as: [String].self)
            return CarriedColumn(
                name: try row.get(0), statistics: try row.get(1, as: Int?.self), options: try row.get(2, as: [String].self),
                grants: grantees.indices.map { (grantees[$0].isEmpty ? nil : grantees[$0], privileges[$0], grantable[$0] == "true") },
                otherGrantors: try row.get(6, as: [String].self))
        }
    }

    /// The statements that give the renamed column the same, in the swap's transaction.
    func statements(on table: QualifiedName) -> [SQL] {
        let column = SQLIdentifier(name)
        var statements: [SQL] = []
        if let statistics { statements.append("ALTER TABLE \(table) ALTER COLUMN \(column) SET STATISTICS \(literal: statistics)") }
        if !options.isEmpty { statements.append("ALTER TABLE \(table) ALTER COLUMN \(column) SET (\(ColumnTypeChange.optionList(options)))") }
        // One GRANT per role and grant option, in the order the catalog lists them.
        var groups: [(grantee: String?, grantable: Bool, privileges: [String])] = []
        for grant in grants {
            if let at = groups.firstIndex(where: { $0.grantee == grant.grantee && $0.grantable == grant.grantable }) {
                groups[at].privileges.append(grant.privilege)
            } else {
                groups.append((grant.grantee, grant.grantable, [grant.privilege]))
            }
        }
        for group in groups {
            let grantee: SQL = group.grantee.map { "\(ident: $0)" } ?? "PUBLIC"
            let privileges: [SQL] = group.privileges.map { "\(SQL.catalogText($0)) (\(column))" }
            let option: SQL = group.grantable ? " WITH GRANT OPTION" : ""
            statements.append("GRANT \(privileges, separator: ", ") ON \(table) TO \(grantee)\(option)")
        }
        return statements
    }
}

/// What an index's copy on the shadow column is built with besides its keys, read from the
/// catalog: its storage parameters and tablespace, and each key's collation and operator class
/// where they are not the default, quoted and schema-qualified as `quote_ident` writes them
/// (the schema model holds bare names, which the server may not find: `COLLATE C`).
struct IndexCopySource {
    var options: [String]
    /// nil: the database's default tablespace.
    var tablespace: String?
    /// By key position: `pg_catalog."C"`, or nil for the column's own.
    var collations: [String?]
    /// By key position: `"Ops"."Pattern_ops"`, or nil for the type's default.
    var operatorClasses: [String?]

    /// Every index of `table`, by name.
    static func read(on table: ObjectName, _ probe: Probe) throws -> [String: IndexCopySource] {
        var found: [String: IndexCopySource] = [:]
        let keys: SQL = "unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)"
        for row in try probe.query(
            """
            SELECT c.relname::text, coalesce(c.reloptions, '{}')::text[], t.spcname::text,
                   ARRAY(SELECT CASE WHEN i.indcollation[k.ord - 1] NOT IN (0, coalesce(att.attcollation, 100), 100)
                                     THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) ELSE '' END
                         FROM \(keys)
                         LEFT JOIN pg_attribute att ON att.attrelid = i.indrelid AND att.attnum = k.attnum AND k.attnum > 0
                         LEFT JOIN pg_collation co ON co.oid = i.indcollation[k.ord - 1]
                         LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
                         WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)::text[],
                   ARRAY(SELECT CASE WHEN NOT oc.opcdefault THEN quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) ELSE '' END
                         FROM \(keys)
                         JOIN pg_opclass oc ON oc.oid = i.indclass[k.ord - 1] JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
                         WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)::text[]
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
            WHERE i.indrelid = to_regclass(\(bind: table.sqlName.quoted))
            """)
        {
            func named(_ column: Int) throws -> [String?] { try row.get(.index(column), as: [String].self).map { $0.isEmpty ? nil : $0 } }
            found[try row.get(0)] = IndexCopySource(
                options: try row.get(1, as: [String].self), tablespace: try row.get(2, as: String?.self),
                collations: try named(3), operatorClasses: try named(4))
        }
        return found
    }
}
