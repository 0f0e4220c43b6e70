import ArgumentParser
import Foundation
import MendKit
import PostgresClient
import SchemaModel

extension PgMend {
    /// `pgmend drift`: the live database against the application's models, migrations and
    /// schema document, one matrix; with --write-plan, the plan that makes it match the models.
    struct Drift: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the database with the application's models, migrations and schema document.",
            discussion: """
                One row per table (and per differing column, index, constraint), one column per source: ok, \
                absent, present, differs, rename?. Exits 0 when every source agrees with the database, 1 when \
                one differs. docs/drift.md describes the matrix, the JSON fields and the rename rule.
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var format: FormatOption
        @OptionGroup var progress: ProgressOption
        @Option(help: ArgumentHelp("The application's SQLAlchemy MetaData or declarative Base.", valueName: "module:attr"))
        var models: String?
        @Option(help: ArgumentHelp("The application's Alembic configuration.", valueName: "alembic.ini"))
        var migrations: String?
        @Option(help: ArgumentHelp("A Markdown schema document.", valueName: "file.md"))
        var docs: String?
        @Option(help: ArgumentHelp("The Python that imports the models (default: python3 on PATH).", valueName: "path"))
        var python: String?
        @Option(help: ArgumentHelp("A folder to put on the models' import path.", valueName: "dir"))
        var path: String?
        @Option(help: ArgumentHelp("The models as a snapshot file (what snapshot take wrote).", valueName: "file"))
        var modelsSnapshot: String?
        @Option(help: ArgumentHelp("The migrations' schema as a snapshot file.", valueName: "file"))
        var migrationsSnapshot: String?
        @Option(help: ArgumentHelp("The document's schema as a snapshot file.", valueName: "file"))
        var docsSnapshot: String?
        @Option(help: ArgumentHelp("Also write the plan that makes the database match the models to this file.", valueName: "file"))
        var writePlan: String?
        @OptionGroup var archives: ArchivesOption
        @Option(help: .hidden) var archiveFolder: String?  // its name before --archives, still read
        @Option(help: ArgumentHelp(
            "Write the Alembic migration that records the repair here (default with --write-plan and --migrations: "
                + "NNN_pgmend_repair.py beside the history's head).", valueName: "file"))
        var writeMigration: String?

        func validate() throws {
            if models != nil && modelsSnapshot != nil { throw ValidationError("give --models or --models-snapshot, not both") }
            if migrations != nil && migrationsSnapshot != nil { throw ValidationError("give --migrations or --migrations-snapshot, not both") }
            if docs != nil && docsSnapshot != nil { throw ValidationError("give --docs or --docs-snapshot, not both") }
            if [models, migrations, docs, modelsSnapshot, migrationsSnapshot, docsSnapshot].allSatisfy({ $0 == nil }) {
                throw ValidationError("name a source to compare the database with: --models, --migrations or --docs")
            }
            if writeMigration != nil && migrations == nil {
                throw ValidationError("--write-migration needs --migrations alembic.ini: the history the migration follows")
            }
        }

        func run() throws {
            try format.answering(Self.self) { try compare() }
        }

        func compare() throws {
            let connection = try connection.connect()
            let sources = try expectedSnapshots(server: connection)
            let live: Snapshot
            do {
                live = try self.connection.reading("reading the database", on: connection) {
                    try SnapshotTaker(connection: connection, progress: progress.reporter()).take()
                }
            } catch let error as CatalogError {
                throw CommandFailure(.badInput, error.description)
            }
            let report = DriftMatrix.compare(live: live, sources: sources)
            if let writePlan {
                let text: String
                do {
                    text = try DriftPlanWriter.text(report: report, live: live, sources: sources, path: writePlan, archiveFolder: archiveFolder ?? archives.archives)
                } catch let error as DriftPlanError {
                    throw CommandFailure(.badInput, error.description)
                }
                do {
                    try OutputFile.write(Data(text.utf8), to: writePlan)
                } catch {
                    throw CommandFailure(.failed, "cannot write \(writePlan): \(error.localizedDescription)")
                }
                StandardError.write("wrote \(writePlan): make its decisions, then pgmend plan check \(writePlan)\n")
            }
            if let migrations, writePlan != nil || writeMigration != nil {
                try writeRepairMigration(ini: migrations, report: report, sources: sources)
            }
            switch format.format {
            case .json: print(try CanonicalJSON.encode(report), terminator: "")
            case .text: print(DriftText.lines(report).joined(separator: "\n"))
            }
            if !report.agree { throw ExitCode(ExitStatus.failed.rawValue) }
        }

        /// The sources named on the command line, as snapshots, in the order models,
        /// migrations, docs. The one place the producers are called.
        func expectedSnapshots(server: Connection) throws -> [(label: String, snapshot: Snapshot)] {
            var sources: [(label: String, snapshot: Snapshot)] = []
            if let models { sources.append(("models", try produce(.models(models), server: server))) }
            if let modelsSnapshot { sources.append(("models", try file(modelsSnapshot, as: .models(modelsSnapshot)))) }
            if let migrations { sources.append(("migrations", try produce(.migrations(migrations), server: server))) }
            if let migrationsSnapshot { sources.append(("migrations", try file(migrationsSnapshot, as: .migrations(migrationsSnapshot)))) }
            if let docs { sources.append(("docs", try produce(.docs(docs), server: server))) }
            if let docsSnapshot { sources.append(("docs", try file(docsSnapshot, as: .docs(docsSnapshot)))) }
            return sources
        }

        /// The snapshot of the models (imported with --python and --path), the migrations
        /// (`alembic upgrade head` into a scratch database, on the server of --db when the role
        /// may create one) or the document (its types recognised by the server of --db).
        func produce(_ source: SnapshotSource, server: Connection) throws -> Snapshot {
            try ExpectedSources.snapshot(source, python: python, path: path, server: server)
        }

        /// A snapshot file; one of a live database stands for the source it is given as.
        func file(_ path: String, as source: SnapshotSource) throws -> Snapshot {
            var snapshot = try Snapshot.load(commandLinePath: path)
            if snapshot.source == nil { snapshot.source = source }
            return snapshot
        }
    }
}
