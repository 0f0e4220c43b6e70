import Foundation
import PostgresClient

#if canImport(Glibc)
    import Glibc
#endif

/// A hot standby of the throwaway cluster: `pg_basebackup -R` of the whole cluster into a
/// folder beside its data, started on a port of its own with `hot_standby = on`, streaming from
/// the primary over its unix socket. For tests of what must work on a read-only replica.
public final class StandbyServer: Sendable {
    public let cluster: ThrowawayCluster
    public let port: Int
    let data: String
    let asPostgres: Bool

    /// Copies the cluster as it is now and starts the copy as a standby; `label` names its folder.
    public init(of cluster: ThrowawayCluster, label: String) throws {
        self.cluster = cluster
        let slug = String(label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(40))
        data = "\(cluster.directory)/standby-\(slug)"
        port = try ThrowawayCluster.freePort()
        asPostgres = geteuid() == 0
        try cluster.runServerCommand(
            "pg_basebackup",
            ["-D", data, "-R", "-X", "stream", "-c", "fast", "-h", cluster.socketDirectory, "-p", String(cluster.port), "-U", ThrowawayCluster.superuser],
            asPostgres: asPostgres)
        // A hot standby needs max_connections at least the primary's (200).
        let options = [
            "-p \(port)", "-k \(cluster.socketDirectory)", "-c listen_addresses=''", "-c hot_standby=on",
            "-c fsync=off", "-c max_connections=200", "-c shared_buffers=32MB",
        ].joined(separator: " ")
        do {
            try cluster.runServerCommand("pg_ctl", ["-D", data, "-l", "\(data).log", "-o", options, "-w", "-t", "60", "start"], asPostgres: asPostgres)
        } catch let failure as ClusterFailure {
            let log = (try? String(contentsOfFile: "\(data).log", encoding: .utf8)) ?? ""
            stop()
            throw ClusterFailure("the standby did not start: \(failure.reason)\nits log:\n\(log.suffix(2000))")
        }
    }

    /// Conninfo for `database` on the standby, as the cluster's superuser over the socket.
    public func conninfo(database: String) -> String {
        "host=\(cluster.socketDirectory) port=\(port) dbname=\(database) user=\(ThrowawayCluster.superuser)"
    }

    /// Waits until the standby has replayed everything the primary has written so far.
    public func catchUp(timeout: TimeInterval = 30) throws {
        let primary = try Connection(cluster.conninfo())
        let target = try primary.scalar("SELECT pg_current_wal_lsn()::text", as: String.self) ?? ""
        let standby = try Connection(conninfo(database: "postgres"))
        let deadline = Date().addingTimeInterval(timeout)
        while try standby.scalar("SELECT pg_last_wal_replay_lsn() >= \(bind: target)::pg_lsn", as: Bool.self) != true {
            guard Date() < deadline else { throw ClusterFailure("the standby did not replay up to \(target) within \(Int(timeout)) s") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Stops the standby and deletes its folder.
    public func stop() {
        _ = try? cluster.runServerCommand("pg_ctl", ["-D", data, "stop", "-m", "immediate"], asPostgres: asPostgres)
        try? FileManager.default.removeItem(atPath: data)
        try? FileManager.default.removeItem(atPath: "\(data).log")
    }
}
