import ArgumentParser
import Foundation
import MendKit
import SchemaModel

extension PgMend {
    /// `pgmend archive list|verify|restore`: the archives archive_table wrote.
    struct ArchiveCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "archive", abstract: "List, verify and restore table archives.",
            subcommands: [List.self, Verify.self, Restore.self])
    }
}

extension PgMend.ArchiveCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the archives in a folder.")
        @Option(help: "The archive folder.") var to: String = "Snapshots/archive"

        func run() throws {
            let entries = ArchiveStore(directory: to).entries()
            if entries.isEmpty { print("no archives in \(to)/") }
            for entry in entries {
                guard let manifest = entry.manifest else {
                    print("\(entry.path)\tINCOMPLETE (no manifest: a run stopped while writing it)")
                    continue
                }
                let state = entry.intact ? "" : "\tDAMAGED (data file size differs; pgmend archive verify)"
                print("\(entry.path)\t\(manifest.database)\t\(manifest.objectName)\t\(manifest.rows) rows\t\(manifest.fileBytes) bytes\t\(manifest.createdAt)\(state)")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read an archive back and check its hashes and row count.",
            discussion: "Exits 0 when it is intact, 1 when it is not.")
        @Argument(help: "The archive folder.") var directory: String

        func run() throws {
            do {
                let manifest = try ArchiveVerifier.verify(directory: directory)
                print("verified: \(directory): \(manifest.objectName), \(manifest.rows) rows, sha256 \(manifest.dataSHA256)")
            } catch let error as ArchiveError {
                throw CommandFailure(.failed, error.description)
            }
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recreate an archived table and load its data, checked against the manifest.",
            discussion: "All in one transaction: nothing is left behind when anything does not match.")
        @Argument(help: "The archive folder.") var directory: String
        @OptionGroup var connection: ConnectionOptions
        @Option(name: .customLong("as"), help: "Restore under this table name (same schema).")
        var newName: String?

        func run() throws {
            let connection = try connection.connect()
            do {
                let outcome = try ArchiveRestorer(connection: connection).restore(directory: directory, as: newName)
                print("restored \(outcome.table) in \(connection.database): \(outcome.rows) rows, fingerprint matches the archive")
            } catch let error as ArchiveError {
                throw CommandFailure(.failed, error.description)
            }
        }
    }
}
