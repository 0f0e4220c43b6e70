import PostgresClient
import SchemaModel

/// Reads a database's structure from `pg_catalog` into a `Schema`.
///
/// A handful of bulk queries, each over every chosen schema at once (never one query per
/// table), inside one read-only REPEATABLE READ transaction so all of them see the same
/// moment. `search_path` is `pg_catalog` while reading, so every type and name the server
/// prints is qualified the same way whoever runs pgmend. Objects that belong to an extension,
/// system schemas and pgmend's own `pgmend` schema are left out.
public struct CatalogReader {
    /// The schema holding pgmend's journal; never part of a snapshot.
    public static let journalSchema = "pgmend"

    let connection: Connection

    public init(connection: Connection) {
        self.connection = connection
    }

    /// Reads the chosen schemas in a transaction of its own; with `tables`, only those tables
    /// and what a step needs to know about them (see `CatalogFilter.scoped`).
    public func readSchema(_ selection: SchemaSelection = .allUserSchemas, tables: [ObjectName]? = nil, related: Bool = true) throws -> Schema {
        try connection.transaction(isolation: .repeatableRead, readOnly: true) { _ in
            try readSchemaInCurrentTransaction(selection, tables: tables, related: related)
        }
    }

    /// Reads within the caller's transaction, so data statistics can share its snapshot.
    ///
    /// With `parallel`, the caller's transaction must be REPEATABLE READ: a second connection
    /// reads columns and constraints under its snapshot while this one reads the rest
    /// (`withSharedSnapshot`). The server does the two halves on two cores.
    public func readSchemaInCurrentTransaction(
        _ selection: SchemaSelection = .allUserSchemas, parallel: Bool = false, tables: [ObjectName]? = nil, related: Bool = true
    ) throws -> Schema {
        try Self.prepare(connection)
        let namespaces = try resolveNamespaces(selection)
        let filter = try CatalogFilter.scoped(namespaces, tables: tables, related: related, on: connection)
        var parts: RelationParts
        var relations: [UInt32: Relation]
        if parallel {
            let (local, remote) = try withSharedSnapshot(on: connection, {
                try (Self.readRelations(connection, filter), Self.readMainParts(connection, filter))
            }, background: { sibling in
                try Self.prepare(sibling)
                return try Self.readHelperParts(sibling, filter)
            })
            relations = local.0
            parts = local.1
            parts.merge(remote)
        } else {
            relations = try Self.readRelations(connection, filter)
            parts = try Self.readMainParts(connection, filter)
            parts.merge(try Self.readHelperParts(connection, filter))
        }

        var schema = Schema(namespaces: namespaces)
        for (oid, relation) in relations {
            if var table = relation.table {
                table.columns = parts.columns[oid] ?? []
                for constraint in parts.constraints[oid] ?? [] { table.constraints[constraint.name] = constraint }
                for index in parts.indexes[oid] ?? [] { table.indexes[index.name] = index }
                for trigger in parts.triggers[oid] ?? [] { table.triggers[trigger.name] = trigger }
                schema.tables[table.objectName.key] = table
            }
            if var view = relation.view {
                view.columns = parts.columns[oid] ?? []
                for index in parts.indexes[oid] ?? [] { view.indexes[index.name] = index }
                view.dependsOn = (parts.viewDependencies[oid] ?? []).sorted()
                schema.views["\(view.schema).\(view.name)"] = view
            }
        }
        schema.sequences = parts.sequences
        schema.enums = parts.enums
        schema.domains = parts.domains
        schema.extensions = parts.extensions
        return schema
    }

    /// Session settings for reading: names printed the same way for everyone, and room to
    /// sort and hash a large catalog in memory.
    static func prepare(_ connection: Connection) throws {
        try connection.setLocal("search_path", "pg_catalog")
        try connection.setLocal("work_mem", "64MB")
    }

    /// What the queries found, by relation oid, before it is assembled into tables and views.
    struct RelationParts: Sendable {
        var columns: [UInt32: [Column]] = [:]
        var constraints: [UInt32: [Constraint]] = [:]
        var indexes: [UInt32: [Index]] = [:]
        var triggers: [UInt32: [Trigger]] = [:]
        var viewDependencies: [UInt32: [String]] = [:]
        var sequences: [String: SequenceDefinition] = [:]
        var enums: [String: EnumType] = [:]
        var domains: [String: Domain] = [:]
        var extensions: [String: Extension] = [:]

