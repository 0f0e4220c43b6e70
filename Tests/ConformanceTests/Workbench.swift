import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// A step kind's folder under `Fixtures/`: `setup.sql` (a small schema the kind has work to do
/// on), `plan.yaml` (a plan named `plan` that uses the kind) and `dry-run.txt` (the golden text
/// of `pgmend run plan --dry-run` against it).
struct KindFixture: Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    let kind: String

    init(_ kind: String) { self.kind = kind }

    var folder: URL { Self.root.appendingPathComponent(kind) }

    /// The kinds that have a folder, sorted.
    static func folders() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
    }

    func path(_ file: String) -> String { folder.appendingPathComponent(file).path }

    /// One of the folder's files; a missing one names what a kind's folder must hold.
    func text(_ file: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path(file)) else { throw MissingFixture(kind: kind, file: file) }
        return String(decoding: data, as: UTF8.self)
    }

    /// Compares with `dry-run.txt`; `PGMEND_RECORD=dry-run.txt` (every kind's) or
    /// `=KIND/dry-run.txt` (one kind's) or `=ConformanceTests` writes it instead, so it changes
    /// only on purpose (see `Golden`).
    func expectGoldenDryRun(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try Golden.check(text, against: folder.appendingPathComponent("dry-run.txt"), suite: ConformanceTests.self, sourceLocation: sourceLocation)
    }
}

/// A registered kind without its fixture folder (or a folder without one of its files).
struct MissingFixture: Error, CustomStringConvertible {
    var kind: String
    var file: String
    var description: String {
        "step kind '\(kind)' has no Tests/ConformanceTests/Fixtures/\(kind)/\(file): every registered kind needs a folder "
            + "with setup.sql, plan.yaml and dry-run.txt (docs/plans.md, \"Conformance suite\")"
    }
}

/// The schema and every table's row count and fingerprint: what a case compares. The
/// catalog reader leaves out the journal schema `pgmend`, which every real run writes to.
struct DatabaseState: Equatable {
    var schema: Schema
    var data: [String: TableData]
}

/// What the suite reads from `pgmend run --format json`.
struct RunSummary: Decodable {
    struct Step: Decodable {
        var kind: String
        var status: String
    }

    var outcome: String
    var statementsExecuted: Int
    var steps: [Step]
    var postSnapshot: String?

    enum CodingKeys: String, CodingKey {
        case outcome, steps
        case statementsExecuted = "statements_executed"
        case postSnapshot = "post_snapshot"
    }

    init(json: String) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(json.utf8))
    }
}

/// One case of the suite: a fresh database loaded from the kind's `setup.sql`, and a working
/// folder holding `Plans/plan.yaml` in which `pgmend` runs. Archives (`Snapshots/archive`) and
/// run snapshots (`Snapshots/runs`) are relative paths, so they land in that folder, which is
/// removed afterwards, and a killed run and the run after it share them.
struct Workbench {
    let fixture: KindFixture
    let database: TestDatabase
    let folder: String

    /// Runs `body` on a fresh workbench; `label` goes into the database name.
    static func with<T>(_ fixture: KindFixture, _ label: String, _ body: (Workbench) throws -> T) throws -> T {
        try ThrowawayCluster.shared().withFreshDatabase(label: "\(fixture.kind)_\(label)") { database in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-conformance-\(database.name)").path
            try? FileManager.default.removeItem(atPath: folder)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try FileManager.default.createDirectory(atPath: "\(folder)/Plans", withIntermediateDirectories: true)
            try Data(try fixture.text("plan.yaml").utf8).write(to: URL(fileURLWithPath: "\(folder)/Plans/plan.yaml"))
            try database.connect().execute(.unsafeRaw(try fixture.text("setup.sql")))  // the fixture's setup script, as psql -f runs it
            return try body(Workbench(fixture: fixture, database: database, folder: folder))
        }
    }

    /// Runs the built `pgmend` in the working folder against the database. `fault` is
    /// `PGMEND_FAULT` (empty: none). `exec` keeps the shell out of the way, so a SIGKILL of
    /// pgmend is what the exit status reports (128 + 9).
    func pgmend(_ arguments: [String], fault: String = "") throws -> ProcessOutcome {
        try ProcessRunner.run(
            "/bin/sh",
            ["-c", "cd \"$1\" && shift && exec \"$@\"", "sh", folder, try PgMendBinary.path()] + arguments + ["--db", database.conninfo],
            environment: ["PGMEND_FAULT": fault])
    }

    /// Schema and data fingerprints of the live database.
    func state() throws -> DatabaseState {
        let snapshot = try SnapshotTaker(connection: try database.connect()).take(includeData: true)
        return DatabaseState(schema: snapshot.schema, data: snapshot.data ?? [:])
    }

    /// Expects equal states; a failure lists what differs in `snapshot diff`'s words rather
    /// than printing both whole schemas.
    func expectState(
        _ actual: DatabaseState, equals expected: DatabaseState, _ message: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard actual != expected else { return }
        let changes = SchemaDiff.changes(from: expected.schema, to: actual.schema, oldData: expected.data, newData: actual.data)
        let listed = changes.map { "  \($0.description)" }.joined(separator: "\n")
        Issue.record("\(message):\n\(listed)", sourceLocation: sourceLocation)
    }

    /// The output with what differs between databases and servers masked, as RunCommandTests does.
    func masked(_ text: String) throws -> String {
        let version = try database.connect().serverVersion
        return text.replacingOccurrences(of: database.name, with: "DATABASE").replacingOccurrences(of: version, with: "VERSION")
    }

    /// Waits until the sessions of a killed pgmend are gone. The server ends them once it
    /// notices the client is dead (rolling back an open transaction); until then the run's
    /// advisory lock is still held and the next run would rightly exit 4.
    func waitForKilledSessions() throws {
        let connection = try database.connect()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let others = try connection.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                as: Int.self) ?? 0
            if others == 0 { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        Issue.record("the killed pgmend's sessions were still there after 10 s")
    }

    /// The statuses of the journal's runs, oldest first.
    func journalRuns() throws -> [String] {
        try database.connect().query("SELECT status FROM pgmend.runs ORDER BY id").map { try $0.get(0, as: String.self) }
    }
}
