import Foundation
import SchemaModel

/// A source `--write-plan` cannot work without.
public struct DriftPlanError: Error, CustomStringConvertible {
    public var description: String
}

/// Writes the plan `pgmend drift --write-plan FILE` saves: the steps that make the database
/// match the models. docs/drift.md ("The plan drift writes") describes it.
public enum DriftPlanWriter {
    public static func text(
        report: DriftReport, live: Snapshot, sources: [(label: String, snapshot: Snapshot)], path: String,
        archiveFolder: String = "Snapshots/archive"
    ) throws -> String {
        guard let models = sources.first(where: { $0.snapshot.source?.kind == "models" }) else {
            throw DriftPlanError(description: "--write-plan makes the database match the models: name them with --models")
        }
        let modelTables = models.snapshot.schema.tables
        let database = live.schema.tables
        let others = sources.filter { $0.label != models.label }
        let candidates = report.candidates.filter { $0.sources.contains(models.label) }
        let key = { (name: String) in ObjectName(parsing: name).key }
        let renamed = Set(candidates.filter { $0.kind == .rename }.map { key($0.from) })
        let candidateTables = Set(candidates.map { key($0.from) })

        var steps: [[String]] = []
        func step(_ kind: String, _ comments: [String], _ options: [YAMLPair]) {
            steps.append(PlanDraftStep.lines(kind: kind, comments: comments, options: options))
        }
        for candidate in candidates where candidate.kind == .rename {
            let similarity = candidate.similarity.first.map { "columns \(DriftRenames.figure($0.columns)), in common: \($0.common.joined(separator: ", "))" } ?? ""
            step(RenameTableStep.kind, [
                "\(candidate.from) -> \(candidate.to[0])? A rename candidate (\(candidate.reason); \(similarity)).",
                "Keep this step to rename (the rows stay; the columns that differ stay different), or delete it to "
                    + "create \(candidate.to[0]) anew and archive \(candidate.from) with the steps marked below.",
            ], [
                YAMLPair("decide", .plain("rename \(candidate.from) to \(candidate.to[0])? Delete this line to rename, or delete this step "
                    + "and the decide: lines of the create_table \(candidate.to[0]) and archive_table \(candidate.from) steps")),
                YAMLPair("from", .plain(candidate.from)), YAMLPair("to", .plain(candidate.to[0])), YAMLPair("rename_dependents", .bool(true)),
            ])
        }
        let renameTargets = Dictionary(candidates.filter { $0.kind == .rename }.map { (key($0.to[0]), $0.from) }, uniquingKeysWith: { a, _ in a })
        let missing = modelTables.keys.filter { database[$0] == nil }
        for tableKey in DriftPlanTable.creationOrder(missing, in: models.snapshot.schema) {
            guard let table = modelTables[tableKey] else { continue }
            let (options, unsaid) = DriftPlanTable.options(table)
            var comments = ["\(table.objectName): in \(models.label), not in the database."]
            if !unsaid.isEmpty { comments.append("Not said by create_table, to add by hand: \(unsaid.joined(separator: "; "))") }
            var pairs = options
            if let old = renameTargets[tableKey] {
                pairs.insert(YAMLPair("decide", .plain("create \(table.objectName) anew, not renamed from \(old)? "
                    + "Delete this line to create it, or delete this step if rename_table \(old) stays")), at: 0)
            }
            step(CreateTableStep.kind, comments, pairs)
        }
        // Columns and indexes the models have inside tables the database has too, then what
        // other kinds repair there (checks may read the columns just added).
        let members = DriftPlanMembers.steps(report, models: models.label, modelTables: modelTables, database: database, skip: candidateTables)
        for member in members.steps { step(member.kind, member.comments, member.options) }
        let shared = modelTables.keys.filter { database[$0] != nil && !candidateTables.contains($0) }
        let added = Set(members.repaired.filter { $0.hasPrefix("column ") }.map { String($0.dropFirst("column ".count)) })
        let inTables = DriftPlanInTables(
            models: models.snapshot.schema, database: live.schema, tables: Array(shared), creating: Set(missing), adding: added)
        for repair in inTables.steps { step(repair.kind, repair.comments, repair.options) }
        let onlyDatabase = database.keys.filter { modelTables[$0] == nil }
        let unknown = onlyDatabase.filter { tableKey in !others.contains { $0.snapshot.schema.tables[tableKey] != nil } }
        // Archived referencing tables first: a table other tables reference cannot be archived.
        for tableKey in DriftPlanTable.creationOrder(unknown + candidateTables.filter { !unknown.contains($0) }, in: live.schema).reversed() {
            guard let table = database[tableKey] else { continue }
            let name = table.objectName.description
            let question: String
            if let candidate = candidates.first(where: { key($0.from) == tableKey }) {
                let targets = candidate.to.joined(separator: " and ")
                question = renamed.contains(tableKey)
                    ? "archive \(name) once \(targets) is created anew? Delete this line to archive it, or delete this step if rename_table \(name) stays"
                    : "archive \(name), which \(models.label) splits into \(targets)? Its rows are not copied into them: copy them first "
                        + "(an sql step) if they are needed. Delete this line to archive it, or delete this step to keep it"
            } else {
                question = "archive \(name)? No source knows it (\(table.columns.count) columns). Delete this line to archive it, "
                    + "or delete this step to keep it (write its model: pgmend models --tables \(name))"
            }
            step(ArchiveTableStep.kind, ["\(name): in the database; \(models.label) has no such table."],
                 [YAMLPair("decide", .plain(question)), YAMLPair("table", .plain(name)), YAMLPair("to", .plain(archiveFolder))])
        }
        let known = onlyDatabase.filter { !unknown.contains($0) && !candidateTables.contains($0) }.sorted()
        if !known.isEmpty {
            let names = known.compactMap { database[$0]?.objectName.description }
            step(GenerateModelsStep.kind, ["In the database and in \(others.map(\.label).joined(separator: ", ")), not in \(models.label): "
                + names.joined(separator: ", ") + "."], [
                YAMLPair("tables", .list(names.map(YAMLValue.plain))),
                YAMLPair("output", .decide("the models file to write, e.g. app/models/generated.py")),
            ])
        }
        return header(report, models.label, path: path, steps: steps)
            + notRepaired(report, models.label) { members.repaired.contains("\($0.objectType) \($0.object)") || inTables.covers($0) }
    }

