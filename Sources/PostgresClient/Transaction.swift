extension Connection {
    /// Transaction isolation levels, as `BEGIN ISOLATION LEVEL ...` spells them.
    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"

        var sql: SQL {
            switch self {
            case .readCommitted: " ISOLATION LEVEL READ COMMITTED"
            case .repeatableRead: " ISOLATION LEVEL REPEATABLE READ"
            case .serializable: " ISOLATION LEVEL SERIALIZABLE"
            }
        }
    }

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    ///
    /// Inside another transaction this becomes a savepoint, so a failing inner part rolls back
    /// alone; isolation and read-only apply only to the outermost level.
    public func transaction<T>(
        isolation: IsolationLevel? = nil, readOnly: Bool = false,
        _ body: (Connection) throws -> T
    ) throws -> T {
        if isInTransaction {
            savepointDepth += 1
            defer { savepointDepth -= 1 }
            let savepoint = SQLIdentifier("pgmend_savepoint_\(savepointDepth)")
            try execute("SAVEPOINT \(savepoint)")
            do {
                let value = try body(self)
                try execute("RELEASE SAVEPOINT \(savepoint)")
                return value
            } catch {
                if isOpen { _ = try? execute("ROLLBACK TO SAVEPOINT \(savepoint)") }
                throw error
            }
        }
        var begin: SQL = "BEGIN"
        if let isolation { begin += isolation.sql }
        if readOnly { begin += " READ ONLY" }
        try execute(begin)
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            if isOpen { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// `SET LOCAL name = value` for the current transaction.
    ///
    /// Sent as a `SET` statement with the name quoted and the value a literal, not as
    /// `SELECT set_config($1, $2, true)`: a SELECT (and any statement with bound parameters)
    /// takes the transaction's snapshot, and in a REPEATABLE READ transaction that must wait
    /// until `LOCK TABLE` is granted, or rows committed while the lock was awaited are
    /// invisible to what the transaction then decides. `SET` takes no snapshot.
    /// The value is one literal: for a list setting that quotes its items (`search_path`) it
    /// is one item.
    public func setLocal(_ name: String, _ value: String) throws {
        guard isInTransaction else {
            throw PostgresError(kind: .usage, message: "SET LOCAL \(name) outside a transaction would have no effect")
        }
        try execute("SET LOCAL \(ident: name) = \(literal: value)")
    }

    /// `SET name = value` for the rest of the session (a `SET` statement, as `setLocal`).
    public func setSession(_ name: String, _ value: String) throws {
        try execute("SET SESSION \(ident: name) = \(literal: value)")
    }

    /// `SET name = value` for the rest of the session, remembered so that connections opened
    /// from `recipe` (a backfill's workers, parallel catalog readers) start with it too:
    /// the settings every statement of a pgmend session relies on (its timeouts).
    /// Outside a transaction only: a SET inside one is undone by its rollback.
    public func pin(_ name: String, _ value: String) throws {
        guard !isInTransaction else {
            throw PostgresError(kind: .usage, message: "cannot pin \(name) inside a transaction: its rollback would undo it")
        }
        try setSession(name, value)
        pinned.removeAll { $0.name == name }
        pinned.append((name, value))
    }
}
