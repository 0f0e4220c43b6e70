import Foundation
import PostgresClient
import SchemaModel

/// One thing a needed step asks the executor to do: a type of its own per kind of work (atomic
/// SQL, SQL outside a transaction, a batched backfill, an assertion, an archive, a guarded drop,
/// a file). A step returns effects and never executes; the runner runs them through one
/// `EffectContext`, which owns transactions, timeouts, checkpoints and faults, and retries a
/// step whose lock was not granted after assessing it again.
public protocol Effect: Sendable {
    /// One line for people: "create table goals".
    var summary: String { get }
    /// The SQL it amounts to, for people to read in a dry run.
    var sql: String { get }
    /// The strongest table lock it takes.
    var lock: LockLevel { get }
    /// The table whose lock it waits for, to name who holds it when it cannot be had.
    var lockTarget: ObjectName? { get }
    /// Every table it locks with `lock`, `lockTarget` first: a new foreign key locks each
    /// table it references.
    var lockTargets: [ObjectName] { get }
    var hazards: [Hazard] { get }
    /// With the `deletes_data` hazard: how many rows it deletes or sets values of to NULL, as
    /// the assessment counted them (nil: unknown, or it deletes none).
    var deletesRows: Int? { get }
    /// False when it runs outside a transaction block (`CREATE INDEX CONCURRENTLY`).
    var transactional: Bool { get }
    /// The tables whose rows or archives it changes, beyond what the schema prediction shows:
    /// a later step blocked by one of them is only `waiting` in a dry run.
    var touches: [ObjectName] { get }
    /// Plan text run as written (an `sql` step): what it changes cannot be known before it
    /// runs, so a rehearsal sizes the whole database and a prediction is incomplete.
    var raw: Bool { get }
    /// Whether the runner checks the catalog against the step's prediction after it: false
    /// for raw SQL, whose effect on the schema no step can predict.
    var predicted: Bool { get }
    /// Whether a lock not granted in time (or a deadlock) is retried: the step is assessed
    /// again after a backoff, `retries` times (`LockRetry`). False: it fails the step at once.
    var retryable: Bool { get }
    /// Runs it once. A lock that is not granted in time surfaces as the server's
    /// `lock_not_available` error, and the runner decides about retrying.
    func apply(_ context: EffectContext) throws -> EffectOutcome
}

extension Effect {
    public var lockTarget: ObjectName? { nil }
    public var lockTargets: [ObjectName] { lockTarget.map { [$0] } ?? [] }
    public var hazards: [Hazard] { [] }
    public var deletesRows: Int? { nil }
    public var transactional: Bool { true }
    public var raw: Bool { hazards.contains(.rawSQL) }
    public var predicted: Bool { !raw }
    public var retryable: Bool { true }
    public var touches: [ObjectName] {
        guard let lockTarget, [.rowExclusive, .exclusive, .accessExclusive, .unknown].contains(lock) else { return [] }
        return [lockTarget]
    }
}

/// What an effect did.
public struct EffectOutcome: Sendable {
    /// Rows it changed, wrote or read, when it knows.
    public var rowsAffected: Int?
    /// Seconds of its longest transaction, when it ran several (a backfill's batches): the
    /// longest any of its locks was held.
    public var longestTransaction: Double?
    /// Something the operator should read about how it ran ("not rehearsed: ...").
    public var note: String?
    /// Transactions it ran its statements in, when more than one (a backfill's batches).
    public var batches: Int?
    /// Seconds of the 99th percentile of those transactions.
    public var batchP99: Double?

    public init(rowsAffected: Int? = nil, longestTransaction: Double? = nil, note: String? = nil, batches: Int? = nil, batchP99: Double? = nil) {
        self.rowsAffected = rowsAffected
        self.longestTransaction = longestTransaction
        self.note = note
        self.batches = batches
        self.batchP99 = batchP99
    }
}

/// An effect that failed after some of its transactions had committed (a backfill's batches):
/// what committed stays, and the runner's report and journal count it instead of nothing.
public struct PartlyCommitted: Error, Sendable, CustomStringConvertible {
    /// Rows the committed transactions wrote.
    public var rows: Int
    public var longestTransaction: Double?
    /// Why it stopped.
    public var error: any Error

    public var description: String { "\(error) (after \(rows) rows committed)" }
}

/// The strongest table lock an effect takes (PostgreSQL's names).
public enum LockLevel: String, Sendable, Codable {
    case none = "none"
    /// Raw SQL that did not declare its lock: pgmend cannot tell.
    case unknown = "unknown (raw SQL)"
    case accessShare = "ACCESS SHARE"
    case rowExclusive = "ROW EXCLUSIVE"
    case shareUpdateExclusive = "SHARE UPDATE EXCLUSIVE"
    case share = "SHARE"
    case shareRowExclusive = "SHARE ROW EXCLUSIVE"
    case exclusive = "EXCLUSIVE"
    case accessExclusive = "ACCESS EXCLUSIVE"

    /// The mode as `LOCK TABLE ... IN mode MODE` takes it; `none` and `unknown` (no lock
    /// declared) take the strongest, the safe side.
    var modeSQL: SQL {
        switch self {
        case .accessShare: "ACCESS SHARE"
        case .rowExclusive: "ROW EXCLUSIVE"
        case .shareUpdateExclusive: "SHARE UPDATE EXCLUSIVE"
        case .share: "SHARE"
        case .shareRowExclusive: "SHARE ROW EXCLUSIVE"
        case .exclusive: "EXCLUSIVE"
        case .accessExclusive, .none, .unknown: "ACCESS EXCLUSIVE"
        }
    }
}

