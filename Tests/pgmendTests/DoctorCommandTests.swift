import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// `pgmend doctor` through the built binary: exit codes, findings kept by a plan's `ignore:`,
/// the JSON report, and the plan `--write-plan` writes, refused until its decisions are made.
@Suite("pgmend doctor on the command line")
struct DoctorCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A database with one table without a primary key (`t`) and one with (`u`).
    static func prepare(_ database: TestDatabase) throws {
        _ = try database.connect().execute(
            """
            CREATE TABLE t (a int, b text);
            INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) g;
            CREATE TABLE u (id int PRIMARY KEY);
            ANALYZE
            """)
    }

    /// An empty folder of plans, removed afterwards.
    static func withPlans<T>(_ database: TestDatabase, _ body: (String) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-doctor-\(database.name)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        return try body(folder)
    }

    static func doctor(_ database: TestDatabase, _ arguments: [String]) throws -> ProcessOutcome {
        try PgMendBinary.run(["doctor", "--db", database.conninfo] + arguments)
    }

    static func json(_ outcome: ProcessOutcome) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
    }

    @Test("a table without a primary key is a finding (exit 1); a plan's ignore: entry keeps it (exit 0)")
    func findsThenKeeps() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.prepare(database)
            try Self.withPlans(database) { plans in
                let found = try Self.doctor(database, ["--plans", plans])
                #expect(found.status == 1, "\(found.stdout)\(found.stderr)")
                #expect(found.stdout.range(of: #"WARNING +no_primary_key:? +t\n"#, options: .regularExpression) != nil, "\(found.stdout)")
                #expect(found.stdout.range(of: #"no_primary_key:? +u\n"#, options: .regularExpression) == nil)
                #expect(found.stdout.contains("1 finding: 0 errors, 1 warning, 0 info."))

                let keep = "\(plans)/keep.yaml"
                try """
                    name: keep
                    steps:
                      - sql: {run: "SELECT 1", done_when: "SELECT true"}
                    ignore:
                      - {class: no_primary_key, object: t, reason: "append-only, rows named by ctid"}

                    """.write(toFile: keep, atomically: true, encoding: .utf8)
                let entry = "\(keep):\(try #require(TextPosition.of("{class: no_primary_key", inFile: keep)))"
                let kept = try Self.doctor(database, ["--plans", plans])
                #expect(kept.status == 0, "\(kept.stdout)\(kept.stderr)")
                // (The reason wraps at 100 columns, after the long temporary path.)
                #expect(kept.stdout.contains("kept on purpose (ignore:):\n  no_primary_key t, \(entry): append-only,"), "\(kept.stdout)")
                #expect(kept.stdout.contains("No findings. 1 kept by ignore:."))
                let shown = try PgMendBinary.run(["plan", "show", "keep", "--plans", plans])
                #expect(shown.status == 0)
                #expect(shown.stdout.hasSuffix("ignore: (doctor reports these findings as kept)\n  - no_primary_key t    # \(entry)\n       reason: append-only, rows named by ctid\n"), "\(shown.stdout)")

                let named = try Self.doctor(database, ["--plans", plans, "--plan", "keep", "--format", "json"])
                #expect(named.status == 0)
                let report = try Self.json(named)
                #expect((report["findings"] as? [Any])?.isEmpty == true)
                let keptEntries = try #require(report["kept"] as? [[String: Any]])
                #expect(keptEntries.count == 1)
                #expect(keptEntries.first?["kept_by"] as? String == entry)
                #expect(keptEntries.first?["reason"] as? String == "append-only, rows named by ctid")
                #expect((keptEntries.first?["finding"] as? [String: Any])?["class"] as? String == "no_primary_key")
            }
        }
    }

    /// The fields docs/doctor.md shows in its example under "## JSON output".
    static func documentedExample() throws -> [String: Any] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/doctor.md"), encoding: .utf8)
        let section = try #require(text.range(of: "## JSON output"))
        let rest = text[section.upperBound...]
        let start = try #require(rest.range(of: "```json\n"))
        let end = try #require(rest[start.upperBound...].range(of: "```"))
        let example = String(rest[start.upperBound..<end.lowerBound])
        return try #require(try JSONSerialization.jsonObject(with: Data(example.utf8)) as? [String: Any])
    }

    @Test("--format json parses and has the fields docs/doctor.md documents")
    func jsonReport() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.prepare(database)
            try Self.withPlans(database) { plans in
                let outcome = try Self.doctor(database, ["--plans", plans, "--format", "json"])
                #expect(outcome.status == 1, "\(outcome.stderr)")
                let report = try Self.json(outcome)
                let documented = try Self.documentedExample()
                #expect(Set(report.keys) == Set(documented.keys))
                let finding = try #require((report["findings"] as? [[String: Any]])?.first)
                let documentedFinding = try #require((documented["findings"] as? [[String: Any]])?.first)
                #expect(Set(finding.keys) == Set(documentedFinding.keys))
                let documentedKept = try #require((documented["kept"] as? [[String: Any]])?.first)
                #expect(Set(documentedKept.keys) == ["finding", "reason", "kept_by"])
                let documentedSkipped = try #require((documented["skipped"] as? [[String: Any]])?.first)
                #expect(Set(documentedSkipped.keys) == ["what", "reason"])

                #expect(report["database"] as? String == database.name)
                #expect(report["tables"] as? Int == 2)
                #expect(report["exact"] as? Bool == false)
                #expect(report["sample_above_bytes"] as? Int == 64 << 20)
                #expect(report["counts"] as? [String: Int] == ["error": 0, "warning": 1, "info": 0])
                #expect(finding["class"] as? String == "no_primary_key")
                #expect(finding["severity"] as? String == "warning")
                #expect(finding["objects"] as? [String] == ["t"])
                #expect(finding["table"] as? String == "t")
                #expect(finding["repair"] is NSNull)
                let evidence = try #require(finding["evidence"] as? [String: Any])
                #expect(evidence["estimated_rows"] as? Int == 100)
                #expect(evidence["size"] is String)
            }
        }
    }

    @Test("--write-plan writes a plan that plan check refuses at its decide line, and accepts once it is made")
    func writtenPlan() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.prepare(database)
            try Self.withPlans(database) { plans in
                let path = "\(plans)/fix-t.yaml"
                let written = try Self.doctor(database, ["--plans", plans, "--write-plan", path])
                #expect(written.status == 1)
                #expect(written.stderr.contains("wrote \(path): make its decisions, then pgmend plan check \(path)"), "\(written.stderr)")
                let text = try String(contentsOfFile: path, encoding: .utf8)
                // The `decide` inside `{decide: ...}`, not the header comment's.
                let brace = try #require(TextPosition.of("{decide:", in: text)).split(separator: ":").compactMap { Int($0) }
                let decide = "\(brace[0]):\(brace[1] + 1)"

                let refused = try PgMendBinary.run(["plan", "check", path, "--plans", plans])
                #expect(refused.status == 2)
                #expect(refused.stdout.unwrappedLines == ["\(path):\(decide): a decision is still to be made here: keep t as it is? Write why here, or repair it by hand and delete this entry; replace `{decide: ...}` with your choice", ""], "\(refused.stdout)")
                // Named by --plan, the undecided plan is bad input; in the folder it is passed over.
                let named = try Self.doctor(database, ["--plans", plans, "--plan", path])
                #expect(named.status == 2)
                #expect(named.stderr.contains("\(path):\(decide): a decision is still to be made here"), "\(named.stderr)")
                #expect(try Self.doctor(database, ["--plans", plans]).status == 1)
                let run = try PgMendBinary.run(["run", path, "--plans", plans, "--dry-run", "--db", database.conninfo])
                #expect(run.status == 2)
                #expect(run.stderr.contains("\(path):\(decide): a decision is still to be made here"), "\(run.stderr)")

                let decided = text.replacingOccurrences(of: #"\{decide: "[^"]*"\}"#, with: "\"import buffer\"", options: .regularExpression)
                #expect(decided != text)
                try decided.write(toFile: path, atomically: true, encoding: .utf8)
                let accepted = try PgMendBinary.run(["plan", "check", path, "--plans", plans])
                #expect(accepted.status == 0, "\(accepted.stdout)")
                let kept = try Self.doctor(database, ["--plans", plans])
                #expect(kept.status == 0, "\(kept.stdout)")
                #expect(kept.stdout.contains("  no_primary_key t, \(path):\(brace[0]):5: import buffer\n"), "\(kept.stdout)")
            }
        }
    }

    @Test("--only takes known classes; an unknown one is bad input (exit 2)")
    func onlyClasses() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.prepare(database)
            try Self.withPlans(database) { plans in
                let unknown = try Self.doctor(database, ["--plans", plans, "--only", "no_primary_key,no_such_class"])
                #expect(unknown.status == 2)
                #expect(unknown.stderr.contains("--only: unknown class no_such_class; the classes are json_fields, backup_table"), "\(unknown.stderr)")
                #expect(try Self.doctor(database, ["--plans", plans, "--only", "no_primary_key"]).status == 1)
                let other = try Self.doctor(database, ["--plans", plans, "--only", "backup_table"])
                #expect(other.status == 0, "\(other.stdout)")
                #expect(other.stdout.contains("No findings."))
            }
        }
    }

    @Test("a table locked when doctor starts: exit 4 after --lock-timeout, naming the session that holds it")
    func lockedBeforeStart() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.prepare(database)
            let app = try NamedSession("app", conninfo: database.conninfo)
            try app.execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            defer { app.rollbackIfOpen() }
            try Self.withPlans(database) { plans in
                let started = Date()
                let outcome = try Self.doctor(database, ["--plans", plans, "--lock-timeout", "500ms"])
                let took = Date().timeIntervalSince(started)
                #expect(outcome.status == 4)
                #expect(took < 5, "doctor took \(took) s")
                #expect(outcome.stderr.contains("reading the database: waited lock_timeout 500ms (--lock-timeout) for a table's lock and gave up"), "\(outcome.stderr)")
                #expect(outcome.stderr.contains("(app, AccessExclusiveLock"), "\(outcome.stderr)")
            }
        }
    }
}
