import MendKit
import PostgresClient
import SchemaModel

extension PgMend {
    /// The snapshot of a plan's models (`models: MODULE:ATTR`) for `run`'s warnings about
    /// repairs the models would undo: the models imported with `python` and created in a
    /// scratch database on the server of `conninfo` (or a local one when the role may not
    /// create databases), as `snapshot take --from-models` does.
    static func modelsSnapshot(python: String?, conninfo: String?) -> any ModelsSnapshotProvider {
        ModelsSnapshotFunction { module, path in
            do {
                let server = try conninfo.map { try Connection($0) }
                return try ExpectedSources.snapshot(.models(module), python: python, path: path, server: server)
            } catch let failure as CommandFailure {
                throw ModelsUnavailable(module: module, reason: failure.message)
            }
        }
    }
}
