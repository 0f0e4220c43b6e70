import Foundation
import PostgresClient
import SchemaModel

/// `sql`: raw SQL for what no other step does, run until a check says it is done.
///
/// `done_when` is a query returning one boolean; it is run READ ONLY and rolled back. The step
/// is the only place plan text becomes SQL unquoted, which its name says.
public struct SQLStep: RepairStep {
    public static let kind = "sql"
    public static let summary = "run raw SQL until the done_when query returns true"

    public let run: String
    public let doneWhen: String
    /// The lock the SQL takes, as the plan declares it; `unknown` when it does not.
    public let lock: LockLevel
    /// False: run outside a transaction block, for `CREATE INDEX CONCURRENTLY` and the like.
    public let transaction: Bool

    public init?(options: inout OptionReader) {
        let run = options.text("run")
        let doneWhen = options.text("done_when")
        var lock = LockLevel.unknown
        if let text = options.optionalText("lock") {
            let spelled = text.uppercased().replacingOccurrences(of: "_", with: " ")
            let known: [LockLevel] = [.none, .accessShare, .rowExclusive, .shareUpdateExclusive, .share, .shareRowExclusive, .exclusive, .accessExclusive]
            if let level = known.first(where: { $0.rawValue.uppercased() == spelled }) {
                lock = level
            } else {
                options.report(options.location(of: "lock"), "lock must be one of \(known.map { $0.rawValue.lowercased().replacingOccurrences(of: " ", with: "_") }.joined(separator: ", ")); not '\(text)'")
            }
        }
        transaction = options.bool("transaction", default: true)
        guard let run, let doneWhen else { return nil }
        self.run = run
        self.doneWhen = doneWhen
        self.lock = lock
    }

    public var settings: [(name: String, value: String)] {
        [("run", run), ("done_when", doneWhen), ("lock", lock.rawValue), ("transaction", String(transaction))]
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        // A question must not act: a done_when that calls a volatile function is not run, in
        // a dry run, a rehearsal or a real run alike (the step is blocked and says why).
        if let instead = try probe.unlessPure(Self.statement(doneWhen), option: "done_when") { return instead }
        let answer = try probe.planText("done_when") { try probe.readOnly { probe -> Result<Bool, StepProblem> in
            let result = try probe.query(Self.raw(doneWhen))
            guard result.count == 1, result.columnNames.count == 1, result.columnTypes.first == .bool,
                let row = result.first
            else {
                return .failure(StepProblem(
                    "done_when must return one row with one boolean; it returned \(result.count) rows of \(result.columnNames.count) columns"))
            }
            return .success(try row.get(0, as: Bool?.self) ?? false)
        } }
        switch answer {
        case .failure(let problem): return .blocked([problem])
        case .success(true): return .satisfied("done_when is true")
        case .success(false):
            let index = Self.concurrentIndex(run)
            var effect: any Effect = transaction
                ? AtomicSQL("run the plan's SQL", [Self.raw(run)], lock: lock, hazards: [.rawSQL], raw: true)
                : ConcurrentSQL(
                    "run the plan's SQL outside a transaction", Self.raw(run), rehearsalSQL: index.map { Self.raw($0.rehearsal) }, lock: lock,
                    hazards: [.rawSQL], builds: index?.builds)
            if let reason = try rehearsalRefusal(probe) { effect = NotRehearsedWhenVolatile(effect, reason: reason) }
            return .needed([effect], after: nil)
        }
    }

