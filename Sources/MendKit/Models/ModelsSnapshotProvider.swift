import SchemaModel

/// Makes the snapshot of the schema an application's models describe, for the warnings of a
/// dry run about repairs the models would undo. The command line gives one that imports the
/// models with Python (`ExpectedSchema.fromModels(module:path:python:)`, the models' scratch
/// database); a test gives a snapshot it made itself.
public protocol ModelsSnapshotProvider: Sendable {
    /// The schema `module` (`MODULE:ATTR`) describes, its files under `path` when given.
    func snapshot(module: String, path: String?) throws -> Snapshot
}

/// A provider that hands back a snapshot made beforehand, whatever the module.
public struct GivenModelsSnapshot: ModelsSnapshotProvider {
    public let snapshot: Snapshot

    public init(_ snapshot: Snapshot) {
        self.snapshot = snapshot
    }

    public func snapshot(module: String, path: String?) throws -> Snapshot { snapshot }
}

/// A provider that calls a function: where the command line plugs in the models' importer.
public struct ModelsSnapshotFunction: ModelsSnapshotProvider {
    let make: @Sendable (String, String?) throws -> Snapshot

    public init(_ make: @escaping @Sendable (_ module: String, _ path: String?) throws -> Snapshot) {
        self.make = make
    }

    public func snapshot(module: String, path: String?) throws -> Snapshot { try make(module, path) }
}

/// The models' snapshot could not be made: the run stops as for bad input (exit 2).
public struct ModelsUnavailable: Error, CustomStringConvertible {
    public var module: String
    public var reason: String

    public init(module: String, reason: String) {
        self.module = module
        self.reason = reason
    }

    public var description: String { "the plan's models (\(module)) could not be read: \(reason)" }
}

extension PlanSettings {
    /// Reads `models: MODULE:ATTR` and `models_path: DIR` (relative to the current directory,
    /// like every path of a plan).
    mutating func readModels(_ reader: inout OptionReader) {
        models = reader.optionalText("models")
        modelsPath = reader.optionalText("models_path")
        if let models, ModelSource.firstMatch(#"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"#, in: models) == nil
            && !models.isEmpty {
            reader.report(reader.location(of: "models"), "models must be MODULE:ATTR, a Python module and its MetaData or declarative Base (e.g. app.models:Base), not '\(models)'")
        }
        if let models, models.isEmpty {
            reader.report(reader.location(of: "models"), "models must be MODULE:ATTR (e.g. app.models:Base), not empty")
        }
        if modelsPath != nil && models == nil {
            reader.report(reader.location(of: "models_path"), "models_path is where the models' module is found: give models: MODULE:ATTR too")
        }
    }

    /// The module part of `models` (`app.models` of `app.models:Base`).
    var modelsModule: String? {
        models.flatMap { $0.split(separator: ":").first.map(String.init) }
    }
}

/// The models a dry run checks its changes against: their schema and their source.
struct ModelsExpectation {
    var schema: Schema
    var source: ModelSource?

    /// The warnings about the net changes `net`, each with the first step of `byStep` that
    /// makes the change.
    func warnings(net: [SchemaChange], byStep: [(step: Int, changes: [SchemaChange])]) -> [ModelWarning] {
        ModelContradictions.find(models: schema, changes: net, source: source).map { warning in
            var warning = warning
            warning.step = byStep.first { step in
                step.changes.contains { $0.objectType == warning.changeType && $0.object == warning.changeObject }
            }?.step
            return warning
        }
    }
}

extension Runner {
    /// The plan's models (`models:` in its settings), snapshot and source; nil when it names none.
    func modelsExpectation() throws -> ModelsExpectation? {
        guard let models = plan.settings.models else { return nil }
        guard let provider = modelsSnapshot else {
            throw ModelsUnavailable(module: models, reason: "this pgmend cannot import models (no models snapshot provider)")
        }
        let snapshot: Snapshot
        do {
            snapshot = try provider.snapshot(module: models, path: plan.settings.modelsPath)
        } catch let error as ModelsUnavailable {
            throw error
        } catch {
            throw ModelsUnavailable(module: models, reason: "\(error)")
        }
        let source = plan.settings.modelsModule.map { ModelSource.scan(module: $0, path: plan.settings.modelsPath) }
        return ModelsExpectation(schema: snapshot.schema, source: source)
    }
}
