import PostgresClient

/// A session that cannot create a temporary table: a hot standby, a read-only transaction
/// (`default_transaction_read_only`, for a role or in the connection's options), or a role
/// without the TEMPORARY privilege. Found once per dry run; it collects what each step's
/// assessment could only approximate, for the runner to put in that step's report.
public final class ReadOnlySession {
    /// Why, as the end of "this session is ...": `a hot standby (in recovery)`.
    public let reason: String
    private var notes: [String] = []

    init(reason: String) {
        self.reason = reason
    }

    /// The session's read-only state, or nil when it can create a temporary table. Run
    /// outside a transaction: `transaction_read_only` then says what a new one would be.
    public static func detect(_ connection: Connection) throws -> ReadOnlySession? {
        let reason = try connection.scalar(
            """
            SELECT CASE WHEN pg_is_in_recovery() THEN 'a hot standby (in recovery)'
                        WHEN current_setting('transaction_read_only') = 'on' THEN 'read-only (default_transaction_read_only is on)'
                        WHEN NOT has_database_privilege(current_database(), 'TEMPORARY') THEN 'without the TEMPORARY privilege on this database'
                   END
            """, as: String.self)
        return reason.map(ReadOnlySession.init(reason:))
    }

    func note(_ text: String) {
        if !notes.contains(text) { notes.append(text) }
    }

    /// The notes of the assessment just made, forgotten here so the next step starts afresh.
    func takeNotes() -> [String] {
        defer { notes = [] }
        return notes
    }
}
