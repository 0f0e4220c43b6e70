import PostgresClient
import SchemaModel

/// What reads a column, as the catalog records it: who depends on the column in `pg_depend`
/// (views and rules, generated columns, policies, triggers with `UPDATE OF` or `WHEN`), the
/// indexes whose expressions, predicate or operator class involve it (`pg_index`), and the
/// check and exclusion constraints on it (`pg_constraint.conkey`). Never by matching
/// definition text: a name in a string literal or a comment is no use of the column.
struct ColumnUser: Hashable, Sendable {
    enum Kind: String, Sendable {
        case view, materializedView = "materialized view", rule, generatedColumn = "generated column", policy, trigger
        /// An index that reads the column in an expression or its predicate.
        case indexExpression = "index (expression or predicate)"
        /// An index whose key is the plain column with an operator class that is not its type's default.
        case indexOperatorClass = "index (operator class)"
        case checkConstraint = "check constraint", exclusionConstraint = "exclusion constraint"
    }

    var kind: Kind
    /// The column used.
    var column: ColumnName
    /// The view, the index, or the table that holds the rule, generated column, policy, trigger
    /// or constraint.
    var owner: ObjectName
    /// The rule's, generated column's, policy's, trigger's or constraint's name.
    var member: String?

    var isIndex: Bool { kind == .indexExpression || kind == .indexOperatorClass }

    /// Every user of any of `columns`, in the order kind, owner, member.
    static func of(_ columns: [ColumnName], _ probe: Probe) throws -> [ColumnUser] {
        guard !columns.isEmpty else { return [] }
        let tables = columns.map { $0.table.sqlName.quoted }
        return try probe.query(query(tables: tables, columns: columns.map(\.column))).compactMap { row in
            guard let kind = Kind(rawValue: try row.get(0, as: String.self)) else { return nil }
            return ColumnUser(
                kind: kind, column: ColumnName(table: ObjectName(schema: try row.get(1), name: try row.get(2)), column: try row.get(3)),
                owner: ObjectName(schema: try row.get(4), name: try row.get(5)), member: try row.get(6, as: String?.self))
        }
    }

    // pg_depend records who depends on the column (refobjsubid = its attnum), but not how:
    // a plain index key and an index predicate look alike there. Which columns an index's
    // expressions and predicate read is only in their node trees, where a column of the
    // indexed table is `{VAR :varno 1 :varattno N ...}`; no SQL function lists them.
    private static func query(tables: [String], columns: [String]) -> SQL {
        """
        WITH target AS (
            SELECT a.attrelid AS relid, a.attnum, a.attname, tn.nspname AS tschema, tc.relname AS tname
            FROM unnest(\(bind: tables)::text[], \(bind: columns)::text[]) u(t, c)
            JOIN pg_attribute a ON a.attrelid = to_regclass(u.t) AND a.attname = u.c AND a.attnum > 0 AND NOT a.attisdropped
            JOIN pg_class tc ON tc.oid = a.attrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
        ), used AS (
            SELECT t.*, d.classid, d.objid FROM target t JOIN pg_depend d
              ON d.refclassid = 'pg_class'::regclass AND d.refobjid = t.relid AND d.refobjsubid = t.attnum
        )
        SELECT CASE WHEN r.rulename <> '_RETURN' THEN 'rule' WHEN c.relkind = 'm' THEN 'materialized view' ELSE 'view' END,
               u.tschema, u.tname, u.attname, n.nspname, c.relname, CASE WHEN r.rulename <> '_RETURN' THEN r.rulename END
        FROM used u JOIN pg_rewrite r ON u.classid = 'pg_rewrite'::regclass AND r.oid = u.objid
        JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
        UNION
        SELECT 'generated column', u.tschema, u.tname, u.attname, n.nspname, c.relname, a.attname
        FROM used u JOIN pg_attrdef ad ON u.classid = 'pg_attrdef'::regclass AND ad.oid = u.objid
        JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum AND a.attgenerated <> ''
        JOIN pg_class c ON c.oid = ad.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        UNION
        SELECT 'policy', u.tschema, u.tname, u.attname, n.nspname, c.relname, p.polname
        FROM used u JOIN pg_policy p ON u.classid = 'pg_policy'::regclass AND p.oid = u.objid
        JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        UNION
        SELECT 'trigger', u.tschema, u.tname, u.attname, n.nspname, c.relname, tg.tgname
        FROM used u JOIN pg_trigger tg ON u.classid = 'pg_trigger'::regclass AND tg.oid = u.objid
        JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        UNION
        SELECT CASE co.contype WHEN 'c' THEN 'check constraint' ELSE 'exclusion constraint' END,
               t.tschema, t.tname, t.attname, t.tschema, t.tname, co.conname
        FROM target t JOIN pg_constraint co ON co.conrelid = t.relid AND t.attnum = ANY(co.conkey) AND co.contype IN ('c', 'x')
        UNION
        SELECT CASE WHEN coalesce(i.indexprs::text, '') || coalesce(i.indpred::text, '') ~ ('[{]VAR :varno 1 :varattno ' || t.attnum || '[ }]')
                    THEN 'index (expression or predicate)' ELSE 'index (operator class)' END,
               t.tschema, t.tname, t.attname, n.nspname, ic.relname, NULL
        FROM target t JOIN pg_index i ON i.indrelid = t.relid
        JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE coalesce(i.indexprs::text, '') || coalesce(i.indpred::text, '') ~ ('[{]VAR :varno 1 :varattno ' || t.attnum || '[ }]')
           OR EXISTS (SELECT FROM unnest(i.indkey::int2[], i.indclass::oid[]) k(attnum, opclass)
                      JOIN pg_opclass oc ON oc.oid = k.opclass
                      WHERE k.attnum = t.attnum AND NOT oc.opcdefault)
        ORDER BY 1, 5, 6, 7, 2, 3, 4
        """
    }
}
