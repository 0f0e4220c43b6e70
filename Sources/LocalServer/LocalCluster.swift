import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A PostgreSQL server of one's own: `initdb` into a new temporary directory, started with
/// `pg_ctl` on a unix socket there (and, when asked, a free TCP port on 127.0.0.1), stopped and
/// deleted with `stop()`. As root it runs as user `postgres` through `runuser`, since the
/// server refuses to run as root. A watchdog stops and deletes it too should the process that
/// started it die without calling `stop()` (a kill, a crash).
///
/// The test harness's cluster and pgmend's scratch server for expected schemas are both one.
public final class LocalCluster: Sendable {
    public let directory: String
    /// Where the server's unix socket is: the cluster's own directory, readable only by its owner.
    public var socketDirectory: String { directory }
    public let port: Int
    public let binDirectory: String
    /// The superuser `initdb` made; connections over the socket trust it.
    public let superuser: String
    /// True when the server runs as `postgres` because this process is root.
    public let runsAsPostgres: Bool
    private let stopped = Guarded(false)
    /// The watchdog shell's process id, to end it once `stop()` has done its work (a later
    /// cluster could get the same directory name).
    private let watchdog = Guarded<Int32?>(nil)

    /// How to start one.
    public struct Options: Sendable {
        /// Start of the temporary directory's name; short, as a socket path must fit in 107 bytes.
        public var directoryPrefix: String
        public var superuser: String
        /// The `pg_hba.conf` to write; nil keeps "trust over the socket only".
        public var hba: String?
        /// Also listen on a free TCP port on 127.0.0.1.
        public var listensOnTCP: Bool
        /// Extra `-c name=value` settings.
        public var settings: [String]

        public init(directoryPrefix: String, superuser: String, hba: String? = nil, listensOnTCP: Bool = false, settings: [String] = []) {
            self.directoryPrefix = directoryPrefix
            self.superuser = superuser
            self.hba = hba
            self.listensOnTCP = listensOnTCP
            self.settings = settings
        }
    }

    private init(directory: String, port: Int, binDirectory: String, superuser: String, runsAsPostgres: Bool) {
        self.directory = directory
        self.port = port
        self.binDirectory = binDirectory
        self.superuser = superuser
        self.runsAsPostgres = runsAsPostgres
    }

    /// A conninfo string for `database` over the unix socket.
    public func conninfo(database: String = "postgres", user: String? = nil) -> String {
        "host=\(socketDirectory) port=\(port) dbname=\(database) user=\(user ?? superuser)"
    }