    /// Why a rehearsal must not run `run`, or nil. A real run runs it as written: it is what
    /// the operator asked for. A rehearsal's rollback undoes what it did in this database only,
    /// so it skips `run` when the server says it calls a volatile function (other than those
    /// whose only effect is their result: `gen_random_uuid()`), and a `DO` block, `CALL` or
    /// `COPY`, which run code or touch files pgmend cannot inspect. Other statements it cannot
    /// inspect (DDL) are rehearsed as written.
    func rehearsalRefusal(_ probe: Probe) throws -> String? {
        let purity: PlanTextPurity
        do {
            purity = try probe.purity(of: Self.statement(run)).allowing(Probe.effectFreeVolatile)
        } catch let error as PostgresError where error.kind == .server {
            // Several statements, or one that names what an earlier step creates: judged again
            // when the run gets here, by the assessment just before it runs.
            purity = .unknown(error.message)
        }
        switch purity {
        case .pure, .volatile: return purity.rehearsalReason("run")
        case .unknown:
            let first = run.trimmingCharacters(in: .whitespacesAndNewlines).prefix { $0.isLetter }.uppercased()
            if ["DO", "CALL", "COPY"].contains(first) { return "run is \(first), which may act outside the rolled-back transaction and cannot be inspected" }
            // DDL (a column's DEFAULT is evaluated for every row when the column is added),
            // several statements: not parsed by the server without running them, so read
            // for names called (`name(`), and any function of such a name that is volatile
            // counts. A name in a string literal counts too: it errs towards not rehearsing.
            let called = Self.namesCalled(in: run)
            guard !called.isEmpty else { return nil }
            let volatile = try probe.query(
                "SELECT DISTINCT p.oid::regprocedure::text FROM pg_proc p WHERE p.proname = ANY (\(bind: called)::text[]) AND p.provolatile = 'v' ORDER BY 1"
            ).map { try $0.get(0, as: String.self) }
            return PlanTextPurity.volatile(volatile).allowing(Probe.effectFreeVolatile).rehearsalReason("run")
        }
    }

    /// The plan's text as SQL, unchecked: the one place plan text becomes a statement as written.
    static func raw(_ text: String) -> SQL { SQL.unsafeRaw(text) }

    /// One statement of the plan's text, without the `;` that may end it: what `purity(of:)`
    /// takes as a function body. Trimmed at the end only: a position the server names in it is
    /// the plan's.
    static func statement(_ text: String) -> SQL {
        var body = Substring(text)
        while let last = body.last, last.isWhitespace || last == ";" { body = body.dropLast() }
        return raw(String(body))
    }

    /// The names in `text` written as calls (`name(`, `"Name"(`): unquoted ones folded to
    /// lower case, as PostgreSQL reads them.
    static func namesCalled(in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: #"("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*\("#) else { return [] }
        let matches = regex.matches(in: text, range: NSRange(text.startIndex..., in: text))
        let names = matches.compactMap { match -> String? in
            guard let range = Range(match.range(at: 1), in: text) else { return nil }
            let name = String(text[range])
            return name.hasPrefix("\"") ? String(name.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"") : name.lowercased()
        }
        return Array(Set(names)).sorted()
    }

    /// For one `CREATE [UNIQUE] INDEX CONCURRENTLY` or `DROP INDEX CONCURRENTLY` statement: the
    /// index a build makes (so an invalid leftover of a killed or cancelled build is dropped
    /// before it runs again) and the statement without CONCURRENTLY, which a rehearsal can run
    /// inside its transaction. nil for anything else.
    static func concurrentIndex(_ sql: String) -> (builds: ObjectName?, rehearsal: String)? {
        let name = #"("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)"#
        let create = #"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY)\s+(?:IF\s+NOT\s+EXISTS\s+)?"# + name
            + #"\s+ON\s+(?:ONLY\s+)?(?:"# + name + #"\s*\.\s*)?"# + name
        let drop = #"^\s*DROP\s+INDEX\s+(CONCURRENTLY)\b"#
        let trimmed = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        let body = trimmed.hasSuffix(";") ? String(trimmed.dropLast()) : trimmed
        guard SQLFragment.problem(in: "(" + body + ")") == nil else { return nil }  // one statement
        func unquote(_ text: String) -> String {
            text.hasPrefix("\"") ? String(text.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"") : text.lowercased()
        }
        func withoutConcurrently(_ match: NSTextCheckingResult) -> String {
            let range = match.range(at: 1)
            return (body as NSString).replacingCharacters(in: NSRange(location: range.location, length: range.length + 1), with: "")
        }
        let whole = NSRange(body.startIndex..., in: body)
        if let regex = try? NSRegularExpression(pattern: create, options: [.caseInsensitive]),
            let match = regex.firstMatch(in: body, range: whole)
        {
            func group(_ number: Int) -> String? {
                Range(match.range(at: number), in: body).map { String(body[$0]) }
            }
            let schema = group(3).map(unquote) ?? "public"
            return (group(2).map { ObjectName(schema: schema, name: unquote($0)) }, withoutConcurrently(match))
        }
        if let regex = try? NSRegularExpression(pattern: drop, options: [.caseInsensitive]),
            let match = regex.firstMatch(in: body, range: whole)
        {
            return (nil, withoutConcurrently(match))
        }
        return nil
    }
}
