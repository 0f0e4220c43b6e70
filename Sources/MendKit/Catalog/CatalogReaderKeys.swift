import PostgresClient
import SchemaModel

extension CatalogReader {
    static func readConstraints(_ connection: Connection, _ filter: CatalogFilter) throws -> [UInt32: [Constraint]] {
        let rows = try connection.query(
            """
            SELECT co.conrelid, co.conname, co.contype, pg_get_constraintdef(co.oid, true),
                   co.condeferrable, co.condeferred, co.convalidated,
                   ARRAY(SELECT a.attname FROM unnest(co.conkey) WITH ORDINALITY k(attnum, ord)
                         JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[],
                   rn.nspname || '.' || rc.relname,
                   ARRAY(SELECT a.attname FROM unnest(co.confkey) WITH ORDINALITY k(attnum, ord)
                         JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[],
                   co.confdeltype, co.confupdtype, co.confmatchtype,
                   CASE WHEN co.contype IN ('p', 'u', 'x') THEN ic.relname END,
                   CASE WHEN co.contype = 'c' THEN pg_get_expr(co.conbin, co.conrelid, true) END
            FROM pg_constraint co
            JOIN pg_class c ON c.oid = co.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_class rc ON rc.oid = co.confrelid
            LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
            LEFT JOIN pg_class ic ON ic.oid = co.conindid
            WHERE n.nspname = ANY(\(bind: filter.namespaces)) AND co.contype IN ('p', 'u', 'f', 'c', 'x') AND (\(bind: filter.relations)::oid[] IS NULL OR co.conrelid = ANY(\(bind: filter.relations)::oid[]))
            """)
        var constraints: [UInt32: [Constraint]] = [:]
        for row in rows {
            let oid = try row.get(0, as: UInt32.self)
            let kind: Constraint.Kind =
                switch try row.get(2, as: String.self) {
                case "p": .primaryKey
                case "u": .unique
                case "f": .foreignKey
                case "x": .exclusion
                default: .check
                }
            var foreignKey: ForeignKey?
            if kind == .foreignKey, let target = try row.get(8, as: String?.self) {
                foreignKey = ForeignKey(
                    referencedTable: target, referencedColumns: try row.get(9),
                    onDelete: Self.action(try row.get(10)), onUpdate: Self.action(try row.get(11)),
                    match: try row.get(12, as: String.self) == "f" ? .full : try row.get(12, as: String.self) == "p" ? .partial : .simple)
            }
            let constraint = Constraint(
                name: try row.get(1), kind: kind, columns: try row.get(7), definition: try row.get(3),
                checkExpression: try row.get(14, as: String?.self), foreignKey: foreignKey,
                deferrable: try row.get(4), initiallyDeferred: try row.get(5), validated: try row.get(6),
                index: try row.get(13, as: String?.self))
            constraints[oid, default: []].append(constraint)
        }
        return constraints
    }

    private static func action(_ code: String) -> ForeignKey.Action {
        switch code {
        case "r": .restrict
        case "c": .cascade
        case "n": .setNull
        case "d": .setDefault
        default: .noAction
        }
    }

