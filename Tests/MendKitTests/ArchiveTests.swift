import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

@Suite("Archives: archive_table, drop_table, restore")
struct ArchiveTests {
    static func scratch(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-archive-\(label)-\(UUID().uuidString)").path
    }

    static func fingerprint(_ table: String, _ connection: Connection) throws -> TableData {
        try connection.transaction { connection in
            try DataStatistics.pinTextSettings(connection)
            return try DataStatistics(connection: connection).fingerprint(QualifiedName(table))
        }
    }

    static func exists(_ table: String, _ connection: Connection) throws -> Bool {
        try connection.scalar("SELECT to_regclass(\(bind: table)) IS NOT NULL", as: Bool.self) ?? false
    }

    @Test func theDemoBackupTablesRoundTrip() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let tables = ["memories_backup_66d3d5d1", "user_integrations_backup"]
            let before = try tables.map { try Self.fingerprint($0, connection) }
            let folder = Self.scratch("roundtrip")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try writePlan("steps:\n  - archive_table: {tables: [\(tables.joined(separator: ", "))], to: \(folder)}\n")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder + "/snapshots")
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            for table in tables { #expect(try !Self.exists(table, connection)) }

            let entries = ArchiveStore(directory: folder).entries(database: database.name)
            #expect(entries.count == 2 && entries.allSatisfy(\.intact))
            for (table, expected) in zip(tables, before) {
                let entry = try #require(entries.first { $0.manifest?.table == table })
                #expect(entry.manifest?.rows == expected.rows)
                let restored = try ArchiveRestorer(connection: connection).restore(directory: entry.path)
                #expect(restored.rows == expected.rows)
                #expect(try Self.fingerprint(table, connection) == expected)
            }
            // Restored, the tables are back: the step wants to archive them again, not to be satisfied.
            let again = try Runner(connection: connection, plan: plan).dryRun()
            #expect(again.steps.first?.status == .needed)
        }
    }

    /// A table name is not a path: `../../escaped` is archived inside the folder, and found.
    @Test func aTableNamedLikeAPathStaysInsideTheFolder() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(#"CREATE TABLE "../../escaped" AS SELECT g AS id FROM generate_series(1, 25) g"#)
            let scratch = Self.scratch("traversal")
            let folder = scratch + "/archive"
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let plan = try writePlan("steps:\n  - archive_table: {table: \"public.../../escaped\", to: \(folder)}\n")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder + "/snapshots")
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            // Nothing beside the archive folder, nothing beside the database's folder in it.
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch) == ["archive"])
            let table = ObjectName(schema: "public", name: "../../escaped")
            let found = ArchiveStore(directory: folder).archives(of: table, database: database.name)
            let entry = try #require(found.first)
            #expect(found.count == 1)
            let path = URL(fileURLWithPath: entry.path).standardizedFileURL.path
            #expect(path.hasPrefix("\(folder)/\(database.name)/%2E.%2F..%2Fescaped-"), "\(path)")
            #expect(try !Self.exists(#""../../escaped""#, connection))
            let restored = try ArchiveRestorer(connection: connection).restore(directory: entry.path)
            #expect(restored.rows == 25)
            #expect(try connection.scalar(#"SELECT sum(id) FROM "../../escaped""#, as: Int.self) == 325)
        }
    }

    @Test func safeFileNamesLeaveOrdinaryNamesAlone() {
        #expect(SafeFileName.encode("memories_backup_66d3d5d1") == "memories_backup_66d3d5d1")
        #expect(SafeFileName.encode("audit.log-2") == "audit.log-2")
        #expect(SafeFileName.encode("..") == "%2E.")
        #expect(SafeFileName.encode("a/b c%") == "a%2Fb%20c%25")
        let long = SafeFileName.encode(String(repeating: "é", count: 31) + "." + String(repeating: "ü", count: 31))
        #expect(long.utf8.count <= 200 && !long.contains("/"))
    }

    @Test func aRestoreUnderAnotherNameLeavesTheOriginal() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE notes (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, body text NOT NULL, at timestamptz DEFAULT now(), n serial);
                CREATE INDEX notes_body_idx ON notes (body);
                COMMENT ON COLUMN notes.body IS 'it''s the body';
                INSERT INTO notes (body, at) SELECT 'note ' || g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour' FROM generate_series(1, 500) g;
                """)
            let folder = Self.scratch("rename")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let outcome = try connection.transaction(isolation: .repeatableRead) { connection in
                try ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder)).archive(ObjectName(parsing: "notes"), drop: false)
            }
            #expect(!outcome.dropped)
            let restored = try ArchiveRestorer(connection: connection).restore(directory: outcome.directory, as: "notes_copy")
            #expect(restored.table.name == "notes_copy")
            #expect(try Self.fingerprint("notes_copy", connection) == Self.fingerprint("notes", connection))
            // The copy's sequences go on after its rows.
            try connection.execute("INSERT INTO notes_copy (body) VALUES ('next')")
            #expect(try connection.scalar("SELECT max(id) FROM notes_copy", as: Int.self) == 501)
            #expect(try connection.scalar("SELECT col_description('notes_copy'::regclass, 2)", as: String.self) == "it's the body")
            let error = try #require(throws: ArchiveError.self) { try ArchiveRestorer(connection: connection).restore(directory: outcome.directory) }
            #expect(error.description == "table notes exists; restore it under another name with --as")
        }
    }

    /// README's plain-psql restore into a database that has none of the table's types.
    @Test func schemaSQLCreatesTheTypesTheTableUses() throws {
        let cluster = try ThrowawayCluster.shared()
        try cluster.withFreshDatabase(label: "types_source") { source in
            let connection = try source.connect()
            try connection.execute("""
                CREATE SCHEMA app;
                CREATE TYPE app.mood AS ENUM ('sad', 'it''s ok', 'happy');
                CREATE DOMAIN positive AS integer DEFAULT 1 NOT NULL CONSTRAINT positive_check CHECK (VALUE > 0);
                CREATE DOMAIN good_mood AS app.mood CHECK (VALUE <> 'sad');
                CREATE TABLE feelings (id int PRIMARY KEY, m app.mood, p positive, g good_mood, ms app.mood[]);
                INSERT INTO feelings SELECT g, (ARRAY['sad', 'it''s ok', 'happy']::app.mood[])[1 + g % 3], g, 'happy', ARRAY['sad', 'happy']::app.mood[]
                FROM generate_series(1, 300) g;
                """)
            let folder = Self.scratch("types")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let outcome = try connection.transaction(isolation: .repeatableRead) { connection in
                try ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder)).archive(ObjectName(parsing: "feelings"), drop: false)
            }
            let expected = try Self.fingerprint("feelings", connection)
            // In the source database the types exist: schema.sql leaves them as they are.
            try connection.execute("DROP TABLE feelings")
            #expect(try ArchiveRestorer(connection: connection).restore(directory: outcome.directory).rows == 300)

            try cluster.withFreshDatabase(label: "types_target") { target in
                let psql = "\(cluster.binDirectory)/psql"
                let schema = try ProcessRunner.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target.conninfo, "-f", "\(outcome.directory)/schema.sql"])
                #expect(schema.status == 0, "\(schema.stderr)")
                let columns = outcome.manifest.columns.map { SQLIdentifier($0.name).quoted }.joined(separator: ", ")
                let load = try ProcessRunner.run("/bin/sh", [
                    "-c", "gunzip -c \"$1\" | \"$2\" -X -q -v ON_ERROR_STOP=1 -d \"$3\" -c \"COPY public.feelings (\(columns)) FROM STDIN\"",
                    "sh", "\(outcome.directory)/data.copy.gz", psql, target.conninfo,
                ])
                #expect(load.status == 0, "\(load.stderr)")
                #expect(try Self.fingerprint("feelings", try target.connect()) == expected)
            }
        }
    }

    /// Every figure of the manifest is checked against the data: an edited fingerprint or row
    /// count (even with manifest_sha256 made to match) and any field edited by hand.
    @Test func verifyNoticesEveryEditedFigure() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TYPE tone AS ENUM ('low', 'high');
                CREATE TABLE notes (id int PRIMARY KEY, body text, t tone, doubled int GENERATED ALWAYS AS (id * 2) STORED);
                INSERT INTO notes (id, body, t) SELECT g, 'note ' || g, 'high' FROM generate_series(1, 200) g;
                """)
            let folder = Self.scratch("verify")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let outcome = try connection.transaction(isolation: .repeatableRead) { connection in
                try ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder)).archive(ObjectName(parsing: "notes"), drop: false)
            }
            let original = try ArchiveVerifier.verify(directory: outcome.directory)
            #expect(original.manifestSHA256 != nil)
            #expect(try ArchiveVerifier.verifyFingerprint(directory: outcome.directory, against: original, on: connection).rows == 200)

            /// A copy of the archive whose manifest is changed, its SHA-256 recomputed or not.
            func edited(_ label: String, reseal: Bool, _ change: (inout ArchiveManifest) -> Void) throws -> (String, ArchiveManifest) {
                let copy = "\(folder)/\(label)"
                try FileManager.default.copyItem(atPath: outcome.directory, toPath: copy)
                var manifest = original
                change(&manifest)
                if reseal { manifest = try manifest.sealed() }
                try Data(try CanonicalJSON.encode(manifest).utf8).write(to: URL(fileURLWithPath: "\(copy)/manifest.json"))
                return (copy, manifest)
            }

            let (fingerprinted, withFingerprint) = try edited("fingerprint", reseal: true) { $0.fingerprint = "12345" }
            _ = try ArchiveVerifier.verify(directory: fingerprinted)
            let wrongFingerprint = try #require(throws: ArchiveError.self) {
                try ArchiveVerifier.verifyFingerprint(directory: fingerprinted, against: withFingerprint, on: connection)
            }
            #expect(wrongFingerprint.description.contains("its fingerprint 12345 is not the archived rows' \(original.fingerprint)"), "\(wrongFingerprint)")
            // The temporary table went with the rollback.
            #expect(try connection.scalar("SELECT to_regclass('pg_temp.pgmend_archive_verify') IS NULL", as: Bool.self) == true)

            let (counted, _) = try edited("rows", reseal: true) { $0.rows = 201 }
            let wrongRows = try #require(throws: ArchiveError.self) { try ArchiveVerifier.verify(directory: counted) }
            #expect(wrongRows.description.contains("it holds 200 rows, the archive recorded 201"), "\(wrongRows)")

            let (sized, _) = try edited("bytes", reseal: true) { $0.dataBytes += 1 }
            #expect(throws: ArchiveError.self) { try ArchiveVerifier.verify(directory: sized) }

            for (label, change) in [("table", { (m: inout ArchiveManifest) in m.table = "other" }), ("quiet", { $0.fingerprint = "12345" })] as [(String, (inout ArchiveManifest) -> Void)] {
                let (changed, _) = try edited(label, reseal: false, change)
                let error = try #require(throws: ArchiveError.self) { try ArchiveVerifier.verify(directory: changed) }
                #expect(error.description.contains("manifest.json is damaged: it was changed after it was written"), "\(error)")
            }
        }
    }

    /// A fault between writing and reading back: the table must stay, with a clear error.
    @Test(arguments: ["flip", "truncate"])
    func aDamagedArchiveKeepsTheTable(fault: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: "damaged_\(fault)") { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE backup AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 20000) g")
            let folder = Self.scratch(fault)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var writer = ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder))
            writer.afterWrite = { directory in
                let path = "\(directory)/data.copy.gz"
                var data = try Data(contentsOf: URL(fileURLWithPath: path))
                if fault == "flip" {
                    data[data.count / 2] ^= 0x01
                } else {
                    data = data.prefix(data.count / 2)
                }
                try data.write(to: URL(fileURLWithPath: path))
            }
            let error = try #require(throws: ArchiveError.self) {
                try connection.transaction(isolation: .repeatableRead) { _ in try writer.archive(ObjectName(parsing: "backup"), drop: true) }
            }
            #expect(error.description.contains("data.copy.gz is damaged"), "\(error)")
            if fault == "truncate" { #expect(error.description.contains("truncated")) }
            #expect(try Self.exists("backup", connection))
            #expect(ArchiveStore(directory: folder).entries().allSatisfy { $0.manifest == nil })
        }
    }

    /// A full disk while the archive is written: the error says so, the table stays, and the
    /// half-written folder is removed rather than left filling the disk.
    @Test func aFullDiskRemovesThePartialFolder() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE backup AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 5000) g")
            let folder = Self.scratch("full")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var writer = ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder))
            let seen = LockedPaths()
            writer.afterWrite = { directory in
                seen.append(directory)
                throw ArchiveError.io("\(directory)/data.copy.gz", "cannot write", ENOSPC)
            }
            let error = try #require(throws: ArchiveError.self) {
                try connection.transaction(isolation: .repeatableRead) { _ in try writer.archive(ObjectName(parsing: "backup"), drop: true) }
            }
            #expect(error.description.hasSuffix("data.copy.gz: the disk is full"), "\(error)")
            let partial = try #require(seen.all.first)
            #expect(partial.hasSuffix(".partial"))
            #expect(!FileManager.default.fileExists(atPath: partial))
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/\(database.name)").isEmpty)
            #expect(try Self.exists("backup", connection))
        }
    }

    @Test func anUnwritableFolderKeepsTheTable() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE backup AS SELECT g AS id FROM generate_series(1, 10) g")
            // Root may write anywhere, so the folder is made impossible: its parent is a file.
            let blocker = Self.scratch("file")
            try Data("not a folder".utf8).write(to: URL(fileURLWithPath: blocker))
            defer { try? FileManager.default.removeItem(atPath: blocker) }
            let plan = try writePlan("steps:\n  - archive_table: {table: backup, to: \(blocker)/archives}\n")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.scratch("snapshots"))
            #expect(report.outcome == .failed)
            #expect(report.message?.contains("cannot create the folder \(blocker): Not a directory") == true, "\(report.message ?? "")")
            #expect(try Self.exists("backup", connection))
        }
    }

    @Test func dependantsBlockTheArchiveAndAreNamed() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE backup (id int PRIMARY KEY);
                CREATE TABLE child (backup_id int REFERENCES backup (id));
                CREATE VIEW recent AS SELECT id FROM backup;
                """)
            let schema = try CatalogReader(connection: connection).readSchema()
            let step = try makeStep("archive_table: {table: backup, to: \(Self.scratch("dependants"))}")
            guard case .blocked(let problems) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("dependants should block"); return
            }
            #expect(problems.map(\.description) == ["views read backup: recent", "foreign keys reference backup: child.child_backup_id_fkey"])
        }
    }

    @Test func dropTableNeedsAnEmptyTableOrAMatchingArchive() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE empty (id int); CREATE TABLE full_one AS SELECT g AS id FROM generate_series(1, 100) g")
            let folder = Self.scratch("drop")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try applyAndCheckPrediction(try makeStep("drop_table: {table: empty, archives: \(folder)}"), on: connection)

            let probe = Probe(connection: connection)
            let step = try makeStep("drop_table: {table: full_one, archives: \(folder)}")
            guard case .blocked(let problems) = try step.assess(try CatalogReader(connection: connection).readSchema(), probe) else {
                Issue.record("rows without an archive should block"); return
            }
            #expect(problems.first?.message.hasPrefix("full_one has 100 rows and no archive of them") == true)

            // Archived without dropping, the same rows may now go.
            _ = try connection.transaction(isolation: .repeatableRead) { connection in
                try ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder)).archive(ObjectName(parsing: "full_one"), drop: false)
            }
            let plan = try writePlan("steps:\n  - drop_table: {table: full_one, archives: \(folder)}\n")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder + "/snapshots")
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try !Self.exists("full_one", connection))
        }
    }

    @Test func aChangedTableDoesNotMatchItsOldArchive() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10) g")
            let folder = Self.scratch("changed")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            _ = try connection.transaction(isolation: .repeatableRead) { connection in
                try ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder)).archive(ObjectName(parsing: "t"), drop: false)
            }
            try connection.execute("UPDATE t SET id = id + 100 WHERE id = 5")
            let step = try makeStep("drop_table: {table: t, archives: \(folder)}")
            guard case .blocked = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("changed rows must not match the old archive"); return
            }
        }
    }
}

/// Paths a test hook saw, readable after the hook's closure is gone.
final class LockedPaths: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [String] = []
    func append(_ path: String) { lock.withLock { paths.append(path) } }
    var all: [String] { lock.withLock { paths } }
}
