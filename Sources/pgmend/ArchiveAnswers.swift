import MendKit
import SchemaModel

/// The JSON answer of `archive list`: every archive folder under the folder, as found.
struct ArchiveListing: Encodable {
    /// One archive folder. Only `archive` and `state` are there when it has no manifest.
    struct Archive: Encodable {
        var archive: String
        /// `intact`, `damaged` (the data file's size differs from the manifest's) or
        /// `incomplete` (no manifest: a run stopped while writing it).
        var state: String
        var database: String?
        /// `schema.table`, unquoted.
        var table: String?
        var rows: Int64?
        var fileBytes: Int64?
        var createdAt: String?
        /// Set when only some rows were archived, in words.
        var selection: String?

        enum CodingKeys: String, CodingKey {
            case archive, state, database, table, rows, fileBytes = "file_bytes", createdAt = "created_at", selection
        }
    }

    var folder: String
    var archives: [Archive]

    init(folder: String, entries: [ArchiveStore.Entry]) {
        self.folder = folder
        archives = entries.map { entry in
            guard let manifest = entry.manifest else { return Archive(archive: entry.path, state: "incomplete") }
            return Archive(
                archive: entry.path, state: entry.intact ? "intact" : "damaged", database: manifest.database,
                table: manifest.objectName.key, rows: manifest.rows, fileBytes: manifest.fileBytes,
                createdAt: manifest.createdAt, selection: manifest.selection)
        }
    }
}

/// The JSON answer of `archive verify` for an intact archive (a damaged one is a failure
/// document, exit 1, its `message` saying what differs).
struct ArchiveVerified: Encodable {
    var archive: String
    /// `schema.table`, unquoted.
    var table: String
    var rows: Int64
    var dataSHA256: String
    /// Whether the manifest's own SHA-256 was there to check (archives of an older pgmend have none).
    var manifestChecked: Bool
    /// The files whose SHA-256 and size were checked; only `data.copy.gz` for an archive of
    /// format_version 1.
    var filesChecked: [String]
    /// The manifest's content fingerprint, and the database the rows were loaded into to
    /// check it (absent when no database was given: then it was not checked).
    var fingerprint: String
    var fingerprintCheckedIn: String?

    init(directory: String, manifest: ArchiveManifest) {
        archive = directory
        table = manifest.objectName.key
        rows = manifest.rows
        dataSHA256 = manifest.dataSHA256
        manifestChecked = manifest.manifestSHA256 != nil
        filesChecked = manifest.files.map { $0.keys.sorted() } ?? ["data.copy.gz"]
        fingerprint = manifest.fingerprint
    }

    enum CodingKeys: String, CodingKey {
        case archive, table, rows, dataSHA256 = "data_sha256", manifestChecked = "manifest_checked"
        case filesChecked = "files_checked", fingerprint, fingerprintCheckedIn = "fingerprint_checked_in"
    }
}

/// The JSON answer of `archive restore`: the table recreated and its rows, their count and
/// fingerprint checked against the manifest.
struct ArchiveRestored: Encodable {
    var archive: String
    /// `schema.table`, unquoted: the archived name, or the one given with `--as`.
    var table: String
    var database: String
    var rows: Int64
}
