import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Every file of an archive is in its manifest with its SHA-256 and is checked (issue 19,
/// "Archives and files"), and a rehearsal's archives go to a private folder that is removed.
@Suite("Archive files: every one checked; the rehearsal's folder private and removed")
struct ArchiveFilesTests {
    /// `notes` archived (not dropped) into a scratch folder; `victim` beside it.
    static func archived(_ connection: Connection, _ folder: String) throws -> String {
        try connection.execute("""
            CREATE TABLE notes (id int PRIMARY KEY, body text);
            INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 100) g;
            CREATE TABLE victim (id int);
            """)
        let outcome = try connection.transaction(isolation: .repeatableRead) { connection in
            try ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder)).archive(ObjectName(parsing: "notes"), drop: false)
        }
        return outcome.directory
    }

    static func append(_ text: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    @Test func theManifestListsEveryFile() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let folder = ArchiveTests.scratch("files")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let directory = try Self.archived(connection, folder)
            let manifest = try ArchiveVerifier.verify(directory: directory)
            #expect(manifest.formatVersion == ArchiveManifest.currentFormatVersion)
            #expect(manifest.files.map { Set($0.keys) } == ["schema.sql", "table.json", "data.copy.gz"])
            for (name, file) in manifest.files ?? [:] {
                let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))
                #expect(file == ArchiveManifest.ArchivedFile(of: data), "\(name)")
            }
        }
    }

    /// `DROP TABLE victim;` appended to schema.sql: verify fails naming the file, and a restore
    /// refuses before running anything (the victim stays).
    @Test(arguments: ["schema.sql", "table.json"])
    func aTamperedFileFailsVerifyAndRestore(file: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: "tampered") { database in
            let connection = try database.connect()
            let folder = ArchiveTests.scratch("tampered")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let directory = try Self.archived(connection, folder)
            try Self.append(file == "schema.sql" ? "\nDROP TABLE victim;\n" : " ", to: "\(directory)/\(file)")

            let error = try #require(throws: ArchiveError.self) { try ArchiveVerifier.verify(directory: directory) }
            #expect(error.description == "\(directory)/\(file) is damaged: its SHA-256 is not the one recorded when it was written")
            try connection.execute("DROP TABLE notes")
            #expect(throws: ArchiveError.self) { try ArchiveRestorer(connection: connection).restore(directory: directory) }
            #expect(throws: ArchiveError.self) { try ArchiveRestorer(connection: connection).restore(directory: directory, as: "notes_again") }
            #expect(try ArchiveTests.exists("victim", connection))
            #expect(try !ArchiveTests.exists("notes", connection))
        }
    }

    /// A file beside the archive's own, or one of them replaced by a symbolic link to a copy
    /// of itself, is not the archive.
    @Test func anExtraFileOrASymbolicLinkFailsVerify() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let folder = ArchiveTests.scratch("extra")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let directory = try Self.archived(connection, folder)
            try Data("psql -c 'DROP TABLE victim'".utf8).write(to: URL(fileURLWithPath: "\(directory)/restore.sh"))
            let extra = try #require(throws: ArchiveError.self) { try ArchiveVerifier.verify(directory: directory) }
            #expect(extra.description == "\(directory) is damaged: it holds restore.sh, which its manifest does not list")
            try FileManager.default.removeItem(atPath: "\(directory)/restore.sh")
            _ = try ArchiveVerifier.verify(directory: directory)

            try FileManager.default.moveItem(atPath: "\(directory)/schema.sql", toPath: "\(folder)/schema.sql")
            try FileManager.default.createSymbolicLink(atPath: "\(directory)/schema.sql", withDestinationPath: "\(folder)/schema.sql")
            let linked = try #require(throws: ArchiveError.self) { try ArchiveVerifier.verify(directory: directory) }
            #expect(linked.description.contains("schema.sql is damaged: it is not a regular file"), "\(linked)")
        }
    }

    /// drop_table against an archive whose schema.sql was changed: the DROP's own check of
    /// the archive fails, and the table stays.
    @Test func aTamperedArchiveIsNotDroppedAgainst() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let folder = ArchiveTests.scratch("dropagainst")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let directory = try Self.archived(connection, folder)
            try Self.append("\nDROP TABLE victim;\n", to: "\(directory)/schema.sql")
            let plan = try writePlan("steps:\n  - drop_table: {table: notes, archives: \(folder)}\n")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder + "/snapshots")
            #expect(report.outcome == .failed, "\(RunReportText(report).text)")
            #expect(report.message?.contains("schema.sql is damaged") == true, "\(report.message ?? "")")
            #expect(try ArchiveTests.exists("notes", connection))
        }
    }

    /// An archive written before the manifest listed its files (format_version 1) still
    /// verifies and restores; only its data file is checked by SHA-256.
    @Test func aFormatOneArchiveStillVerifiesAndRestores() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let folder = ArchiveTests.scratch("format1")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let directory = try Self.archived(connection, folder)
            var manifest = try ArchiveManifest.read(directory)
            manifest.formatVersion = 1
            manifest.files = nil
            manifest = try manifest.sealed()
            try Data(try CanonicalJSON.encode(manifest).utf8).write(to: URL(fileURLWithPath: "\(directory)/manifest.json"))
            let text = try String(contentsOfFile: "\(directory)/manifest.json", encoding: .utf8)
            #expect(!text.contains("\"files\""))

            #expect(try ArchiveVerifier.verify(directory: directory).files == nil)
            try connection.execute("DROP TABLE notes")
            #expect(try ArchiveRestorer(connection: connection).restore(directory: directory).rows == 100)
        }
    }

    // MARK: The rehearsal's folder

    /// Reports the rehearsal folders of this process that hold archives of `database` while
    /// they are written (other tests of this process may rehearse at the same time).
    final class FolderWatcher: ProgressReporter, @unchecked Sendable {
        let database: String
        var seen: [String: (mode: mode_t, owner: uid_t, isDirectory: Bool)] = [:]
        init(database: String) { self.database = ArchiveStore.folderName(database: database) }
        func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
            guard task.hasPrefix("archive") else { return }
            let parent = FileManager.default.temporaryDirectory.path
            for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix("pgmend-rehearsal-\(getpid())-") {
                var status = stat()
                guard FileManager.default.fileExists(atPath: "\(parent)/\(name)/\(database)"), lstat("\(parent)/\(name)", &status) == 0 else { continue }
                seen["\(parent)/\(name)"] = (status.st_mode & 0o777, status.st_uid, (status.st_mode & S_IFMT) == S_IFDIR)
            }
        }
        func finish(task: String) {}
    }

    /// The predictable folder of old (`pgmend-rehearsal-archives-<pid>`) is never used: one
    /// pre-created there as a symbolic link to another user's folder receives nothing. The
    /// rehearsal writes to a folder of its own, mode 0700, gone once it returns, also when a
    /// later step fails.
    @Test(arguments: [false, true])
    func aRehearsalsArchivesGoToAPrivateFolderThatIsRemoved(failing: Bool) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: "rehearsal_folder") { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE backup AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 3000) g")
            let trap = ArchiveTests.scratch("trap")
            try FileManager.default.createDirectory(atPath: trap, withIntermediateDirectories: true)
            // One of the two arguments sets the trap: both run in this process, at once.
            let predictable = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-rehearsal-archives-\(getpid())").path
            if !failing {
                try? FileManager.default.removeItem(atPath: predictable)
                try FileManager.default.createSymbolicLink(atPath: predictable, withDestinationPath: trap)
            }
            defer {
                if !failing { try? FileManager.default.removeItem(atPath: predictable) }
                try? FileManager.default.removeItem(atPath: trap)
            }
            let folder = ArchiveTests.scratch("rehearsal-plan")
            let later = failing ? "  - sql: {run: \"SELECT 1/0\", done_when: \"SELECT false\"}\n" : ""
            let plan = try writePlan("steps:\n  - archive_table: {table: backup, to: \(folder)}\n\(later)")
            let watcher = FolderWatcher(database: database.name)
            let report = try Runner(connection: connection, plan: plan, progress: watcher).rehearse(maxBytes: 1 << 30)
            #expect(report.outcome == (failing ? .failed : .ok), "\(RunReportText(report).text)")
            #expect(report.steps.first?.status == .applied)

            #expect(watcher.seen.count == 1, "\(watcher.seen.keys)")
            for (path, facts) in watcher.seen {
                #expect(facts.isDirectory && facts.mode == 0o700 && facts.owner == getuid(), "\(path): \(facts)")
                #expect(!FileManager.default.fileExists(atPath: path), "\(path) was left behind")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: trap).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: folder))
            #expect(try ArchiveTests.exists("backup", connection))
        }
    }

    /// A folder left by a rehearsal that was killed (its process gone) is removed by the next
    /// one; a symbolic link named like one is not followed (its target untouched), and a
    /// folder of a live process is left alone.
    @Test func anAbandonedRehearsalFolderIsRemovedByTheNext() throws {
        let parent = ArchiveTests.scratch("abandoned")
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        let abandoned = "\(parent)/pgmend-rehearsal-\(dead)-AbCdEf"
        try FileManager.default.createDirectory(atPath: abandoned + "/db/backup-x", withIntermediateDirectories: true)
        try Data("copy".utf8).write(to: URL(fileURLWithPath: abandoned + "/db/backup-x/data.copy.gz"))
        let target = "\(parent)/target"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target + "/keep"))
        let link = "\(parent)/pgmend-rehearsal-\(dead)-LiNkXx"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let alive = "\(parent)/pgmend-rehearsal-1-AlIvEx"  // pid 1 lives (or is not ours to signal)
        try FileManager.default.createDirectory(atPath: alive, withIntermediateDirectories: true)

        let folder = try RehearsalFolder(parent: parent)
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        #expect(FileManager.default.fileExists(atPath: target + "/keep"))
        #expect(FileManager.default.fileExists(atPath: alive))
        #expect(folder.path.hasPrefix("\(parent)/pgmend-rehearsal-\(getpid())-"))
        folder.remove()
        #expect(!FileManager.default.fileExists(atPath: folder.path))
    }
}
