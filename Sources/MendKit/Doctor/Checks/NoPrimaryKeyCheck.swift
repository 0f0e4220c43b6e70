import SchemaModel

/// `no_primary_key`: a table without a primary key. Logical replication cannot replicate its
/// updates and deletes, and no row of it can be named (pgmend names them by `ctid`). A unique
/// index over NOT NULL columns that could become the key is named.
enum NoPrimaryKeyCheck: DoctorCheck {
    static let classes: [FindingClass] = [.noPrimaryKey]

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        context.tables.filter { $0.primaryKey == nil && $0.kind != .foreign && $0.partitionOf == nil }.map { table in
            let facts = context.facts(table)
            let notNull = Set(table.columns.filter(\.notNull).map(\.name))
            let candidates = table.indexes.values
                .filter { $0.unique && $0.valid && $0.predicate == nil && $0.keys.allSatisfy { $0.isColumn && notNull.contains($0.expression) } }
                .map(\.name).sorted()
            var evidence = [EvidenceItem("estimated_rows", .int(max(facts.estimatedRows, 0))), EvidenceItem("size", .text(ByteSize.text(facts.totalBytes)))]
            if !candidates.isEmpty { evidence.append(EvidenceItem("could_be_the_key", .list(candidates))) }
            return Finding(
                .noPrimaryKey, .warning, objects: [table.objectName.description], table: table.objectName.description,
                summary: "\(table.objectName) has no primary key: its rows cannot be named, nor their updates replicated logically",
                evidence: evidence, repair: nil)
        }
    }
}
