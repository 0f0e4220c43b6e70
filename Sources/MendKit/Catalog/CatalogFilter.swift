import PostgresClient
import SchemaModel

/// What a catalog read covers: schemas, and optionally only some relations of them.
struct CatalogFilter: Sendable {
    var namespaces: [String]
    /// Relation oids (as text); nil for every relation of the schemas.
    var relations: [String]?

    /// `tables` (those that exist) and, when `related`, the views that read them, the tables
    /// whose foreign keys reference them and the tables they reference: what a step about them
    /// needs to know to decide and to predict. nil `tables` is everything.
    static func scoped(_ namespaces: [String], tables: [ObjectName]?, related: Bool, on connection: Connection) throws -> CatalogFilter {
        guard let tables else { return CatalogFilter(namespaces: namespaces, relations: nil) }
        let names = tables.map { $0.sqlName.quoted }
        let oids = try connection.query(
            """
            WITH base AS (SELECT to_regclass(t)::oid AS oid FROM unnest(\(bind: names)::text[]) t)
            SELECT oid::text FROM base WHERE oid IS NOT NULL
            UNION SELECT r.ev_class::text FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
             WHERE \(bind: related) AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid IN (SELECT oid FROM base)
            UNION SELECT conrelid::text FROM pg_constraint WHERE \(bind: related) AND contype = 'f' AND confrelid IN (SELECT oid FROM base)
            UNION SELECT confrelid::text FROM pg_constraint WHERE \(bind: related) AND contype = 'f' AND conrelid IN (SELECT oid FROM base)
            """
        ).map { try $0.get(0, as: String.self) }
        return CatalogFilter(namespaces: namespaces, relations: oids)
    }
}
