import Crypto
import Foundation
import PostgresClient
import SchemaModel

/// Writes a table's archive, reads it back to prove it, and only then drops the table: all in
/// one transaction that holds a SHARE lock from the first row read to the drop, so no write can
/// slip in between the archive and the DROP.
///
/// Files go to `<folder>.partial/` and the folder is renamed when the manifest is written, so a
/// killed run leaves no archive that looks complete (and the table in place).
public struct ArchiveWriter {
    let connection: Connection
    let store: ArchiveStore
    let progress: any ProgressReporter
    /// Test hook: called after the files are written and before they are read back.
    var afterWrite: ((_ directory: String) throws -> Void)?

    /// Compute the fingerprint on a second connection while the data is copied. Not possible
    /// inside a savepoint (a rehearsal), where a snapshot cannot be exported.
    let parallel: Bool

    public init(connection: Connection, store: ArchiveStore, progress: any ProgressReporter = SilentProgress(), parallel: Bool = true) {
        self.connection = connection
        self.store = store
        self.progress = progress
        self.parallel = parallel
    }

    /// What the archive and drop produced.
    public struct Outcome: Sendable {
        public var directory: String
        public var manifest: ArchiveManifest
        public var dropped: Bool
    }

    /// Archives `table` (in the caller's transaction, which must be REPEATABLE READ and is
    /// where the DROP happens), verifies the files, and drops it when `drop`.
    public func archive(_ table: ObjectName, drop: Bool) throws -> Outcome {
        let name = table.sqlName
        try connection.execute("LOCK TABLE \(name) IN SHARE MODE" as SQL)
        // The assessment refused an inheritance parent; one that became one since (a child
        // created before the lock) would be archived without its children's rows.
        let children = try connection.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass(\(bind: name.quoted))", as: Int64.self) ?? 0
        guard children == 0 else {
            throw ChangedUnderLock(table: table, change: "it has \(children) inheritance child\(children == 1 ? "" : "ren") or partition\(children == 1 ? "" : "s") now, whose rows it would not archive")
        }
        let (directory, manifest) = try write(table, selection: nil)
        if drop {
            try connection.execute("DROP TABLE \(name)" as SQL)
        }
        return Outcome(directory: directory, manifest: manifest, dropped: drop)
    }

    /// Some rows of a table, chosen by a condition over its columns (alias `t`), to be deleted
    /// next by the caller.
    public struct RowSelection: Sendable {
        /// SQL over the table's columns, the table aliased `t`.
        public var condition: SQL
        /// For people and the manifest: "orphans of memories.user_id (no row in users.id)".
        public var description: String
        /// The start of the folder's name after the table's: `orphans`.
        public var label: String

        public init(condition: SQL, description: String, label: String) {
            self.condition = condition
            self.description = description
            self.label = label
        }
    }

    /// Archives the rows of `table` that `selection` chooses, in the caller's REPEATABLE READ
    /// transaction, which must already hold a lock that keeps writers off the table (the
    /// caller deletes the same rows next, in that transaction). The archive's `schema.sql`
    /// has the table's definition without its foreign keys: the rows archived are often the
    /// ones that have no parent. The fingerprint is computed on this connection.
    public func archiveRows(_ table: ObjectName, _ selection: RowSelection) throws -> (directory: String, manifest: ArchiveManifest) {
        try write(table, selection: selection)
    }

