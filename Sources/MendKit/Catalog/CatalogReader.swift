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
    /// and what a step needs to know about them (see `CatalogFilter.scoped`). With `parallel`,
    /// over two connections (see `readSchemaInCurrentTransaction`).
    public func readSchema(
        _ selection: SchemaSelection = .allUserSchemas, tables: [ObjectName]? = nil, related: Bool = true, parallel: Bool = false
    ) throws -> Schema {
        try connection.transaction(isolation: .repeatableRead, readOnly: true) { _ in
            try readSchemaInCurrentTransaction(selection, parallel: parallel, tables: tables, related: related)
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
                try filter.prepare(sibling)
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

    /// Session settings for reading: names printed the same way for everyone, room to sort
    /// and hash a large catalog in memory, and no parallel workers: the deparsing functions
    /// that are most of each query's time are parallel restricted, so they run in the leader
    /// anyway, and workers would only start up and take cores from the other connection.
    static func prepare(_ connection: Connection) throws {
        try connection.setLocal("search_path", "pg_catalog")
        try connection.setLocal("work_mem", "64MB")
        try connection.setLocal("max_parallel_workers_per_gather", "0")
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

    /// The half a helper connection can read: columns, constraints (whose columns are named
    /// from the columns), view dependencies.
    static func readHelperParts(_ connection: Connection, _ filter: CatalogFilter) throws -> RelationParts {
        var parts = RelationParts()
        let names: AttributeNames
        (parts.columns, names) = try readColumns(connection, filter)
        parts.constraints = try readConstraints(connection, filter, names: names)
        parts.viewDependencies = try readViewDependencies(connection, filter)
        return parts
    }

    /// The user schemas present, or the selected ones after checking that they exist.
    public func resolveNamespaces(_ selection: SchemaSelection) throws -> [String] {
        let rows = try connection.query(
            """
            SELECT nspname FROM pg_namespace
            WHERE nspname NOT IN ('information_schema', \(bind: Self.journalSchema)) AND nspname NOT LIKE 'pg\\_%'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                              AND d.objid = pg_namespace.oid AND d.deptype = 'e')
            ORDER BY nspname
            """)
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
    static func notExtensionMember(_ oid: SQL, catalog: String = "pg_class") -> SQL {
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = \(literal: catalog)::regclass AND e.objid = \(oid) AND e.deptype = 'e')"
    }

    static func readRelations(_ connection: Connection, _ filter: CatalogFilter) throws -> [UInt32: Relation] {
        let rows = try filter.run(
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
            WHERE n.nspname = ANY(\(bind: filter.namespaces)) AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND \(filter.covers("c.oid"))
              AND \(Self.notExtensionMember("c.oid"))
            """, on: connection)
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

    /// Columns by relation oid, in attnum order, and their names by attnum.
    static func readColumns(_ connection: Connection, _ filter: CatalogFilter) throws -> ([UInt32: [Column]], AttributeNames) {
        let rows = try filter.run(
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
            WHERE n.nspname = ANY(\(bind: filter.namespaces)) AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND \(filter.covers("c.oid"))
              AND a.attnum > 0 AND NOT a.attisdropped
            """, on: connection)
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
        let names = numbered.mapValues { Dictionary($0.map { ($0.0, $0.1.name) }, uniquingKeysWith: { first, _ in first }) }
        return (numbered.mapValues { $0.sorted { $0.0 < $1.0 }.map(\.1) }, names)
    }
}

/// Column names by relation oid and attnum.
typealias AttributeNames = [UInt32: [Int: String]]

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
