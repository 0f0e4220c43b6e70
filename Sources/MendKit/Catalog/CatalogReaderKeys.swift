import PostgresClient
import SchemaModel

extension CatalogReader {
    /// A constraint as its row gives it: columns as attribute numbers, to be named.
    private struct FoundConstraint {
        var oid: UInt32
        var table: UInt32
        var constraint: Constraint
        var keys: [Int]
        var referenced: (table: UInt32, keys: [Int])?
    }

    /// Constraints by relation oid. Column numbers are named from `names` (the columns just
    /// read, by relation and attnum), not by the server: naming them in the query took a
    /// subquery per constraint and per foreign key, a third of the query at 8,000 tables. A
    /// number `names` lacks (a referenced table outside the filter) is looked up afterwards.
    static func readConstraints(_ connection: Connection, _ filter: CatalogFilter, names: AttributeNames) throws -> [UInt32: [Constraint]] {
        let rows = try filter.run(
            """
            SELECT co.conrelid, co.conname, co.contype, pg_get_constraintdef(co.oid, true),
                   co.condeferrable, co.condeferred, co.convalidated, co.conkey::text,
                   rn.nspname || '.' || rc.relname, co.confrelid, co.confkey::text,
                   co.confdeltype, co.confupdtype, co.confmatchtype,
                   CASE WHEN co.contype IN ('p', 'u', 'x') THEN ic.relname END, co.connoinherit, co.oid
            FROM pg_constraint co
            JOIN pg_class c ON c.oid = co.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_class rc ON rc.oid = co.confrelid
            LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
            LEFT JOIN pg_class ic ON ic.oid = co.conindid
            WHERE n.nspname = ANY(\(bind: filter.namespaces)) AND co.contype IN ('p', 'u', 'f', 'c', 'x') AND \(filter.covers("co.conrelid"))
            """, on: connection)
        var found: [FoundConstraint] = []
        found.reserveCapacity(rows.count)
        for row in rows {
            let kind: Constraint.Kind =
                switch try row.get(2, as: String.self) {
                case "p": .primaryKey
                case "u": .unique
                case "f": .foreignKey
                case "x": .exclusion
                default: .check
                }
            var foreignKey: ForeignKey?
            var referenced: (table: UInt32, keys: [Int])?
            if kind == .foreignKey, let target = try row.get(8, as: String?.self) {
                referenced = (try row.get(9), try attributeNumbers(row, 10))
                let match = try row.get(13, as: String.self)
                foreignKey = ForeignKey(
                    referencedTable: target, referencedColumns: [],
                    onDelete: Self.action(try row.get(11)), onUpdate: Self.action(try row.get(12)),
                    match: match == "f" ? .full : match == "p" ? .partial : .simple)
            }
            let definition = try row.get(3, as: String.self)
            let validated = try row.get(6, as: Bool.self)
            let constraint = Constraint(
                name: try row.get(1), kind: kind, definition: definition,
                checkExpression: kind == .check
                    ? checkExpression(definition, validated: validated, noInherit: try row.get(15)) : nil,
                foreignKey: foreignKey, deferrable: try row.get(4), initiallyDeferred: try row.get(5), validated: validated,
                index: try row.get(14, as: String?.self))
            found.append(FoundConstraint(
                oid: try row.get(16), table: try row.get(0), constraint: constraint, keys: try attributeNumbers(row, 7),
                referenced: referenced))
        }
        try deparseUncutChecks(&found, on: connection)
        return try named(found, names: names, on: connection)
    }

    /// Asks the server for the expression of any check whose definition `checkExpression`
    /// could not cut (a shape a later PostgreSQL might print).
    private static func deparseUncutChecks(_ found: inout [FoundConstraint], on connection: Connection) throws {
        let uncut = found.indices.filter { found[$0].constraint.kind == .check && found[$0].constraint.checkExpression == nil }
        guard !uncut.isEmpty else { return }
        let rows = try connection.query(
            """
            SELECT oid, pg_get_expr(conbin, conrelid, true) FROM pg_constraint
            WHERE oid = ANY(\(bind: uncut.map { String(found[$0].oid) })::oid[])
            """)
        var expressions: [UInt32: String] = [:]
        for row in rows { expressions[try row.get(0)] = try row.get(1, as: String?.self) }
        for position in uncut { found[position].constraint.checkExpression = expressions[found[position].oid] }
    }

