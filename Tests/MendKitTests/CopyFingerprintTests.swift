import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The fingerprint an archive computes from its COPY text is the server's
/// (`sum(md5(t::text))`), whatever the values hold and however the text is cut into chunks.
@Suite("The fingerprint computed from COPY text")
struct CopyFingerprintTests {
    /// Values `record_out` quotes, COPY escapes, or both; NULLs; types with their own text.
    static let awkward = """
        CREATE TYPE mood AS ENUM ('sad', 'it''s ok', 'ha,ppy');
        CREATE TYPE pair AS (label text, n int);
        CREATE DOMAIN short AS text CHECK (length(VALUE) < 100);
        CREATE TABLE awkward (
            id int, t text, v varchar(40), c char(3), n numeric, f float8, b bool, bytes bytea, j jsonb,
            a int[], ta text[], p pair, m mood, s short, ts timestamptz, i interval, u uuid, pt point, w tsvector);
        INSERT INTO awkward (id, t) VALUES
            (1, ''), (2, ' '), (3, 'a,b'), (4, 'a"b'), (5, 'a\\b'), (6, '(x)'), (7, E'tab\\there'), (8, E'new\\nline'),
            (9, E'cr\\rx'), (10, E'\\x01ctrl'), (11, E'ff\\f'), (12, E'vt\\v'), (13, E'bs\\b'), (14, 'ünïcödé ✓'),
            (15, NULL), (16, 'N'), (17, '\\N'), (18, 'NULL'), (19, '""'), (20, E'\\\\\\\\'), (21, E'\\t'), (22, 'plain');
        INSERT INTO awkward SELECT g, md5(g::text), 'v ' || g, 'c' || (g % 10), g / 7.0, CASE g % 4 WHEN 0 THEN 'NaN' WHEN 1 THEN '-0' WHEN 2 THEN 'Infinity' ELSE g / 3.0 END,
            g % 2 = 0, decode(md5(g::text), 'hex') || '\\x00ff5c22'::bytea, jsonb_build_object('k', 'va"l,u\\e ' || g, 'n', NULL::int),
            ARRAY[g, NULL, -g], ARRAY['a b', NULL, '', 'q"u', 'NULL'], ROW('l,a"b(el) ' || g, g)::pair, (ARRAY['sad', 'it''s ok', 'ha,ppy'])[1 + g % 3]::mood,
            'short ' || g, timestamptz '2026-03-29 00:30:00+00' + g * interval '17 minutes', g * interval '1 day 3 seconds',
            md5(g::text)::uuid, point(g, -g / 3.0), to_tsvector('simple', 'it''s a (test) ' || g)
        FROM generate_series(100, 2100) g;
        INSERT INTO awkward (id) VALUES (NULL);
        """

    /// The COPY of `statement`, fingerprinted here, cut into chunks of `size` bytes.
    static func fromCopy(_ statement: SQL, on connection: Connection, chunk size: Int) throws -> (rows: Int64, fingerprint: String?) {
        var text: [UInt8] = []
        _ = try connection.copyOut(statement) { text.append(contentsOf: $0) }
        var fingerprint = CopyFingerprint()
        var start = 0
        while start < text.count {
            let end = min(start + size, text.count)
            text[start..<end].withUnsafeBytes { fingerprint.update($0) }
            start = end
        }
        return (fingerprint.rows, fingerprint.fingerprint)
    }

