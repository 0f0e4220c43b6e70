import PostgresClient
import SchemaModel

/// The effects of `extract_json_fields` once nothing blocks it: columns added, what the move
/// leaves out journaled, a batched backfill whose last read is the proof, unique indexes built
/// concurrently, and with `remove_keys` the keys whose values are in their columns removed.
struct FieldEffects {
    var step: ExtractJSONFieldsStep
    var plans: [FieldPlan]
    var probe: Probe
    var current: Table
    var key: RowKey
    var survey: FieldSurvey?
    var groups: [String: [[UniqueGroupRow]]]

    var objectName: ObjectName { step.table }
    var table: QualifiedName { step.table.sqlName }
    var missing: [FieldPlan] { plans.filter { !$0.exists } }

    func assessment(_ schema: Schema) throws -> Assessment {
        var effects: [any Effect] = []
        var after = schema
        if let add = try addColumns(&after) { effects.append(add) }
        // With a column missing the condition cannot be counted yet: every row with a key is,
        // and the survey counted them.
        let needing = try rowsNeeding()
        if needing > 0 || !missing.isEmpty {
            // Journaled only when the move runs: a satisfied step has nothing left to set aside.
            if let journal = journal() { effects.append(journal) }
            effects.append(try backfill(matching: needing))
        }
        effects += uniqueIndexes(&after)
        let removal = try keyRemoval(needing: needing)
        if effects.isEmpty && removal == nil {
            let indexes = plans.filter(\.field.unique).isEmpty ? "" : ", unique indexes valid"
            return .satisfied(
                "every column of \(plans.map(\.field.name).joined(separator: ", ")) exists and agrees with \(step.column)\(indexes)\(step.removeKeys ? ", keys removed" : "")")
        }
        // The proof: every row's column is what its JSON says (or what prefer/on_conflict/
        // on_invalid decided), and with on_invalid: fail no value is left that does not convert.
        // The backfill's last read is it when there is a backfill; otherwise (nothing to write:
        // an index or the keys' removal is what is left) it is a read of its own.
        if !effects.contains(where: { $0 is Backfill }) {
            let broken = [condition] + (step.invalidToNull ? [] : [unconvertible])
            effects.append(Assertion(
                "every row of \(objectName) agrees with \(step.column): \(plans.map(\.field.name).joined(separator: ", "))",
                query: "SELECT \(key.text()) AS key FROM \(table) WHERE \(broken, separator: " OR ")", on: objectName))
        }
        if let removal { effects.append(removal) }
        return .needed(effects, after: after)
    }

    /// A row holds a value that does not convert.
    var unconvertible: SQL { plans.map { "(\($0.unconvertible))" }.joined(separator: " OR ") }
    /// A column differs from its target.
    var condition: SQL { plans.map { "\($0.columnSQL) IS DISTINCT FROM \($0.target)" }.joined(separator: " OR ") }

    /// The rows the backfill writes: counted once per run while nothing has changed (the dry
    /// run a real run shows first, then the step's own assessment).
    func rowsNeeding() throws -> Int {
        if !missing.isEmpty, let survey { return survey.rowsWithKeys }
        let matching = missing.isEmpty ? condition : plans.map(\.present).joined(separator: " OR ")
        return try probe.memoizedCount("SELECT count(*) FROM \(table) WHERE \(matching)" as SQL)
    }

    /// ADD COLUMN with constant defaults, and the columns as the catalog will print them.
    func addColumns(_ after: inout Schema) throws -> AtomicSQL? {
        guard !missing.isEmpty else { return nil }
        // DDL: the default is a literal (a utility statement takes no parameter).
        func defaultSQL(_ plan: FieldPlan) -> SQL? { plan.field.defaultValue.map { "\(literal: $0)::\(plan.typeSQL)" } }
        let clauses: [SQL] = missing.map { plan in
            "ADD COLUMN \(plan.columnSQL) \(plan.typeSQL)" + (defaultSQL(plan).map { " DEFAULT \($0)" } ?? "")
        }
        let add = AtomicSQL(
            "add column\(missing.count == 1 ? "" : "s") \(missing.map(\.field.name).joined(separator: ", ")) to \(objectName)",
            ["ALTER TABLE \(table) \(clauses)"], lock: .accessExclusive, on: objectName)
        let forms = try probe.planText("fields") {
            try probe.canonicalForms(
                columns: missing.map { Column(name: $0.field.name, type: $0.printedType) }, checkSQL: [],
                defaultSQL: missing.compactMap { plan in defaultSQL(plan).map { (column: plan.field.name, sql: $0, written: $0.description) } })
        }
        for plan in missing {
            after.tables[objectName.key]?.columns.append(Column(name: plan.field.name, type: plan.printedType, defaultExpression: forms.defaults[plan.field.name]))
        }
        return add
    }

