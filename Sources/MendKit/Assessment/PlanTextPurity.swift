import PostgresClient
import SchemaModel

/// What the server says a statement holding plan text calls, learned without running it: the
/// text is evaluated (a dry run, an assessment, a `done_when`) only when it is `pure`. A READ
/// ONLY transaction that is rolled back keeps plan text from writing to this database, but
/// not from acting outside it: `dblink_exec` writes to another database, `pg_terminate_backend`
/// ends a session, `pg_file_write` writes a file, `pg_stat_reset` resets statistics. All of
/// those are volatile; so is every function that acts, unless its author declared it
/// otherwise (see `Probe.purity(of:)`).
public enum PlanTextPurity: Sendable, Equatable {
    /// Every function it calls is immutable or stable.
    case pure
    /// It calls these volatile functions (`regprocedure` spelling: `public.wipe()`).
    case volatile([String])
    /// Which functions it calls cannot be learned without running it; why, as the end of
    /// "not evaluated: ...".
    case unknown(String)

    /// `volatile` without the functions in `allowed` (`regprocedure` spelling).
    func allowing(_ allowed: Set<String>) -> PlanTextPurity {
        guard case .volatile(let functions) = self else { return self }
        let left = functions.filter { !allowed.contains($0) }
        return left.isEmpty ? .pure : .volatile(left)
    }

    /// Why text of `option` is not evaluated, for the step's report; nil when it is pure.
    func reason(_ option: String) -> String? {
        switch self {
        case .pure: return nil
        case .volatile(let functions):
            let list = functions.joined(separator: ", ")
            return "\(option) is not evaluated: it calls \(list), \(functions.count == 1 ? "which is" : "which are") volatile; "
                + "pgmend evaluates plan text only when every function it calls is immutable or stable (a volatile one may act outside "
                + "the transaction that is rolled back: write through dblink, end a session, write a file)"
        case .unknown(let why): return "\(option) is not evaluated: \(why)"
        }
    }

    /// Why a rehearsal does not run an effect holding text of `option`; nil when it is pure.
    func rehearsalReason(_ option: String) -> String? {
        switch self {
        case .pure: return nil
        case .volatile(let functions):
            return "\(option) calls \(functions.joined(separator: ", ")), volatile, which may act outside the rolled-back transaction"
        case .unknown(let why): return "\(option): \(why)"
        }
    }
}

extension Probe {
    /// Volatile functions whose only effect is their result: a rehearsal may run an effect
    /// whose plan text calls them (`set: {token: "gen_random_uuid()"}`). Plan text that is
    /// evaluated to decide a step must still be immutable or stable.
    static let effectFreeVolatile: Set<String> = ["random()", "gen_random_uuid()", "clock_timestamp()", "timeofday()"]

    /// Which functions `statement` (one query or data change, plan text in it) calls, learned
    /// from the server without running it: the statement becomes the body of a temporary
    /// SQL function (`BEGIN ATOMIC`), which PostgreSQL parses, analyses and stores as a parse
    /// tree; the functions in it are followed through views it reads (their rules), operators
    /// (their functions), domains (their CHECK constraints), types (their input and output
    /// functions, which casts through text call) and aggregates (their support functions).
    /// Created in a savepoint that is rolled back; nothing is run, planned or evaluated.
    ///
    /// What is left out, and why it is acceptable: a function's own body is not read, so a
    /// function declared STABLE or IMMUTABLE that calls a volatile one is trusted as declared
    /// (its statements still run in the READ ONLY transaction, so it cannot write to this
    /// database); triggers and row-level security policies of the tables are the database's
    /// own, not plan text. Text PostgreSQL does not take as a function body (EXPLAIN, SHOW,
    /// DDL, a `DO` block) is `unknown`, as is anything in a session that cannot create a
    /// temporary function (`readOnlySession`).
    ///
    /// `statement` holds no bound value (a function body takes none) and ends without `;`.
    public func purity(of statement: SQL) throws -> PlanTextPurity {
        // The body on lines of its own so that a trailing comment in it cannot swallow the END.
        let create: SQL = "CREATE FUNCTION pg_temp.pgmend_purity() RETURNS void LANGUAGE sql BEGIN ATOMIC\n\(statement)\n;\nEND"
        // Savepoints (or a transaction) rolled back, so that text the server refuses leaves
        // the assessment's transaction usable.
        return try assessing { probe in
            // Parsed and analysed, never run: the server's own error for text that is wrong
            // (an undefined column, a syntax error) is the plan's, with its position.
            _ = try probe.connection.describe(statement)
            if let session = readOnlySession {
                return .unknown("which functions it calls is learned through a temporary function, and this session is \(session.reason); a real run judges it")
            }
            do {
                return try probe.assessing { probe in
                    // One statement: the extended protocol takes no more.
                    try probe.connection.query(create)
                    let volatile = try probe.connection.query(Self.volatileFunctionsSQL).map { try $0.get(0, as: String.self) }
                    return volatile.isEmpty ? .pure : .volatile(volatile)
                }
            } catch let error as PostgresError where error.kind == .server {
                // The text itself parsed: PostgreSQL refuses it only as a function body
                // (`EXPLAIN is not yet supported in unquoted SQL function body`).
                return .unknown(
                    "which functions it calls cannot be learned without running it (\(error.message)); only a query (SELECT, VALUES, WITH ...) or an INSERT, UPDATE or DELETE can be inspected")
            }
        }
    }