        mutating func merge(_ other: RelationParts) {
            columns.merge(other.columns) { $0 + $1 }
            constraints.merge(other.constraints) { $0 + $1 }
            indexes.merge(other.indexes) { $0 + $1 }
            triggers.merge(other.triggers) { $0 + $1 }
            viewDependencies.merge(other.viewDependencies) { $0 + $1 }
            sequences.merge(other.sequences) { first, _ in first }
            enums.merge(other.enums) { first, _ in first }
            domains.merge(other.domains) { first, _ in first }
            extensions.merge(other.extensions) { first, _ in first }
        }
    }

    /// The half read on the main connection: indexes (the costliest query) and the small ones.
    static func readMainParts(_ connection: Connection, _ filter: CatalogFilter) throws -> RelationParts {
        var parts = RelationParts()
        parts.indexes = try readIndexes(connection, filter)
        parts.triggers = try readTriggers(connection, filter)
        parts.sequences = try readSequences(connection, filter)
        parts.enums = try readEnums(connection, filter)
        parts.domains = try readDomains(connection, filter)
        parts.extensions = try readExtensions(connection, filter)
        return parts
    }

    /// The half a helper connection can read: columns, constraints, view dependencies.
    static func readHelperParts(_ connection: Connection, _ filter: CatalogFilter) throws -> RelationParts {
        var parts = RelationParts()
        parts.columns = try readColumns(connection, filter)
        parts.constraints = try readConstraints(connection, filter)
        parts.viewDependencies = try readViewDependencies(connection, filter)
        return parts
    }

    /// The user schemas present, or the selected ones after checking that they exist.
    public func resolveNamespaces(_ selection: SchemaSelection) throws -> [String] {
        let rows = try connection.query(
            """
            SELECT nspname FROM pg_namespace
            WHERE nspname NOT IN ('information_schema', $1) AND nspname NOT LIKE 'pg\\_%'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                              AND d.objid = pg_namespace.oid AND d.deptype = 'e')
            ORDER BY nspname
            """, [Self.journalSchema])
        let present = try rows.map { try $0.get(0, as: String.self) }
        guard case .only(let requested) = selection else { return present }
        let missing = requested.filter { !present.contains($0) }
        guard missing.isEmpty else { throw CatalogError.unknownSchemas(missing, available: present) }
        return Array(Set(requested)).sorted()
    }

    // MARK: Relations and their parts

    /// A table or view being assembled, keyed by its oid while the queries run.
    struct Relation {
        var table: Table?
        var view: View?
    }

