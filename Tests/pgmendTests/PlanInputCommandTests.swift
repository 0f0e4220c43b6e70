import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// Hostile and mistaken input on the command line: each is exit 2 with a message that says
/// where, and none crashes or hangs the process.
@Suite("Plan input on the command line")
struct PlanInputCommandTests {
    static let invalidFixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MendKitTests/Fixtures/plans/invalid")

    /// A scratch folder of plans, removed after `body`.
    static func withPlans<T>(_ files: [String: String], _ body: (String) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, text) in files {
            try Data(text.utf8).write(to: folder.appendingPathComponent(name))
        }
        return try body(folder.path)
    }

    @Test(arguments: [
        ("99999999999999TB", "--max-rehearsal-size must be at most 1TB, not '99999999999999TB'"),
        ("2TB", "--max-rehearsal-size must be at most 1TB, not '2TB'"),
        ("lots", "--max-rehearsal-size takes a size like 500MB or 2GB, not 'lots'"),
    ])
    func aHugeRehearsalSizeIsBadInput(_ size: String, _ message: String) throws {
        // Refused before any connection: no database is needed.
        let outcome = try PgMendBinary.run(["run", "anything", "--rehearse", "--max-rehearsal-size", size])
        #expect(outcome.status == 2, "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
    }

    @Test func outOfRangeNumbersAreRefusedByPlanCheck() throws {
        let path = Self.invalidFixtures.appendingPathComponent("numbers-out-of-range.yaml").path
        let outcome = try PgMendBinary.run(["plan", "check", path])
        #expect(outcome.status == 2, "stderr: \(outcome.stderr)")
        // Located at each value, wherever the fixture has it.
        let lock = try #require(TextPosition.of("9999999999999h", inFile: path))
        let statement = try #require(TextPosition.of("3000000s", inFile: path))
        #expect(outcome.stdout.containsFlowed("\(path):\(lock): option 'lock_timeout' of settings must be at most 24h, not '9999999999999h'"), "\(outcome.stdout)")
        #expect(outcome.stdout.containsFlowed("\(path):\(statement): option 'statement_timeout' of settings must be at most 24h, not '3000000s'"), "\(outcome.stdout)")
    }

    /// It hung (the time grows ninefold per level); `timeout` bounds the test if it ever does
    /// again (exit 124).
    @Test func anAliasBombIsRefusedInWellUnderASecond() throws {
        let path = Self.invalidFixtures.appendingPathComponent("alias-bomb.yaml").path
        let clock = ContinuousClock()
        var outcome: ProcessOutcome?
        let elapsed = try clock.measure {
            outcome = try ProcessRunner.run("/usr/bin/timeout", ["5", try PgMendBinary.path(), "plan", "check", path])
        }
        #expect(elapsed < .seconds(2), "took \(elapsed)")
        #expect(outcome?.status == 2)
        // At the first alias of the level that passes the limit (the ninefold a4, used in a5).
        let alias = try #require(TextPosition.of("*a4", inFile: path))
        #expect(outcome?.stdout.containsFlowed("\(path):\(alias): this alias takes the plan past 100000 YAML nodes") == true, "\(outcome?.stdout ?? "")")
    }

    @Test(arguments: ["\r\n", "\r"])
    func aDuplicatedNestedKeyWithOtherLineEndingsIsLocatedNotACrash(_ ending: String) throws {
        let text = "name: dup\nsteps:\n  - rename_table:\n      from: a\n      to: b\n      to: c\n".replacingOccurrences(of: "\n", with: ending)
        try Self.withPlans(["dup.yaml": text]) { folder in
            let outcome = try PgMendBinary.run(["plan", "check", "--plans", folder, "dup"])
            #expect(outcome.status == 2, "stderr: \(outcome.stderr)")
            #expect(outcome.stdout.unwrappedLines == ["\(folder)/dup.yaml:6:7: duplicate key 'to' (first at line 5)", ""])
        }
    }

    /// A script matches answers to files: a plan is named by its file, valid or not.
    @Test func planCheckJSONNamesValidAndInvalidPlansAlike() throws {
        let files = [
            "good.yaml": "name: good\nsteps:\n  - rename_table: {from: a, to: b}\n",
            "bad.yaml": "name: bad\nsteps:\n  - rename_table: {from: a}\n",
        ]
        try Self.withPlans(files) { folder in
            struct Answer: Decodable, Equatable { var plan: String; var valid: Bool }
            for arguments in [[], ["good", "bad"], ["\(folder)/good.yaml", "\(folder)/bad.yaml"]] {
                let outcome = try PgMendBinary.run(["plan", "check", "--plans", folder, "--format", "json"] + arguments)
                #expect(outcome.status == 2)
                let answers = try JSONDecoder().decode([Answer].self, from: Data(outcome.stdout.utf8))
                #expect(Set(answers.map(\.plan)) == ["\(folder)/good.yaml", "\(folder)/bad.yaml"], "\(arguments)")
                #expect(answers.first { $0.plan.hasSuffix("good.yaml") }?.valid == true)
            }
        }
    }

    @Test(arguments: [-1, 0])
    func aSnapshotWithANonPositiveFormatVersionIsBadInput(_ version: Int) throws {
        try Self.withPlans(["s.json": #"{"format_version": \#(version), "pgmend_version": "0.1.0", "taken_at": "2026-01-01T00:00:00Z", "duration_ms": 1, "server_version": "17", "database": "d", "schema": {}}"#]) { folder in
            let outcome = try PgMendBinary.run(["snapshot", "diff", "\(folder)/s.json", "\(folder)/s.json"])
            #expect(outcome.status == 2, "stdout: \(outcome.stdout)")
            #expect(outcome.stderr == "pgmend: \(folder)/s.json: format_version \(version) is not a snapshot format (they count from 1)\n")
        }
    }

    /// The issue's run: `done_when` reads `lower(status)` after a later step made `status` an
    /// enum. The second run of the same plan is satisfied: the journal shows the step completed
    /// with the same text (issue 19). Once the done_when's text is edited, nothing explains
    /// the refusal: the run reports the step, the option's place and the server's message, in
    /// the normal JSON report, and exits 2.
    @Test func aRefusedDoneWhenIsReportedAsJSONWithExitTwo() throws {
        let plan = """
            name: orders
            steps:
              - sql:
                  run: UPDATE orders SET status = lower(status)
                  done_when: SELECT NOT EXISTS (SELECT 1 FROM orders WHERE status::text <> lower(status))
              - to_enum: {table: orders, column: status, type: order_status, labels: [pending, paid]}

            """
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute("CREATE TABLE orders (id int PRIMARY KEY, status text); INSERT INTO orders VALUES (1, 'PAID')")
            try Self.withPlans(["orders.yaml": plan]) { folder in
                let snapshots = "\(folder)/runs"
                let first = try PgMendBinary.run(["run", "orders", "--plans", folder, "--db", database.conninfo, "--snapshots", snapshots, "--yes"])
                #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
                let again = try PgMendBinary.run(["run", "orders", "--plans", folder, "--db", database.conninfo, "--snapshots", snapshots, "--dry-run"])
                #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
                #expect(again.stdout.containsFlowed("done_when no longer type-checks (ERROR 42883: function lower(order_status) does not exist)"), "\(again.stdout)")
                try plan.replacingOccurrences(of: "lower(status))", with: "lower(status)) AND true")
                    .write(toFile: "\(folder)/orders.yaml", atomically: true, encoding: .utf8)
                let second = try PgMendBinary.run(["run", "orders", "--plans", folder, "--db", database.conninfo, "--snapshots", snapshots, "--format", "json"])
                #expect(second.status == 2, "\(second.stderr)")
                struct Report: Decodable {
                    struct Step: Decodable { var number: Int; var status: String; var problems: [Problem] }
                    struct Problem: Decodable { var message: String }
                    var outcome: String; var exit_code: Int; var message: String; var steps: [Step]
                }
                let report = try JSONDecoder().decode(Report.self, from: Data(second.stdout.utf8))
                #expect(report.outcome == "bad_input" && report.exit_code == 2)
                #expect(report.steps.first?.status == "failed")
                let doneWhen = try #require(TextPosition.of("SELECT NOT EXISTS", in: plan))
                #expect(report.steps.first?.problems.first?.message.hasPrefix(
                    "done_when (\(folder)/orders.yaml:\(doneWhen)): the server refused it: ERROR 42883: function lower(order_status) does not exist") == true,
                    "\(report.steps.first?.problems ?? [])")
                #expect(report.message.hasPrefix("step 1 (sql) failed: done_when"))

                let text = try PgMendBinary.run(["run", "orders", "--plans", folder, "--db", database.conninfo, "--snapshots", snapshots, "--dry-run"])
                #expect(text.status == 2)
                #expect(text.stdout.contains("1. sql"))
                #expect(text.stdout.containsFlowed("! done_when (\(folder)/orders.yaml:\(doneWhen)): the server refused it: ERROR 42883"), "\(text.stdout)")
            }
        }
    }
}
