import Foundation
@testable import MendKit
import MendTestSupport
import Testing

/// Plan files as the loader reads them. Every invalid plan under `Fixtures/plans/invalid/`
/// sits next to a `.expected` file with the exact error text it must produce; re-record them
/// on purpose with `PGMEND_RECORD=NAME.expected swift test --filter PlanLoader` (or
/// `PGMEND_RECORD=PlanLoaderTests` for all of them, see `Golden`), then read every one.
enum PlanFixtures {
    /// The package root, found from this file (the tests do not depend on the current directory).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let folder = "Tests/MendKitTests/Fixtures/plans"

    /// The base names of the `.yaml` files in `plans/GROUP/`, sorted.
    static func names(_ group: String) -> [String] {
        let url = packageRoot.appendingPathComponent("\(folder)/\(group)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(".yaml".count)) }.sorted()
    }

    /// The path relative to the package root, as an operator would pass it and as messages print it.
    static func relativePath(_ group: String, _ name: String, _ suffix: String = "yaml") -> String {
        "\(folder)/\(group)/\(name).\(suffix)"
    }

    static func url(_ relativePath: String) -> URL {
        packageRoot.appendingPathComponent(relativePath)
    }

    /// Reads the fixture and parses it under its relative path (what `PlanLoader.load` does
    /// after reading the bytes).
    static func load(_ group: String, _ name: String) throws -> Plan {
        let path = relativePath(group, name)
        let data = try Data(contentsOf: url(path))
        let text = try #require(String(data: data, encoding: .utf8))
        return try PlanLoader.parse(text, file: path)
    }

    /// A run that records golden files may be adding the `.expected` of a new plan.
    static var recording: Bool { Golden.isRecordingAnything }
}

@Suite("PlanLoader: plan files and the problems they report")
struct PlanLoaderTests {
    @Test func fixtureFoldersAreFound() {
        #expect(PlanFixtures.names("invalid").count >= 18)
        #expect(PlanFixtures.names("valid").count >= 2)
        // Every invalid plan has its expected text, and no expected text is left without a plan.
        let folder = PlanFixtures.url("\(PlanFixtures.folder)/invalid").path
        let expected = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasSuffix(".expected") }.map { String($0.dropLast(".expected".count)) }.sorted()
        if !PlanFixtures.recording {
            #expect(expected == PlanFixtures.names("invalid"))
        }
    }

    @Test("an invalid plan reports exactly its expected problems", arguments: PlanFixtures.names("invalid"))
    func invalidPlan(_ name: String) throws {
        let error: PlanError
        do {
            let plan = try PlanFixtures.load("invalid", name)
            Issue.record("\(name).yaml loaded as a plan of \(plan.steps.count) steps; it should be rejected")
            return
        } catch let planError as PlanError {
            error = planError
        }
        #expect(!error.problems.isEmpty)
        // Every line points into the file that was loaded, in file order.
        let path = PlanFixtures.relativePath("invalid", name)
        for problem in error.problems {
            #expect(problem.location.file == path)
            #expect(problem.location.line >= 1 && problem.location.column >= 1)
        }
        #expect(error.problems.map(\.location) == error.problems.map(\.location).sorted())

        let expectedURL = PlanFixtures.url(PlanFixtures.relativePath("invalid", name, "expected"))
        try Golden.check(error.description + "\n", against: expectedURL, suite: PlanLoaderTests.self)
    }

