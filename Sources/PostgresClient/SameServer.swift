import CLibPQ
import Foundation

extension Connection {
    /// A new connection to `database` on the same server, as the same role, with the same
    /// connection options (a pgmend scratch database beside the one given with `--db`).
    public func connection(toDatabase database: String) throws -> Connection {
        try Connection(conninfo, applicationName: applicationName, rowSecurity: rowSecurity, database: database)
    }

    /// The libpq environment variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGSSLMODE`,
    /// ...) that make another libpq client, such as psycopg2 in a child process, connect the way
    /// this connection did, to `database`. It holds the password when one was used: hand it
    /// only to a child process's environment, never print it.
    public func clientEnvironment(database: String) -> [String: String] {
        var environment: [String: String] = [:]
        guard let options = PQconninfo(handle) else { return ["PGDATABASE": database] }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            defer { option += 1 }
            guard let variable = option.pointee.envvar, let value = option.pointee.val else { continue }
            let name = String(cString: keyword)
            // The connection's own database and application name are not the child's.
            guard name != "dbname", name != "application_name" else { continue }
            let text = String(cString: value)
            if !text.isEmpty { environment[String(cString: variable)] = text }
        }
        environment["PGDATABASE"] = database
        return environment
    }
}