    /// `constraints` with their columns and referenced columns named.
    private static func named(_ constraints: [FoundConstraint], names: AttributeNames, on connection: Connection) throws -> [UInt32: [Constraint]] {
        var names = names
        let missing = Set(constraints.flatMap { found in
            [(found.table, found.keys)] + (found.referenced.map { [($0.table, $0.keys)] } ?? [])
        }.filter { table, keys in keys.contains { names[table]?[$0] == nil } }.map(\.0))
        if !missing.isEmpty {
            let rows = try connection.query(
                "SELECT attrelid, attnum, attname FROM pg_attribute WHERE attrelid = ANY(\(bind: missing.map(String.init))::oid[])")
            for row in rows { names[try row.get(0, as: UInt32.self), default: [:]][try row.get(1)] = try row.get(2, as: String.self) }
        }
        func columns(_ table: UInt32, _ keys: [Int]) -> [String] { keys.compactMap { names[table]?[$0] } }
        var byTable: [UInt32: [Constraint]] = [:]
        for var found in constraints {
            found.constraint.columns = columns(found.table, found.keys)
            if let referenced = found.referenced {
                found.constraint.foreignKey?.referencedColumns = columns(referenced.table, referenced.keys)
            }
            byTable[found.table, default: []].append(found.constraint)
        }
        return byTable
    }

    /// An `int2[]` column (`conkey`, `confkey`) as numbers; NULL is none.
    private static func attributeNumbers(_ row: Row, _ column: Int) throws -> [Int] {
        try (row.get(ColumnRef.index(column), as: [String]?.self) ?? []).map { text in
            guard let number = Int(text) else {
                throw PostgresError(kind: .decoding, message: "column \(column): '\(text)' is not an attribute number")
            }
            return number
        }
    }

    /// A check constraint's expression, cut from its definition: `pg_get_constraintdef`
    /// prints `CHECK (` + the expression `pg_get_expr` prints + `)`, then ` NO INHERIT` and
    /// ` NOT VALID` when they apply (PostgreSQL 12 to 17). Asking the server for both
    /// deparsed every check twice. A definition of any other shape gives nil, and the server
    /// is asked (`deparseUncutChecks`), rather than a wrong expression kept.
    static func checkExpression(_ definition: String, validated: Bool, noInherit: Bool) -> String? {
        var text = Substring(definition)
        if !validated {
            guard text.hasSuffix(" NOT VALID") else { return nil }
            text = text.dropLast(" NOT VALID".count)
        }
        if noInherit {
            guard text.hasSuffix(" NO INHERIT") else { return nil }
            text = text.dropLast(" NO INHERIT".count)
        }
        guard text.hasPrefix("CHECK ("), text.hasSuffix(")") else { return nil }
        return String(text.dropFirst("CHECK (".count).dropLast())
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
        let rows = try filter.run(
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
            WHERE n.nspname = ANY(\(bind: filter.namespaces)) AND c.relkind IN ('r', 'p', 'm') AND \(filter.covers("c.oid"))
            ORDER BY i.indexrelid, k.ord
            """, on: connection)
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
        let rows = try filter.run(
            """
            SELECT t.tgrelid, t.tgname, pg_get_triggerdef(t.oid, true), t.tgenabled::text
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(\(bind: filter.namespaces)) AND NOT t.tgisinternal AND \(filter.covers("c.oid"))
            """, on: connection)
        var triggers: [UInt32: [Trigger]] = [:]
        for row in rows {
            let trigger = Trigger(name: try row.get(1), definition: try row.get(2), enabled: try row.get(3))
            triggers[try row.get(0, as: UInt32.self), default: []].append(trigger)
        }
        return triggers
    }

    static func readViewDependencies(_ connection: Connection, _ filter: CatalogFilter) throws -> [UInt32: [String]] {
        let rows = try filter.run(
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
            WHERE vn.nspname = ANY(\(bind: filter.namespaces)) AND vc.relkind IN ('v', 'm') AND \(filter.covers("vc.oid"))
            """, on: connection)
        var dependencies: [UInt32: [String]] = [:]
        for row in rows {
            dependencies[try row.get(0, as: UInt32.self), default: []].append(try row.get(1))
        }
        return dependencies
    }
}