    private func write(_ table: ObjectName, selection: RowSelection?) throws -> (String, ArchiveManifest) {
        let name = table.sqlName
        let (schema, types) = try scopedSchema(table)
        guard var definition = schema.tables[table.key] else { throw ArchiveError.unusable("table \(table) does not exist") }
        if selection != nil { definition.constraints = definition.constraints.filter { $0.value.kind != .foreignKey } }
        let sequences = schema.sequences.values.filter { $0.ownedBy?.hasPrefix(table.key + ".") == true }.sorted { $0.name < $1.name }
        try DataStatistics.pinTextSettings(connection)

        let final = try newDirectory(for: table, label: selection?.label)
        let partial = final + ".partial"
        try createDirectory(partial)
        let manifest: ArchiveManifest
        do {
            let script = Data(TableScript.script(for: definition, sequences: sequences, types: types).utf8)
            try writeFile("\(partial)/schema.sql", script)
            // The model too, so a restore under another name can write its DDL afresh.
            let model = Data(try CanonicalJSON.encode(ArchivedTable(table: definition, sequences: sequences, types: types)).utf8)
            try writeFile("\(partial)/table.json", model)

            let columns = definition.columns.filter { $0.generatedExpression == nil }
            let columnList = columns.map { SQLIdentifier($0.name) }
            let copy: SQL = selection.map { "COPY (SELECT \(columnList) FROM ONLY \(name) t WHERE \($0.condition)) TO STDOUT" }
                ?? "COPY \(name) (\(columnList)) TO STDOUT"
            let dataPath = "\(partial)/data.copy.gz"
            let written: WrittenData
            let statistics: TableData
            let fromCopy = CopyFingerprint.usable(
                generatedColumns: definition.columns.count - columns.count,
                serverEncoding: connection.parameterStatus("server_encoding"), clientEncoding: connection.parameterStatus("client_encoding"))
            if fromCopy {
                // One read of the table: the fingerprint is computed from the COPY text.
                let estimate = try rowEstimate(name)
                written = try writeData(copy, to: dataPath, table: table, expectedRows: estimate, fingerprint: true)
                guard let fingerprint = written.fingerprint else { throw ArchiveError.mismatch("the COPY text did not end with a whole row") }
                statistics = TableData(rows: written.reportedRows, fingerprint: fingerprint)
            } else if parallel, selection == nil {
                // The fingerprint (a full scan with an md5 per row) runs on a second connection at
                // the same moment, under this transaction's exported snapshot.
                let estimate = try rowEstimate(name)
                (written, statistics) = try withSharedSnapshot(on: connection, {
                    try writeData(copy, to: dataPath, table: table, expectedRows: estimate, fingerprint: false)
                }, background: { sibling in
                    try DataStatistics.pinTextSettings(sibling)
                    return try DataStatistics(connection: sibling).fingerprint(name)
                })
            } else {
                statistics = try DataStatistics(connection: connection).fingerprint(name, where: selection?.condition)
                written = try writeData(copy, to: dataPath, table: table, expectedRows: statistics.rows, fingerprint: false)
            }

            manifest = try ArchiveManifest(
                createdAt: ISO8601DateFormatter().string(from: Date()), serverVersion: connection.serverVersion,
                database: connection.database, schema: table.schema, table: table.name, rows: written.reportedRows,
                fingerprint: statistics.fingerprint, dataSHA256: written.dataSHA256, dataBytes: written.dataBytes,
                fileSHA256: written.fileSHA256, fileBytes: written.fileBytes,
                files: [
                    "schema.sql": .init(of: script), "table.json": .init(of: model),
                    "data.copy.gz": .init(sha256: written.fileSHA256, bytes: written.fileBytes),
                ],
                columns: columns.map { .init(name: $0.name, type: $0.type) },
                settings: Dictionary(DataStatistics.stableTextSettings, uniquingKeysWith: { first, _ in first }),
                selection: selection?.description
            ).sealed()
            guard written.countedRows == written.reportedRows, statistics.rows == written.reportedRows else {
                throw ArchiveError.mismatch("the server reported \(written.reportedRows) rows, the file holds \(written.countedRows) and the table \(statistics.rows)")
            }

            try afterWrite?(partial)
            // Proof before anything is dropped: the files read back from disk, and the
            // compressed bytes they hold decompressed to the COPY text as it was written.
            try ArchiveVerifier.verify(directory: partial, against: manifest, decoded: written.decoded)
            try writeFile("\(partial)/manifest.json", Data(try CanonicalJSON.encode(manifest).utf8))
            guard rename(partial, final) == 0 else { throw ArchiveError.io(final, "cannot rename \(partial) to", errno) }
        } catch {
            // Incomplete files are never used, and after a full disk they would keep the disk
            // full: remove them (a killed run's leftover is removed by the next archive).
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        return (final, manifest)
    }

    /// The planner's estimate of a table's rows, for progress (none for a table never analyzed).
    private func rowEstimate(_ name: QualifiedName) throws -> Int64? {
        try connection.scalar("SELECT nullif(greatest(reltuples, 0), 0)::bigint FROM pg_class WHERE oid = to_regclass(\(bind: name.quoted))", as: Int64.self)
    }

    /// What went into `data.copy.gz`.
    struct WrittenData: Sendable {
        var reportedRows: Int64
        var countedRows: Int64
        var dataSHA256: String
        var dataBytes: Int64
        var fileSHA256: String
        var fileBytes: Int64
        /// The rows' fingerprint, when asked for (`CopyFingerprint`).
        var fingerprint: String?
        /// What the compressed bytes decompressed to, as they were written (`DecodeCheck`).
        var decoded: ArchiveVerifier.Decoded
    }

    /// Streams the COPY into the gzip file: the server's rows are gathered into 1 MiB buffers,
    /// hashed and counted here, compressed (one gzip member each) and written on another
    /// thread, and each member decompressed again and compared with its buffer on a third.
    private func writeData(_ copy: SQL, to path: String, table: ObjectName, expectedRows: Int64?, fingerprint: Bool) throws -> WrittenData {
        let stage = try MemberStage(path: path)
        let pipeline = BufferPipeline<[UInt8]>(consume: stage.write, end: stage.end)
        var dataHash = SHA256()
        var dataBytes: Int64 = 0
        var counted: Int64 = 0
        var rowsFingerprint = fingerprint ? CopyFingerprint() : nil
        let capacity = 1 << 20
        var buffer: [UInt8] = []
        buffer.reserveCapacity(capacity + 65_536)
        func flush() throws {
            guard !buffer.isEmpty else { return }
            buffer.withUnsafeBytes { bytes in
                dataHash.update(bufferPointer: bytes)
                counted += Int64(countNewlines(bytes))
                rowsFingerprint?.update(bytes)
            }
            dataBytes += Int64(buffer.count)
            // The compression and the check keep this buffer; the next one is a new one.
            try pipeline.submit(buffer)
            buffer = []
            buffer.reserveCapacity(capacity + 65_536)
            progress.progress(
                task: "archive \(table)", done: Int(counted), total: Int(expectedRows ?? 0), unit: "rows",
                detail: "\(ByteSize.text(dataBytes)) read")
        }
        let reported: Int
        do {
            reported = try connection.copyOut(copy) { chunk in
                buffer.append(contentsOf: chunk)
                if buffer.count >= capacity { try flush() }
            }
            try flush()
            try pipeline.finish()
            try stage.checker.finish()
        } catch {
            _ = try? pipeline.finish()
            _ = try? stage.checker.finish()
            throw error
        }
        try stage.sink.finish()
        progress.finish(task: "archive \(table)")
        let dataSHA256 = hex(dataHash.finalize())
        return WrittenData(
            reportedRows: Int64(reported), countedRows: counted, dataSHA256: dataSHA256, dataBytes: dataBytes,
            fileSHA256: stage.file.hexDigest, fileBytes: stage.file.bytes, fingerprint: rowsFingerprint?.fingerprint,
            // Each member decompressed to exactly its buffer: what was decompressed is the
            // COPY text counted and hashed here, as far as `bytes` reaches.
            decoded: .init(bytes: stage.check.bytes, rows: counted, sha256: dataSHA256))
    }

    /// The schema's catalog and the types the table's columns use, read without leaving the
    /// reader's settings in the transaction (the types while its `search_path` is pinned).
    private func scopedSchema(_ table: ObjectName) throws -> (Schema, ColumnTypes) {
        try connection.execute("SAVEPOINT pgmend_archive_read")
        defer { _ = try? connection.execute("ROLLBACK TO SAVEPOINT pgmend_archive_read; RELEASE SAVEPOINT pgmend_archive_read") }
        let schema = try CatalogReader(connection: connection).readSchemaInCurrentTransaction(.only([table.schema]), tables: [table])
        return (schema, try ColumnTypes.read(table, on: connection))
    }

    private func newDirectory(for table: ObjectName, label: String?) throws -> String {
        let stamp = FileStamp.now()
        // Both names are made safe: a table called `../../x` must not write outside the folder.
        let database = "\(store.directory)/\(ArchiveStore.folderName(database: connection.database))"
        let base = ArchiveStore.folderName(table: table) + (label.map { "-" + SafeFileName.encode($0) } ?? "")
        try createDirectory(database)
        // Leftovers of a run that was killed while writing: never complete, safe to remove
        // (the caller holds the database's run lock).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: database)) ?? []
        where name.hasPrefix("\(base)-") && name.hasSuffix(".partial") {
            try? FileManager.default.removeItem(atPath: "\(database)/\(name)")
        }
        var path = "\(database)/\(base)-\(stamp)"
        var suffix = 1
        while FileManager.default.fileExists(atPath: path) || FileManager.default.fileExists(atPath: path + ".partial") {
            suffix += 1
            path = "\(database)/\(base)-\(stamp)-\(suffix)"
        }
        return path
    }

    private func createDirectory(_ path: String) throws {
        try FileSink.createDirectory(path)
    }

    private func writeFile(_ path: String, _ data: Data) throws {
        try FileSink.write(data, to: path)
    }
}

/// SHA-256 and size of the bytes written to a file, updated from the compression thread.
final class FileDigest: @unchecked Sendable {
    private var hash = SHA256()
    private(set) var bytes: Int64 = 0

