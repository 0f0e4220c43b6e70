import Foundation
import PostgresClient
import SchemaModel

/// Takes a snapshot of a live database: its schema, and with `includeData` its row counts and
/// fingerprints, all read in one REPEATABLE READ transaction so they describe one moment.
public struct SnapshotTaker {
    let connection: Connection
    let progress: any ProgressReporter

    public init(connection: Connection, progress: any ProgressReporter = SilentProgress()) {
        self.connection = connection
        self.progress = progress
    }

    public func take(_ selection: SchemaSelection = .allUserSchemas, includeData: Bool = false) throws -> Snapshot {
        let started = Date()
        let (schema, data) = try connection.transaction(isolation: .repeatableRead, readOnly: true) { _ in
            let schema = try CatalogReader(connection: connection).readSchemaInCurrentTransaction(selection)
            let data = includeData
                ? try DataStatistics(connection: connection, progress: progress).readInCurrentTransaction(schema)
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
