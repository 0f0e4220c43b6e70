import PostgresClient
import SchemaModel

/// The answer to "is the live database what this snapshot expects?".
public struct VerificationResult: Sendable {
    public var expected: Snapshot
    public var actual: Snapshot
    /// From the expected snapshot to the live database; empty when they match.
    public var changes: [SchemaChange]
    public var matches: Bool { changes.isEmpty }
}

/// Compares a live database with an expected snapshot: the same schemas (all user schemas
/// when the snapshot covered all), and with `includeData` the same row counts and fingerprints.
public struct Verifier {
    let connection: Connection
    let progress: any ProgressReporter

    public init(connection: Connection, progress: any ProgressReporter = SilentProgress()) {
        self.connection = connection
        self.progress = progress
    }

    public func verify(_ expected: Snapshot, includeData: Bool) throws -> VerificationResult {
        if includeData && expected.data == nil {
            throw VerificationError.noDataInSnapshot
        }
        let actual = try takeLive(expected.selectedSchemas, includeData: includeData)
        return compare(expected, actual, includeData: includeData)
    }

    /// Verifies the schema against a snapshot that `parse` is still reading from its file,
    /// on a thread of its own while the catalog is read: at 8,000 tables parsing the file
    /// takes a quarter of the catalog's time. `selectedSchemas` is what the file says it
    /// covers (`Snapshot.selectedSchemas(inCanonical:)`); should the parsed snapshot say
    /// otherwise, it is verified again the plain way.
    public func verify(
        parsing parse: @escaping @Sendable () throws -> Snapshot, selectedSchemas: [String]?
    ) throws -> VerificationResult {
        let (actual, expected) = try concurrently({ try takeLive(selectedSchemas, includeData: false) }, background: parse)
        guard expected.selectedSchemas == selectedSchemas else { return try verify(expected, includeData: false) }
        return compare(expected, actual, includeData: false)
    }

    /// The live database, over the schemas a snapshot chose (all user schemas when nil).
    private func takeLive(_ selectedSchemas: [String]?, includeData: Bool) throws -> Snapshot {
        // Schemas the snapshot chose but the database lost show up in the diff as removed.
        var selection = SchemaSelection.allUserSchemas
        if let selected = selectedSchemas {
            let present = try CatalogReader(connection: connection).resolveNamespaces(.allUserSchemas)
            selection = .only(selected.filter(present.contains))
        }
        return try SnapshotTaker(connection: connection, progress: progress).take(selection, includeData: includeData)
    }

    private func compare(_ expected: Snapshot, _ actual: Snapshot, includeData: Bool) -> VerificationResult {
        let changes = SchemaDiff.changes(
            from: expected.schema, to: actual.schema,
            oldData: includeData ? expected.data : nil, newData: includeData ? actual.data : nil)
        return VerificationResult(expected: expected, actual: actual, changes: changes)
    }
}

/// A verification that cannot be carried out as asked.
public enum VerificationError: Error, Sendable, CustomStringConvertible {
    case noDataInSnapshot

    public var description: String {
        switch self {
        case .noDataInSnapshot: "the snapshot has no data statistics; take it with --data to verify data"
        }
    }
}
