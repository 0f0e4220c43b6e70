import Crypto
import Foundation
import SchemaModel

/// `manifest.json` of an archive: what was archived, from where, and the numbers that prove
/// the files are complete. Written last, so an archive without one is incomplete.
public struct ArchiveManifest: Codable, Sendable, Equatable {
    /// 4: `data.copy.gz` is one gzip member per MiB of COPY text, which a reader of format 3
    /// would stop reading after the first (and call the archive damaged for its row count).
    /// 3: the fingerprint hashes each whole row; before, a table with a column named `t` had
    /// that column hashed alone (`rowText`). 2: every file of the archive is listed with its
    /// SHA-256 (`files`). 1: only the data file's (`file_sha256`); such archives are still
    /// read, verified and restored, and their `schema.sql` and `table.json` are said to be
    /// unchecked.
    public static let currentFormatVersion = 4

    /// How this archive's fingerprint was computed, to check it the same way.
    public var rowText: DataStatistics.RowText { formatVersion >= 3 ? .wholeRow : .beforeArchiveFormat3 }

    /// A column as archived (generated columns are not: they are computed again on restore).
    public struct ArchivedColumn: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
    }

    public var formatVersion = ArchiveManifest.currentFormatVersion
    public var pgmendVersion = PgMendVersion.string
    public var createdAt: String
    public var serverVersion: String
    public var database: String
    public var schema: String
    public var table: String
    /// Rows, as the server reported them for the COPY and as counted in the file.
    public var rows: Int64
    /// The table's content fingerprint (see DataStatistics), to compare a restore with.
    public var fingerprint: String
    /// SHA-256 of the uncompressed COPY text.
    public var dataSHA256: String
    public var dataBytes: Int64
    /// SHA-256 and size of `data.copy.gz` as it is on disk.
    public var fileSHA256: String
    public var fileBytes: Int64
    /// Every file of the archive but `manifest.json` (`schema.sql`, `table.json`,
    /// `data.copy.gz`), by name, with its SHA-256 and size as written: `ArchiveVerifier` checks
    /// each, and that the folder holds no other. Absent before format_version 2.
    public var files: [String: ArchivedFile]?
    public var columns: [ArchivedColumn]
    /// COPY's text format, with the session settings that fix how values are written.
    public var copyFormat = "text"
    public var settings: [String: String]
    /// SHA-256 of this manifest's canonical JSON without this field: a manifest edited by hand
    /// (a row count, a fingerprint, a table name) no longer matches it. Absent in archives
    /// written before pgmend recorded it.
    public var manifestSHA256: String?
    /// Set when only some rows of the table were archived (the orphans `fix_foreign_keys`
    /// deletes): which rows, in words and as the condition that chose them. Such an archive
    /// is never taken for the whole table's (`ArchiveStore.archives(of:)`). Absent for a table.
    public var selection: String?

    public var objectName: ObjectName { ObjectName(schema: schema, name: table) }

    /// One file of an archive as it was written.
    public struct ArchivedFile: Codable, Sendable, Equatable {
        public var sha256: String
        public var bytes: Int64

        public init(sha256: String, bytes: Int64) {
            self.sha256 = sha256
            self.bytes = bytes
        }

        /// The SHA-256 and size of `data`.
        public init(of data: Data) {
            self.init(sha256: hex(SHA256.hash(data: data)), bytes: Int64(data.count))
        }
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", pgmendVersion = "pgmend_version", createdAt = "created_at"
        case serverVersion = "server_version", database, schema, table, rows, fingerprint
        case dataSHA256 = "data_sha256", dataBytes = "data_bytes", fileSHA256 = "file_sha256", fileBytes = "file_bytes"
        case files, columns, copyFormat = "copy_format", settings, manifestSHA256 = "manifest_sha256", selection
    }

    /// The SHA-256 `manifestSHA256` records: of the canonical JSON of every other field.
    public func computedSHA256() throws -> String {
        var content = self
        content.manifestSHA256 = nil
        return hex(SHA256.hash(data: Data(try CanonicalJSON.encode(content).utf8)))
    }

    /// This manifest with `manifestSHA256` set.
    public func sealed() throws -> ArchiveManifest {
        var sealed = self
        sealed.manifestSHA256 = try computedSHA256()
        return sealed
    }

    public static func read(_ directory: String) throws -> ArchiveManifest {
        let path = "\(directory)/manifest.json"
        guard let data = FileManager.default.contents(atPath: path) else { throw ArchiveError.missing(path) }
        let manifest: ArchiveManifest
        do {
            manifest = try JSONDecoder().decode(ArchiveManifest.self, from: data)
        } catch {
            throw ArchiveError.corrupt(path, "not a pgmend archive manifest (\(error))")
        }
        guard manifest.formatVersion <= currentFormatVersion else {
            throw ArchiveError.unusable("\(path): format_version \(manifest.formatVersion) is newer than this pgmend reads (\(currentFormatVersion))")
        }
        return manifest
    }
}

/// The archives under a folder: `<folder>/<database>/<table>-<UTC time>/`, the database and
/// table names made safe as path components (`SafeFileName`).
public struct ArchiveStore: Sendable {
    public let directory: String

    public init(directory: String = "Snapshots/archive") {
        self.directory = directory
    }

    /// The folder of a database's archives: `<folder>/<database>`.
    public static func folderName(database: String) -> String { SafeFileName.encode(database) }

    /// The start of a table's archive folder names, before `-<UTC time>`.
    public static func folderName(table: ObjectName) -> String { SafeFileName.encode(table.description) }

    /// An archive folder and what is known of it without reading its data.
    public struct Entry: Sendable {
        public var path: String
        public var manifest: ArchiveManifest?
        /// Present, complete (manifest written) and the data file has the size it says.
        public var intact: Bool
    }

    public func entries(database: String? = nil) -> [Entry] {
        let fileManager = FileManager.default
        let databases = database.map { [Self.folderName(database: $0)] } ?? ((try? fileManager.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        var entries: [Entry] = []
        for name in databases {
            let folder = "\(directory)/\(name)"
            for archive in ((try? fileManager.contentsOfDirectory(atPath: folder)) ?? []).sorted() {
                let path = "\(folder)/\(archive)"
                let manifest = try? ArchiveManifest.read(path)
                let size = (try? fileManager.attributesOfItem(atPath: "\(path)/data.copy.gz")[.size] as? NSNumber)?.int64Value
                entries.append(Entry(path: path, manifest: manifest, intact: manifest != nil && size == manifest?.fileBytes))
            }
        }
        return entries
    }

    /// Intact archives of one whole table, newest first.
    public func archives(of table: ObjectName, database: String) -> [Entry] {
        entries(database: database)
            .filter { $0.intact && $0.manifest?.objectName == table && $0.manifest?.selection == nil }
            .sorted { ($0.manifest?.createdAt ?? "") > ($1.manifest?.createdAt ?? "") }
    }

    /// Intact archives of some rows of one table (`selection` set), newest first.
    public func rowArchives(of table: ObjectName, database: String) -> [Entry] {
        entries(database: database)
            .filter { $0.intact && $0.manifest?.objectName == table && $0.manifest?.selection != nil }
            .sorted { ($0.manifest?.createdAt ?? "") > ($1.manifest?.createdAt ?? "") }
    }
}