    /// The assessment to return instead of evaluating `statement`, plan text of `option`:
    /// blocked when it calls a volatile function or cannot be inspected, waiting when the
    /// session cannot inspect it (a read-only dry run; a real run judges it). nil: evaluate it.
    public func unlessPure(_ statement: SQL, option: String, table: ObjectName? = nil) throws -> Assessment? {
        let found = try planText(option) { try self.purity(of: statement) }
        guard let reason = found.reason(option) else { return nil }
        if readOnlySession != nil, case .unknown = found { return .waiting(reason) }
        return .blocked([StepProblem("\(reason); the statement: \(statement)", table: table)])
    }

    /// The volatile functions `pg_temp.pgmend_purity()` reaches, as `regprocedure` text. Read
    /// from the body's parse tree as the server stores it (`prosqlbody`, `nodeToString` text),
    /// not from `pg_depend`: dependencies on built-in objects (`pg_sleep`, `nextval`,
    /// `pg_terminate_backend`) are never recorded there. Every function call, operator,
    /// aggregate and window function in it, nested queries included, names its object by oid
    /// (`:funcid`, `:opno`, `:aggfnoid`, `:winfnoid`); a view it reads (`:relid`) adds its
    /// rule's tree, a domain it casts to (`:resulttype`, `:consttype`) its CHECK constraints'.
    static let volatileFunctionsSQL: SQL = """
        WITH RECURSIVE trees(tree) AS (
            SELECT prosqlbody::text FROM pg_proc WHERE oid = 'pg_temp.pgmend_purity()'::regprocedure
          UNION
            SELECT x.t FROM trees,
                LATERAL regexp_matches(trees.tree, ':(relid|resulttype|consttype) (\\d+)', 'g') m,
                LATERAL (
                    SELECT rw.ev_action::text FROM pg_rewrite rw JOIN pg_class c ON c.oid = rw.ev_class
                    WHERE m[1] = 'relid' AND rw.ev_class = m[2]::oid AND c.relkind = 'v'
                  UNION ALL
                    SELECT co.conbin::text FROM pg_constraint co
                    WHERE m[1] <> 'relid' AND co.contypid = m[2]::oid AND co.conbin IS NOT NULL
                ) x(t)
        ),
        refs(key, oid) AS (
            SELECT DISTINCT m[1], m[2]::oid FROM trees,
                regexp_matches(trees.tree, ':(funcid|opfuncid|aggfnoid|winfnoid|opno|sortop|eqop|resulttype|consttype) (\\d+)', 'g') m
        ),
        types(oid) AS (
            SELECT oid FROM refs WHERE key IN ('resulttype', 'consttype')
          UNION
            SELECT f FROM types JOIN pg_type t ON t.oid = types.oid, unnest(ARRAY[t.typbasetype, t.typelem]::oid[]) f WHERE f <> 0
        ),
        functions(oid) AS (
            SELECT oid FROM refs WHERE key IN ('funcid', 'opfuncid', 'aggfnoid', 'winfnoid')
          UNION
            SELECT o.oprcode::oid FROM refs JOIN pg_operator o ON o.oid = refs.oid WHERE refs.key IN ('opno', 'sortop', 'eqop')
          UNION
            SELECT f FROM refs JOIN pg_aggregate a ON a.aggfnoid = refs.oid,
                unnest(ARRAY[a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn]::oid[]) f
            WHERE refs.key = 'aggfnoid' AND f <> 0
          UNION
            SELECT f FROM types JOIN pg_type t ON t.oid = types.oid, unnest(ARRAY[t.typinput, t.typoutput]::oid[]) f WHERE f <> 0
        )
        SELECT DISTINCT p.oid::regprocedure::text FROM functions JOIN pg_proc p ON p.oid = functions.oid
        WHERE p.provolatile = 'v' AND p.oid <> 'pg_temp.pgmend_purity()'::regprocedure ORDER BY 1
        """
}

/// An effect whose SQL holds plan text that calls a volatile function: run as the plan says in
/// a real run; in a rehearsal not run at all, since a rollback does not undo what such a
/// function does outside the database (`dblink_exec`, `pg_terminate_backend`), and the report
/// says so.
public struct NotRehearsedWhenVolatile: Effect {
    public let inner: any Effect
    /// The end of "not rehearsed: ...".
    public let reason: String

    public init(_ inner: any Effect, reason: String) {
        self.inner = inner
        self.reason = reason
    }

    public var summary: String { inner.summary }
    public var sql: String { inner.sql }
    public var lock: LockLevel { inner.lock }
    public var lockTarget: ObjectName? { inner.lockTarget }
    public var lockTargets: [ObjectName] { inner.lockTargets }
    public var hazards: [Hazard] { inner.hazards }
    public var transactional: Bool { inner.transactional }
    public var touches: [ObjectName] { inner.touches }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        if context.rehearsal { return EffectOutcome(note: "not rehearsed: \(reason)") }
        return try inner.apply(context)
    }
}
