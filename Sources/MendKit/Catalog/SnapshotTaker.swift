import Foundation
import PostgresClient
import SchemaModel

/// Takes a snapshot of a live database: its schema, and with `includeData` its row counts and
/// fingerprints, all read in one REPEATABLE READ transaction so they describe one moment.
public struct SnapshotTaker {
    let connection: Connection
    let progress: any ProgressReporter
    /// Read the catalog over two connections sharing one snapshot (see `CatalogReader`).
    let parallel: Bool

    public init(connection: Connection, progress: any ProgressReporter = SilentProgress(), parallel: Bool = true) {
        self.connection = connection
        self.progress = progress
        self.parallel = parallel
    }

    public func take(_ selection: SchemaSelection = .allUserSchemas, includeData: Bool = false) throws -> Snapshot {
        let started = Date()
        let (schema, data) = try connection.transaction(isolation: .repeatableRead, readOnly: true) { _ in
            let schema = try CatalogReader(connection: connection)
                .readSchemaInCurrentTransaction(selection, parallel: parallel)
            let data = includeData
                ? try DataStatistics(connection: connection, progress: progress)
                    .readInCurrentTransaction(schema, parallel: parallel)
                : nil
            return (schema, data)
        }
        return Snapshot(
            pgmendVersion: PgMendVersion.string,
            takenAt: ISO8601DateFormatter().string(from: started),
            durationMilliseconds: Int((Date().timeIntervalSince(started) * 1000).rounded()),
            serverVersion: connection.serverVersion,
            database: connection.database,
            selectedSchemas: selection == .allUserSchemas ? nil : schema.namespaces,
            schema: schema,
            data: data)
    }
}
