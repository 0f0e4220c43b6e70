import SchemaModel

/// The Alembic migration `pgmend drift --write-plan` writes with `--migrations`: it records the
/// repair in the application's history, so a database built from the migrations gets the
/// schema of the models (the one the plan gives the live database). docs/drift.md ("The
/// migration drift writes") describes it.
///
/// `upgrade()` takes the schema the migrations build to the models' schema, as drift compares
/// them (`DriftMatrix`): tables created, renamed or dropped; columns added, dropped or altered;
/// keys, foreign keys, checks and indexes created or dropped. Constraint and index names that
/// differ only by naming convention are left as they are. `downgrade()` is the same computation
/// the other way, so it takes the schema back (the rows of what `upgrade()` dropped are not).
public enum DriftMigration {
    /// A table the migrations call `from` and the models `to`.
    public struct Rename: Sendable, Equatable {
        public var from: ObjectName
        public var to: ObjectName

        public init(from: ObjectName, to: ObjectName) {
            self.from = from
            self.to = to
        }
    }

    /// The rename candidates of `report` (a rename, not a split, named by the models) between a
    /// table the migrations have and the models lack and a table the models have and the
    /// migrations lack. The plan asks whether to rename; the migration renames, since either
    /// decision gives the same schema and a rename keeps the rows.
    public static func renames(_ report: DriftReport, migrations: Schema, models: Schema, modelsLabel: String = "models") -> [Rename] {
        report.candidates.compactMap { candidate in
            guard candidate.kind == .rename, candidate.sources.contains(modelsLabel), candidate.to.count == 1 else { return nil }
            let rename = Rename(from: ObjectName(parsing: candidate.from), to: ObjectName(parsing: candidate.to[0]))
            guard migrations.tables[rename.from.key] != nil, models.tables[rename.from.key] == nil,
                models.tables[rename.to.key] != nil, migrations.tables[rename.to.key] == nil
            else { return nil }
            return rename
        }
    }

    /// The migration's text, or nil when the migrations already build the models' tables.
    /// `downRevision`: the history's head (nil for an empty history); `revision`: default, the
    /// first 12 hex digits of the SHA-256 of the text, so the same inputs give the same file.
    public static func render(
        migrations: Schema, models: Schema, renames: [Rename], downRevision: String?, revision: String? = nil
    ) throws -> String? {
        let up = try RepairSteps.write(from: migrations, to: models, renames: renames)
        guard !up.lines.isEmpty else { return nil }
        let down = try RepairSteps.write(from: models, to: migrations, renames: renames.map { Rename(from: $0.to, to: $0.from) })
        var parts = AlembicMigration.migrationParts(GeneratedTables(typesOf: models))
        parts.imports.merge(up.imports)
        parts.imports.merge(down.imports)
        let downgrade = [
            "    # The schema the migrations built before this one. The rows of what upgrade() dropped",
            "    # do not come back.",
        ] + down.lines
        return AlembicMigration.file(
            upgrade: up.lines, downgrade: downgrade, title: "pgmend repair: the tables of the models.",
            note: [
                "Written by `pgmend drift --write-plan` from the difference between the schema the migrations",
                "built and the models'. A database built from the migrations gets the models' tables; a",
                "database the plan repaired has them already: mark it with `alembic stamp` this revision.",
            ],
            revision: revision, downRevision: downRevision, &parts)
    }
}

extension DriftMigration {
    /// The revision id a rendered migration declares (`revision: str = "..."`).
    public static func revision(of text: String) -> String? {
        let marker = "revision: str = \""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(marker) }) else { return nil }
        return String(line.dropFirst(marker.count).prefix { $0 != "\"" })
    }
}
