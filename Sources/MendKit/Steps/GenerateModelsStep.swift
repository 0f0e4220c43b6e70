import Foundation
import PostgresClient
import SchemaModel

/// `generate_models`: write SQLAlchemy models (and optionally an Alembic migration) for tables
/// the application has no models for. Satisfied when the files hold exactly what would be
/// generated from the database now; otherwise each file is written whole, atomically, and a
/// dry run shows the diff of what would change in it. Changes nothing in the database.
public struct GenerateModelsStep: RepairStep {
    public static let kind = "generate_models"
    public static let summary = "write SQLAlchemy models (and an Alembic migration) for tables that have none"

    public let tables: [ObjectName]
    public let output: String
    public let base: String?
    public let migration: String?
    public let revision: String?
    public let downRevision: String?

    public init?(options: inout OptionReader) {
        let tables = options.objectNameList("tables")
        let output = options.text("output")
        base = options.optionalText("base")
        migration = options.optionalText("alembic_migration")
        revision = options.optionalText("revision")
        downRevision = options.optionalText("down_revision")
        // Every problem is reported, not only the first.
        var valid = true
        if let base, SQLAlchemyModels.importPath(base) == nil {
            options.report(options.location(of: "base"), "base must be an import path such as app.db:Base or app.db.Base, not '\(base)'")
            valid = false
        }
        for key in ["revision", "down_revision"] where options.has(key) && migration == nil {
            options.report(options.location(of: key), "\(key) is for the migration: give alembic_migration too")
            valid = false
        }
        for (key, value) in [("revision", revision), ("down_revision", downRevision)] {
            if let value, !Self.isRevisionID(value) {
                options.report(options.location(of: key), "\(key) must be letters, digits and _ only, not '\(value)'")
                valid = false
            }
        }
        if let migration, migration == output {
            options.report(options.location(of: "alembic_migration"), "alembic_migration and output must be different files")
            valid = false
        }
        guard valid, let tables, !tables.isEmpty, let output else { return nil }
        self.tables = tables
        self.output = output
    }

    /// Alembic revision ids are file-name and identifier friendly.
    static func isRevisionID(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }
    }

    public var scope: [ObjectName]? { tables }

    public var settings: [(name: String, value: String)] {
        var settings = [("tables", tables.map(\.description).joined(separator: ", ")), ("output", output)]
        if let base { settings.append(("base", base)) }
        if let migration {
            settings.append(("alembic_migration", migration))
            if let revision { settings.append(("revision", revision)) }
            settings.append(("down_revision", downRevision ?? "none"))
        }
        return settings
    }

    /// The files this step writes, with what they must hold for `schema`.
    public func files(for schema: Schema) throws -> [(path: String, content: String)] {
        var files = [(output, try SQLAlchemyModels.render(schema, tables: tables, base: base))]
        if let migration {
            files.append((migration, try AlembicMigration.render(schema, tables: tables, revision: revision, downRevision: downRevision)))
        }
        return files
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        let missing = tables.filter { schema.tables[$0.key] == nil }
        if !missing.isEmpty {
            return .blocked(missing.map { StepProblem("no table \($0) to generate a model for", table: $0) })
        }
        var effects: [any Effect] = []
        for (path, content) in try files(for: schema) where !WriteFile.isSatisfied(path: path, content: content) {
            effects.append(WriteFile(path: path, content: content, preview: Self.preview(path: path, content: content)))
        }
        if effects.isEmpty {
            return .satisfied("\(([output] + (migration.map { [$0] } ?? [])).joined(separator: " and ")) hold the models of the tables as they are")
        }
        // Files only: the database is left as it is.
        return .needed(effects, after: schema)
    }

    /// For a dry run: the diff against the file there now, or the size of a new file.
    static func preview(path: String, content: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            return "-- no SQL: creates \(path) (\(content.split(separator: "\n", omittingEmptySubsequences: false).count - 1) lines)"
        }
        let old = String(decoding: data, as: UTF8.self)
        return "-- no SQL: rewrites \(path):\n--- \(path)\n+++ \(path) (generated now)\n" + LineDiff.unified(from: old, to: content)
    }
}