    static func readIndexes(_ connection: Connection, _ filter: CatalogFilter) throws -> [UInt32: [Index]] {
        // One row per index key or INCLUDE column, in order; indexes are assembled from them.
        // Only the first row of an index carries the index-wide values, and only expression
        // keys ask the server to deparse them: pg_get_indexdef is what this query spends on.
        let rows = try connection.query(
            """
            SELECT i.indrelid, i.indexrelid, k.ord,
                   CASE WHEN k.ord = 1 THEN ic.relname END,
                   CASE WHEN k.ord = 1 THEN pg_get_indexdef(i.indexrelid) END,
                   CASE WHEN k.ord = 1 THEN am.amname END,
                   i.indisunique, i.indisprimary, i.indisvalid,
                   CASE WHEN k.ord = 1 THEN pg_get_expr(i.indpred, i.indrelid, true) END,
                   CASE WHEN k.ord = 1 AND (i.indisunique OR i.indisprimary OR am.amname <> 'btree')
                        THEN (SELECT co.conname FROM pg_constraint co WHERE co.conindid = i.indexrelid
                                AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')) END,
                   k.ord > i.indnkeyatts,
                   CASE WHEN k.attnum = 0 THEN pg_get_indexdef(i.indexrelid, k.ord::int, true) ELSE att.attname END,
                   k.attnum <> 0,
                   CASE WHEN NOT oc.opcdefault THEN oc.opcname END,
                   CASE WHEN i.indcollation[k.ord - 1] NOT IN (0, coalesce(att.attcollation, 100), 100)
                        THEN (SELECT collname FROM pg_collation WHERE oid = i.indcollation[k.ord - 1]) END,
                   coalesce(i.indoption[k.ord - 1] & 1 = 1, false), coalesce(i.indoption[k.ord - 1] & 2 = 2, false)
            FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_am am ON am.oid = ic.relam
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            LEFT JOIN pg_opclass oc ON oc.oid = i.indclass[k.ord - 1]
            LEFT JOIN pg_attribute att ON att.attrelid = i.indrelid AND att.attnum = k.attnum AND k.attnum > 0
            WHERE n.nspname = ANY(\(bind: filter.namespaces)) AND c.relkind IN ('r', 'p', 'm') AND (\(bind: filter.relations)::oid[] IS NULL OR c.oid = ANY(\(bind: filter.relations)::oid[]))
            ORDER BY i.indexrelid, k.ord
            """)
        var indexes: [UInt32: [Index]] = [:]
        var current: (table: UInt32, oid: UInt32, index: Index)?
        func finish() {
            guard let (table, _, index) = current else { return }
            indexes[table, default: []].append(index)
        }
        for row in rows {
            let oid = try row.get(1, as: UInt32.self)
            if current?.oid != oid {
                finish()
                current = (try row.get(0), oid, Index(
                    name: try row.get(3), definition: try row.get(4), method: try row.get(5), keys: [],
                    predicate: try row.get(9, as: String?.self), unique: try row.get(6), primary: try row.get(7),
                    valid: try row.get(8), constraint: try row.get(10, as: String?.self)))
            }
            let expression = try row.get(12, as: String.self)
            if try row.get(11, as: Bool.self) {
                current?.index.include.append(expression)
            } else {
                current?.index.keys.append(IndexKey(
                    expression: expression, isColumn: try row.get(13),
                    operatorClass: try row.get(14, as: String?.self), collation: try row.get(15, as: String?.self),
                    descending: try row.get(16), nullsFirst: try row.get(17)))
            }
        }
        finish()
        return indexes
    }

    static func readTriggers(_ connection: Connection, _ filter: CatalogFilter) throws -> [UInt32: [Trigger]] {
        let rows = try connection.query(
            """
            SELECT t.tgrelid, t.tgname, pg_get_triggerdef(t.oid, true), t.tgenabled::text
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(\(bind: filter.namespaces)) AND NOT t.tgisinternal AND (\(bind: filter.relations)::oid[] IS NULL OR c.oid = ANY(\(bind: filter.relations)::oid[]))
            """)
        var triggers: [UInt32: [Trigger]] = [:]
        for row in rows {
            let trigger = Trigger(name: try row.get(1), definition: try row.get(2), enabled: try row.get(3))
            triggers[try row.get(0, as: UInt32.self), default: []].append(trigger)
        }
        return triggers
    }

    static func readViewDependencies(_ connection: Connection, _ filter: CatalogFilter) throws -> [UInt32: [String]] {
        let rows = try connection.query(
            """
            SELECT DISTINCT r.ev_class, dn.nspname || '.' || dc.relname || '.' || a.attname
            FROM pg_rewrite r
            JOIN pg_class vc ON vc.oid = r.ev_class
            JOIN pg_namespace vn ON vn.oid = vc.relnamespace
            JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                            AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.refobjid <> r.ev_class
            JOIN pg_class dc ON dc.oid = d.refobjid
            JOIN pg_namespace dn ON dn.oid = dc.relnamespace
            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE vn.nspname = ANY(\(bind: filter.namespaces)) AND vc.relkind IN ('v', 'm') AND (\(bind: filter.relations)::oid[] IS NULL OR vc.oid = ANY(\(bind: filter.relations)::oid[]))
            """)
        var dependencies: [UInt32: [String]] = [:]
        for row in rows {
            dependencies[try row.get(0, as: UInt32.self), default: []].append(try row.get(1))
        }
        return dependencies
    }
}
