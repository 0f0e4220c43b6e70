import Foundation
import MendKit
import PostgresClient
import SchemaModel

/// The one place the command line turns a source of truth into a snapshot: the application's
/// models or migrations (built by its Python in a scratch database) or a schema document (read,
/// its types recognised by `server` when there is one). `snapshot take --from-*`, `drift` and a
/// run whose plan names models all come here, so they fail alike: bad input is exit 2, a local
/// server that cannot start is exit 4.
enum ExpectedSources {
    /// A schema document read, its notes on stderr; a document pgmend cannot read is exit 2.
    static func document(_ file: String) throws -> MarkdownSchema {
        let document: MarkdownSchema
        do {
            document = try MarkdownSchemaParser.read(path: file)
        } catch let error as MarkdownSchemaError {
            throw CommandFailure(.badInput, error.description)
        }
        for note in document.notes { StandardError.write("pgmend: \(file): \(note)\n") }
        return document
    }

    static func snapshot(_ source: SnapshotSource, python: String?, path: String?, server: Connection?) throws -> Snapshot {
        switch source {
        case .docs(let file):
            return try MarkdownSchemaSnapshot.snapshot(try document(file), path: file, connection: server)
        case .models, .migrations:
            let taker = ExpectedSnapshotTaker(
                python: python ?? "python3", searchPath: path, server: server, reporter: ProgressOption.automatic())
            do {
                return try taker.take(source)
            } catch let error as ExpectedSchemaError {
                throw CommandFailure(error.kind == .noServer ? .unreachable : .badInput, error.message)
            } catch let error as PostgresError {
                throw CommandFailure(error)
            }
        }
    }
}
