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
        @OptionGroup var archives: ArchivesOption
        @Option(help: .hidden) var to: String?  // its name before --archives, still read

        var folder: String { to ?? archives.archives }
        @OptionGroup var format: FormatOption

        func run() throws {
            try format.answering(Self.self) { try list() }
        }

        func list() throws {
            let entries = ArchiveStore(directory: folder).entries()
            try format.answer(ArchiveListing(folder: folder, entries: entries)) { printList(entries) }
        }

        /// Each archive as its folder (to copy into `archive verify`), then what it holds, in
        /// 100 columns; `--format json` has the same in fields.
        func printList(_ entries: [ArchiveStore.Entry]) {
            if entries.isEmpty { print("no archives in \(folder)/") }
            for entry in entries {
                print(entry.path)
                guard let manifest = entry.manifest else {
                    print("  INCOMPLETE (no manifest: a run stopped while writing it)")
                    continue
                }
                var facts = "\(manifest.objectName) of \(manifest.database), \(TextLayout.count(Int(manifest.rows), "row")), "
                    + "\(manifest.fileBytes) bytes, \(manifest.createdAt)"
                if let selection = manifest.selection { facts += ", only \(selection)" }
                if !entry.intact { facts += "; DAMAGED (data file size differs; pgmend archive verify)" }
                print(TextLayout.lines(facts, first: "  ", rest: "    ").joined(separator: "\n"))
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read an archive back and check every figure of its manifest.",
            discussion: """
                Checks the manifest's own SHA-256, the SHA-256 and size of every file it lists (schema.sql, \
                table.json, data.copy.gz; the folder may hold no other), and the COPY text's size, SHA-256 \
                and row count. With --db it also loads the rows into a temporary table \
                (rolled back) and checks their fingerprint; without, it says the fingerprint was not \
                checked. --db "" uses libpq's PG* variables. Exits 0 when it is intact, 1 when it is not.
                """)
        @Argument(help: "The archive folder.") var directory: String
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var format: FormatOption
        @OptionGroup var progress: ProgressOption

        func run() throws {
            try format.answering(Self.self) { try verify() }
        }

        func verify() throws {
            do {
                let manifest = try ArchiveVerifier.verify(directory: directory)
                var answer = ArchiveVerified(directory: directory, manifest: manifest)
                var facts = "\(manifest.objectName), \(TextLayout.count(Int(manifest.rows), "row")), sha256 \(manifest.dataSHA256)"
                if manifest.manifestSHA256 == nil { facts += "; the manifest has no manifest_sha256 (an older pgmend wrote it)" }
                if let files = manifest.files {
                    facts += "; files checked: \(files.keys.sorted().joined(separator: ", "))"
                } else {
                    facts += "; schema.sql and table.json not checked: an older pgmend (format_version \(manifest.formatVersion)) recorded no SHA-256 for them, only for data.copy.gz"
                }
                // Only a server computes the fingerprint the way it was taken (md5 of each
                // row's text form), so without a database it is said to be unchecked.
                // --db, --db-file or PGMEND_DB, as for every command.
                if try self.connection.conninfo() != nil {
                    let connection = try self.connection.connect()
                    let found = try ArchiveVerifier.verifyFingerprint(
                        directory: directory, against: manifest, on: connection, progress: progress.reporter())
                    facts += ", fingerprint \(found.fingerprint) (rows loaded into a temporary table in \(connection.database))"
                    answer.fingerprintCheckedIn = connection.database
                } else {
                    facts += "; fingerprint not checked: no database given (--db loads the rows into a temporary table to check it)"
                }
                try format.answer(answer) { say("verified: \(directory): \(facts)") }
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
        @OptionGroup var format: FormatOption
        @OptionGroup var progress: ProgressOption

        func run() throws {
            try format.answering(Self.self) { try restore() }
        }

        func restore() throws {
            let connection = try connection.connect()
            do {
                let outcome = try ArchiveRestorer(connection: connection, progress: progress.reporter()).restore(directory: directory, as: newName)
                let answer = ArchiveRestored(archive: directory, table: outcome.table.key, database: connection.database, rows: outcome.rows)
                try format.answer(answer) {
                    say("restored \(outcome.table) in \(connection.database): \(TextLayout.count(Int(outcome.rows), "row")), fingerprint matches the archive")
                }
            } catch let error as ArchiveError {
                throw CommandFailure(.failed, error.description)
            }
        }
    }
}
