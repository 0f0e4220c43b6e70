import SchemaModel

/// A table that the application changed between the assessment and the lock: the DROP did
/// not happen. The next run assesses it afresh (archive it again, or find it not empty).
///
/// The effects that drop (`ArchiveTable`, `DropAgainstArchive`, `DropIfEmpty`) decide under the
/// table's lock, in the transaction that drops: what an assessment saw a moment earlier is no
/// longer the table once the application has written to it while pgmend waited. Each sends
/// `LOCK TABLE` as the first statement that reads anything, so the check that follows runs on
/// a snapshot taken after every writer that held the table has committed or rolled back.
/// Nothing before the lock may take a snapshot: in a REPEATABLE READ transaction the first
/// snapshot is the one every later statement sees (`Connection.setLocal` sends a plain `SET`).
public struct ChangedUnderLock: Error, Sendable, CustomStringConvertible {
    public var table: ObjectName
    public var change: String
    /// What did not happen because of it.
    public var outcome = "nothing was dropped"

    public var description: String {
        "\(table) changed while pgmend waited for its lock: \(change); \(outcome), and the next run assesses it again"
    }
}