    /// Rows that are not part of an extension: `NOT EXISTS` over pg_depend's 'e' entries.
    private static func notExtensionMember(_ oid: String, catalog: String = "pg_class") -> String {
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '\(catalog)'::regclass AND e.objid = \(oid) AND e.deptype = 'e')"
    }

    static func readRelations(_ connection: Connection, _ filter: CatalogFilter) throws -> [UInt32: Relation] {
        let rows = try connection.query(
            """
            SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, d.description,
                   pg_get_expr(c.relpartbound, c.oid),
                   CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
                   (SELECT pn.nspname || '.' || pc.relname FROM pg_inherits i
                      JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                     WHERE i.inhrelid = c.oid AND c.relispartition),
                   CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
            WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND ($2::oid[] IS NULL OR c.oid = ANY($2::oid[]))
              AND \(Self.notExtensionMember("c.oid"))
            """, filter.parameters)
        var relations: [UInt32: Relation] = [:]
        relations.reserveCapacity(rows.count)
        for row in rows {
            let oid = try row.get(0, as: UInt32.self)
            let schema = try row.get(1, as: String.self)
            let name = try row.get(2, as: String.self)
            let kind = try row.get(3, as: String.self)
            let comment = try row.get(5, as: String?.self)
            switch kind {
            case "v", "m":
                relations[oid] = Relation(view: View(
                    schema: schema, name: name, materialized: kind == "m",
                    definition: try row.get(9, as: String?.self) ?? "", comment: comment))
            default:
                let persistence: Table.Persistence =
                    switch try row.get(4, as: String.self) {
                    case "u": .unlogged
                    case "t": .temporary
                    default: .permanent
                    }
                relations[oid] = Relation(table: Table(
                    schema: schema, name: name,
                    kind: kind == "p" ? .partitioned : kind == "f" ? .foreign : .ordinary,
                    persistence: persistence, comment: comment,
                    partitionOf: try row.get(8, as: String?.self),
                    partitionBound: try row.get(6, as: String?.self),
                    partitionKey: try row.get(7, as: String?.self)))
            }
        }
        return relations
    }

    static func readColumns(_ connection: Connection, _ filter: CatalogFilter) throws -> [UInt32: [Column]] {
        let rows = try connection.query(
            """
            SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
                   CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0
                        THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
                   d.description, a.attnum
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
            LEFT JOIN pg_collation co ON co.oid = a.attcollation
            LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
            LEFT JOIN pg_description d ON d.objoid = a.attrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
            WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND ($2::oid[] IS NULL OR c.oid = ANY($2::oid[]))
              AND a.attnum > 0 AND NOT a.attisdropped
            """, filter.parameters)
        // Put in attnum order here: the server would sort all rows of all tables to do it.
        var numbered: [UInt32: [(Int, Column)]] = [:]
        for row in rows {
            let oid = try row.get(0, as: UInt32.self)
            let expression = try row.get(4, as: String?.self)
            let generated = try row.get(6, as: String.self) == "s"
            let identity: Column.Identity? =
                switch try row.get(5, as: String.self) {
                case "a": .always
                case "d": .byDefault
                default: nil
                }
            let column = Column(
                name: try row.get(1), type: try row.get(2), notNull: try row.get(3),
                defaultExpression: generated ? nil : expression, identity: identity,
                generatedExpression: generated ? expression : nil,
                collation: try row.get(7, as: String?.self), comment: try row.get(8, as: String?.self))
            numbered[oid, default: []].append((try row.get(9, as: Int.self), column))
        }
        return numbered.mapValues { $0.sorted { $0.0 < $1.0 }.map(\.1) }
    }

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
            WHERE n.nspname = ANY($1) AND co.contype IN ('p', 'u', 'f', 'c', 'x') AND ($2::oid[] IS NULL OR co.conrelid = ANY($2::oid[]))
            """, filter.parameters)
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
            WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'm') AND ($2::oid[] IS NULL OR c.oid = ANY($2::oid[]))
            ORDER BY i.indexrelid, k.ord
            """, filter.parameters)
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
            WHERE n.nspname = ANY($1) AND NOT t.tgisinternal AND ($2::oid[] IS NULL OR c.oid = ANY($2::oid[]))
            """, filter.parameters)
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
            WHERE vn.nspname = ANY($1) AND vc.relkind IN ('v', 'm') AND ($2::oid[] IS NULL OR vc.oid = ANY($2::oid[]))
            """, filter.parameters)
        var dependencies: [UInt32: [String]] = [:]
        for row in rows {
            dependencies[try row.get(0, as: UInt32.self), default: []].append(try row.get(1))
        }
        return dependencies
    }

    // MARK: Types, sequences, extensions

    static func readSequences(_ connection: Connection, _ filter: CatalogFilter) throws -> [String: SequenceDefinition] {
        let rows = try connection.query(
            """
            SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
                   s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                   (SELECT tn.nspname || '.' || tc.relname || '.' || a.attname
                      FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
                      JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1)
            FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY($1) AND \(Self.notExtensionMember("c.oid"))
              AND ($2::oid[] IS NULL OR EXISTS (SELECT FROM pg_depend o WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid
                                               AND o.refclassid = 'pg_class'::regclass AND o.refobjid = ANY($2::oid[])))
            """, filter.parameters)
        var sequences: [String: SequenceDefinition] = [:]
        for row in rows {
            let sequence = SequenceDefinition(
                schema: try row.get(0), name: try row.get(1), type: try row.get(2), start: try row.get(3),
                increment: try row.get(4), minValue: try row.get(5), maxValue: try row.get(6),
                cache: try row.get(7), cycle: try row.get(8), ownedBy: try row.get(9, as: String?.self))
            sequences["\(sequence.schema).\(sequence.name)"] = sequence
        }
        return sequences
    }

    static func readEnums(_ connection: Connection, _ filter: CatalogFilter) throws -> [String: EnumType] {
        let rows = try connection.query(
            """
            SELECT n.nspname, t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
            FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = ANY($1) AND \(Self.notExtensionMember("t.oid", catalog: "pg_type"))
            GROUP BY n.nspname, t.typname
            """, [filter.namespaces])
        var enums: [String: EnumType] = [:]
        for row in rows {
            let type = EnumType(schema: try row.get(0), name: try row.get(1), labels: try row.get(2))
            enums["\(type.schema).\(type.name)"] = type
        }
        return enums
    }

    static func readDomains(_ connection: Connection, _ filter: CatalogFilter) throws -> [String: Domain] {
        let rows = try connection.query(
            """
            SELECT n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
                   coalesce((SELECT json_object_agg(co.conname, pg_get_constraintdef(co.oid, true))::text
                               FROM pg_constraint co WHERE co.contypid = t.oid), '{}')
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'd' AND n.nspname = ANY($1) AND \(Self.notExtensionMember("t.oid", catalog: "pg_type"))
            """, [filter.namespaces])
        var domains: [String: Domain] = [:]
        for row in rows {
            let checks = try JSONObjectText.strings(try row.get(5, as: String.self))
            let domain = Domain(
                schema: try row.get(0), name: try row.get(1), baseType: try row.get(2), notNull: try row.get(3),
                defaultExpression: try row.get(4, as: String?.self), checks: checks)
            domains["\(domain.schema).\(domain.name)"] = domain
        }
        return domains
    }

    static func readExtensions(_ connection: Connection, _ filter: CatalogFilter) throws -> [String: Extension] {
        let rows = try connection.query(
            """
            SELECT e.extname, e.extversion, n.nspname
            FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE n.nspname = ANY($1)
            """, [filter.namespaces])
        var extensions: [String: Extension] = [:]
        for row in rows {
            let found = Extension(name: try row.get(0), version: try row.get(1), schema: try row.get(2))
            extensions[found.name] = found
        }
        return extensions
    }
}