    /// What the move leaves out goes to the journal first, with what the row held.
    func journal() -> JournalSetAside? {
        var parts: [SQL] = []
        for plan in plans {
            let columnText: SQL = plan.exists ? "\(plan.columnSQL)::text" : "NULL::text"
            func part(_ reason: String, _ condition: SQL) -> SQL {
                "SELECT \(key.text()) AS key, \(bind: plan.field.name)::text AS field, \(bind: reason)::text AS reason, \(plan.json) AS json_value, \(columnText) AS column_value FROM \(table) WHERE \(condition)"
            }
            if step.invalidToNull { parts.append(part("on_invalid: null", plan.unconvertible)) }
            if let losing = plan.setAside { parts.append(part("on_conflict: keep_first_by", losing)) }
            if plan.exists, let preferColumn = step.preferColumn { parts.append(part(preferColumn ? "prefer: column" : "prefer: json", plan.columnDiffers)) }
        }
        // Its rows, counted from what the survey read: one row per part it matches.
        let count = plans.reduce(0) { sum, plan in
            sum + (step.invalidToNull ? plan.counts.invalid : 0) + plan.losers.count + (plan.exists && step.preferColumn != nil ? plan.counts.differing : 0)
        }
        guard !parts.isEmpty, count > 0 else { return nil }
        return JournalSetAside(table: objectName, query: parts.joined(separator: "\nUNION ALL "), count: count)
    }

    /// The batched backfill; its last read of the table is the proof that every row agrees.
    func backfill(matching: Int) throws -> Backfill {
        let keyTypes = key.columns.map { name in (name: name, type: current.column(name)?.type ?? "text") }
        var backfill = Backfill(
            table: objectName, key: keyTypes, assignments: plans.map { ($0.field.name, $0.target) }, condition: condition, matching: matching,
            sizing: probe.settings.batchSizing, workers: try probe.batchWorkers(rows: matching))
        backfill.purpose = step.fieldCounts(plans, groups: groups).joined(separator: "; ")
        backfill.progressLabel = "fill \(plans.map(\.field.name).joined(separator: ", "))"
        // `condition` is "a column differs from its target": each target once per row.
        backfill.conditionIsDifference = true
        // With on_invalid: fail the proof also finds values written since that do not convert.
        if !step.invalidToNull {
            backfill.verify = (
                "values of \(objectName).\(step.column) that do not convert, written after the step was assessed (on_invalid: \"null\" makes them NULL)",
                unconvertible)
        }
        // The rows this assessment read: a field none of whose values failed to convert
        // converts them without its checks (`Backfill.trusted`).
        if let survey, plans.contains(where: { $0.counts.invalid == 0 }) {
            backfill.trusted = (
                assessedBefore: UInt64(survey.snapshotXmin),
                expressions: plans.map { $0.counts.invalid == 0 ? $0.target(value: $0.cast.unchecked) : nil })
        }
        return backfill
    }

    /// A unique index per unique field, built concurrently, unless a valid one is there.
    func uniqueIndexes(_ after: inout Schema) -> [any Effect] {
        var effects: [any Effect] = []
        for plan in plans where plan.field.unique {
            let existing = current.indexes.values.first { index in
                index.unique && index.predicate == nil && index.keys.count == 1 && index.keys[0].isColumn && index.keys[0].expression == plan.field.name
            }
            if let existing, existing.valid { continue }
            let name = existing?.name ?? ExtractJSONFieldsStep.indexName(table: objectName.name, column: plan.field.name)
            let index = SQLIdentifier(name)
            effects.append(ConcurrentSQL(
                "build unique index \(name) on \(objectName) (\(plan.field.name))",
                "CREATE UNIQUE INDEX CONCURRENTLY \(index) ON \(table) (\(plan.columnSQL))",
                rehearsalSQL: "CREATE UNIQUE INDEX \(index) ON \(table) (\(plan.columnSQL))",
                lock: .shareUpdateExclusive, on: objectName, hazards: [.indexBuild], builds: ObjectName(schema: objectName.schema, name: name)))
            after.tables[objectName.key]?.indexes[name] = Index(
                name: name,
                definition: "CREATE UNIQUE INDEX \(PrintedNames.identifier(name)) ON \(PrintedNames.qualified(objectName)) USING btree (\(PrintedNames.identifier(plan.field.name)))",
                keys: [IndexKey(expression: plan.field.name)], unique: true)
        }
        return effects
    }

    /// With `remove_keys`: one `#-` per field, removing its path or nothing (`{}`); the
    /// expression grows with the fields, and each field's test is read from the document as it
    /// was.
    func keyRemoval(needing: Int) throws -> Backfill? {
        guard step.removeKeys, let first = plans.first else { return nil }
        let removable = plans.map(\.removable).joined(separator: " OR ")
        let removed = plans.reduce(first.document) { document, plan in
            "(\(document) #- CASE WHEN \(plan.removable) THEN \(plan.pathArray) ELSE '{}'::text[] END)"
        }
        let expression: SQL = first.sourceIsJSON ? "(\(removed))::json" : removed
        let count = missing.isEmpty ? try probe.memoizedCount("SELECT count(*) FROM \(table) WHERE \(removable)" as SQL) : needing
        // A backfill in this run makes more rows removable than the count says: the removal
        // runs after it whatever the count (its condition decides, row by row).
        guard count > 0 || !missing.isEmpty || needing > 0 else { return nil }
        let keyTypes = key.columns.map { name in (name: name, type: current.column(name)?.type ?? "text") }
        let removalRows = missing.isEmpty ? count + needing : needing
        var removal = Backfill(
            table: objectName, key: keyTypes, assignments: [(step.column, expression)], condition: removable,
            matching: removalRows, sizing: probe.settings.batchSizing, workers: try probe.batchWorkers(rows: removalRows))
        removal.progressLabel = "remove moved keys from \(step.column)"
        removal.purpose = "remove from \(step.column) the keys whose values are in their columns (set-aside values stay)"
        return removal
    }
}
