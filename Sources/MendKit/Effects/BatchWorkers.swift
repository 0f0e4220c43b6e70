import Foundation
import PostgresClient

/// How many connections a backfill's first pass runs its batches on at once (`batch_workers`).
///
/// `auto` (the default) decides per backfill, when its step is assessed, from what it finds:
/// one connection for fewer than `autoMinimumRows` rows (a second connection costs its start-up
/// and gains nothing on a pass that short); otherwise as many as this machine has cores and the
/// server allows parallel workers (`max_parallel_workers`, the administrator's word on how many
/// processes one query may keep busy), at most `autoMaximum`, and never the connection slots
/// the application needs: at least `reservedSlots` (or a tenth of `max_connections`) stay free.
/// A number fixes it, whatever the table.
public enum BatchWorkers: Sendable, Equatable, CustomStringConvertible {
    case auto
    case count(Int)

    /// Fewer rows to update than this: one connection.
    static let autoMinimumRows = 100_000
    /// The most connections `auto` takes, however many cores there are: a bound on what one
    /// run takes from a server the application shares (measured only at 2 here).
    static let autoMaximum = 4
    /// Connection slots `auto` leaves free for the application, at least.
    static let reservedSlots = 3

    public var description: String {
        switch self {
        case .auto: "auto"
        case .count(let count): String(count)
        }
    }

    /// The plan's `batch_workers`: `auto` or a whole number from 1 to 16; nil when not given
    /// (or wrong: then reported).
    static func read(_ reader: inout OptionReader) -> BatchWorkers? {
        let key = "batch_workers"
        guard let value = reader.rawValue(key) else { return nil }
        if value.text == "auto" { return .auto }
        guard value.int != nil else {
            reader.report(value.location, "option '\(key)' of settings must be auto or a whole number between 1 and 16, not \(value.text.map { "'\($0)'" } ?? value.kindDescription)")
            return nil
        }
        return .count(reader.int(key, default: 1, range: 1...16))
    }

    /// The connections a pass over `rows` rows runs on, asking the server on `connection` when
    /// `auto` needs to know.
    func resolved(rows: Int, on connection: Connection) throws -> Int {
        switch self {
        case .count(let count):
            return count
        case .auto:
            guard rows >= Self.autoMinimumRows else { return 1 }
            guard let capacity = try connection.query(Self.capacityQuery).first else { return 1 }
            return Self.automatic(
                cores: ProcessInfo.processInfo.activeProcessorCount, parallelWorkers: try capacity.get(0, as: Int.self),
                maxConnections: try capacity.get(1, as: Int.self), connected: try capacity.get(2, as: Int.self))
        }
    }

    /// `auto`'s choice for a pass long enough to share: see the type's comment.
    static func automatic(cores: Int, parallelWorkers: Int, maxConnections: Int, connected: Int) -> Int {
        let spare = maxConnections - connected - max(reservedSlots, maxConnections / 10)
        // The run's own connection is one of the workers; the others need a slot each.
        return max(1, min(autoMaximum, cores, parallelWorkers, spare + 1))
    }

    /// `max_parallel_workers`, the connection slots a role without superuser may take, and the
    /// connections taken now.
    static let capacityQuery: SQL = """
        SELECT current_setting('max_parallel_workers')::int,
          current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,
          (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend')
        """
}
