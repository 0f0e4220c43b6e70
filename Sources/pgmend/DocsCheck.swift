import ArgumentParser
import Foundation
import MendKit
import PostgresClient
import SchemaModel

extension PgMend.Docs {
    /// `pgmend docs --check FILE.md`: what the document says that the database contradicts
    /// (exit 1), and what the database has that it does not mention (reported, exit 0 alone).
    func checkDocument(_ path: String) throws {
        let document = try ExpectedSources.document(path)
        let live: Schema
        let databaseName: String
        let documented: Snapshot
        if let snapshot {
            let loaded = try Snapshot.load(commandLinePath: snapshot)
            (live, databaseName) = (loaded.schema, loaded.database)
            documented = try MarkdownSchemaSnapshot.snapshot(document, path: path, connection: nil)
        } else {
            let server = try connection.connect()
            documented = try self.connection.reading("recognising the document's types", on: server) {
                try MarkdownSchemaSnapshot.snapshot(document, path: path, connection: server)
            }
            // Every user schema: a documented schema the database lacks is a finding, not an error.
            live = try self.connection.reading("reading the catalog", on: server) {
                try CatalogReader(connection: server).readSchema()
            }
            databaseName = server.database
        }
        let result = DocsCheck.compare(documented: documented.schema, database: live, document: document)
        let rewrite = "pgmend docs -o \(path) rewrites it from the database"
        switch format.format {
        case .json:
            print(try CanonicalJSON.encode(DocsCheckReport(
                document: path, database: databaseName, agrees: result.agrees, check: result, rewrite: rewrite)), terminator: "")
        case .text:
            printCheck(result, path: path, database: databaseName, rewrite: rewrite)
        }
        if !result.agrees { throw ExitCode(ExitStatus.failed.rawValue) }
    }

    private func printCheck(_ result: DocsCheck, path: String, database: String, rewrite: String) {
        if result.agrees {
            say("\(path) agrees with \(database): nothing it documents is missing or typed otherwise")
        } else {
            say("\(path) documents \(TextLayout.count(result.contradictions.count, "thing")) that \(database) does not have:")
            for finding in result.contradictions { say("\(finding)", first: "  ", rest: "      ") }
        }
        if !result.undocumented.isEmpty {
            say("\(database) has \(TextLayout.count(result.undocumented.count, "thing")) that \(path) does not mention:")
            for finding in result.undocumented { say("\(finding)", first: "  ", rest: "      ") }
        }
        if !result.typesNotCompared.isEmpty {
            say("\(TextLayout.count(result.typesNotCompared.count, "type")) not compared (the server does not recognise them):")
            for finding in result.typesNotCompared { say("\(finding)", first: "  ", rest: "      ") }
        }
        if !result.agrees || !result.undocumented.isEmpty { print(rewrite) }
    }

}

/// The JSON answer of `docs --check`.
struct DocsCheckReport: Encodable {
    var document: String
    var database: String
    var agrees: Bool
    var check: DocsCheck
    var rewrite: String

    enum CodingKeys: String, CodingKey { case document, database, agrees, check, rewrite }
}
