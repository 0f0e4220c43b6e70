import Foundation
import MendKit
import SchemaModel

extension PgMend.Drift {
    /// Writes the Alembic migration that takes the schema the migrations build to the models'
    /// (docs/drift.md, "The migration drift writes"), after the history's head: to
    /// --write-migration, or beside the head as `NNN_pgmend_repair.py`.
    func writeRepairMigration(ini: String, report: DriftReport, sources: [(label: String, snapshot: Snapshot)]) throws {
        guard let models = sources.first(where: { $0.snapshot.source?.kind == "models" }) else {
            throw CommandFailure(.badInput, "the migration that records the repair makes the migrations build the models: name them with --models")
        }
        guard let built = sources.first(where: { $0.snapshot.source?.kind == "migrations" }) else { return }
        let history: AlembicVersions
        let text: String?
        do {
            history = try AlembicVersions.read(ini: ini, python: python ?? "python3")
            let renames = DriftMigration.renames(report, migrations: built.snapshot.schema, models: models.snapshot.schema, modelsLabel: models.label)
            text = try DriftMigration.render(
                migrations: built.snapshot.schema, models: models.snapshot.schema, renames: renames,
                downRevision: try history.downRevision(ini: ini))
        } catch let error as ExpectedSchemaError {
            throw CommandFailure(.badInput, error.message)
        } catch {
            throw CommandFailure(.badInput, "cannot write the migration: \(error)")
        }
        guard let text, let revision = DriftMigration.revision(of: text) else {
            StandardError.write("the migrations of \(ini) already build the models' tables: no migration written\n")
            return
        }
        let path = writeMigration ?? URL(fileURLWithPath: history.folder).appendingPathComponent(history.fileName(revision: revision)).path
        if writeMigration == nil && FileManager.default.fileExists(atPath: path) {
            throw CommandFailure(.badInput, "\(path) exists already and is not the history's head: name the file with --write-migration")
        }
        do {
            try OutputFile.write(Data(text.utf8), to: path)
        } catch {
            throw CommandFailure(.failed, "cannot write \(path): \(error.localizedDescription)")
        }
        let after = history.heads.first.map { " after \($0)" } ?? ""
        StandardError.write("wrote \(path): revision \(revision)\(after), which gives a database built from the migrations "
            + "the models' tables; once the plan has run, mark the repaired database with alembic stamp \(revision)\n")
    }
}
