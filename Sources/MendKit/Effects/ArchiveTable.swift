import PostgresClient
import SchemaModel

/// Writes a verified archive of a table and, when `drop`, drops it: in one REPEATABLE READ
/// transaction whose first reading statement is `LOCK TABLE ... IN SHARE MODE`, held from the
/// first row read to the DROP (`ArchiveWriter`).
public struct ArchiveTable: Effect {
    public var table: ObjectName
    public var folder: String
    public var drop: Bool
    /// Where the archive will go, for people: `<folder>/<database>/<table>-<UTC time>/`.
    public var target: String

    public init(_ table: ObjectName, folder: String, drop: Bool, target: String) {
        self.table = table
        self.folder = folder
        self.drop = drop
        self.target = target
    }

    public var summary: String { drop ? "archive \(table) to \(target), verify, drop" : "archive \(table) to \(target), verify" }
    public var sql: String {
        // The statements the archive writer sends, each with what it does beyond its text.
        let name = table.sqlName
        var lines = [
            ("LOCK TABLE \(name) IN SHARE MODE;" as SQL).description + "  -- in one REPEATABLE READ transaction",
            ("COPY \(name) TO STDOUT" as SQL).description
                + "  -- to \(target)data.copy.gz, with schema.sql and manifest.json, read back and checked",
        ]
        if drop { lines.append(("DROP TABLE \(name)" as SQL).description) }
        return lines.joined(separator: "\n")
    }
    public var lock: LockLevel { drop ? .accessExclusive : .share }
    public var lockTarget: ObjectName? { table }
    /// It writes the archive later steps (a `drop_table`) may look for.
    public var touches: [ObjectName] { [table] }
    public var hazards: [Hazard] { drop ? [.accessExclusiveLock, .deletesData, .fullTableScan] : [.fullTableScan] }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        // A rehearsal proves the archive can be written, to a folder removed at its end.
        let store = ArchiveStore(directory: context.archiveDirectory(folder))
        // Its `inside` fault point: the files written, not yet read back nor renamed.
        return try context.inTransaction(isolation: .repeatableRead, faultInside: false) { connection in
            var writer = ArchiveWriter(connection: connection, store: store, progress: context.progress, parallel: !context.rehearsal)
            writer.afterWrite = { _ in context.fault(.inside) }
            let outcome = try writer.archive(table, drop: drop)
            // The folder by its real name (the plan showed `<UTC time>`); a rehearsal's is gone.
            return EffectOutcome(
                rowsAffected: Int(outcome.manifest.rows),
                note: context.rehearsal ? "archive written, read back and removed (rehearsal)" : "archived to \(outcome.directory)")
        }
    }
}
