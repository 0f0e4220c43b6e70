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
        let answer = try probe.planText("done_when") { try probe.readOnly { probe -> Result<Bool, StepProblem> in
            let result = try probe.query(doneWhen)
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
            let effect: any Effect = transaction
                ? AtomicSQL("run the plan's SQL", [run], lock: lock, hazards: [.rawSQL], raw: true)
                : ConcurrentSQL(
                    "run the plan's SQL outside a transaction", run, rehearsalSQL: index?.rehearsal, lock: lock,
                    hazards: [.rawSQL], builds: index?.builds)
            return .needed([effect], after: nil)
        }
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
