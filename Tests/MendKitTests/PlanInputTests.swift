import Foundation
@testable import MendKit
import SchemaModel
import Testing

/// Plan files that try to crash or hang the loader, and the numbers and names it must refuse.
/// The invalid fixtures `numbers-out-of-range`, `names-too-long`, `empty-names` and
/// `alias-bomb` hold the exact messages; these tests hold what fixtures cannot: line endings,
/// time and size bounds.
@Suite("Plan input: line endings, size and alias limits, numbers")
struct PlanInputTests {
    /// The text with every line ending replaced.
    static func withLineEndings(_ text: String, _ ending: String) -> String {
        text.replacingOccurrences(of: "\n", with: ending)
    }

    static func problems(_ text: String, file: String = "t.yaml") -> [String] {
        do {
            _ = try PlanLoader.parse(text, file: file)
            return []
        } catch let error as PlanError {
            return error.problems.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    // MARK: Line endings

    /// CRLF (Windows) and CR-only files give the problems of the same file with LF endings, at
    /// the same lines and columns. Before, a CRLF file with a duplicated key crashed the process
    /// ("Range requires lowerBound <= upperBound").
    @Test(arguments: PlanFixtures.names("invalid"), ["\r\n", "\r"])
    func anInvalidPlanReportsTheSameWhateverItsLineEndings(_ name: String, _ ending: String) throws {
        let path = PlanFixtures.relativePath("invalid", name)
        let text = try String(contentsOf: PlanFixtures.url(path), encoding: .utf8)
        #expect(Self.problems(Self.withLineEndings(text, ending), file: path) == Self.problems(text, file: path))
    }

    @Test(arguments: PlanFixtures.names("valid"), ["\r\n", "\r"])
    func aValidPlanLoadsTheSameWhateverItsLineEndings(_ name: String, _ ending: String) throws {
        let path = PlanFixtures.relativePath("valid", name)
        let text = try String(contentsOf: PlanFixtures.url(path), encoding: .utf8)
        let lf = try PlanLoader.parse(text, file: path)
        let other = try PlanLoader.parse(Self.withLineEndings(text, ending), file: path)
        #expect(other.steps.map(\.location) == lf.steps.map(\.location))
        #expect(other.steps.map { $0.step.settings.map(\.value) } == lf.steps.map { $0.step.settings.map(\.value) })
        #expect(other.settings == lf.settings)
    }

    @Test func aDuplicatedNestedKeyInACRLFFileIsLocated() {
        let text = "name: t\r\nsteps:\r\n  - rename_table:\r\n      from: a\r\n      to: b\r\n      to: c\r\n"
        #expect(Self.problems(text) == ["t.yaml:6:7: duplicate key 'to' (first at line 5)"])
        #expect(Self.problems(text.replacingOccurrences(of: "\r\n", with: "\r")) == ["t.yaml:6:7: duplicate key 'to' (first at line 5)"])
    }

    @Test func tabsAreLocatedOnTheirLineWhateverTheLineEndings() {
        let text = "name: t\nsteps:\n  - rename_table:\n\t  from: a\n      to: b\n"
        let lf = Self.problems(text)
        #expect(lf.first?.hasPrefix("t.yaml:4:1: tab character") == true, "\(lf)")
        #expect(Self.problems(Self.withLineEndings(text, "\r\n")) == lf)
        #expect(Self.problems(Self.withLineEndings(text, "\r")) == lf)
    }

    @Test func linesAreSplitAsYAMLCountsThem() {
        let lines = SourceLines.split("a\r\nb\rc\nd\u{2028}é\r\n").map { String(Substring($0)) }
        #expect(lines == ["a", "b", "c", "d", "é", ""])
        #expect(SourceLines.split("").count == 1)
    }

    // MARK: Size and aliases

    /// The bomb of the issue: nine levels of nine aliases, used as a mapping key, which Yams
    /// hashes in full. It hung; now it is refused where the expansion passes the budget.
    static func aliasBomb(usedAs use: String) -> String {
        var text = "name: t\nsteps:\n  - sql: {run: SELECT 1, done_when: SELECT true}\nbomb:\n  a0: &a0 [x,x,x,x,x,x,x,x,x]\n"
        for level in 1...9 {
            text += "  a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ",") + "]\n"
        }
        return text + use
    }

    @Test(arguments: ["  ? *a9\n  : boom\n", "  b: *a9\n", "  ? {k: *a9}\n  : boom\n", "  c: [*a9, *a9]\n"])
    func anAliasBombIsRefusedQuickly(_ use: String) {
        let clock = ContinuousClock()
        var problems: [String] = []
        let elapsed = clock.measure { problems = Self.problems(Self.aliasBomb(usedAs: use)) }
        #expect(elapsed < .seconds(1), "took \(elapsed)")
        #expect(problems == ["t.yaml:10:12: this alias takes the plan past 100000 YAML nodes with its aliases expanded; write the plan out without aliases that repeat so much"])
    }

    @Test func aFewAliasesAreStillFine() throws {
        let text = """
            name: t
            steps:
              - create_table:
                  name: a
                  columns: &columns
                    - {name: id, type: bigint, primary_key: true}
                    - {name: note, type: text}
              - create_table:
                  name: b
                  columns: *columns

            """
        let plan = try PlanLoader.parse(text, file: "t.yaml")
        #expect(plan.steps.count == 2)
        #expect(plan.steps[1].step.settings.map(\.value).contains("bigint NOT NULL PRIMARY KEY"))
    }

    @Test func theBudgetCountsEveryExpandedNode() {
        // The map, a, [x, x] (3), b, the list: 7 nodes; each alias of [x, x] 3 more.
        let text = "a: &a [x, x]\nb: [*a, *a]\n"
        #expect(PlanLimits.expansionOverflow(text, limit: 13) == nil)
        #expect(PlanLimits.expansionOverflow(text, limit: 12)! == (2, 9))
        #expect(PlanLimits.expansionOverflow(text, limit: 9)! == (2, 5))
        // Not YAML: left to the parser, which locates it.
        #expect(PlanLimits.expansionOverflow("a: [", limit: 1) == nil)
    }

    @Test func aPlanOverOneMegabyteIsRefusedBeforeParsing() throws {
        let big = "name: t\nsteps:\n" + String(repeating: "  - rename_table: {from: a, to: b}\n", count: 40_000)
        #expect(big.utf8.count > PlanLimits.maxBytes)
        let clock = ContinuousClock()
        var problems: [String] = []
        let elapsed = clock.measure { problems = Self.problems(big) }
        #expect(elapsed < .seconds(1), "took \(elapsed)")
        #expect(problems == ["t.yaml:1:1: the file is \(big.utf8.count) bytes; a plan may be at most 1048576 bytes (1 MB)"])

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-big-\(UUID().uuidString).yaml").path
        try big.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            _ = try PlanLoader.load(path: path)
        } throws: { error in
            (error as? PlanError)?.description == "\(path):1:1: the file is \(big.utf8.count) bytes; a plan may be at most 1048576 bytes (1 MB)"
        }
    }