    func update(_ chunk: UnsafeRawBufferPointer) {
        hash.update(bufferPointer: chunk)
        bytes += Int64(chunk.count)
    }

    var hexDigest: String { hex(hash.finalize()) }
}

/// The compression thread's work for `writeData`: each buffer of COPY text becomes a gzip
/// member, hashed and written to the file, then handed with its buffer to the check.
final class MemberStage: @unchecked Sendable {
    let sink: FileSink
    let file = FileDigest()
    let check: DecodeCheck
    let checker: BufferPipeline<(member: [UInt8], original: [UInt8])>
    private let compressor: GzipMemberCompressor
    private var members = 0

    init(path: String) throws {
        compressor = try GzipMemberCompressor(level: 1)
        sink = try FileSink(creating: path)
        let check = try DecodeCheck(name: path)
        self.check = check
        checker = BufferPipeline { try check.check(member: $0.member, original: $0.original) }
    }

    func write(_ original: [UInt8]) throws {
        let member = try original.withUnsafeBytes { try compressor.member($0) }
        member.withUnsafeBytes { file.update($0) }
        try member.withUnsafeBytes { try sink.write($0) }
        members += 1
        try checker.submit((member, original))
    }

    /// A table without rows still gets a gzip file: one member of nothing.
    func end() throws {
        if members == 0 { try write([]) }
    }
}

func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
    digest.map { String(format: "%02x", $0) }.joined()
}
