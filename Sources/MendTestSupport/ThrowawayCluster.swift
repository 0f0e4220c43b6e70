import Foundation
@_exported import LocalServer
import PostgresClient

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL cluster that lives as long as the test process: a `LocalCluster` (as user
/// `postgres` when the process is root) with a unix socket and a free TCP port on 127.0.0.1.
/// It is stopped and deleted when the process exits, and its watchdog does the same if the
/// process dies without exiting.
///
/// Tests get a fresh database each with `withFreshDatabase`, so they can run in parallel.
/// When no server can be started, every test that asks for one fails with the reason:
/// nothing is skipped.
public final class ThrowawayCluster: Sendable {
    /// The superuser the cluster is created with; connections over the socket trust it.
    public static let superuser = "pgmend"
    /// Members of this role must log in with a password (scram-sha-256), for tests of
    /// authentication failures; everyone else is trusted.
    public static let passwordLoginRole = "pgmend_password_login"

    /// The server itself (shared with pgmend's own scratch servers).
    public let server: LocalCluster
    public var directory: String { server.directory }
    public var socketDirectory: String { server.socketDirectory }
    public var port: Int { server.port }
    public var binDirectory: String { server.binDirectory }
    private let databaseCounter = LockedBox(0)

    /// The cluster of this test process, started on first use.
    public static func shared() throws -> ThrowawayCluster {
        switch sharedCluster {
        case .success(let cluster): return cluster
        case .failure(let failure): throw failure
        }
    }

    private static let sharedCluster: Result<ThrowawayCluster, ClusterFailure> = {
        do {
            return .success(try ThrowawayCluster.start())
        } catch let failure as ClusterFailure {
            return .failure(failure)
        } catch {
            return .failure(ClusterFailure(String(describing: error)))
        }
    }()

    private init(server: LocalCluster) {
        self.server = server
    }

    /// A conninfo string for `database` as the superuser, over the unix socket.
    public func conninfo(database: String = "postgres", user: String = ThrowawayCluster.superuser) -> String {
        "host=\(socketDirectory) port=\(port) dbname=\(database) user=\(user)"
    }

    /// A `postgresql://` URI for `database` over TCP on 127.0.0.1.
    public func uri(database: String, user: String = ThrowawayCluster.superuser, password: String? = nil) -> String {
        let credentials = password.map { "\(user):\($0)" } ?? user
        return "postgresql://\(credentials)@127.0.0.1:\(port)/\(database)"
    }

    /// Creates an empty database, runs `body` with it, and drops it afterwards (also when
    /// `body` throws). `label` goes into the database name, to find it in server logs.
    public func withFreshDatabase<T>(label: String = #function, _ body: (TestDatabase) throws -> T) throws -> T {
        let database = try createDatabase(label: label)
        defer { try? dropDatabase(database.name) }
        return try body(database)
    }

    /// The async form of `withFreshDatabase`.
    public func withFreshDatabase<T>(label: String = #function, _ body: (TestDatabase) async throws -> T) async throws -> T {
        let database = try createDatabase(label: label)
        defer { try? dropDatabase(database.name) }
        return try await body(database)
    }

    /// Creates an empty database that the caller must drop (`dropDatabase`).
    public func createDatabase(label: String) throws -> TestDatabase {
        let number = databaseCounter.withValue { value -> Int in
            value += 1
            return value
        }
        let slug = label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        // The number padded: one label gives names of one length, so text that wraps at 100
        // columns around a database name (an archive's path) wraps alike in every run.
        let digits = String(number)
        let name = "t" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + String(String(slug).prefix(40))
        let admin = try Connection(conninfo())
        try admin.execute("CREATE DATABASE \(ident: name)")
        return TestDatabase(name: name, cluster: self)
    }

    public func dropDatabase(_ name: String) throws {
        let admin = try Connection(conninfo())
        try admin.execute("DROP DATABASE IF EXISTS \(ident: name) WITH (FORCE)")
    }

    // MARK: Starting and stopping

    private static func start() throws -> ThrowawayCluster {
        // Replication over the socket too: tests start hot standbys of it (`StandbyServer`).
        let hba = """
            local all +\(passwordLoginRole) scram-sha-256
            host  all +\(passwordLoginRole) 127.0.0.1/32 scram-sha-256
            local all all trust
            host  all all 127.0.0.1/32 trust
            local replication all trust

            """
        let server: LocalCluster
        do {
            // Many connections: tests run in parallel.
            server = try LocalCluster.start(LocalCluster.Options(
                directoryPrefix: "pgmend-test", superuser: superuser, hba: hba, listensOnTCP: true,
                settings: ["max_connections=200", "shared_buffers=128MB"]))
        } catch let failure as LocalServerFailure {
            throw ClusterFailure(failure.reason)
        }
        let cluster = ThrowawayCluster(server: server)
        clusterStopCommand.value = server.stopCommand
        atexit {
            guard let command = clusterStopCommand.value else { return }
            clusterStopCommand.value = nil
            _ = try? ProcessRunner.run("/bin/sh", ["-c", command])
        }
        let admin = try Connection(cluster.conninfo())
        try admin.execute("CREATE ROLE \(ident: passwordLoginRole) NOLOGIN")
        return cluster
    }

    func runServerCommand(_ name: String, _ arguments: [String], asPostgres: Bool) throws {
        do {
            try server.runServerCommand(name, arguments)
        } catch let failure as LocalServerFailure {
            throw ClusterFailure(failure.reason)
        }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    static func freePort() throws -> Int {
        do {
            return try LocalCluster.freePort()
        } catch let failure as LocalServerFailure {
            throw ClusterFailure(failure.reason)
        }
    }
}

/// Why the throwaway cluster could not be started.
public struct ClusterFailure: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "throwaway PostgreSQL cluster: \(reason)" }
}

/// A database of its own for one test.
public struct TestDatabase: Sendable {
    public let name: String
    public let cluster: ThrowawayCluster

    /// Conninfo for this database, as the cluster's superuser over the unix socket.
    public var conninfo: String { cluster.conninfo(database: name) }

    /// A new connection to this database.
    public func connect() throws -> Connection { try Connection(conninfo) }
}

/// The shell command that stops the cluster, read by the exit handler (a C function pointer
/// that cannot capture).
private let clusterStopCommand = LockedBox<String?>(nil)

extension ThrowawayCluster {
    /// The `pgmend_scratch_*` databases still on the cluster once every scratch database that
    /// tests running at the same time are using has had `within` seconds to be dropped: a
    /// database pgmend left behind stays, one another test is still building goes.
    public func scratchDatabasesLeft(within seconds: Double = 20) throws -> [String] {
        let admin = try Connection(conninfo())
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let names = try admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'pgmend\\_scratch\\_%' ORDER BY 1")
                .map { try $0.get(0, as: String.self) }
            if names.isEmpty || Date() > deadline { return names }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }
}
