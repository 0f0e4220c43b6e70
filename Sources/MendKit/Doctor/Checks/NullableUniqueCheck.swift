import PostgresClient
import SchemaModel

/// `nullable_unique_duplicates`: a unique index or constraint of several columns, some of them
/// nullable, that does not hold as the application reads it. PostgreSQL treats NULLs as
/// distinct (unless `NULLS NOT DISTINCT`, PostgreSQL 15), so `(user_id, provider, deleted_at)`
/// lets in any number of equal rows whose `deleted_at` is NULL. Found by reading the rows
/// with a NULL key column, grouped by every key column (where NULLs are equal).
enum NullableUniqueCheck: DoctorCheck {
    static let classes: [FindingClass] = [.nullableUniqueDuplicates]
    /// Rows named as examples.
    static let sampleRows = 10

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        let distinctNulls = try context.connection.query(
            """
            SELECT n.nspname || '.' || c.relname || '.' || ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE i.indisunique AND NOT i.indnullsnotdistinct AND n.nspname = ANY(\(bind: context.schema.namespaces)::text[])
            """
        ).map { try $0.get(0, as: String.self) }
        var found: [Finding] = []
        for table in context.tables where table.partitionOf == nil && table.kind != .foreign && context.mayHoldRows(table) {
            for index in candidates(table, context, Set(distinctNulls)) {
                if let finding = try duplicates(index, table, context) { found.append(finding) }
            }
        }
        return found
    }

    /// Valid unique indexes of plain columns, more than one, some nullable, NULLS DISTINCT, where
    /// the statistics do not rule NULLs out (none analysed, or a NULL fraction above zero).
    static func candidates(_ table: Table, _ context: DoctorContext, _ distinctNulls: Set<String>) -> [Index] {
        let nullable = Set(table.columns.filter { !$0.notNull }.map(\.name))
        return table.indexes.values.sorted { $0.name < $1.name }.filter { index in
            let columns = index.keys.map(\.expression)
            guard index.unique, index.valid, index.keys.count > 1, index.keys.allSatisfy(\.isColumn),
                distinctNulls.contains(table.objectName.key + "." + index.name)
            else { return false }
            let open = columns.filter { nullable.contains($0) }
            return !open.isEmpty && open.contains { context.stats(table, $0).map { $0.nullFraction > 0 } ?? true }
        }
    }

    static func duplicates(_ index: Index, _ table: Table, _ context: DoctorContext) throws -> Finding? {
        let nullable = Set(table.columns.filter { !$0.notNull }.map(\.name))
        let columns = index.keys.map(\.expression)
        let open = columns.filter { nullable.contains($0) }
        let read = context.read(table)
        let key = context.rowKey(table)
        let keys: [SQL] = columns.map { "\(ident: $0)" }
        let anyNull: [SQL] = open.map { "\(ident: $0) IS NULL" }
        var condition: SQL = "(\(anyNull, separator: " OR "))"
        if let predicate = index.predicate { condition += " AND (\(SQL.catalogText(predicate)))" }
        let query: SQL = """
            WITH d AS (SELECT \(key.text()) AS key, \(key.order()) AS o, count(*) OVER (PARTITION BY \(keys)) AS n,
                              row_number() OVER (PARTITION BY \(keys)) AS r
                       FROM \(read.from) WHERE \(condition))
            SELECT (SELECT count(*) FROM d WHERE n > 1 AND r = 1), (SELECT count(*) FROM d WHERE n > 1),
                   ARRAY(SELECT key FROM d WHERE n > 1 ORDER BY o LIMIT \(literal: sampleRows))::text[]
            """
        guard let row = try context.measure("nullable_unique_duplicates \(index.name)", { try context.connection.query(query).first }), let row else {
            return nil
        }
        let groups = try row.get(0, as: Int64.self)
        guard groups > 0 else { return nil }
        let subject = index.constraint.map { ObjectName(schema: table.schema, name: "\(table.name).\($0)").description }
            ?? ObjectName(schema: table.schema, name: index.name).description
        return Finding(
            .nullableUniqueDuplicates, .error, objects: [subject], table: table.objectName.description,
            summary: "\(subject) (\(columns.joined(separator: ", "))) lets in \(groups) groups of equal rows whose \(open.joined(separator: " or ")) is NULL: "
                + "NULLs are distinct to it; once they are gone, UNIQUE NULLS NOT DISTINCT (PostgreSQL 15) enforces what the application assumes",
            evidence: [
                EvidenceItem("groups", .int(groups)), EvidenceItem("rows", .int(try row.get(1, as: Int64.self))),
                EvidenceItem("columns", .list(columns)), EvidenceItem("nullable", .list(open)), EvidenceItem("index", .text(index.name)),
                EvidenceItem("row_key", .text(key.description)),
            ],
            rows: try row.get(2, as: [String].self), sample: read.sample, repair: nil)
    }
}
