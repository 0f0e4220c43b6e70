import Foundation
import LocalServer
import PostgresClient

/// An empty database of pgmend's own, `pgmend_scratch_<random>`, where an expected schema is
/// built and read back; it is dropped afterwards whatever happens.
public struct ScratchDatabase {
    public let name: String
    /// A connection to the scratch database.
    public let connection: Connection
    /// The libpq `PG*` variables that take a child process (the application's Python) there.
    public let clientEnvironment: [String: String]
    /// Where it lives, for messages: "the server of --db" or "a local throwaway server".
    public let location: String
}

/// Where scratch databases are made: on the server the operator named, when its role may
/// `CREATE DATABASE` (superuser or CREATEDB); otherwise on a throwaway PostgreSQL of pgmend's
/// own (`initdb` + `pg_ctl`, the server binaries found as the tests find them), which is
/// stopped and deleted afterwards.
public enum ScratchServer {
    /// Runs `body` with a new scratch database; drops it, and stops a server started for it,
    /// when `body` returns or throws.
    ///
    /// - Parameter server: a connection to the operator's server (`--db`), or nil to use a
    ///   local throwaway server straight away.
    public static func withScratchDatabase<T>(
        on server: Connection?, reporter: any ProgressReporter, _ body: (ScratchDatabase) throws -> T
    ) throws -> T {
        if let server {
            if try mayCreateDatabases(server) {
                return try withScratchDatabase(admin: server, location: "the server of --db", body)
            }
            reporter.note(
                "role \(server.user) may not create databases on the server of --db; "
                    + "building the expected schema on a local throwaway PostgreSQL server instead")
        } else {
            reporter.note("no --db: building the expected schema on a local throwaway PostgreSQL server")
        }
        let local: LocalCluster
        do {
            local = try LocalCluster.start(LocalCluster.Options(directoryPrefix: "pgmend-scratch", superuser: "pgmend"))
        } catch let failure as LocalServerFailure {
            throw ExpectedSchemaError(.noServer, "cannot start a local PostgreSQL server for the scratch database: \(failure.reason)")
        }
        defer { local.stop() }
        let admin: Connection
        do {
            admin = try Connection(local.conninfo())
        } catch {
            throw ExpectedSchemaError(.noServer, "cannot connect to the local PostgreSQL server pgmend started: \(error)")
        }
        return try withScratchDatabase(admin: admin, location: "a local throwaway server", body)
    }

    /// Whether the connection's role may run `CREATE DATABASE`.
    public static func mayCreateDatabases(_ connection: Connection) throws -> Bool {
        try connection.scalar(
            "SELECT rolcreatedb OR rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user", as: Bool.self) ?? false
    }

    private static func withScratchDatabase<T>(admin: Connection, location: String, _ body: (ScratchDatabase) throws -> T) throws -> T {
        let name = "pgmend_scratch_" + randomSuffix()
        // template0: whatever an administrator put into template1 is no part of the models.
        try admin.execute("CREATE DATABASE \(ident: name) TEMPLATE template0 ENCODING 'UTF8'")
        defer { drop(name, on: admin) }
        // In a function of its own so that the scratch connection is closed before the drop.
        func build() throws -> T {
            let scratch = ScratchDatabase(
                name: name, connection: try admin.connection(toDatabase: name),
                clientEnvironment: admin.clientEnvironment(database: name), location: location)
            return try body(scratch)
        }
        return try build()
    }

    /// Drops the scratch database, ending the sessions a failed build left in it (`FORCE`,
    /// PostgreSQL 13 and later).
    private static func drop(_ name: String, on admin: Connection) {
        if admin.serverVersionNumber >= 130000 {
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(ident: name) WITH (FORCE)")
        } else {
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(ident: name)")
        }
    }

    private static func randomSuffix() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<12).map { _ in letters.randomElement() ?? "x" })
    }
}

/// Why an expected schema could not be built; `kind` decides the exit code.
public struct ExpectedSchemaError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The application's side: Python, its packages, the module, the alembic.ini (exit 2).
        case badInput
        /// No server to build it on (exit 4).
        case noServer
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
