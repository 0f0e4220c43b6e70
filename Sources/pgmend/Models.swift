import ArgumentParser
import Foundation
import MendKit
import SchemaModel

extension PgMend {
    /// `pgmend models`: SQLAlchemy models (and an Alembic migration) for tables that have none,
    /// from the live database or a snapshot file; the `generate_models` step outside a plan.
    struct Models: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write SQLAlchemy models (and an Alembic migration) for tables that have none.",
            discussion: """
                Generates from the live database, or with --from from a snapshot file without one. \
                The output is deterministic: the same tables give the same bytes.
                """)

        @Argument(help: "The tables to generate: table or schema.table.")
        var tables: [String]
        @OptionGroup var connection: ConnectionOptions
        @Option(name: .customLong("from"), help: ArgumentHelp("Generate from this snapshot file instead of a database.", valueName: "snapshot"))
        var snapshot: String?
        @Option(name: .shortAndLong, help: "Write the models to this file instead of standard output.")
        var output: String?
        @Option(help: ArgumentHelp("The application's declarative base, module:Name or module.Name (default: declared in the file).", valueName: "import path"))
        var base: String?
        @Option(help: ArgumentHelp("Also write an Alembic migration creating the tables to this file.", valueName: "file"))
        var alembic: String?
        @Option(help: ArgumentHelp("The migration's revision id (default: derived from its content).", valueName: "id"))
        var revision: String?
        @Option(help: ArgumentHelp("The revision the migration follows (default: none).", valueName: "id"))
        var downRevision: String?
        @OptionGroup var format: FormatOption

        func validate() throws {
            if snapshot != nil && (connection.db != nil || connection.dbFile != nil) {
                throw ValidationError("give either --from SNAPSHOT or --db/--db-file, not both")
            }
            if tables.isEmpty { throw ValidationError("name at least one table") }
            if let base, SQLAlchemyModels.importPath(base) == nil {
                throw ValidationError("--base must be an import path such as app.db:Base, not '\(base)'")
            }
            if alembic == nil && (revision != nil || downRevision != nil) {
                throw ValidationError("--revision and --down-revision are for the migration: give --alembic FILE too")
            }
            if let alembic, alembic == output { throw ValidationError("--alembic and --output must be different files") }
        }

        func run() throws {
            try format.answering(Self.self) { try generate() }
        }

        func generate() throws {
            let names = tables.map { ObjectName(parsing: $0) }
            let schema: Schema
            var databaseName: String?
            if let snapshot {
                schema = try Snapshot.load(commandLinePath: snapshot).schema
            } else {
                let connection = try connection.connect()
                schema = try CatalogReader(connection: connection).readSchema(tables: names)
                databaseName = connection.database
            }
            let models: String
            var migration: String?
            do {
                models = try SQLAlchemyModels.render(schema, tables: names, base: base)
                if alembic != nil {
                    migration = try AlembicMigration.render(schema, tables: names, revision: revision, downRevision: downRevision)
                }
            } catch let error as CodegenError {
                throw CommandFailure(.badInput, error.description)
            }
            if let output { try Self.write(models, to: output) }
            if let alembic, let migration { try Self.write(migration, to: alembic) }
            let answer = ModelsWritten(
                tables: names.map(\.key), source: snapshot.map { "snapshot \($0)" } ?? "database \(databaseName ?? "")", output: output,
                models: output == nil ? models : nil, alembic: alembic)
            try format.answer(answer) { if output == nil { print(models, terminator: "") } }
        }

        static func write(_ text: String, to path: String) throws {
            do {
                try OutputFile.write(Data(text.utf8), to: path)
            } catch {
                throw CommandFailure(.failed, "cannot write \(path): \(error.localizedDescription)")
            }
            StandardError.write("wrote \(path)\n")
        }
    }
}

/// The JSON answer of `models`: what was generated and where it went.
struct ModelsWritten: Encodable {
    /// The tables generated, `schema.table` unquoted.
    var tables: [String]
    /// `database NAME`, or `snapshot FILE` for the file given with `--from`.
    var source: String
    /// The models' file (`-o`); without it the models are in `models`.
    var output: String?
    var models: String?
    /// The Alembic migration's file (`--alembic`).
    var alembic: String?
}
