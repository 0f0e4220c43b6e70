import ArgumentParser
import Foundation
import MendKit
import SchemaModel

extension PgMend {
    /// `pgmend docs`: the Markdown schema reference, from the live database or a snapshot.
    struct Docs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a Markdown schema reference of the live database or of a snapshot.")

        @Argument(help: "A snapshot to document instead of the live database.")
        var snapshot: String?
        @OptionGroup var connection: ConnectionOptions
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
        var output: String?
        @Option(
            help: ArgumentHelp(
                "Check a schema document against the database (or the snapshot) instead: exit 1 when it documents tables, columns or types the database does not have.",
                valueName: "FILE.md"))
        var check: String?
        @OptionGroup var format: FormatOption

        func validate() throws {
            if snapshot != nil && (connection.db != nil || connection.dbFile != nil) {
                throw ValidationError("give either a snapshot file or --db/--db-file, not both")
            }
            if check != nil && output != nil {
                throw ValidationError("--check reads a document and -o writes one: run them one after the other")
            }
        }

        func run() throws {
            try format.answering(Self.self) { try document() }
        }

        func document() throws {
            if let check { return try checkDocument(check) }
            let schema: Schema
            let title: String
            let source: String
            if let snapshot {
                let loaded = try Snapshot.load(commandLinePath: snapshot)
                schema = loaded.schema
                title = "Schema of \(loaded.database)"
                source = "snapshot \(snapshot)"
            } else {
                let connection = try connection.connect()
                schema = try self.connection.reading("reading the catalog", on: connection) { try CatalogReader(connection: connection).readSchema() }
                title = "Schema of \(connection.database)"
                source = "database \(connection.database)"
            }
            let markdown = SchemaDocs.markdown(schema, title: title)
            if let output {
                do {
                    try OutputFile.write(Data(markdown.utf8), to: output)
                } catch {
                    throw CommandFailure(.failed, "cannot write \(output): \(error.localizedDescription)")
                }
                StandardError.write("wrote \(output)\n")
            }
            let answer = DocsWritten(source: source, tables: schema.tables.count, output: output, markdown: output == nil ? markdown : nil)
            try format.answer(answer) { if output == nil { print(markdown, terminator: "") } }
        }
    }
}

/// The JSON answer of `docs` (without `--check`): the Markdown reference, or the file it went to.
struct DocsWritten: Encodable {
    /// `database NAME` or `snapshot FILE`.
    var source: String
    var tables: Int
    /// The file written (`-o`); without it the document is in `markdown`.
    var output: String?
    var markdown: String?
}
