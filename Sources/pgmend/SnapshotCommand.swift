import ArgumentParser
import Foundation
import MendKit
import PostgresClient
import SchemaModel

extension PgMend {
    /// `pgmend snapshot take|diff`: record a database's schema, compare two records.
    struct SnapshotCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "snapshot",
            abstract: "Take schema snapshots and compare them.",
            subcommands: [Take.self, Diff.self])
    }
}

extension PgMend.SnapshotCommand {
    /// `pgmend snapshot take`: write the live schema (and with --data, row counts and
    /// fingerprints) to a JSON file.
    struct Take: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a snapshot of the live database, or of the schema the application's models or migrations build, to a JSON file.",
            discussion: """
                The default file is Snapshots/runs/<database>-<UTC time>.json.

                --from-models and --from-migrations build the schema with the application's own Python in a \
                scratch database (pgmend_scratch_<random>) and snapshot that: on the server of --db when its role \
                may CREATE DATABASE, else (or without --db) on a local throwaway PostgreSQL server pgmend starts and \
                deletes. The scratch database is dropped afterwards. See docs/drift.md.
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var format: FormatOption
        @OptionGroup var progress: ProgressOption

        @Option(name: .customLong("schema"), help: "A schema to include (repeatable); default: every user schema.")
        var schemas: [String] = []

        @Flag(help: "Also record each table's exact row count and content fingerprint.")
        var data = false

        @Option(name: .shortAndLong, help: "Where to write the snapshot (default: a file named by database and time in the --snapshots folder).")
        var output: String?
        @OptionGroup var snapshots: SnapshotsOption

        @Option(
            name: .customLong("from-docs"),
            help: ArgumentHelp(
                "Snapshot what a Markdown schema document says (tables and columns) instead of a database; with --db (or --db-file, PGMEND_DB) its types are recognised by that server.",
                valueName: "FILE.md"))
        var fromDocs: String?

        @Option(
            name: .customLong("from-models"),
            help: ArgumentHelp(
                "Snapshot the schema the application's SQLAlchemy models create: a MetaData or a declarative Base.",
                valueName: "MODULE:ATTR"))
        var fromModels: String?

        @Option(
            name: .customLong("from-migrations"),
            help: ArgumentHelp("Snapshot the schema `alembic upgrade head` builds with this alembic.ini.", valueName: "alembic.ini"))
        var fromMigrations: String?

        @Option(help: ArgumentHelp(
            "The application's Python, with SQLAlchemy (and Alembic) and psycopg2 or psycopg (default: python3 on PATH).",
            valueName: "path"))
        var python: String?

        @Option(help: ArgumentHelp(
            "The folder MODULE is imported from (default: the current directory); for migrations, added to sys.path.",
            valueName: "dir"))
        var path: String?

        /// `--from-models` or `--from-migrations`, when given.
        var expectedSource: SnapshotSource? {
            fromModels.map(SnapshotSource.models) ?? fromMigrations.map(SnapshotSource.migrations)
        }

        func validate() throws {
            if fromModels != nil && fromMigrations != nil {
                throw ValidationError("choose --from-models or --from-migrations, not both")
            }
            if fromDocs != nil && expectedSource != nil {
                throw ValidationError("choose --from-docs or --from-models/--from-migrations, not both")
            }
            guard expectedSource != nil else {
                if python != nil || path != nil { throw ValidationError("--python and --path go with --from-models or --from-migrations") }
                if fromDocs != nil && (data || !schemas.isEmpty) {
                    throw ValidationError("--from-docs takes neither --data nor --schema: a document has no data, and its headings say the schemas")
                }
                return
            }
            if data { throw ValidationError("--data counts a live database's rows; a schema built from models or migrations has none") }
            if !schemas.isEmpty { throw ValidationError("--schema selects schemas of a live database; --from-models and --from-migrations snapshot every schema they build") }
        }

        func run() throws {
            try format.answering(Self.self) { try take() }
        }

        func take() throws {
            if let fromDocs { return try takeFromDocs(fromDocs) }
            if let source = expectedSource { return try takeExpected(source) }
            let connection = try connection.connect()
            let selection: SchemaSelection = schemas.isEmpty ? .allUserSchemas : .only(schemas)
            let snapshot: Snapshot
            do {
                snapshot = try self.connection.reading("taking the snapshot", on: connection) {
                    try SnapshotTaker(connection: connection, progress: progress.reporter())
                        .take(selection, includeData: data)
                }
            } catch let error as CatalogError {
                throw CommandFailure(.badInput, error.description)
            }
            let path = output ?? defaultPath(database: snapshot.database)
            try SnapshotFile.write(snapshot, to: path)
            try answer(SnapshotWritten(snapshot, source: "database \(snapshot.database)", file: path))
        }

        /// Says what was written: the document with `--format json`, one line for people.
        func answer(_ written: SnapshotWritten) throws {
            try format.answer(written) {
                say("snapshot of \(written.named): \(TextLayout.count(written.tables, "table")), \(TextLayout.count(written.views, "view")) "
                      + "in \(written.schemas.joined(separator: ", ")) -> \(written.snapshot) (\(written.durationMilliseconds) ms)")
            }
        }

        /// Builds the schema `source` describes in a scratch database and writes its snapshot.
        func takeExpected(_ source: SnapshotSource) throws {
            let server = try connection.conninfo() == nil ? nil : try connection.connect()
            let snapshot = try ExpectedSources.snapshot(source, python: python, path: path, server: server)
            let path = output ?? defaultPath(database: snapshot.database)
            try SnapshotFile.write(snapshot, to: path)
            try answer(SnapshotWritten(snapshot, source: source.description, file: path))
        }

        /// A file named by database and time in the --snapshots folder.
        func defaultPath(database: String) -> String {
            let safeName = String(database.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
            return "\(snapshots.snapshots)/\(safeName)-\(FileStamp.now()).json"
        }
    }

    /// `pgmend snapshot diff A B`: what changed from A to B.
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the differences between two snapshots.",
            discussion: "Exits 0 when they are the same, 1 when they differ.")

        @Argument(help: "The earlier snapshot.") var before: String
        @Argument(help: "The later snapshot.") var after: String
        @OptionGroup var format: FormatOption

        func run() throws {
            try format.answering(Self.self) { try diff() }
        }

        func diff() throws {
            let old = try Snapshot.load(commandLinePath: before)
            let new = try Snapshot.load(commandLinePath: after)
            let changes = SchemaDiff.changes(from: old.schema, to: new.schema, oldData: old.data, newData: new.data)
            switch format.format {
            case .json:
                print(try CanonicalJSON.encode(
                    ComparisonReport(equal: changes.isEmpty, expected: before, actual: after, changes: changes)), terminator: "")
            case .text:
                printChanges(changes, equalMessage: "no differences", differentHeader: "\(TextLayout.count(changes.count, "difference")) from \(before) to \(after):")
            }
            if !changes.isEmpty { throw ExitCode(ExitStatus.failed.rawValue) }
        }
    }
}

/// The JSON answer of `snapshot take`: the file it wrote and what is in it.
struct SnapshotWritten: Encodable {
    /// The file written.
    var snapshot: String
    /// `database NAME`, `models MODULE:ATTR`, `migrations alembic.ini` or `docs FILE.md`.
    var source: String
    /// The database the snapshot names (a scratch database's name is replaced by the source).
    var database: String
    var schemas: [String]
    var tables: Int
    var views: Int
    /// Whether row counts and content fingerprints were recorded (`--data`).
    var data: Bool
    var durationMilliseconds: Int
    /// `--from-docs`: the document's columns, and how many of their types the server of
    /// `--db` did not recognise (absent without one: every type is kept as written).
    var columns: Int?
    var typesNotRecognised: Int?

    init(_ snapshot: Snapshot, source: String, file: String) {
        self.snapshot = file
        self.source = source
        database = snapshot.database
        schemas = snapshot.schema.namespaces
        tables = snapshot.schema.tables.count
        views = snapshot.schema.views.count
        data = snapshot.data != nil
        durationMilliseconds = snapshot.durationMilliseconds
    }

    /// How the text line names the snapshot: the database, or the source it was built from.
    var named: String { source.hasPrefix("database ") ? database : source }

    enum CodingKeys: String, CodingKey {
        case snapshot, source, database, schemas, tables, views, data, durationMilliseconds = "duration_ms", columns
        case typesNotRecognised = "types_not_recognised"
    }
}

/// Writing snapshot files: folders made as needed, the file replaced atomically.
enum SnapshotFile {
    static func write(_ snapshot: Snapshot, to path: String) throws {
        do {
            try OutputFile.write(Data(try snapshot.jsonText().utf8), to: path)
        } catch let error as CocoaError {
            throw CommandFailure(.failed, "cannot write \(path): \(error.localizedDescription)")
        }
    }
}
