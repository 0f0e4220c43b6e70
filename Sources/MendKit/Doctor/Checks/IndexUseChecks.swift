import SchemaModel

extension IndexChecks {
    /// Statistics younger than this say nothing about an index no query used.
    static let unusedAfterDays = 7.0

    /// `unused_index`: no scan since statistics began (`pg_stat_user_indexes.idx_scan = 0`),
    /// when they began at least `unusedAfterDays` ago (`stats_reset`, or the server's start when
    /// never reset). What enforces a rule (unique, a constraint) is never unused, nor an index
    /// already reported as duplicate, redundant or invalid. Counts are this server's: a query
    /// that runs only on a standby is not seen on the primary.
    static func unused(_ context: DoctorContext, _ usage: IndexUsage, reported: Set<String>, statisticsAgeDays: Double) -> [Finding] {
        guard statisticsAgeDays >= unusedAfterDays else { return [] }
        let days = Int64(statisticsAgeDays.rounded(.down))
        return context.tables.filter { $0.partitionOf == nil }.flatMap { table in
            table.indexes.values.sorted { $0.name < $1.name }.compactMap { index -> Finding? in
                let key = table.objectName.key + "." + index.name
                guard index.valid, !index.unique, !index.primary, index.constraint == nil, !reported.contains(key), usage.scans[key] == 0 else { return nil }
                let name = ObjectName(schema: table.schema, name: index.name).description
                let facts = context.facts(table)
                return Finding(
                    .unusedIndex, .info, objects: [name], table: table.objectName.description,
                    summary: "\(name) on \(table.objectName) has not been scanned in \(days) days of statistics; writes still maintain it",
                    evidence: [
                        EvidenceItem("scans", .int(0)), EvidenceItem("statistics_days", .int(days)),
                        EvidenceItem("size", .text(usage.sizes[key] ?? "unknown")), EvidenceItem("table_writes", .int(facts.writes)),
                        EvidenceItem("definition", .text(index.definition)),
                    ],
                    repair: nil)
            }
        }
    }

    /// `btree_index_on_array`: a btree index with an array column among its keys. It serves
    /// only whole-array equality and order, not `@>`, `&&` or `= ANY` (a GIN index does), and
    /// a long array overflows the btree's row size and fails its insert.
    static func btreeOnArrays(_ context: DoctorContext) -> [Finding] {
        context.tables.filter { $0.partitionOf == nil }.flatMap { table in
            let arrays = Set(table.columns.filter { $0.type.hasSuffix("[]") }.map(\.name))
            return table.indexes.values.sorted { $0.name < $1.name }.compactMap { index -> Finding? in
                let columns = index.keys.filter { $0.isColumn && arrays.contains($0.expression) }.map(\.expression)
                guard index.method == "btree", !columns.isEmpty else { return nil }
                let name = ObjectName(schema: table.schema, name: index.name).description
                return Finding(
                    .btreeIndexOnArray, .warning, objects: [name], table: table.objectName.description,
                    summary: "\(name) is a btree index on the array column \(columns.joined(separator: ", ")) of \(table.objectName): "
                        + "it serves no containment or overlap query (GIN does), and a long array fails the insert",
                    evidence: [EvidenceItem("columns", .list(columns)), EvidenceItem("definition", .text(index.definition))], repair: nil)
            }
        }
    }
}