    @Test("load(path:) reports a file it cannot read at line 1")
    func unreadableFile() {
        let path = "Tests/MendKitTests/Fixtures/plans/invalid/no-such-plan.yaml"
        #expect {
            _ = try PlanLoader.load(path: PlanFixtures.url(path).path + ".missing")
        } throws: { error in
            guard let error = error as? PlanError else { return false }
            return error.problems.count == 1 && error.problems[0].message == "cannot read the file"
                && error.problems[0].location.line == 1
        }
    }

    // MARK: Valid plans

    @Test("a valid plan loads", arguments: PlanFixtures.names("valid"))
    func validPlan(_ name: String) throws {
        let plan = try PlanFixtures.load("valid", name)
        #expect(plan.name == name)
        #expect(plan.path == PlanFixtures.relativePath("valid", name))
        #expect(!plan.steps.isEmpty)
        #expect(plan.steps.map(\.number) == Array(1...plan.steps.count))
        #expect(plan.sha256.count == 64)
    }

    @Test func everyStepKindWithAllOptions() throws {
        let plan = try PlanFixtures.load("valid", "every-step-kind")
        #expect(plan.description == "One step of every kind, each with all of its options.")
        var settings = PlanSettings()
        settings.lockTimeout = 500
        settings.statementTimeout = 60_000
        settings.batchSize = 1000
        settings.batchSizeGiven = true
        settings.batchTarget = 0  // batch_size alone: fixed batches, as before batch_target
        settings.batchPause = 50
        settings.retries = 3
        settings.batchWorkers = .count(2)
        #expect(plan.settings == settings)
        #expect(plan.settings.lines.map { "\($0.name)=\($0.value)" } == [
            "lock_timeout=500ms", "statement_timeout=1min", "batch_size=1000", "batch_target=none (fixed batches)", "batch_pause=50ms",
            "retries=3", "batch_workers=2",
        ])
        #expect(plan.steps.map(\.kind) == StepRegistry.names)
        #expect(plan.steps.map(\.location.line) == [11, 16, 20, 49, 55, 62, 66, 71, 75, 79, 83, 95, 100, 105, 112, 118])

        let steps = plan.steps.map { $0.step.settings.map { "\($0.name): \($0.value)" } }
        #expect(steps[0] == [
            "run: UPDATE users SET email = lower(email)",
            "done_when: SELECT NOT EXISTS (SELECT 1 FROM users WHERE email <> lower(email))",
            "lock: ROW EXCLUSIVE", "transaction: true",
        ])
        #expect(steps[1] == ["from: calendar", "to: calendar_events", "rename_dependents: true"])
        #expect(steps[2] == [
            "name: app.checkins",
            "column id: bigint NOT NULL PRIMARY KEY identity by_default",
            "column user_id: bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE",
            "column day: date NOT NULL DEFAULT current_date",
            "column mood: smallint CHECK (mood BETWEEN 1 AND 5)",
            "column token: text UNIQUE",
            "unique: user_id, day",
            "index checkins_day_idx: (day)",
            "index checkins_user_mood_idx: unique (user_id, mood)",
        ])
        #expect(steps[3] == ["table: app.checkins", "column: note", "type: varchar(200)", "nullable: false", "default: ''"])
        #expect(steps[4] == [
            "table: app.checkins", "name: checkins_open_idx", "columns: user_id, day", "unique: true", "method: btree", "where: mood IS NULL",
        ])
        #expect(steps[5] == ["table: orders", "name: orders_total_positive", "expression: total >= 0"])
        #expect(steps[6] == ["table: orders", "column: status", "type: order_status", "labels: pending, paid, shipped"])
        #expect(steps[7] == ["tables: memories_backup, audit.user_integrations_backup", "to: /var/backups/pgmend", "drop: false"])
        #expect(steps[8] == ["table: memories_backup", "require_archive: true", "archives: /var/backups/pgmend"])
        #expect(steps[9] == [
            "table: apps", "set sync_status: lower(trim(sync_status))", "set updated_at: now()",
            "where: sync_status <> lower(trim(sync_status))",
        ])
        #expect(steps[10] == [
            "table: users", "column: metadata",
            "field phone_number: varchar(20), unique, trim",
            "field phone_verified: boolean, default false",
            "field referrer: text, key ref.source",
            "field phone_verified_at: timestamptz, assume_time_zone UTC",
            "on_conflict: keep_first_by created_at", "on_invalid: null", "prefer: json", "remove_keys: true",
        ])
        #expect(steps[11] == ["tables: api_keys, memories", "include_redundant: true", "keep: idx_memories_state", "prefer: ix_%"])
        #expect(steps[12] == [
            "reference memories.user_id: users.id ON DELETE CASCADE, indexed",
            "reference audit.claude_code_sessions.user_id: users.user_id ON DELETE SET NULL", "orphans: null",
        ])
        #expect(steps[13] == [
            "tables: claude_code_sessions, claude_code_agents", "output: app/models/claude_code.py",
            "base: app.models.base:Base", "alembic_migration: migrations/versions/0002_claude_code.py",
            "revision: 0002_claude_code", "down_revision: 001",
        ])
        #expect(steps[14] == [
            "columns: apps.id, api_keys.user_id", "exclude: user_integrations.id", "on_invalid: null", "recreate_views: true", "method: rewrite",
        ])
        #expect(steps[15] == [
            "columns: users.created_at, memories.created_at", "exclude: calendar.start_at", "assume_time_zone: UTC", "on_nonexistent: null",
            "on_ambiguous: earlier", "recreate_views: true", "method: rewrite",
        ])
    }

    @Test func defaultsAndSchemas() throws {
        let minimal = try PlanFixtures.load("valid", "minimal")
        #expect(minimal.description == nil)
        #expect(minimal.settings == PlanSettings())
        #expect(minimal.settings.lines.map { "\($0.name)=\($0.value)" } == [
            "lock_timeout=2s", "statement_timeout=0", "batch_size=at most 100000 (batch_target)", "batch_target=100ms", "batch_pause=0",
            "retries=10", "batch_workers=auto",
        ])

        let plan = try PlanFixtures.load("valid", "schemas-and-null-values")
        #expect(plan.description == nil)
        #expect(plan.settings.lockTimeout == 7_200_000)
        #expect(plan.settings.statementTimeout == 0)
        #expect(plan.settings.batchSize == 5000)
        let steps = plan.steps.map { $0.step.settings.map { "\($0.name): \($0.value)" } }
        #expect(steps == [
            ["from: audit.log", "to: audit.log_entries", "rename_dependents: false"],
            ["table: audit.log_entries", "column: kind", "type: entry_kind", "labels: insert, update, delete"],
            // A type without a schema goes in the table's schema; quoted labels stay text.
            ["table: audit.log_entries", "column: level", "type: audit.entry_level", "labels: 2024, yes, no"],
        ])
    }

    @Test func sameTextSameHash() throws {
        let a = try PlanLoader.parse("name: a\nsteps:\n  - rename_table: {from: x, to: y}\n", file: "a.yaml")
        let b = try PlanLoader.parse("name: a\nsteps:\n  - rename_table: {from: x, to: y}\n", file: "elsewhere/a.yaml")
        let c = try PlanLoader.parse("name: a\nsteps:\n  - rename_table: {from: x, to: z}\n", file: "a.yaml")
        #expect(a.sha256 == b.sha256)
        #expect(a.sha256 != c.sha256)
    }
}

