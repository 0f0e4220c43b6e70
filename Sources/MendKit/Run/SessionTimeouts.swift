import PostgresClient
import SchemaModel

/// The timeouts every statement of a pgmend session runs under, pinned on the session (and on
/// every connection opened from its recipe) before anything is read.
///
/// Without them a read inherits whatever the role or database says: no `lock_timeout` at all,
/// so an assessment or a snapshot waits behind an application's ACCESS EXCLUSIVE lock for as
/// long as it is held (24.5 s for a dry run whose plan said 1 s), and a role's short
/// `statement_timeout` (200 ms) cancels the one long read a backfill's proof needs after
/// every batch has committed. pgmend's statements run under the plan's settings (or, for a
/// command without a plan, its options), never the role's; effects that lock tables set the
/// same values again with `SET LOCAL`.
public struct SessionTimeouts: Sendable, Equatable {
    /// `lock_timeout` in milliseconds: never 0 (a read that waits for a lock fails after it).
    public var lockTimeout: Int
    /// `statement_timeout` in milliseconds; 0: none.
    public var statementTimeout: Int
    /// Where they come from, for the message when one of them cancels a statement:
    /// "the plan's settings", "--lock-timeout".
    public var source: String

    public init(lockTimeout: Int, statementTimeout: Int, source: String) {
        self.lockTimeout = lockTimeout
        self.statementTimeout = statementTimeout
        self.source = source
    }

    /// A plan's: its `lock_timeout` and `statement_timeout`.
    public init(_ settings: PlanSettings) {
        self.init(lockTimeout: settings.lockTimeout, statementTimeout: settings.statementTimeout, source: "the plan's settings")
    }

    /// For a command without a plan: the plan defaults (`lock_timeout` 2s, no statement timeout).
    public static let commandDefaults = SessionTimeouts(PlanSettings())

    /// `text` as a lock timeout in milliseconds (`500ms`, `2s`, `1min`), nil when it is no
    /// duration or 0 (a read must not wait without a limit).
    public static func lockTimeout(_ text: String) -> Int? {
        PlanDuration.milliseconds(text).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Sets both for the rest of the session. Outside a transaction only (see `Connection.pin`);
    /// inside one (a rehearsal's) the session already has them.
    public func pin(on connection: Connection) throws {
        guard !connection.isInTransaction else { return }
        try connection.pin("lock_timeout", "\(lockTimeout)ms")
        try connection.pin("statement_timeout", "\(statementTimeout)ms")
    }

    /// What a timeout that canceled a statement was, as the end of a sentence: "it ran past
    /// statement_timeout 200ms (the plan's settings)"; nil for any other error.
    public func explanation(of error: PostgresError) -> String? {
        guard let state = error.sqlState else { return nil }
        if state == .queryCanceled && error.message.contains("statement timeout") {
            let limit = statementTimeout > 0 ? PlanDuration.text(milliseconds: statementTimeout) : "set elsewhere"
            return "it ran past statement_timeout \(limit) (\(source))"
        }
        if state == .lockNotAvailable {
            return "it waited lock_timeout \(PlanDuration.text(milliseconds: lockTimeout)) for a lock (\(source))"
        }
        return nil
    }
}

/// A read (a catalog read, an assessment, a snapshot) that waited `lock_timeout` for a table's
/// lock and gave up: which tables other sessions held or were queued for, and by whom.
public struct LockWaitTimedOut: Error, Sendable, CustomStringConvertible {
    /// What pgmend was doing: "reading the catalog", "assessing step 2 (backfill)".
    public var what: String
    public var timeout: Int
    public var source: String
    /// One line per session in the way: the table, pid, application, mode, state, query.
    public var holders: [String]

    public var description: String {
        let who = holders.isEmpty
            ? "no session holds or awaits an ACCESS EXCLUSIVE lock now (it may have ended)"
            : holders.joined(separator: "; ")
        return "\(what): waited lock_timeout \(PlanDuration.text(milliseconds: timeout)) (\(source)) for a table's lock and gave up: \(who)"
    }

    /// The sessions that hold, or wait ahead of pgmend for, ACCESS EXCLUSIVE on `tables` (nil:
    /// any table of this database); when none is on `tables`, any table's are named: the read
    /// may have waited for a related one (a catalog function locks the tables it describes).
    public static func holders(on connection: Connection, tables: [ObjectName]?) throws -> [String] {
        let found = try lockHolders(of: tables, accessExclusiveOnly: true, on: connection)
        return found.isEmpty && tables != nil ? try lockHolders(of: nil, accessExclusiveOnly: true, on: connection) : found
    }

    /// Runs `body`; a lock it waited for in vain becomes this error, naming who is in the way.
    public static func naming<T>(
        _ what: String, tables: [ObjectName]?, timeouts: SessionTimeouts, on connection: Connection, _ body: () throws -> T
    ) throws -> T {
        do {
            return try body()
        } catch let error where isLockTimeout(error) {
            let holders = (try? holders(on: connection, tables: tables)) ?? []
            throw LockWaitTimedOut(what: what, timeout: timeouts.lockTimeout, source: timeouts.source, holders: holders)
        } catch let error as PostgresError where error.sqlState == .queryCanceled {
            guard let why = timeouts.explanation(of: error) else { throw error }
            throw StatementTimedOut(what: what, explanation: why)
        }
    }

    /// A lock not granted within `lock_timeout`, raised by the server directly or through plan
    /// text it evaluated.
    public static func isLockTimeout(_ error: Error) -> Bool {
        let server = (error as? PlanTextRefused)?.error ?? (error as? PostgresError)
        return server?.sqlState == .lockNotAvailable
    }
}

/// A read pgmend made (not plan text) that `statement_timeout` canceled: said as a timeout,
/// with the setting that caused it.
public struct StatementTimedOut: Error, Sendable, CustomStringConvertible {
    public var what: String
    /// "it ran past statement_timeout 200ms (the plan's settings)".
    public var explanation: String
    public var description: String { "\(what) was canceled: \(explanation)" }
}
