import Foundation
import LocalServer
import PostgresClient
import SchemaModel

/// Snapshots of the schema the application expects: its SQLAlchemy models made with
/// `metadata.create_all`, or its Alembic history upgraded to head, each built by the
/// application's own Python in a scratch database and read back from the catalog by
/// `SnapshotTaker`. Reading the catalog is what makes a generic `DateTime` come out as the
/// `timestamp without time zone` SQLAlchemy emits, so comparisons never differ in spelling only.
public struct ExpectedSnapshotTaker {
    /// The Python to run: a path, or a name looked up on PATH (default `python3`).
    public var python: String
    /// Put first on `sys.path`: for models the folder MODULE is imported from (default the
    /// current directory); for migrations, an addition to the alembic.ini's folder.
    public var searchPath: String?
    /// The operator's server (`--db`), where the scratch database is made when the role may;
    /// nil: a local throwaway server.
    public var server: Connection?
    public var reporter: any ProgressReporter

    /// The table Alembic keeps its current revision in: bookkeeping, not the application's schema.
    public static let alembicVersionTable = "alembic_version"

    public init(python: String = "python3", searchPath: String? = nil, server: Connection?, reporter: any ProgressReporter = SilentProgress()) {
        self.python = python
        self.searchPath = searchPath
        self.server = server
        self.reporter = reporter
    }

    /// Builds the schema `source` describes (`.models` or `.migrations`) and snapshots it.
    public func take(_ source: SnapshotSource) throws -> Snapshot {
        let started = Date()
        let arguments = try scriptArguments(source)
        let executable = try Self.resolve(python: python)
        var snapshot = try ScratchServer.withScratchDatabase(on: server, reporter: reporter) { scratch in
            try build(source, executable: executable, arguments: arguments, in: scratch)
            return try SnapshotTaker(connection: scratch.connection, progress: reporter).take(.allUserSchemas)
        }
        if case .migrations = source {
            snapshot.schema.tables = snapshot.schema.tables.filter { $0.value.name != Self.alembicVersionTable }
        }
        snapshot.database = source.description
        snapshot.source = source
        snapshot.durationMilliseconds = Int((Date().timeIntervalSince(started) * 1000).rounded())
        return snapshot
    }

    /// The script's arguments, after the checks that need no server.
    func scriptArguments(_ source: SnapshotSource) throws -> [String] {
        let fileManager = FileManager.default
        var isFolder: ObjCBool = false
        if let searchPath, !(fileManager.fileExists(atPath: searchPath, isDirectory: &isFolder) && isFolder.boolValue) {
            throw ExpectedSchemaError(.badInput, "--path \(searchPath) is not a folder")
        }
        switch source {
        case .models(let target):
            let parts = target.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ExpectedSchemaError(.badInput, "--from-models \(target) is not MODULE:ATTR (such as app.models:Base)")
            }
            return ["models", target, Self.absolute(searchPath ?? fileManager.currentDirectoryPath)]
        case .migrations(let ini):
            guard fileManager.fileExists(atPath: ini, isDirectory: &isFolder), !isFolder.boolValue else {
                throw ExpectedSchemaError(.badInput, "--from-migrations \(ini): no such file (give the application's alembic.ini)")
            }
            return ["migrations", Self.absolute(ini)] + (searchPath.map { [Self.absolute($0)] } ?? [])
        case .docs(let file):
            throw ExpectedSchemaError(.badInput, "\(file): a schema document is read, not built; use --from-docs")
        }
    }

    /// Runs the script; a failure becomes the message the script or Python gave.
    private func build(_ source: SnapshotSource, executable: String, arguments: [String], in scratch: ScratchDatabase) throws {
        let outcome: ProcessOutcome
        do {
            outcome = try ProcessRunner.run(
                executable, ["-c", SchemaBuilderScript.source] + arguments, environment: scratch.clientEnvironment)
        } catch {
            throw ExpectedSchemaError(.badInput, "cannot run \(python): \(error)")
        }
        guard outcome.status != 0 else { return }
        let lines = outcome.stderr.split(separator: "\n").map(String.init)
        if outcome.status == SchemaBuilderScript.reportedExitCode,
            let reported = lines.last(where: { $0.hasPrefix(SchemaBuilderScript.errorPrefix) }) {
            throw ExpectedSchemaError(.badInput, String(reported.dropFirst(SchemaBuilderScript.errorPrefix.count)))
        }
        let last = lines.last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? "no message"
        throw ExpectedSchemaError(.badInput, "\(python) failed building \(source) (exit \(outcome.status)): \(last)")
    }

    /// The script changes folder for migrations, so it is given absolute paths.
    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `python` itself when it names a file, else the first match on PATH.
    static func resolve(python: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let fileManager = FileManager.default
        if python.contains("/") {
            guard fileManager.isExecutableFile(atPath: python) else {
                throw ExpectedSchemaError(.badInput, "--python \(python) is not an executable file")
            }
            return python
        }
        let folders = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        guard let found = folders.map({ "\($0)/\(python)" }).first(where: fileManager.isExecutableFile(atPath:)) else {
            throw ExpectedSchemaError(.badInput, "no \(python) on PATH; name the application's Python with --python (such as .venv/bin/python)")
        }
        return found
    }
}