@Suite("Suggestion: did you mean")
struct SuggestionTests {
    @Test(arguments: [
        ("", "", 0), ("abc", "", 3), ("", "abc", 3), ("same", "same", 0),
        ("kitten", "sitting", 3), ("form", "from", 1), ("rename_tabel", "rename_table", 1),
        ("add_chek", "add_check", 1), ("ab", "ba", 1), ("abc", "acb", 1), ("flaw", "lawn", 2),
    ])
    func editDistance(_ a: String, _ b: String, _ distance: Int) {
        #expect(Suggestion.editDistance(a, b) == distance)
        #expect(Suggestion.editDistance(b, a) == distance)
    }

    @Test func closest() {
        #expect(Suggestion.closest(to: "rename_tabel", among: StepRegistry.names) == "rename_table")
        #expect(Suggestion.closest(to: "SQL", among: StepRegistry.names) == "sql")
        #expect(Suggestion.closest(to: "setings", among: ["name", "description", "settings", "steps"]) == "settings")
        #expect(Suggestion.closest(to: "drop_column", among: StepRegistry.names) == nil)
        #expect(Suggestion.closest(to: "x", among: [String]()) == nil)
        // Ties go to the alphabetically first candidate, so the hint is stable.
        #expect(Suggestion.closest(to: "bat", among: ["cat", "bar"]) == "bar")
        #expect(Suggestion.hint(for: "form", among: ["from", "to"]) == " (did you mean 'from'?)")
        #expect(Suggestion.hint(for: "zzzzzz", among: ["from", "to"]) == "")
    }
}

@Suite("Duration: lock_timeout and statement_timeout")
struct DurationTests {
    @Test(arguments: [
        ("500ms", 500), ("2s", 2000), ("1min", 60_000), ("2h", 7_200_000), ("0", 0), ("0ms", 0),
        (" 3s ", 3000), ("10 s", 10_000),
    ])
    func accepted(_ text: String, _ milliseconds: Int) {
        #expect(PlanDuration.milliseconds(text) == milliseconds)
    }

    @Test(arguments: ["soon", "5", "", "s", "2 seconds", "1m", "1.5s", "-1s", "5S", "ms"])
    func rejected(_ text: String) {
        #expect(PlanDuration.milliseconds(text) == nil)
    }

    @Test(arguments: [(0, "0"), (500, "500ms"), (2000, "2s"), (60_000, "1min"), (90_000, "90s"), (7_200_000, "2h"), (1500, "1500ms")])
    func printed(_ milliseconds: Int, _ text: String) {
        #expect(PlanDuration.text(milliseconds: milliseconds) == text)
        #expect(PlanDuration.milliseconds(text) == milliseconds)
    }
}

@Suite("Every step kind is documented and used")
struct StepRegistryDocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: StepRegistry.names)
    func kindHasADocSectionAndAnExample(kind: String) throws {
        let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/steps.md"), encoding: .utf8)
        #expect(docs.contains("\n## \(kind)\n"), "docs/steps.md has no section for \(kind)")
        let plans = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Plans").path)
            .filter { $0.hasSuffix(".yaml") }
            .map { try String(contentsOf: Self.root.appendingPathComponent("Plans/\($0)"), encoding: .utf8) }
        #expect(plans.contains { $0.contains("- \(kind):") }, "no plan in Plans/ uses \(kind)")
    }
}
