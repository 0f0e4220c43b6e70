import MendKit
import SchemaModel

extension PgMend {
    /// The snapshot of a plan's models (`models: MODULE:ATTR`) for `run`'s warnings about
    /// repairs the models would undo: `ExpectedSchema.fromModels(module:path:python:)`, which
    /// imports them with `python` and creates them in a scratch database.
    ///
    /// The injection point for that function: until it is part of this build, a plan that
    /// names models stops with exit 2 and says so.
    static func modelsSnapshot(python: String?) -> any ModelsSnapshotProvider {
        ModelsSnapshotFunction { module, _ in
            throw ModelsUnavailable(module: module, reason: "snapshots from models are not part of this build yet (--python \(python ?? "python3"))")
        }
    }
}
