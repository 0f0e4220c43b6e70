import Foundation

/// A snapshot file: a schema, where and when it was read, and optionally data statistics.
///
/// Written as canonical JSON (`format_version` first, keys sorted, stable order) so a committed
/// snapshot diffs cleanly in git. A reader refuses a `format_version` newer than it knows.
public struct Snapshot: Codable, Sendable, Equatable {
    /// The format this build writes, and the newest it reads.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    public var pgmendVersion: String
    /// When the snapshot was taken, ISO 8601 in UTC.
    public var takenAt: String
    /// How long reading the catalog (and data, with `--data`) took.
    public var durationMilliseconds: Int
    public var serverVersion: String
    public var database: String
    /// The schemas asked for with `--schema`; nil when the snapshot covers every user schema,
    /// so that `verify` also notices a schema added since.
    public var selectedSchemas: [String]?
    public var schema: Schema
    /// Row counts and content fingerprints per table (`schema.table`), when taken with `--data`.
    public var data: [String: TableData]?
    /// Set when the schema was not read from a live database (models, migrations, a document);
    /// left out of the file when nil, so snapshots of databases are written as before.
    public var source: SnapshotSource?

    public init(
        pgmendVersion: String, takenAt: String, durationMilliseconds: Int, serverVersion: String,
        database: String, selectedSchemas: [String]? = nil, schema: Schema, data: [String: TableData]? = nil,
        source: SnapshotSource? = nil
    ) {
        self.formatVersion = Self.currentFormatVersion
        self.pgmendVersion = pgmendVersion
        self.takenAt = takenAt
        self.durationMilliseconds = durationMilliseconds
        self.serverVersion = serverVersion
        self.database = database
        self.selectedSchemas = selectedSchemas
        self.schema = schema
        self.data = data
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", pgmendVersion = "pgmend_version", takenAt = "taken_at"
        case durationMilliseconds = "duration_ms", serverVersion = "server_version", database
        case selectedSchemas = "selected_schemas", schema, data, source
    }

    /// The snapshot as canonical JSON text.
    public func jsonText() throws -> String {
        // Tables are rendered in parallel first (snapshot -> schema -> tables -> table is three
        // levels deep), then spliced into the document.
        let tables = CanonicalJSON.renderInParallel(schema.tables, indent: 3)
        return try CanonicalJSON.encode(self, leadingKeys: ["format_version"], userInfo: [.renderedTables: tables])
    }

    /// Reads a snapshot, checking its format version before anything else.
    ///
    /// The document is parsed once: the version is read from the parsed top level and
    /// checked before the rest is decoded from it (parsing twice, a header and then the whole,
    /// was a third of `verify` at 8,000 tables).
    public static func read(from data: Data, source: String) throws -> Snapshot {
        do {
            return try JSONDecoder().decode(VersionChecked.self, from: data).snapshot
        } catch let failure as VersionChecked.Failure {
            switch failure {
            case .header(let error): throw SnapshotFileError(source: source, problem: "not JSON: \(describe(error))")
            case .version(let problem): throw SnapshotFileError(source: source, problem: problem)
            case .body(let error): throw SnapshotFileError(source: source, problem: describe(error))
            }
        } catch {
            // Thrown before the document reached VersionChecked: it did not parse.
            throw SnapshotFileError(source: source, problem: "not JSON: \(describe(error))")
        }
    }

    /// A snapshot decoded after its `format_version` was checked, each failure told apart by
    /// the phase it came from.
    private struct VersionChecked: Decodable {
        enum Failure: Error {
            case header(Error)
            case version(String)
            case body(Error)
        }
        enum HeaderKeys: String, CodingKey { case formatVersion = "format_version" }

        var snapshot: Snapshot

        init(from decoder: Decoder) throws {
            let version: Int?
            do {
                version = try decoder.container(keyedBy: HeaderKeys.self).decodeIfPresent(Int.self, forKey: .formatVersion)
            } catch {
                throw Failure.header(error)
            }
            guard let version else { throw Failure.version("not a pgmend snapshot (no format_version)") }
            // Versions count from 1; zero or less is no version pgmend ever wrote.
            guard version >= 1 else {
                throw Failure.version("format_version \(version) is not a snapshot format (they count from 1)")
            }
            guard version <= currentFormatVersion else {
                throw Failure.version(
                    "format_version \(version) is newer than this pgmend reads (\(currentFormatVersion)); use a newer pgmend")
            }
            do {
                snapshot = try Snapshot(from: decoder)
            } catch {
                throw Failure.body(error)
            }
        }
    }

    /// The `selected_schemas` of a snapshot file as pgmend writes it, read from its top-level
    /// lines without parsing the rest: `.some(nil)` when it covers every schema, nil when the
    /// text is not laid out canonically in the current format (then only a full parse can
    /// tell, and report what is wrong). In canonical text a line break is never inside a
    /// string, and only top-level keys are indented by two.
    public static func selectedSchemas(inCanonical data: Data) -> [String]?? {
        data.withUnsafeBytes { raw -> [String]?? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard bytes.starts(with: "{\n  \"format_version\": \(currentFormatVersion),\n".utf8) else { return nil }
            let key = Array("  \"selected_schemas\": ".utf8)
            let newline = UInt8(ascii: "\n")
            // Line by line (a scan of a 30 MB file takes milliseconds; a generic
            // `firstRange(of:)` over it took a second).
            var line = 0
            while line < bytes.count, !bytes[line...].starts(with: key) {
                guard let end = bytes[line...].firstIndex(of: newline) else { return .some(nil) }
                line = end + 1
            }
            guard line < bytes.count else { return .some(nil) }
            let value = bytes[(line + key.count)...]
            guard let end = value.starts(with: "[]".utf8)
                ? value.startIndex + 2
                : value.firstRange(of: Array("\n  ]".utf8))?.upperBound
            else { return nil }
            return (try? JSONDecoder().decode([String].self, from: Data(bytes[value.startIndex..<end]))).map { .some($0) }
        }
    }

    /// Reads a snapshot file.
    public static func read(path: String) throws -> Snapshot {
        try read(from: try contents(path: path), source: path)
    }

    /// The bytes of a snapshot file, for `read(from:source:)`.
    public static func contents(path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SnapshotFileError(source: path, problem: "cannot read the file")
        }
        return data
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \"\(key.stringValue)\" at \(path(context.codingPath))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(context.debugDescription) at \(path(context.codingPath))"
        case DecodingError.dataCorrupted(let context):
            return "\(context.debugDescription)\(context.codingPath.isEmpty ? "" : " at \(path(context.codingPath))")"
        default:
            return String(describing: error)
        }
    }

    private static func path(_ codingPath: [CodingKey]) -> String {
        codingPath.isEmpty ? "the top level" : codingPath.map(\.stringValue).joined(separator: ".")
    }
}

/// Row count and an order-independent content fingerprint of one table.
public struct TableData: Codable, Sendable, Hashable {
    public var rows: Int64
    /// Sum over rows of a 64-bit hash of each row's text form; equal data gives an equal sum
    /// whatever the physical row order.
    public var fingerprint: String

    public init(rows: Int64, fingerprint: String) {
        self.rows = rows
        self.fingerprint = fingerprint
    }
}

/// A snapshot file that cannot be used, and why.
public struct SnapshotFileError: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var problem: String
    public var description: String { "\(source): \(problem)" }
}
