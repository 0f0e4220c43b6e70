/// A 64-bit key for a session advisory lock.
public struct AdvisoryLockKey: Hashable, Sendable, CustomStringConvertible {
    public let value: Int64
    public init(_ value: Int64) { self.value = value }

    /// A key derived from a name (FNV-1a), stable across runs, machines and Swift versions.
    public init(name: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        value = Int64(bitPattern: hash)
    }

    public var description: String { String(value) }
}

/// A session that holds an advisory lock, as `pg_stat_activity` describes it.
public struct LockHolder: Sendable, CustomStringConvertible {
    public var pid: Int32
    public var applicationName: String
    public var user: String
    public var clientAddress: String?
    public var backendStart: String
    public var description: String {
        "pid \(pid) (\(applicationName.isEmpty ? "no application name" : applicationName), user \(user)"
            + "\(clientAddress.map { " from \($0)" } ?? ""), connected since \(backendStart))"
    }
}

extension Connection {
    /// Takes the session advisory lock without waiting; false when another session holds it.
    public func tryAdvisoryLock(_ key: AdvisoryLockKey) throws -> Bool {
        try scalar("SELECT pg_try_advisory_lock(\(bind: key.value))", as: Bool.self) ?? false
    }

    /// Releases one hold of the session advisory lock; false when this session did not hold it.
    @discardableResult
    public func advisoryUnlock(_ key: AdvisoryLockKey) throws -> Bool {
        try scalar("SELECT pg_advisory_unlock(\(bind: key.value))", as: Bool.self) ?? false
    }

    /// The sessions holding the advisory lock, so a refusal can name who is in the way.
    public func advisoryLockHolders(_ key: AdvisoryLockKey) throws -> [LockHolder] {
        // pg_locks shows a bigint key as classid (high 32 bits) and objid (low 32), objsubid 1.
        let rows = try query(
            """
            SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename, ''),
                   host(a.client_addr), to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid::bigint = (\(bind: key.value)::bigint >> 32) & 4294967295
              AND l.objid::bigint = \(bind: key.value)::bigint & 4294967295
            ORDER BY a.pid
            """)
        return try rows.map { row in
            LockHolder(
                pid: try row.get(0), applicationName: try row.get(1), user: try row.get(2),
                clientAddress: try row.get(3, as: String?.self), backendStart: try row.get(4))
        }
    }
}
