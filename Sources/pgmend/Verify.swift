import ArgumentParser
import Foundation
import MendKit
import SchemaModel

extension PgMend {
    /// `pgmend verify FILE`: does the live database match the expected snapshot?
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that the live database matches an expected snapshot.",
            discussion: "Exits 0 when it matches, 1 with the differences when it does not.")

        @Argument(help: "The expected snapshot (JSON).") var snapshot: String
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Also compare row counts and content fingerprints (the snapshot must have them).")
        var data = false
        @OptionGroup var format: FormatOption
        @OptionGroup var progress: ProgressOption

        func run() throws {
            try format.answering(Self.self) { try verify() }
        }

        func verify() throws {
            let file = try Snapshot.contents(commandLinePath: snapshot)
            // A schema-only verify parses the file while it reads the database, when the file
            // says up front which schemas it covers; any other file is read whole first, so a
            // file that is not a snapshot is reported before connecting, as it always was.
            let selected = data ? nil : Snapshot.selectedSchemas(inCanonical: file)
            let expected = selected == nil ? try Snapshot.load(commandLinePath: snapshot, contents: file) : nil
            let connection = try connection.connect()
            let result: VerificationResult
            do {
                result = try self.connection.reading("reading the database to verify", on: connection) {
                    let verifier = Verifier(connection: connection, progress: progress.reporter())
                    if let expected { return try verifier.verify(expected, includeData: data) }
                    let path = snapshot
                    return try verifier.verify(parsing: { try Snapshot.load(commandLinePath: path, contents: file) }, selectedSchemas: selected ?? nil)
                }
            } catch let error as VerificationError {
                throw CommandFailure(.badInput, error.description)
            }
            let live = "database \(connection.database)"
            switch format.format {
            case .json:
                print(try CanonicalJSON.encode(
                    ComparisonReport(equal: result.matches, expected: snapshot, actual: live, changes: result.changes)), terminator: "")
            case .text:
                let scope = data ? "schema and data" : "schema"
                printChanges(
                    result.changes,
                    equalMessage: "verified: \(live) matches \(snapshot) (\(scope), \(TextLayout.count(result.actual.schema.tables.count, "table")))",
                    differentHeader: "NOT verified: \(live) differs from \(snapshot) in \(TextLayout.count(result.changes.count, "way")):")
            }
            if !result.matches { throw ExitCode(ExitStatus.failed.rawValue) }
        }
    }
}
