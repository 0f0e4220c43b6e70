import Foundation
@testable import MendKit
import MendTestSupport
import Testing

/// The run report for people, on reports built here: what each mode shows, in 100 columns.
/// (The same text from real runs is checked by the conformance goldens and the demo test.)
@Suite("Run report text")
struct RunReportTextTests {
    static let longSQL = "UPDATE \"public\".\"users\" SET " + (0..<60).map { "\"c\($0)\" = 'a value with spaces \($0)'" }.joined(separator: ", ")
    static let keyRange = "SELECT ARRAY[\"id\"::text] FROM \"public\".\"users\" WHERE (\"id\") > ($1::uuid) ORDER BY \"id\" OFFSET 4999 LIMIT 1;"

    static func action(_ sql: String, executed: Bool = false, rows: Int? = nil, batches: Int? = nil, file: Bool = false) -> RunReport.ActionReport {
        var action = RunReport.ActionReport(
            summary: "update rows of users", sql: sql, transactional: true, lock: "ROW EXCLUSIVE", table: "public.users",
            tables: ["public.users"], hazards: ["row_updates"], executed: executed, rowsAffected: rows, attempts: executed ? 1 : nil)
        action.batches = batches
        action.durationMs = executed ? 1234 : nil
        action.writesFile = file
        return action
    }

    static func report(_ mode: RunReport.Mode, _ steps: [RunReport.StepReport]) -> RunReport {
        RunReport(
            mode: mode, plan: .init(name: "p", path: "Plans/p.yaml", sha256: String(repeating: "a", count: 64)), database: "app",
            serverVersion: "15.18", steps: steps)
    }

    static func step(_ number: Int, _ status: StepStatus, _ actions: [RunReport.ActionReport], waitsFor: Int? = nil) -> RunReport.StepReport {
        var step = RunReport.StepReport(
            number: number, kind: "backfill", location: "Plans/p.yaml:\(number):5", status: status, reason: status == .waiting ? "judged after step \(waitsFor ?? 0) runs" : nil,
            note: nil, actions: actions, problems: [], settings: ["table": "users"])
        step.waitsFor = waitsFor
        return step
    }

    static func expectFits(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for line in text.split(separator: "\n") where line.count > 100 {
            // Only a single word too long for any line (a path) may stand out, whole.
            #expect(line.drop { $0 == " " }.split(separator: " ").count == 1, "over 100 columns: \(line)", sourceLocation: sourceLocation)
        }
    }

    @Test func aLongStatementIsLaidOutAndCutInADryRunButWholeWhenVerbose() {
        let report = Self.report(.dryRun, [Self.step(1, .needed, [Self.action(Self.keyRange + "\n" + Self.longSQL)])])
        let text = RunReportText(report).text
        Self.expectFits(text)
        #expect(text.contains("more lines (--verbose shows the whole statement)"), "\(text)")
        #expect(!text.contains("'a value with spaces 59'"))
        let verbose = RunReportText(report, detail: .verbose).text
        Self.expectFits(verbose)
        // Nothing lost: the statement's words, in order; a quoted literal never split.
        #expect(verbose.flowed.contains(Self.longSQL.flowed), "\(verbose)")
        #expect(!verbose.contains("'a value with\n"))
        let brief = RunReportText(report, detail: .brief).text
        #expect(!brief.contains("UPDATE"))
    }

    @Test func aStatementSeveralActionsRunIsShownOnceWithItsCount() {
        let report = Self.report(.dryRun, [
            Self.step(1, .needed, [Self.action(Self.keyRange + "\nUPDATE users SET a = 1"), Self.action(Self.keyRange + "\nUPDATE users SET b = 2")])
        ])
        let text = RunReportText(report).text
        #expect(text.flowed.components(separatedBy: "OFFSET 4999 LIMIT 1;").count == 2, "\(text)")
        #expect(text.contains("-- (2 times in this plan; shown once)"))
        #expect(text.contains("-- again, as above: SELECT ARRAY"))
        #expect(text.contains("UPDATE users SET b = 2"))
    }

