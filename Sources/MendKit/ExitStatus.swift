/// pgmend's exit codes. Scripts depend on them, so they never change meaning.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Done: the command did what was asked; a verification found no difference.
    case ok = 0
    /// Drift found, a verification failed, or a statement failed while running.
    case failed = 1
    /// Bad input: a plan, a snapshot file or command-line arguments that cannot be used.
    case badInput = 2
    /// Blocked: data problems stop a step before any change.
    case blocked = 3
    /// Could not connect to the database, or could not take its lock.
    case unreachable = 4
    /// Not confirmed: asked on a terminal whether to run, the operator said no; nothing changed.
    case declined = 5
}

/// The pgmend version, written into archives and snapshots.
public enum PgMendVersion {
    public static let string = "0.1.0"
}