/// What a catalog read covers: schemas, and optionally only some relations of them.
struct CatalogFilter: Sendable {
    var namespaces: [String]
    /// Relation oids (as text); nil for every relation of the schemas.
    var relations: [String]?

    var parameters: [(any PostgresEncodable)?] { [namespaces, relations] }

    /// `tables` (those that exist) and, when `related`, the views that read them, the tables
    /// whose foreign keys reference them and the tables they reference: what a step about them
    /// needs to know to decide and to predict. nil `tables` is everything.
    static func scoped(_ namespaces: [String], tables: [ObjectName]?, related: Bool, on connection: Connection) throws -> CatalogFilter {
        guard let tables else { return CatalogFilter(namespaces: namespaces, relations: nil) }
        let names = tables.map { QualifiedName(schema: $0.schema, $0.name).quoted }
        let oids = try connection.query(
            """
            WITH base AS (SELECT to_regclass(t)::oid AS oid FROM unnest($1::text[]) t)
            SELECT oid::text FROM base WHERE oid IS NOT NULL
            UNION SELECT r.ev_class::text FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
             WHERE $2 AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid IN (SELECT oid FROM base)
            UNION SELECT conrelid::text FROM pg_constraint WHERE $2 AND contype = 'f' AND confrelid IN (SELECT oid FROM base)
            UNION SELECT confrelid::text FROM pg_constraint WHERE $2 AND contype = 'f' AND conrelid IN (SELECT oid FROM base)
            """, [names, related]
        ).map { try $0.get(0, as: String.self) }
        return CatalogFilter(namespaces: namespaces, relations: oids)
    }
}

/// Which schemas (namespaces) a snapshot covers.
public enum SchemaSelection: Sendable, Equatable {
    /// Every schema but the system ones and pgmend's journal.
    case allUserSchemas
    /// These schemas only; each must exist.
    case only([String])
}

/// Why the catalog could not be read as asked.
public enum CatalogError: Error, Sendable, CustomStringConvertible {
    case unknownSchemas([String], available: [String])

    public var description: String {
        switch self {
        case .unknownSchemas(let missing, let available):
            "no schema named \(missing.joined(separator: ", ")) (the database has: \(available.joined(separator: ", ")))"
        }
    }
}