    @Test func aRunShowsOneOutcomeLinePerStepAndTheSQLOnlyWhenVerbose() {
        let report = Self.report(.apply, [
            Self.step(1, .applied, [Self.action(Self.keyRange + "\nUPDATE users SET a = 1", executed: true, rows: 12_345, batches: 3)])
        ])
        let text = RunReportText(report).text
        #expect(text.contains("✓ 1. backfill (table=users): applied - 1 statement, 12,345 rows in 3 batches, 1.2 s"), "\(text)")
        #expect(!text.contains("UPDATE users"))
        #expect(text.contains("1 statement executed"))
        let verbose = RunReportText(report, detail: .verbose).text
        #expect(verbose.contains("UPDATE users SET a = 1"))
        #expect(verbose.contains("-- (ran once per batch: 3 batches)"))
    }

    @Test func aRehearsalSaysItRolledBack() {
        let report = Self.report(.rehearsal, [Self.step(1, .applied, [Self.action("UPDATE users SET a = 1", executed: true, rows: 2)])])
        let text = RunReportText(report).text
        #expect(text.contains("✓ 1. backfill (table=users): rehearsed - 1 statement, 2 rows"), "\(text)")
        #expect(text.contains("1 statement rehearsed, rolled back; nothing changed"))
        #expect(!text.contains("executed"))
    }

    @Test func aPlanThatOnlyWroteFilesIsNotSaidToHaveRunStatements() {
        let report = Self.report(.apply, [Self.step(1, .applied, [Self.action("-- no SQL", executed: true, file: true), Self.action("-- no SQL", executed: true, file: true)])])
        let text = RunReportText(report).text
        #expect(text.contains("2 files written"), "\(text)")
        #expect(!text.contains("statement"))
    }

    @Test func primaryKeysAreCutAfterFive() {
        var step = Self.step(1, .blocked, [])
        step.problems = [RunReport.ProblemReport(message: "rows of users hold no UUID", count: 12, sample: (1...10).map(String.init))]
        let text = RunReportText(Self.report(.dryRun, [step])).text
        #expect(text.contains("! rows of users hold no UUID (12 rows; primary keys: 1, 2, 3, 4, 5 and 7 more)"), "\(text)")
    }

    @Test func theDryRunCountsWhatWillRunWaitingStepsIncluded() {
        let report = Self.report(.dryRun, [
            Self.step(7, .needed, [Self.action("UPDATE a"), Self.action("UPDATE b")]),
            Self.step(8, .waiting, [], waitsFor: 7), Self.step(9, .waiting, [], waitsFor: 7),
        ])
        #expect(report.pendingWork == "2 statements now, and steps 8 and 9 once step 7 has run")
        #expect(RunReportText(report).text.contains("to run: 2 statements now, and steps 8 and 9 once step 7 has run"))
        #expect(Self.report(.dryRun, [Self.step(1, .satisfied, [])]).pendingWork == nil)
    }

    @Test func sqlLayoutKeepsEveryWordAndFitsTheWidth() {
        let words = "SELECT " + (0..<40).map { "column_number_\($0)" }.joined(separator: ", ") + " FROM t WHERE a = 'two words' AND b = \"a name\""
        let lines = SQLLayout.lines("  " + words, width: 60)
        #expect(lines.allSatisfy { $0.count <= 60 })
        #expect(lines.joined(separator: " ").flowed == words.flowed)
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("      ") })
        #expect(lines.contains { $0.contains("'two words'") } && lines.contains { $0.contains("\"a name\"") })
        // A word longer than a line is cut into pieces, so no line is wider.
        let long = SQLLayout.lines("ANY('{" + String(repeating: "x", count: 150) + "}')", width: 50)
        #expect(long.allSatisfy { $0.count <= 50 } && long.count == 4, "\(long)")
    }
}