    static func header(_ report: DriftReport, _ models: String, path: String, steps: [[String]]) -> String {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var lines = [
            "# Written by `pgmend drift --write-plan` from database \(report.database): makes its tables match \(models).",
            "# Replace or delete every `decide:` (`pgmend plan check \(name)` names those left); delete a step to",
            "# leave its tables as they are. What no step kind repairs is listed at the end.",
            "name: \(YAMLValue.written(name))",
            "description: \(YAMLValue.written("Makes \(report.database) match \(models)"))",
            "settings:",
            "  lock_timeout: 2s",
            "  retries: 5",
            "steps:",
        ]
        if steps.isEmpty {
            lines += ["  # The database has the tables the models have; this step does nothing.",
                      "  - sql: {run: \"SELECT 1\", done_when: \"SELECT true\"}"]
        }
        for step in steps { lines += [""] + step }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The differences inside tables both have that no step of the plan makes, as comments
    /// (other type changes, constraints to drop or change, columns and indexes `add_column` and
    /// `create_index` cannot say); `repaired`: whether a step of the plan repairs a row.
    static func notRepaired(_ report: DriftReport, _ models: String, repaired: (DriftRow) -> Bool = { _ in false }) -> String {
        let rows = report.rows.filter { $0.objectType != "table" && !($0.cell(models).map($0.agrees) ?? true) && !repaired($0) }
        guard !rows.isEmpty else { return "" }
        var lines = ["", "# Not repaired by this plan: the tables both have differ in these (repair them by hand,",
                     "# or change the models):"]
        for row in rows {
            for detail in row.cell(models)?.details ?? [] {
                lines += PlanWriter.comment("\(row.objectType) \(row.object): \(detail)", indent: "")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
