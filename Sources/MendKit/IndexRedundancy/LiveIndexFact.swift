import PostgresClient
import SchemaModel

/// What the schema model does not hold about an index and the keep order needs: its OID (age),
/// whether it is the replica identity or the clustered index, its size, and whether its name
/// matches `prefer`. Keyed by `schema.table.index`.
struct LiveIndexFact {
    var oid: Int64
    var replicaIdentity: Bool
    var clustered: Bool
    /// A foreign key of another table checks against it (a unique index that is no constraint):
    /// DROP INDEX would refuse.
    var usedByForeignKey: Bool
    var bytes: Int64
    var size: String
    var preferred: Bool
    /// `UNIQUE NULLS NOT DISTINCT`: at most one row whose keys are all NULL.
    var nullsNotDistinct: Bool = false
    /// False for a `DEFERRABLE` unique or exclusion constraint's index: checked at the end of
    /// the statement or transaction, never a foreign key's target.
    var immediate: Bool = true
    /// `indcollation` and `indclass` of the key columns, as OIDs: compared as stored, so a
    /// collation or operator class the catalog reader prints as the default (an explicit
    /// `COLLATE "default"` on a column of another collation) still tells two indexes apart.
    var collations: [String] = []
    var operatorClasses: [String] = []

    /// The tables are matched through a subquery, which the planner hashes: `= ANY(array)`
    /// compared every index's table with each of 2,000 names in turn.
    static func read(_ tables: [ObjectName], prefer: String?, _ probe: Probe) throws -> [String: LiveIndexFact] {
        guard !tables.isEmpty else { return [:] }
        var facts: [String: LiveIndexFact] = [:]
        for row in try probe.query(
            """
            SELECT n.nspname || '.' || c.relname || '.' || ic.relname, i.indexrelid::int8, i.indisreplident, i.indisclustered,
                   EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid),
                   pg_relation_size(i.indexrelid), pg_size_pretty(pg_relation_size(i.indexrelid)), coalesce(ic.relname LIKE \(bind: prefer), false),
                   i.indnullsnotdistinct, i.indimmediate, i.indcollation::text, i.indclass::text
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname || '.' || c.relname IN (SELECT unnest(\(bind: tables.map(\.key))::text[]))
            """)
        {
            facts[try row.get(0, as: String.self)] = LiveIndexFact(
                oid: try row.get(1), replicaIdentity: try row.get(2), clustered: try row.get(3), usedByForeignKey: try row.get(4), bytes: try row.get(5),
                size: try row.get(6), preferred: try row.get(7), nullsNotDistinct: try row.get(8), immediate: try row.get(9),
                collations: try row.get(10, as: String.self).split(separator: " ").map(String.init),
                operatorClasses: try row.get(11, as: String.self).split(separator: " ").map(String.init))
        }
        return facts
    }
}
