import Crypto
import Foundation
import PostgresClient
import SchemaModel

/// Reads an archive back from disk and checks every figure of its manifest: its own SHA-256,
/// the data file's size and SHA-256, the COPY text's size, SHA-256 and rows, and, given a
/// connection, the fingerprint of the rows once loaded.
public enum ArchiveVerifier {
    public static func verify(directory: String) throws -> ArchiveManifest {
        let manifest = try ArchiveManifest.read(directory)
        try verify(directory: directory, against: manifest)
        return manifest
    }

    /// What `data.copy.gz` decompresses to: the COPY text's size, rows and SHA-256.
    struct Decoded: Sendable, Equatable {
        var bytes: Int64
        var rows: Int64
        var sha256: String
    }

    /// Checks an archive against `manifest`; with `decoded`, what its writer decompressed
    /// from the bytes it wrote, `data.copy.gz` is hashed as it is on disk and compared with
    /// those bytes rather than decompressed a second time.
    static func verify(directory: String, against manifest: ArchiveManifest, decoded: Decoded? = nil) throws {
        if let recorded = manifest.manifestSHA256, try manifest.computedSHA256() != recorded {
            throw ArchiveError.corrupt("\(directory)/manifest.json", "it was changed after it was written (its manifest_sha256 does not match its content)")
        }
        let path = "\(directory)/data.copy.gz"
        if let files = manifest.files {
            try verifyListing(directory: directory, files: files)
            guard files["data.copy.gz"] == .init(sha256: manifest.fileSHA256, bytes: manifest.fileBytes) else {
                throw ArchiveError.corrupt("\(directory)/manifest.json", "it lists data.copy.gz with another SHA-256 or size than file_sha256 and file_bytes")
            }
            for name in files.keys.sorted() where name != "data.copy.gz" {
                _ = try contents(of: name, in: directory, manifest: manifest)
            }
        } else {
            // Format 1: schema.sql and table.json have no recorded SHA-256 (said by `archive verify`).
            guard FileManager.default.fileExists(atPath: "\(directory)/schema.sql") else { throw ArchiveError.missing("\(directory)/schema.sql") }
        }
        let file: (bytes: Int64, sha256: String)
        let data: Decoded
        if let decoded {
            file = try GzipReader.digest(path: path)
            data = decoded
        } else {
            var fileHash = SHA256()
            var fileBytes: Int64 = 0
            var dataHash = SHA256()
            var dataBytes: Int64 = 0
            var rows: Int64 = 0
            try GzipReader.read(path: path, fileChunk: { chunk in
                fileHash.update(bufferPointer: chunk)
                fileBytes += Int64(chunk.count)
            }) { chunk in
                dataHash.update(bufferPointer: chunk)
                dataBytes += Int64(chunk.count)
                rows += Int64(countNewlines(chunk))
            }
            file = (fileBytes, hex(fileHash.finalize()))
            data = Decoded(bytes: dataBytes, rows: rows, sha256: hex(dataHash.finalize()))
        }
        if decoded != nil, file.bytes < manifest.fileBytes {
            throw ArchiveError.corrupt(path, "it is \(file.bytes) bytes long, \(manifest.fileBytes) were written (truncated)")
        }
        guard file.bytes == manifest.fileBytes, file.sha256 == manifest.fileSHA256 else {
            throw ArchiveError.corrupt(path, "its SHA-256 is not the one recorded when it was written")
        }
        guard data.rows == manifest.rows else {
            throw ArchiveError.corrupt(path, "it holds \(data.rows) rows, the archive recorded \(manifest.rows)")
        }
        guard data.bytes == manifest.dataBytes else {
            throw ArchiveError.corrupt(path, "it holds \(data.bytes) bytes of COPY text, the archive recorded \(manifest.dataBytes)")
        }
        guard data.sha256 == manifest.dataSHA256 else {
            throw ArchiveError.corrupt(path, "its content's SHA-256 is not the one recorded")
        }
    }

