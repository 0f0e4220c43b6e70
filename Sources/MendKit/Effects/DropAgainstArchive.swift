import PostgresClient
import SchemaModel

/// Drops a table whose content matched an intact archive when assessed (a `drop_table` of an
/// archived table, or a run that archived and stopped before its DROP), only if it still does
/// under a SHARE lock (writes wait, reads go on) taken first in the dropping REPEATABLE READ
/// transaction: same row count, same fingerprint, archive files intact. Otherwise nothing is
/// dropped (`ChangedUnderLock`).
public struct DropAgainstArchive: Effect {
    public var table: ObjectName
    public var archive: String
    public var summary: String

    public init(_ table: ObjectName, archive: String, summary: String) {
        self.table = table
        self.archive = archive
        self.summary = summary
    }

    var name: QualifiedName { table.sqlName }
    var dropStatement: SQL { "DROP TABLE \(name)" }
    public var sql: String { "-- checked again under a SHARE lock against \(archive)/manifest.json\n\(dropStatement)" }
    public var lock: LockLevel { .accessExclusive }
    public var lockTarget: ObjectName? { table }
    public var hazards: [Hazard] { [.accessExclusiveLock, .deletesData] }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        try context.inTransaction(isolation: .repeatableRead) { connection in
            let manifest = try ArchiveManifest.read(archive)
            try connection.execute("LOCK TABLE \(name) IN SHARE MODE" as SQL)
            try DataStatistics.pinTextSettings(connection)
            let now = try DataStatistics(connection: connection).fingerprint(name, rowText: manifest.rowText)
            guard now.rows == manifest.rows, now.fingerprint == manifest.fingerprint else {
                let counts = now.rows == manifest.rows ? "the same \(now.rows) rows with other content" : "\(manifest.rows) rows then, \(now.rows) now"
                throw ChangedUnderLock(table: table, change: "it no longer matches the archive \(archive) (\(counts))")
            }
            try ArchiveVerifier.verify(directory: archive, against: manifest)
            try connection.execute(dropStatement)
            return EffectOutcome(rowsAffected: Int(now.rows))
        }
    }
}
