import Foundation
import PostgresClient

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL cluster that lives as long as the test process: `initdb` into a temporary
/// directory, a unix socket there and a free TCP port on 127.0.0.1, started with `pg_ctl`
/// (as user `postgres` through `runuser` when the process is root, since the server refuses to
/// run as root). It is stopped and deleted when the process exits, and a watchdog does the
/// same if the process dies without exiting.
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

    public let directory: String
    public let socketDirectory: String
    public let port: Int
    public let binDirectory: String
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

    private init(directory: String, port: Int, binDirectory: String) {
        self.directory = directory
        self.socketDirectory = directory
        self.port = port
        self.binDirectory = binDirectory
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
        let name = "t\(number)_" + String(String(slug).prefix(40))
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
        let binDirectory = try findServerBinaries()
        let runAsPostgres = geteuid() == 0
        if runAsPostgres, getpwnam("postgres") == nil {
            throw ClusterFailure("running as root, and there is no 'postgres' user to run the server as (apt-get install postgresql creates it)")
        }
        // Short: a unix socket path must fit in 107 bytes.
        var template = Array("/tmp/pgmend-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw ClusterFailure("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        if runAsPostgres {
            guard let user = getpwnam("postgres") else { throw ClusterFailure("no postgres user") }
            chown(directory, user.pointee.pw_uid, user.pointee.pw_gid)
        }

        let port = try freePort()
        let cluster = ThrowawayCluster(directory: directory, port: port, binDirectory: binDirectory)
        cluster.registerCleanup(runAsPostgres: runAsPostgres)
        let data = "\(directory)/data"
        try cluster.runServerCommand(
            "initdb",
            ["-D", data, "-U", superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            asPostgres: runAsPostgres)
        // Replication over the socket too: tests start hot standbys of it (`StandbyServer`).
        let hba = """
            local all +\(passwordLoginRole) scram-sha-256
            host  all +\(passwordLoginRole) 127.0.0.1/32 scram-sha-256
            local all all trust
            host  all all 127.0.0.1/32 trust
            local replication all trust

            """
        do {
            try hba.write(toFile: "\(data)/pg_hba.conf", atomically: false, encoding: .utf8)
        } catch {
            throw ClusterFailure("cannot write pg_hba.conf: \(error)")
        }
        // Durability is not what these tests are about; speed and many connections are.
        let options = [
            "-p \(port)", "-k \(directory)", "-c listen_addresses=127.0.0.1",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c max_connections=200", "-c shared_buffers=128MB",
        ].joined(separator: " ")
        do {
            try cluster.runServerCommand(
                "pg_ctl", ["-D", data, "-l", "\(directory)/server.log", "-o", options, "-w", "-t", "60", "start"],
                asPostgres: runAsPostgres)
        } catch let failure as ClusterFailure {
            let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
            throw ClusterFailure("\(failure.reason)\nserver log:\n\(log.suffix(2000))")
        }
        let admin = try Connection(cluster.conninfo())
        try admin.execute("CREATE ROLE \(ident: passwordLoginRole) NOLOGIN")
        return cluster
    }

    func runServerCommand(_ name: String, _ arguments: [String], asPostgres: Bool) throws {
        let program = "\(binDirectory)/\(name)"
        let outcome: ProcessOutcome
        do {
            outcome = asPostgres
                ? try ProcessRunner.run("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments)
                : try ProcessRunner.run(program, arguments)
        } catch {
            throw ClusterFailure("cannot run \(program): \(error)")
        }
        guard outcome.status == 0 else {
            throw ClusterFailure("\(name) failed (exit \(outcome.status)): \(outcome.stderr)\(outcome.stdout)")
        }
    }

    /// Stops the server and deletes its directory at exit, and starts a watchdog that does
    /// the same should this process die without running its exit handlers.
    private func registerCleanup(runAsPostgres: Bool) {
        let prefix = runAsPostgres ? "/usr/sbin/runuser -u postgres -- " : ""
        let stop = "\(prefix)\(binDirectory)/pg_ctl -D \(directory)/data stop -m immediate >/dev/null 2>&1; rm -rf \(directory)"
        clusterStopCommand.value = stop
        atexit {
            guard let command = clusterStopCommand.value else { return }
            clusterStopCommand.value = nil
            _ = try? ProcessRunner.run("/bin/sh", ["-c", command])
        }
        // Backgrounded by the shell, so this returns at once and the loop outlives the shell.
        let pid = getpid()
        _ = try? ProcessRunner.run(
            "/bin/sh", ["-c", "(while kill -0 \(pid) 2>/dev/null; do sleep 1; done; \(stop)) </dev/null >/dev/null 2>&1 &"])
    }

    /// Where `initdb`, `pg_ctl` and `postgres` are: `$PGMEND_PG_BINDIR`, then the newest
    /// `/usr/lib/postgresql/*/bin` (Debian keeps them off PATH), then `pg_config --bindir`,
    /// then PATH.
    static func findServerBinaries() throws -> String {
        let fileManager = FileManager.default
        func hasServer(_ directory: String) -> Bool {
            fileManager.isExecutableFile(atPath: "\(directory)/initdb")
                && fileManager.isExecutableFile(atPath: "\(directory)/pg_ctl")
        }
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["PGMEND_PG_BINDIR"] {
            guard hasServer(explicit) else { throw ClusterFailure("PGMEND_PG_BINDIR=\(explicit) has no initdb and pg_ctl") }
            return explicit
        }
        let versions = (try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.compactMap(Int.init).sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin" }
        if let outcome = try? ProcessRunner.run("/bin/sh", ["-c", "pg_config --bindir 2>/dev/null"]), outcome.status == 0 {
            candidates.append(outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        guard let found = candidates.first(where: hasServer) else {
            throw ClusterFailure("no PostgreSQL server binaries (initdb, pg_ctl) found; install the server (apt-get install -y postgresql) or set PGMEND_PG_BINDIR")
        }
        return found
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ClusterFailure("socket(): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw ClusterFailure("cannot find a free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
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
