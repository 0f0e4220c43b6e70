import Foundation
@testable import MendKit
import MendTestSupport
import Testing

/// What a plan `pgmend doctor --write-plan` writes adds to the plan format: `decide:` entries
/// that keep the plan from running until they are made, and the `ignore:` list of findings kept
/// on purpose.
@Suite("Plan decisions and ignore: lists")
struct DoctorPlanTests {
    /// The problems of `text` as `LINE:COLUMN: message`, or nil when it loads.
    static func problems(_ text: String, file: String = "p.yaml") -> [String]? {
        do {
            _ = try PlanLoader.parse(text, file: file)
            return nil
        } catch let error as PlanError {
            return error.problems.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        } catch {
            return ["\(error)"]
        }
    }

    static let undecided = """
        name: p
        steps:
          - normalize_timestamps:
              columns: [users.created_at]
              assume_time_zone: {decide: "the zone users.created_at was written in (default timezone('utc', now()))"}
          - archive_table:
              decide: "may memories_backup go? 2000 rows, no write since statistics began"
              tables: [memories_backup]
              to: /var/backups/pgmend
          - rename_table: {from: calendar, to: calendar_events, colour: red}
          - create_table:
              name: checkins
              columns:
                - {name: id, type: bigint, primary_key: true}
                - {decide: "a second column?"}
        ignore:
          - {class: no_primary_key, object: audit_log, reason: {decide: "keep audit_log without a key? Say why"}}
          - class: fk_without_index
            object: memories.memories_user_id_fkey
            decide: "drop the index too?"

        """

