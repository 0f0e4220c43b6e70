extension Connection {
    /// Transaction isolation levels, as `BEGIN ISOLATION LEVEL ...` spells them.
    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
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
            let savepoint = SQLIdentifier("pgmend_savepoint_\(savepointDepth)").quoted
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
        var begin = "BEGIN"
        if let isolation { begin += " ISOLATION LEVEL \(isolation.rawValue)" }
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

    /// `SET LOCAL name = value` for the current transaction, with the value bound as a parameter.
    public func setLocal(_ name: String, _ value: String) throws {
        guard isInTransaction else {
            throw PostgresError(kind: .usage, message: "SET LOCAL \(name) outside a transaction would have no effect")
        }
        try query("SELECT set_config($1, $2, true)", [name, value])
    }

    /// `SET name = value` for the rest of the session, with the value bound as a parameter.
    public func setSession(_ name: String, _ value: String) throws {
        try query("SELECT set_config($1, $2, false)", [name, value])
    }
}
