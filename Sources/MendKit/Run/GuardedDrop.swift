import PostgresClient
import SchemaModel

/// The DROPs that decide under the table's lock whether they may go ahead, in the transaction
/// that drops: what an assessment saw a moment earlier is no longer the table once the
/// application has written to it while pgmend waited.
///
/// Each one sends `LOCK TABLE` as the first statement that reads anything, so the check that
/// follows runs on a snapshot taken after every writer that held the table has committed (or
/// rolled back). Nothing before the lock may take a snapshot: in a REPEATABLE READ transaction
/// the first snapshot is the one every later statement sees (`Connection.setLocal` sends a
/// plain `SET` for that reason).
enum GuardedDrop {
    /// Drops `table` only if it holds no row under an ACCESS EXCLUSIVE lock.
    static func dropIfEmpty(_ table: ObjectName, on connection: Connection) throws {
        let quoted = QualifiedName(schema: table.schema, table.name).quoted
        try connection.execute("LOCK TABLE \(quoted) IN ACCESS EXCLUSIVE MODE")
        let rows = try connection.scalar("SELECT count(*) FROM ONLY \(quoted)", as: Int64.self) ?? 0
        guard rows == 0 else {
            throw ChangedUnderLock(table: table, change: "it was empty when assessed and holds \(rows) row\(rows == 1 ? "" : "s") now")
        }
        try connection.execute("DROP TABLE \(quoted)")
    }

    /// Drops `table` only if its content, under a SHARE lock (writes wait, reads go on), is
    /// exactly the archive's: same row count, same fingerprint, and the archive files intact.
    /// The caller's transaction must be REPEATABLE READ, so the fingerprint and the DROP see
    /// the same rows.
    static func dropIfMatching(_ table: ObjectName, archiveAt directory: String, on connection: Connection) throws {
        let manifest = try ArchiveManifest.read(directory)
        let quoted = QualifiedName(schema: table.schema, table.name).quoted
        try connection.execute("LOCK TABLE \(quoted) IN SHARE MODE")
        try DataStatistics.pinTextSettings(connection)
        let now = try DataStatistics(connection: connection).fingerprint(QualifiedName(schema: table.schema, table.name))
        guard now.rows == manifest.rows, now.fingerprint == manifest.fingerprint else {
            let counts = now.rows == manifest.rows ? "the same \(now.rows) rows with other content" : "\(manifest.rows) rows then, \(now.rows) now"
            throw ChangedUnderLock(table: table, change: "it no longer matches the archive \(directory) (\(counts))")
        }
        try ArchiveVerifier.verify(directory: directory, against: manifest)
        try connection.execute("DROP TABLE \(quoted)")
    }
}

/// A table that the application changed between the assessment and the lock: the DROP did
/// not happen. The next run assesses it afresh (archive it again, or find it not empty).
public struct ChangedUnderLock: Error, Sendable, CustomStringConvertible {
    public var table: ObjectName
    public var change: String

    public var description: String {
        "\(table) changed while pgmend waited for its lock: \(change); nothing was dropped, and the next run assesses it again"
    }
}