    @Test("every decide is named at its line, with the other problems, and no reader repeats it")
    func everyDecisionNamed() throws {
        let text = Self.undecided
        func at(_ marker: String) throws -> String { try #require(TextPosition.of(marker, in: text)) }
        let zone = try at("decide: \"the zone")
        let backup = try at("decide: \"may memories_backup")
        let column = try at("decide: \"a second column")
        let reason = try at("decide: \"keep audit_log")
        let index = try at("decide: \"drop the index")
        let colour = try at("colour:")
        #expect(Self.problems(text) == [
            "\(zone): a decision is still to be made here: the zone users.created_at was written in (default timezone('utc', now())); replace `{decide: ...}` with your choice",
            "\(backup): a decision is still to be made here: may memories_backup go? 2000 rows, no write since statistics began; delete this `decide:` line to accept the step, or delete the step",
            "\(colour): unknown option 'colour' for rename_table",
            "\(column): a decision is still to be made here: a second column?; replace `{decide: ...}` with your choice",
            "\(reason): a decision is still to be made here: keep audit_log without a key? Say why; replace `{decide: ...}` with your choice",
            "\(index): a decision is still to be made here: drop the index too?; make it, then delete this `decide:` line",
        ])
    }

    @Test("made decisions load: values replaced, the step's decide line deleted")
    func decisionsMade() throws {
        let text = Self.undecided
            .replacingOccurrences(of: #"{decide: "the zone users.created_at was written in (default timezone('utc', now()))"}"#, with: "UTC")
            .replacingOccurrences(of: "      decide: \"may memories_backup go? 2000 rows, no write since statistics began\"\n", with: "")
            .replacingOccurrences(of: ", colour: red", with: "")
            .replacingOccurrences(of: "        - {decide: \"a second column?\"}\n", with: "")
            .replacingOccurrences(of: #"{decide: "keep audit_log without a key? Say why"}"#, with: "\"append-only log, read by ctid\"")
            .replacingOccurrences(of: "    decide: \"drop the index too?\"\n", with: "")
        let plan = try PlanLoader.parse(text, file: "p.yaml")
        #expect(plan.steps.map(\.kind) == ["normalize_timestamps", "archive_table", "rename_table", "create_table"])
        #expect(plan.ignores.map { "\($0.classID) \($0.object) \($0.reason ?? "-") \($0.location.line):\($0.location.column)" } == [
            "no_primary_key audit_log append-only log, read by ctid \(try #require(TextPosition.of("{class: no_primary_key", in: text)))",
            "fk_without_index memories.memories_user_id_fkey - \(try #require(TextPosition.of("class: fk_without_index", in: text)))",
        ])
    }

    @Test("a decide written in a block map, as a step's only option, or at the top is still named")
    func otherPlaces() throws {
        let text = """
            name: p
            decide: "which database is this for?"
            steps:
              - drop_table:
                  table: memories_backup
                  require_archive:
                    decide: "was it archived?"
              - dedupe_indexes: {decide: "which tables?"}

            """
        let top = try #require(TextPosition.of("decide: \"which database", in: text))
        let archived = try #require(TextPosition.of("decide: \"was it", in: text))
        let tables = try #require(TextPosition.of("decide: \"which tables", in: text))
        let found = try #require(Self.problems(text))
        #expect(found.filter { $0.contains("a decision is still to be made") }.map { String($0.prefix { $0 != " " }) }
            == ["\(top):", "\(archived):", "\(tables):"])
        #expect(found.contains("\(tables): a decision is still to be made here: which tables?; delete this `decide:` line to accept the step, or delete the step"))
        // No reader complains about the key itself or the map standing where text should.
        #expect(!found.contains { $0.contains("unknown key 'decide'") || $0.contains("unknown option 'decide'") })
        #expect(!found.contains { $0.contains("require_archive") && $0.contains("must be") })
    }

    @Test("a decide reached twice through an alias is named once")
    func aliasedDecision() throws {
        let text = """
            name: p
            steps:
              - normalize_timestamps:
                  columns: [users.created_at]
                  assume_time_zone: &zone {decide: "which zone?"}
              - normalize_timestamps:
                  columns: [memories.created_at]
                  assume_time_zone: *zone

            """
        let found = try #require(Self.problems(text))
        #expect(found.count { $0.contains("a decision is still to be made here: which zone?") } == 1)
    }

    // MARK: ignore:

    @Test("an unknown class is refused with a hint; object is required; unknown keys are named")
    func badIgnoreEntries() throws {
        let text = """
            name: p
            steps:
              - rename_table: {from: a, to: b}
            ignore:
              - {class: no_primary_keys, object: t}
              - {class: backup_table, reason: leftover}
              - {class: invalid_index, object: idx_x, resaon: rebuilt nightly}
              - {class: no_primary_key, object: t}
              - {class: no_primary_key, object: t, reason: twice}
              - no_primary_key t

            """
        func at(_ marker: String) throws -> String { try #require(TextPosition.of(marker, in: text)) }
        #expect(Self.problems(text) == [
            "\(try at("no_primary_keys")): unknown doctor class 'no_primary_keys' (did you mean 'no_primary_key'?); docs/doctor.md lists the classes",
            "\(try at("{class: backup_table")): an ignore entry needs option 'object'",
            "\(try at("resaon")): unknown option 'resaon' for an ignore entry (did you mean 'reason'?)",
            "\(try at("{class: no_primary_key, object: t, reason: twice")): no_primary_key t is already kept by the entry at line 8",
            "\(try at("no_primary_key t\n")): each item of 'ignore' must be a map with class, object and reason, not text",
        ])
        #expect(Self.problems("name: p\nsteps:\n  - rename_table: {from: a, to: b}\nignore: {class: no_primary_key}\n") == [
            "4:9: 'ignore' must be a list of {class, object, reason} maps, not a map",
        ])
    }

    @Test("a plan with steps and an ignore list loads; an empty list is no list")
    func stepsAndIgnores() throws {
        let plan = try PlanLoader.parse(
            """
            name: p
            steps:
              - rename_table: {from: a, to: b}
            ignore:
              - class: no_primary_key
                object: audit.events
                reason: append-only; rows are never updated
              - {class: redundant_index, object: idx_users_email}

            """, file: "p.yaml")
        #expect(plan.steps.count == 1)
        #expect(plan.ignores == [
            PlanIgnore(classID: "no_primary_key", object: "audit.events", reason: "append-only; rows are never updated", location: FileLocation(file: "p.yaml", line: 5, column: 5)),
            PlanIgnore(classID: "redundant_index", object: "idx_users_email", reason: nil, location: FileLocation(file: "p.yaml", line: 8, column: 5)),
        ])
        #expect(try PlanLoader.parse("name: p\nsteps:\n  - rename_table: {from: a, to: b}\nignore: []\n", file: "p.yaml").ignores.isEmpty)
        #expect(try PlanLoader.parse("name: p\nsteps:\n  - rename_table: {from: a, to: b}\nignore:\n", file: "p.yaml").ignores.isEmpty)
    }

    @Test("the plan doctor writes for a finding no step repairs is refused at the reason's decide, and loads once it is made")
    func writtenPlanIgnore() throws {
        let finding = Finding(.noPrimaryKey, .warning, objects: ["audit_log"], table: "audit_log", summary: "audit_log has no primary key", repair: nil)
        let report = DoctorReport(
            database: "app", tables: 1, exact: false, sampleAboveBytes: 64 << 20, sampled: [:], findings: [finding], kept: [], skipped: [], unusedIgnores: [])
        let text = PlanWriter.text(report, path: "Plans/fix-app.yaml")
        let line = try #require(TextPosition.of("{decide:", in: text)).split(separator: ":")[0]
        let found = try #require(Self.problems(text, file: "Plans/fix-app.yaml"))
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("\(line):") == true)
        #expect(found.first?.contains("a decision is still to be made here: keep audit_log as it is?") == true)

        let decided = text.replacingOccurrences(of: #"\{decide: "[^"]*"\}"#, with: "\"written once, read by ctid\"", options: .regularExpression)
        let plan = try PlanLoader.parse(decided, file: "Plans/fix-app.yaml")
        #expect(plan.ignores.map { "\($0.classID) \($0.object) \($0.reason ?? "")" } == ["no_primary_key audit_log written once, read by ctid"])
    }
}
