import Foundation
import PostgresClient
import SchemaModel

/// One reading of `pg_stat_progress_create_index` for a build: its phase and the counters the
/// server keeps for it. Which counter says how far the build got depends on the phase.
public struct IndexBuildProgress: Sendable, Equatable {
    public var phase: String
    public var blocksDone: Int
    public var blocksTotal: Int
    public var tuplesDone: Int
    public var tuplesTotal: Int
    public var lockersDone: Int
    public var lockersTotal: Int

    public init(phase: String, blocksDone: Int, blocksTotal: Int, tuplesDone: Int, tuplesTotal: Int, lockersDone: Int, lockersTotal: Int) {
        self.phase = phase
        self.blocksDone = blocksDone
        self.blocksTotal = blocksTotal
        self.tuplesDone = tuplesDone
        self.tuplesTotal = tuplesTotal
        self.lockersDone = lockersDone
        self.lockersTotal = lockersTotal
    }

    /// The counter of the phase: transactions waited for ("waiting for writers before build"),
    /// blocks while the table is scanned, tuples while they are sorted and loaded.
    public var measure: (done: Int, total: Int, unit: String) {
        if phase.hasPrefix("waiting for") { return (lockersDone, lockersTotal, "transactions") }
        if blocksTotal > 0 && (tuplesTotal == 0 || phase.contains("scanning table")) { return (blocksDone, blocksTotal, "blocks") }
        if tuplesTotal > 0 { return (tuplesDone, tuplesTotal, "tuples") }
        return (blocksDone, blocksTotal, "blocks")
    }

    /// The build of the session `pid`, as another session sees it; nil when it is not building.
    public static func read(pid: Int32, on connection: Connection) throws -> IndexBuildProgress? {
        guard let row = try connection.query(
            """
            SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total, lockers_done, lockers_total
            FROM pg_stat_progress_create_index WHERE pid = \(bind: Int(pid))
            """ as SQL
        ).first else { return nil }
        return IndexBuildProgress(
            phase: try row.get(0, as: String.self), blocksDone: try row.get(1, as: Int.self), blocksTotal: try row.get(2, as: Int.self),
            tuplesDone: try row.get(3, as: Int.self), tuplesTotal: try row.get(4, as: Int.self),
            lockersDone: try row.get(5, as: Int.self), lockersTotal: try row.get(6, as: Int.self))
    }
}

/// Reports an index build's progress while `body` runs it on `connection`: a thread of its own
/// reads `pg_stat_progress_create_index` on a second connection every `every` seconds (the
/// building session cannot answer while it builds). Nothing is opened when the reporter shows
/// no progress or the build ends before the first reading; a watcher that cannot connect or
/// read stays silent: progress is never a reason for a build to fail.
enum IndexBuildWatch {
    static func watching<T>(
        _ index: ObjectName, on connection: Connection, progress: any ProgressReporter, every interval: Double = 0.5, _ body: () throws -> T
    ) throws -> T {
        guard progress.showsProgress else { return try body() }
        let task = "index \(index)"
        let pid = connection.backendPID
        let recipe = connection.recipe
        let stop = DispatchSemaphore(value: 0)
        let stopped = DispatchSemaphore(value: 0)
        let reported = LockedFlag()
        let thread = Thread {
            defer { stopped.signal() }
            guard stop.wait(timeout: .now() + interval) == .timedOut, let watcher = try? recipe.connect() else { return }
            _ = try? watcher.execute("SET application_name = 'pgmend progress'" as SQL)
            repeat {
                guard let reading = try? IndexBuildProgress.read(pid: pid, on: watcher) else { continue }
                let measure = reading.measure
                progress.progress(task: task, done: measure.done, total: measure.total, unit: measure.unit, detail: reading.phase)
                reported.set()
            } while stop.wait(timeout: .now() + interval) == .timedOut
        }
        thread.start()
        defer {
            stop.signal()
            stopped.wait()
            if reported.isSet { progress.finish(task: task) }
        }
        return try body()
    }
}

/// A flag one thread sets and another reads.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