    // MARK: Numbers

    @Test(arguments: [
        ("9999999999999h", PlanDuration.Parsed.tooLong), ("3000000s", .tooLong), ("25h", .tooLong), ("86400001ms", .tooLong),
        ("99999999999999999999999ms", .tooLong), ("9223372036854775807ms", .tooLong), ("24h", .milliseconds(86_400_000)),
        ("1440min", .milliseconds(86_400_000)), ("2s", .milliseconds(2000)), ("00", .milliseconds(0)), ("-1s", .malformed),
        ("١s", .malformed),
    ])
    func durationsAreRangeChecked(_ text: String, _ expected: PlanDuration.Parsed) {
        #expect(PlanDuration.parse(text) == expected)
    }

    @Test(arguments: [
        ("1TB", ByteSize.Parsed.bytes(1 << 40)), ("2GB", .bytes(2 << 30)), ("500 MB", .bytes(500 << 20)), ("10kB", .bytes(10 << 10)),
        ("1024", .bytes(1024)), ("2TB", .tooLarge), ("99999999999999TB", .tooLarge), ("99999999999999999999B", .tooLarge),
        ("9223372036854775807", .tooLarge), ("-1GB", .malformed), ("GB", .malformed), ("1.5GB", .malformed), ("1 gigabyte", .malformed),
    ])
    func sizesAreRangeChecked(_ text: String, _ expected: ByteSize.Parsed) {
        #expect(ByteSize.parse(text) == expected)
    }

    /// "1 MiB, over the limit of 1 MiB" read as a contradiction: sizes that round alike are
    /// shown to the byte.
    @Test func aRefusedRehearsalShowsSizesThatDiffer() {
        #expect(RehearsalRefused(size: 1_048_676, limit: 1_048_576).description
            == "rehearsal refused: the tables it would change hold 1.0 MiB (1048676 bytes), over the limit of 1.0 MiB (1048576 bytes) (raise it with --max-rehearsal-size)")
        #expect(RehearsalRefused(size: 1_363_148, limit: 1_048_576).description.contains("hold 1.3 MiB, over the limit of 1.0 MiB"))
        #expect(ByteSize.text(812) == "812 bytes")
        #expect(ByteSize.text(3 << 30) == "3.0 GiB")
    }

    // MARK: Names

    @Test func namesOfSixtyThreeBytesAreFine() throws {
        let name = String(repeating: "n", count: 63)
        let plan = try PlanLoader.parse(
            "name: t\nsteps:\n  - rename_table: {from: \(name), to: audit_\(name.dropFirst(6))}\n  - archive_table: {tables: [\(name).\(name)]}\n",
            file: "t.yaml")
        #expect(plan.steps.count == 2)
    }

    @Test func stepsKnowWhereTheirOptionsAreWritten() throws {
        let plan = try PlanLoader.parse("name: t\nsteps:\n  - sql:\n      run: SELECT 1\n      done_when: SELECT true\n", file: "t.yaml")
        let step = try #require(plan.steps.first)
        #expect(step.location(of: "done_when").description == "t.yaml:5:18")
        #expect(step.location(of: "lock") == step.location)
    }
}