    @Test(arguments: [1, 7, 4096, 1 << 24])
    func awkwardValuesGiveTheServersFingerprint(chunk: Int) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(SQL.scriptFile(Self.awkward))
            try connection.transaction(isolation: .repeatableRead) { connection in
                try DataStatistics.pinTextSettings(connection)
                let server = try DataStatistics(connection: connection).fingerprint(QualifiedName("awkward"))
                #expect(server.rows == 2024)
                let client = try Self.fromCopy("COPY awkward TO STDOUT", on: connection, chunk: chunk)
                #expect(client.rows == server.rows)
                #expect(client.fingerprint == server.fingerprint)
                // One row at a time too, so a mismatch names the value.
                if chunk == 1 << 24 {
                    for id in 1...22 {
                        let one = try DataStatistics(connection: connection).fingerprint(QualifiedName("awkward"), where: "id = \(bind: id)")
                        let mine = try Self.fromCopy("COPY (SELECT * FROM awkward WHERE id = \(literal: id)) TO STDOUT", on: connection, chunk: chunk)
                        #expect(mine.fingerprint == one.fingerprint, "row \(id)")
                    }
                }
            }
        }
    }

    /// No rows is "0", as `coalesce(sum(…), 0)` prints it; a table without columns is `()`.
    @Test func emptyTablesAndTablesWithoutColumns() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE empty (id int); CREATE TABLE bare (); INSERT INTO bare DEFAULT VALUES; INSERT INTO bare DEFAULT VALUES")
            for table in ["empty", "bare"] {
                let server = try DataStatistics(connection: connection).fingerprint(QualifiedName(table))
                let client = try Self.fromCopy("COPY \(ident: table) TO STDOUT", on: connection, chunk: 3)
                #expect(client.rows == server.rows && client.fingerprint == server.fingerprint, "\(table)")
            }
        }
    }

    /// Text left without its newline is not a fingerprint; a generated column or an encoding
    /// other than UTF-8 sends the archive to the server's fingerprint.
    @Test func whatItDoesNotClaim() {
        var fingerprint = CopyFingerprint()
        Array("1\tx\n2\ty".utf8).withUnsafeBytes { fingerprint.update($0) }
        #expect(fingerprint.rows == 1 && fingerprint.fingerprint == nil)
        #expect(CopyFingerprint.usable(generatedColumns: 0, serverEncoding: "UTF8", clientEncoding: "UTF8"))
        #expect(!CopyFingerprint.usable(generatedColumns: 1, serverEncoding: "UTF8", clientEncoding: "UTF8"))
        #expect(!CopyFingerprint.usable(generatedColumns: 0, serverEncoding: "LATIN1", clientEncoding: "UTF8"))
        #expect(!CopyFingerprint.usable(generatedColumns: 0, serverEncoding: "LATIN1", clientEncoding: "LATIN1"))
        #expect(!CopyFingerprint.usable(generatedColumns: 0, serverEncoding: nil, clientEncoding: "UTF8"))
    }

    /// The archive's manifest holds the server's fingerprint both ways: from the COPY, and
    /// from the server when a generated column keeps the COPY from giving the row's text.
    @Test(arguments: [false, true])
    func anArchivesFingerprintIsTheServers(generated: Bool) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(SQL.scriptFile(Self.awkward))
            if generated { try connection.execute("ALTER TABLE awkward ADD COLUMN twice int GENERATED ALWAYS AS (id * 2) STORED") }
            let folder = ArchiveTests.scratch("copy-fingerprint")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let outcome = try connection.transaction(isolation: .repeatableRead) { connection in
                try ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder)).archive(ObjectName(parsing: "awkward"), drop: false)
            }
            let server = try ArchiveTests.fingerprint("awkward", connection)
            #expect(outcome.manifest.rows == server.rows && outcome.manifest.fingerprint == server.fingerprint)
            #expect(try ArchiveVerifier.verifyFingerprint(directory: outcome.directory, against: outcome.manifest, on: connection) == server)
        }
    }

    /// A table with a column named `t`: its fingerprint sees every column (it once saw `t`
    /// alone, `t::text` naming the column, not the row), and an archive written then
    /// (format 2) is still checked the way it was computed.
    @Test func aColumnNamedTIsNotTheRow() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE notes (id int, t text); INSERT INTO notes SELECT g, 'same' FROM generate_series(1, 50) g")
            let statistics = DataStatistics(connection: connection)
            let before = try statistics.fingerprint(QualifiedName("notes"))
            let legacy = try statistics.fingerprint(QualifiedName("notes"), rowText: .beforeArchiveFormat3)
            try connection.execute("UPDATE notes SET id = id + 1000 WHERE id = 7")
            #expect(try statistics.fingerprint(QualifiedName("notes")) != before)
            #expect(try statistics.fingerprint(QualifiedName("notes"), rowText: .beforeArchiveFormat3) == legacy)
            try connection.execute("UPDATE notes SET id = 7 WHERE id = 1007")

            let folder = ArchiveTests.scratch("format-2")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let outcome = try connection.transaction(isolation: .repeatableRead) { connection in
                try ArchiveWriter(connection: connection, store: ArchiveStore(directory: folder)).archive(ObjectName(parsing: "notes"), drop: false)
            }
            #expect(outcome.manifest.formatVersion == ArchiveManifest.currentFormatVersion && outcome.manifest.fingerprint == before.fingerprint)
            var old = outcome.manifest
            old.formatVersion = 2
            old.fingerprint = legacy.fingerprint
            old = try old.sealed()
            try ArchiveVerifier.verify(directory: outcome.directory, against: old)
            #expect(try ArchiveVerifier.verifyFingerprint(directory: outcome.directory, against: old, on: connection).fingerprint == legacy.fingerprint)
            // drop_table finds the table in that archive, computing its fingerprint the old way.
            try Data(try CanonicalJSON.encode(old).utf8).write(to: URL(fileURLWithPath: "\(outcome.directory)/manifest.json"))
            let plan = try writePlan("steps:\n  - drop_table: {table: notes, archives: \(folder)}\n")
            #expect(try Runner(connection: connection, plan: plan).dryRun().steps.first?.status == .needed)
            // The same figure under format 3 is a damaged manifest, and no archive of the table.
            old.formatVersion = 3
            old = try old.sealed()
            #expect(throws: ArchiveError.self) {
                try ArchiveVerifier.verifyFingerprint(directory: outcome.directory, against: old, on: connection)
            }
            try Data(try CanonicalJSON.encode(old).utf8).write(to: URL(fileURLWithPath: "\(outcome.directory)/manifest.json"))
            #expect(try Runner(connection: connection, plan: plan).dryRun().steps.first?.status == .blocked)
        }
    }
}
