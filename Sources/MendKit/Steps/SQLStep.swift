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

    public init?(options: inout OptionReader) {
        let run = options.text("run")
        let doneWhen = options.text("done_when")
        guard let run, let doneWhen else { return nil }
        self.run = run
        self.doneWhen = doneWhen
    }

    public var settings: [(name: String, value: String)] { [("run", run), ("done_when", doneWhen)] }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        let answer = try probe.readOnly { probe -> Result<Bool, StepProblem> in
            let result = try probe.query(doneWhen)
            guard result.count == 1, result.columnNames.count == 1, result.columnTypes.first == .bool,
                let row = result.first
            else {
                return .failure(StepProblem(
                    "done_when must return one row with one boolean; it returned \(result.count) rows of \(result.columnNames.count) columns"))
            }
            return .success(try row.get(0, as: Bool?.self) ?? false)
        }
        switch answer {
        case .failure(let problem): return .blocked([problem])
        case .success(true): return .satisfied("done_when is true")
        case .success(false):
            return .needed(
                [Action(summary: "run the plan's SQL", sql: run, lock: .accessExclusive, hazards: [.rawSQL])],
                after: nil)
        }
    }
}
