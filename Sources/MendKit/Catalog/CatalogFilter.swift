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
        try prepareScoped(connection)
        let oids = try connection.queryPrepared(
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

    /// Readies a session for this read's queries (in its transaction): see `run`.
    func prepare(_ connection: Connection) throws {
        if relations != nil { try Self.prepareScoped(connection) }
    }

    private static func prepareScoped(_ connection: Connection) throws {
        try connection.forgetDeallocatedStatements()
        try connection.setLocal("plan_cache_mode", "force_generic_plan")
    }

    /// Runs one of the read's queries.
    ///
    /// A scoped read's run as prepared statements with generic plans: a run reads the scope
    /// of its steps three times or more on one connection (the dry run, each step's
    /// assessment, each step's check), and on the demo database planning was two thirds of
    /// each read (1 to 4 ms a query at bind, against 0.1 to 2 ms of execution); the plans,
    /// index lookups of the few relations named, are the same whatever the values. A whole
    /// read's are planned for their values each time: on 8,000 tables generic plans made a
    /// snapshot 18% slower (2.6 to 3.3 s against 2.2 to 2.7 s), and planning is a small
    /// part of a read that size.
    func run(_ sql: SQL, on connection: Connection) throws -> QueryResult {
        relations == nil ? try connection.query(sql) : try connection.queryPrepared(sql)
    }

    /// The condition that the relation `oid` (a column of the query) is one of those read.
    ///
    /// A whole read and a scoped one are two statements, not one with `$n IS NULL OR ...`:
    /// a generic plan (`run`) for the combined condition cannot use the relations' indexes:
    /// on 8,000 tables a scoped read of the index query took 8 ms instead of 0.3 ms.
    func covers(_ oid: SQL) -> SQL {
        guard let relations else { return "true" }
        return "\(oid) = ANY(\(bind: relations)::oid[])"
    }

    /// The condition that the sequence `oid` depends on one of the relations read: owned by
    /// one of their columns (`OWNED BY`, `serial`, identity).
    func coversOwnerOf(_ oid: SQL) -> SQL {
        guard let relations else { return "true" }
        return """
            EXISTS (SELECT FROM pg_depend o WHERE o.classid = 'pg_class'::regclass AND o.objid = \(oid)
                       AND o.refclassid = 'pg_class'::regclass AND o.refobjid = ANY(\(bind: relations)::oid[]))
            """
    }
}
