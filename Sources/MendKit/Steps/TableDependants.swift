import PostgresClient
import SchemaModel

/// What would stop a table from being dropped: views that read it and foreign keys from other
/// tables that reference it. Listed by name, so the operator knows what to change first.
enum TableDependants {
    static func problems(of table: ObjectName, in schema: Schema) -> [StepProblem] {
        var problems: [StepProblem] = []
        let views = schema.views.values
            .filter { view in view.dependsOn.contains { $0.hasPrefix(table.key + ".") } }
            .map { ObjectName(schema: $0.schema, name: $0.name).description }.sorted()
        if !views.isEmpty {
            problems.append(StepProblem("views read \(table): \(views.joined(separator: ", "))", table: table))
        }
        let foreignKeys = schema.tables.values
            .filter { $0.objectName != table }
            .flatMap { other in
                other.constraints.values
                    .filter { $0.foreignKey?.referencedTable == table.key }
                    .map { "\(other.objectName).\($0.name)" }
            }
            .sorted()
        if !foreignKeys.isEmpty {
            problems.append(StepProblem("foreign keys reference \(table): \(foreignKeys.joined(separator: ", "))", table: table))
        }
        return problems
    }

    /// The schema without the table and the sequences it owns.
    static func dropping(_ table: ObjectName, from schema: Schema) -> Schema {
        var after = schema
        after.tables[table.key] = nil
        for (key, sequence) in schema.sequences where sequence.ownedBy?.hasPrefix(table.key + ".") == true {
            after.sequences[key] = nil
        }
        return after
    }

    /// The newest intact archive whose rows and fingerprint are the table's live content.
    static func matchingArchive(of table: ObjectName, in store: ArchiveStore, probe: Probe) throws -> ArchiveStore.Entry? {
        let archives = store.archives(of: table, database: probe.connection.database)
        guard !archives.isEmpty else { return nil }
        let live = try probe.liveFingerprint(table)
        return archives.first { $0.manifest?.rows == live.rows && $0.manifest?.fingerprint == live.fingerprint }
    }
}
