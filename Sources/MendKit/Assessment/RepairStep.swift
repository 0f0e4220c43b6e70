import PostgresClient
import SchemaModel

/// One kind of repair a plan can ask for. Each kind is one file in `Steps/`.
///
/// A step decides from the live database what is still needed and what the schema will be
/// once it has run (`assess`). The runner, not the step, executes the actions, so locking,
/// retries, journaling and rehearsal are written once.
///
/// The predicted schema comes out of `assess` rather than a separate pure function because
/// PostgreSQL prints types, defaults and check expressions in its own canonical form
/// (`varchar(20)` becomes `character varying(20)`, `x BETWEEN 0 AND 9` becomes
/// `x >= 0 AND x <= 9`), which only the server knows; `Probe.canonical` asks it without
/// touching the database. The transformation itself is a pure function of the schema.
public protocol RepairStep: Sendable {
    /// The key that names this kind in a plan: `rename_table`.
    static var kind: String { get }
    /// One line for `plan show` and the docs.
    static var summary: String { get }

    /// Reads the step's options from its map in the plan; nil when required ones are missing
    /// or wrong (the reader holds the problems).
    init?(options: inout OptionReader)

    /// The options as understood, defaults filled in, in a stable order.
    var settings: [(name: String, value: String)] { get }

    /// The tables the step reads or changes, by name (they need not exist yet): the runner
    /// reads only these from the catalog, with the views that read them and the tables
    /// related to them by foreign keys. nil: anything (raw SQL), the whole catalog.
    var scope: [ObjectName]? { get }

    /// Satisfied, needed (with the actions and the schema after them), blocked (with the
    /// problems), or waiting for an earlier step. `schema` is the database as the earlier
    /// steps of the plan will have left it; data checks go to the live database via `probe`.
    func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment
}

extension RepairStep {
    public var scope: [ObjectName]? { nil }
}

/// What a step found it has to do.
public enum Assessment: Sendable {
    /// Nothing to do; the reason says how the live database shows it.
    case satisfied(String)
    /// These effects, in order, and the schema they leave (nil when no one can know it
    /// beforehand: raw SQL).
    case needed([any Effect], after: Schema?)
    /// Data or schema problems stop the step before any change.
    case blocked([StepProblem])
    /// Cannot be judged until an earlier step of the plan has run (in a dry run, the live
    /// database does not have what that step creates yet).
    case waiting(String)
}

/// Something an operator should know before an effect runs.
public enum Hazard: String, Sendable, Codable {
    /// Blocks all reads and writes of the table while it runs.
    case accessExclusiveLock = "access_exclusive_lock"
    /// Rewrites the whole table (time and disk in proportion to its size).
    case tableRewrite = "table_rewrite"
    /// Reads every row to validate.
    case fullTableScan = "full_table_scan"
    /// Removes data.
    case deletesData = "deletes_data"
    /// Builds an index.
    case indexBuild = "index_build"
    /// Updates rows in place (dead row versions, WAL, replication traffic in proportion).
    case rowUpdates = "row_updates"
    /// Runs SQL that pgmend cannot inspect.
    case rawSQL = "raw_sql"
}

/// Why a step cannot go ahead: a message, and for bad data the offending rows.
public struct StepProblem: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// How many rows are affected (nil for problems that are not about rows).
    public var count: Int?
    /// Primary keys of some offending rows (the first ones, in key order).
    public var sample: [String]

    /// The table the problem is about, when it is about one: a dry run calls the step
    /// `waiting` rather than `blocked` when an earlier step of the plan changes that table.
    public var table: ObjectName?

    public init(_ message: String, count: Int? = nil, sample: [String] = [], table: ObjectName? = nil) {
        self.message = message
        self.count = count
        self.sample = sample
        self.table = table
    }

    public var description: String {
        guard let count else { return message }
        let shown = sample.isEmpty ? "" : ": " + sample.joined(separator: ", ") + (count > sample.count ? ", ..." : "")
        return "\(message) (\(count) row\(count == 1 ? "" : "s")\(shown))"
    }
}


/// The server refused text the plan wrote for `option` of a step (a `done_when` query, a
/// check expression, a column type) while the step was assessed: the step's problem, reported
/// at that option, not a failure of the run.
public struct PlanTextRefused: Error, Sendable, CustomStringConvertible {
    /// The step's option whose text it was: `done_when`, `expression`, `columns`, `where`.
    public var option: String
    public var error: PostgresError

    public init(option: String, error: PostgresError) {
        self.option = option
        self.error = error
    }

    /// Class 42 (syntax error or access rule violation: an undefined function, column, type,
    /// a syntax error, an aggregate in a CHECK) and 0A000 (feature not supported: a subquery
    /// or a set-returning function in a CHECK) say the text itself is wrong for this database:
    /// a bad plan. Anything else (a division by zero, a statement timeout) is a failure of
    /// this run.
    public var isPlanTextAtFault: Bool {
        guard let state = error.sqlState?.rawValue else { return false }
        return state.hasPrefix("42") || state == "0A000"
    }

    public var description: String { "the server refused \(option): \(error.description)" }
}

extension Probe {
    /// Runs `body`, which sends the text of the plan's `option` to the server: an error the
    /// server raises there is that option's (`PlanTextRefused`). A lost connection is not.
    public func planText<T>(_ option: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PostgresError where error.kind == .server {
            throw PlanTextRefused(option: option, error: error)
        }
    }
}
