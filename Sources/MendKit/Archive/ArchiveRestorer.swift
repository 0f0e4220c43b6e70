import Foundation
import PostgresClient
import SchemaModel

/// The table definition an archive was written from (`table.json`).
struct ArchivedTable: Codable {
    var table: Table
    var sequences: [SequenceDefinition]
    /// Absent in archives written before pgmend created the types in `schema.sql`.
    var types: ColumnTypes?
}

/// Brings an archived table back: checks the files, recreates the table, loads the data
/// streaming from the gzip file, and checks row count and fingerprint against the manifest,
/// all in one transaction (nothing is left behind if anything does not match).
public struct ArchiveRestorer {
    let connection: Connection
    let progress: any ProgressReporter

    public init(connection: Connection, progress: any ProgressReporter = SilentProgress()) {
        self.connection = connection
        self.progress = progress
    }

    public struct Outcome: Sendable {
        public var table: ObjectName
        public var rows: Int64
    }

    public func restore(directory: String, as newName: String? = nil) throws -> Outcome {
        let manifest = try ArchiveVerifier.verify(directory: directory)
        let target = ObjectName(schema: manifest.schema, name: newName ?? manifest.table)
        let name = target.sqlName
        let script: String
        // Read once and checked against the manifest (format 2): what runs is what was verified.
        if let newName {
            let data = try ArchiveVerifier.contents(of: "table.json", in: directory, manifest: manifest)
            let archived = try JSONDecoder().decode(ArchivedTable.self, from: data)
            script = TableScript.script(for: archived.table, sequences: archived.sequences, types: archived.types ?? ColumnTypes(), as: newName)
        } else {
            let data = try ArchiveVerifier.contents(of: "schema.sql", in: directory, manifest: manifest)
            script = String(decoding: data, as: UTF8.self)
        }
        return try connection.transaction { connection in
            if try connection.scalar("SELECT to_regclass(\(bind: name.quoted)) IS NOT NULL", as: Bool.self) == true {
                throw ArchiveError.unusable("table \(target) exists; restore it under another name with --as")
            }
            try connection.execute(SQL.scriptFile(script))
            for (name, value) in manifest.settings.sorted(by: { $0.key < $1.key }) { try connection.setLocal(name, value) }
            let columns = manifest.columns.map { SQLIdentifier($0.name) }
            let loaded = try connection.copyIn("COPY \(name) (\(columns)) FROM STDIN") { sink in
                try ArchiveVerifier.load(directory, rows: manifest.rows, into: sink, task: "restore \(target)", progress: progress)
            }
            guard Int64(loaded) == manifest.rows else {
                throw ArchiveError.mismatch("loaded \(loaded) rows, the manifest says \(manifest.rows)")
            }
            let fingerprint = try DataStatistics(connection: connection).fingerprint(name, rowText: manifest.rowText)
            guard fingerprint.fingerprint == manifest.fingerprint else {
                throw ArchiveError.mismatch("the restored rows' fingerprint \(fingerprint.fingerprint) is not the archived \(manifest.fingerprint)")
            }
            // Sequences continue after the restored rows.
            let table = name.quoted
            for row in try connection.query(
                """
                SELECT a.attname, pg_get_serial_sequence(\(bind: table), a.attname) FROM pg_attribute a
                WHERE a.attrelid = to_regclass(\(bind: table)) AND a.attnum > 0 AND NOT a.attisdropped
                  AND pg_get_serial_sequence(\(bind: table), a.attname) IS NOT NULL
                """)
            {
                let column = SQLIdentifier(try row.get(0, as: String.self))
                let sequence = try row.get(1, as: String.self)
                try connection.query(
                    "SELECT setval(\(bind: sequence), coalesce((SELECT max(\(column)) FROM \(name)), 1), (SELECT count(*) > 0 FROM \(name)))")
            }
            return Outcome(table: target, rows: manifest.rows)
        }
    }
}