    /// Every file the manifest lists is a regular file (not a symbolic link: what it points at
    /// is not the archive's), and the folder holds no file the manifest does not list but
    /// `manifest.json`: a file slipped in beside the others is not taken for the archive's.
    static func verifyListing(directory: String, files: [String: ArchiveManifest.ArchivedFile]) throws {
        let present: [String]
        do {
            present = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ArchiveError.missing(directory)
        }
        for name in present.sorted() where name != "manifest.json" && files[name] == nil {
            throw ArchiveError.corrupt(directory, "it holds \(name), which its manifest does not list")
        }
        for name in files.keys.sorted() {
            var status = stat()
            guard lstat("\(directory)/\(name)", &status) == 0 else { throw ArchiveError.missing("\(directory)/\(name)") }
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw ArchiveError.corrupt("\(directory)/\(name)", "it is not a regular file (a symbolic link or a folder)")
            }
        }
    }

    /// A small file of the archive (`schema.sql`, `table.json`), read once and checked against
    /// the SHA-256 and size its manifest records, so what a restore runs is what was checked.
    /// An archive of format 1 records none: the file is returned as it is.
    static func contents(of name: String, in directory: String, manifest: ArchiveManifest) throws -> Data {
        let path = "\(directory)/\(name)"
        if let files = manifest.files {
            guard let recorded = files[name] else { throw ArchiveError.corrupt("\(directory)/manifest.json", "it does not list \(name)") }
            var status = stat()
            guard lstat(path, &status) == 0 else { throw ArchiveError.missing(path) }
            guard (status.st_mode & S_IFMT) == S_IFREG else { throw ArchiveError.corrupt(path, "it is not a regular file (a symbolic link or a folder)") }
            guard let data = FileManager.default.contents(atPath: path) else { throw ArchiveError.missing(path) }
            guard ArchiveManifest.ArchivedFile(of: data) == recorded else {
                throw ArchiveError.corrupt(path, "its SHA-256 is not the one recorded when it was written")
            }
            return data
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ArchiveError.missing(path) }
        return data
    }

    /// Loads the archived rows into a temporary table on `connection`, in a transaction that
    /// is rolled back, and checks their count and fingerprint against the manifest. The
    /// fingerprint is the server's md5 of each row's text form, so only a server computes it
    /// the same way. Returns the fingerprint found.
    @discardableResult
    public static func verifyFingerprint(
        directory: String, against manifest: ArchiveManifest, on connection: Connection, progress: any ProgressReporter = SilentProgress()
    ) throws -> TableData {
        // The columns as the table had them, generated ones included: they are part of the
        // row's text form. Archives always have table.json; without it, the manifest's columns.
        let model = manifest.files == nil
            ? FileManager.default.contents(atPath: "\(directory)/table.json")
            : try contents(of: "table.json", in: directory, manifest: manifest)
        let archived = model.flatMap { try? JSONDecoder().decode(ArchivedTable.self, from: $0) }
        let columns = archived?.table.columns ?? manifest.columns.map { Column(name: $0.name, type: $0.type) }
        // Types and generation expressions as the catalog printed them when it was archived.
        let definitions: [SQL] = columns.map { column in
            let generated: SQL = column.generatedExpression.map { " GENERATED ALWAYS AS (\(SQL.catalogText($0))) STORED" } ?? ""
            return "\(ident: column.name) \(SQL.catalogText(column.type))\(generated)"
        }
        let temporary = QualifiedName(schema: "pg_temp", "pgmend_archive_verify")
        try connection.execute("BEGIN" as SQL)
        defer { _ = try? connection.execute("ROLLBACK" as SQL) }
        // The types the columns use, where the server lacks them, go with the rollback.
        for statement in TableScript.prerequisites(schemas: [], types: archived?.types ?? ColumnTypes()) {
            try connection.execute(SQL.scriptFile(statement))
        }
        try connection.execute("CREATE TEMPORARY TABLE \(temporary) (\(definitions))" as SQL)
        for (name, value) in manifest.settings.sorted(by: { $0.key < $1.key }) { try connection.setLocal(name, value) }
        let names = manifest.columns.map { SQLIdentifier($0.name) }
        let loaded = try connection.copyIn("COPY \(temporary) (\(names)) FROM STDIN") { sink in
            try load(directory, rows: manifest.rows, into: sink, task: "load \(manifest.objectName)", progress: progress)
        }
        guard Int64(loaded) == manifest.rows else {
            throw ArchiveError.mismatch("loaded \(loaded) rows, the manifest says \(manifest.rows)")
        }
        try DataStatistics.pinTextSettings(connection)
        let found = try DataStatistics(connection: connection).fingerprint(temporary, rowText: manifest.rowText)
        guard found.fingerprint == manifest.fingerprint else {
            throw ArchiveError.corrupt(
                "\(directory)/manifest.json", "its fingerprint \(manifest.fingerprint) is not the archived rows' \(found.fingerprint)")
        }
        return found
    }

    /// Streams `data.copy.gz` into a COPY, reporting rows sent of the manifest's: a row of
    /// COPY's text format is one line (a newline inside a value is written `\n`).
    static func load(_ directory: String, rows: Int64, into sink: CopyInSink, task: String, progress: any ProgressReporter) throws {
        var sent = 0
        try GzipReader.read(path: "\(directory)/data.copy.gz") { chunk in
            try sink.write(chunk)
            sent += countNewlines(chunk)
            progress.progress(task: task, done: sent, total: Int(rows), unit: "rows", detail: "")
        }
        progress.finish(task: task)
    }
}