    /// Creates and starts a cluster; on failure nothing is left behind.
    public static func start(_ options: Options) throws -> LocalCluster {
        let binDirectory = try findServerBinaries()
        let runAsPostgres = geteuid() == 0
        if runAsPostgres, getpwnam("postgres") == nil {
            throw LocalServerFailure("running as root, and there is no 'postgres' user to run the server as (apt-get install postgresql creates it)")
        }
        var template = Array("/tmp/\(options.directoryPrefix)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw LocalServerFailure("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        if runAsPostgres, let user = getpwnam("postgres") {
            chown(directory, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        // Without TCP the port only names the socket file in a directory of its own.
        let port = options.listensOnTCP ? try freePort() : 5432
        let cluster = LocalCluster(
            directory: directory, port: port, binDirectory: binDirectory, superuser: options.superuser, runsAsPostgres: runAsPostgres)
        cluster.startWatchdog()
        do {
            try cluster.initializeAndStart(options)
        } catch {
            cluster.stop()
            throw error
        }
        return cluster
    }

    private func initializeAndStart(_ options: Options) throws {
        let data = "\(directory)/data"
        try runServerCommand(
            "initdb", ["-D", data, "-U", superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
        if let hba = options.hba {
            do {
                try hba.write(toFile: "\(data)/pg_hba.conf", atomically: false, encoding: .utf8)
            } catch {
                throw LocalServerFailure("cannot write pg_hba.conf: \(error)")
            }
        }
        // Durability is not what a throwaway server is for; speed is.
        let listen = options.listensOnTCP ? "-c listen_addresses=127.0.0.1" : "-c listen_addresses=''"
        let settings = ["-p \(port)", "-k \(directory)", listen, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            + options.settings.map { "-c \($0)" }
        do {
            try runServerCommand("pg_ctl", ["-D", data, "-l", "\(directory)/server.log", "-o", settings.joined(separator: " "), "-w", "-t", "60", "start"])
        } catch let failure as LocalServerFailure {
            let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
            throw LocalServerFailure("\(failure.reason)\nserver log:\n\(log.suffix(2000))")
        }
    }

    /// Runs one of the server's programs (`initdb`, `pg_ctl`, `pg_basebackup`, ...), as
    /// `postgres` when this process is root.
    public func runServerCommand(_ name: String, _ arguments: [String]) throws {
        let program = "\(binDirectory)/\(name)"
        let outcome: ProcessOutcome
        do {
            outcome = runsAsPostgres
                ? try ProcessRunner.run("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments)
                : try ProcessRunner.run(program, arguments)
        } catch {
            throw LocalServerFailure("cannot run \(program): \(error)")
        }
        guard outcome.status == 0 else {
            throw LocalServerFailure("\(name) failed (exit \(outcome.status)): \(outcome.stderr)\(outcome.stdout)")
        }
    }

    /// The shell command that stops the server at once and deletes its directory.
    public var stopCommand: String {
        let prefix = runsAsPostgres ? "/usr/sbin/runuser -u postgres -- " : ""
        return "\(prefix)\(binDirectory)/pg_ctl -D \(directory)/data stop -m immediate >/dev/null 2>&1; rm -rf \(directory)"
    }

    /// Stops the server and deletes its directory; once only, later calls do nothing.
    public func stop() {
        let first = stopped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        _ = try? ProcessRunner.run("/bin/sh", ["-c", stopCommand])
        if let pid = watchdog.withLock({ $0 }) { kill(pid, SIGTERM) }
    }

    /// A shell loop, backgrounded so it outlives the shell, that runs `stopCommand` once this
    /// process is gone; after a `stop()` it finds nothing left to stop.
    private func startWatchdog() {
        let pid = getpid()
        let started = try? ProcessRunner.run(
            "/bin/sh", ["-c", "(while kill -0 \(pid) 2>/dev/null; do sleep 1; done; \(stopCommand)) </dev/null >/dev/null 2>&1 & echo $!"])
        let shell = started.flatMap { Int32($0.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) }
        watchdog.withLock { $0 = shell }
    }

    /// Where `initdb`, `pg_ctl` and `postgres` are: `$PGMEND_PG_BINDIR`, then the newest
    /// `/usr/lib/postgresql/*/bin` (Debian keeps them off PATH), then `pg_config --bindir`,
    /// then PATH.
    public static func findServerBinaries() throws -> String {
        let fileManager = FileManager.default
        func hasServer(_ directory: String) -> Bool {
            fileManager.isExecutableFile(atPath: "\(directory)/initdb")
                && fileManager.isExecutableFile(atPath: "\(directory)/pg_ctl")
        }
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["PGMEND_PG_BINDIR"] {
            guard hasServer(explicit) else { throw LocalServerFailure("PGMEND_PG_BINDIR=\(explicit) has no initdb and pg_ctl") }
            return explicit
        }
        let versions = (try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.compactMap(Int.init).sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin" }
        if let outcome = try? ProcessRunner.run("/bin/sh", ["-c", "pg_config --bindir 2>/dev/null"]), outcome.status == 0 {
            candidates.append(outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        guard let found = candidates.first(where: hasServer) else {
            throw LocalServerFailure(
                "no PostgreSQL server binaries (initdb, pg_ctl) found; install the server (apt-get install -y postgresql) or set PGMEND_PG_BINDIR")
        }
        return found
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    public static func freePort() throws -> Int {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw LocalServerFailure("socket(): \(String(cString: strerror(errno)))") }
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
        guard bound else { throw LocalServerFailure("cannot find a free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why a local server could not be started.
public struct LocalServerFailure: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A value guarded by a lock, for the few flags shared between threads here.
final class Guarded<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&value) } }
}