/// Everything an effect may use while it runs: the connection, the plan's settings, whether
/// this is a rehearsal (one transaction, rolled back at the end), the journal for checkpoints,
/// progress, and the fault points tests use to kill the process at a chosen moment.
public final class EffectContext {
    public let connection: Connection
    public let settings: PlanSettings
    /// True inside a rehearsal: every effect runs in savepoints of one outer transaction.
    public let rehearsal: Bool
    let journal: Journal?
    let run: Int64
    /// The SHA-256 of the plan file: checkpoints resume only runs of the same plan text.
    let planSHA256: String
    /// The plan step this effect belongs to (checkpoints are kept per run and step).
    public internal(set) var step: Int = 0
    /// The effect's position in the run, from 1 (fault points count them).
    public internal(set) var effectNumber: Int = 0
    let progress: any ProgressReporter
    let archiveOverride: String?
    let faults: FaultPoints

    init(
        connection: Connection, settings: PlanSettings, rehearsal: Bool, journal: Journal?, run: Int64, planSHA256: String,
        progress: any ProgressReporter, archiveOverride: String?, faults: FaultPoints = .none
    ) {
        self.connection = connection
        self.settings = settings
        self.rehearsal = rehearsal
        self.journal = journal
        self.run = run
        self.planSHA256 = planSHA256
        self.progress = progress
        self.archiveOverride = archiveOverride
        self.faults = faults
    }

    /// A context outside any run (no journal, no rehearsal): to apply a step's effects by hand.
    public static func standalone(_ connection: Connection, settings: PlanSettings = PlanSettings()) -> EffectContext {
        EffectContext(
            connection: connection, settings: settings, rehearsal: false, journal: nil, run: 0, planSHA256: "",
            progress: SilentProgress(), archiveOverride: nil, faults: .none)
    }

    /// Where archives go: the plan's folder, or the rehearsal's throwaway one.
    public func archiveDirectory(_ folder: String) -> String { archiveOverride ?? folder }

    /// Runs `body` in a transaction of its own (a savepoint in a rehearsal) with the plan's
    /// `lock_timeout` and `statement_timeout`. The timeouts are set with `SET LOCAL`, which
    /// takes no snapshot, so `body`'s first statement can be the lock that decides what the
    /// transaction sees. Its `inside` fault point is just before COMMIT, unless the effect
    /// places its own (`faultInside: false`).
    public func inTransaction<T>(
        isolation: Connection.IsolationLevel? = nil, faultInside: Bool = true, _ body: (Connection) throws -> T
    ) throws -> T {
        if connection.isInTransaction {
            // RELEASE keeps what SET LOCAL did inside the savepoint: the settings an effect pins
            // are put back afterwards, so later steps of a rehearsal run with the session's own.
            let saved = try connection.query("SELECT n, current_setting(n) FROM unnest(\(bind: Self.pinnable)::text[]) n")
                .map { (try $0.get(0, as: String.self), try $0.get(1, as: String.self)) }
            try connection.execute("SAVEPOINT pgmend_effect" as SQL)
            do {
                try setTimeouts(local: true)
                let value = try body(connection)
                try connection.execute("RELEASE SAVEPOINT pgmend_effect" as SQL)
                // set_config, not SET: the value is the server's own text of a list setting
                // (`"$user", public`), which SET would take as one quoted item. Only in the
                // savepoint path, where the outer transaction's snapshots are long taken.
                try connection.query(
                    "SELECT set_config(n, v, true) FROM unnest(\(bind: saved.map(\.0))::text[], \(bind: saved.map(\.1))::text[]) AS s(n, v)")
                return value
            } catch {
                if connection.isOpen { _ = try? connection.execute("ROLLBACK TO SAVEPOINT pgmend_effect; RELEASE SAVEPOINT pgmend_effect" as SQL) }
                throw error
            }
        }
        return try connection.transaction(isolation: isolation) { connection in
            try setTimeouts(local: true)
            let value = try body(connection)
            if faultInside { fault(.inside) }
            return value
        }
    }

    /// The settings effects pin with SET LOCAL: timeouts, the catalog reader's, fingerprints'.
    static let pinnable = ["lock_timeout", "statement_timeout", "search_path", "work_mem"] + DataStatistics.stableTextSettings.map(\.0)

    /// Runs `body` outside any transaction block, with the timeouts set for the session and
    /// put back as they were afterwards (also when it fails).
    public func outsideTransaction<T>(_ body: (Connection) throws -> T) throws -> T {
        let previous = try connection.query("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')" as SQL)
        let lockTimeout = try previous.first?.get(0, as: String.self) ?? "0"
        let statementTimeout = try previous.first?.get(1, as: String.self) ?? "0"
        try setTimeouts(local: false)
        defer {
            if connection.isOpen {
                _ = try? connection.setSession("lock_timeout", lockTimeout)
                _ = try? connection.setSession("statement_timeout", statementTimeout)
            }
        }
        return try body(connection)
    }

    private func setTimeouts(local: Bool) throws {
        let set = local ? connection.setLocal : connection.setSession
        try set("lock_timeout", "\(settings.lockTimeout)ms")
        try set("statement_timeout", "\(settings.statementTimeout)ms")
    }

    /// A moment inside the running effect at which a test may kill the process.
    public func fault(_ point: FaultPoints.Point) {
        faults.reach(point, effect: effectNumber)
    }
}
