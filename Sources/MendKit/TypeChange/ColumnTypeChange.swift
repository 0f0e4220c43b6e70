import PostgresClient
import SchemaModel

/// The shared core of `normalize_uuid` and `normalize_timestamps`: a set of columns whose type
/// changes, split into the parts that must change in one transaction (`parts`), each planned
/// by `RetypePlan` (or `OnlineTypeChange`), and what a killed run left to finish.
enum ColumnTypeChange {
    /// What the change amounts to: the effects and the schema afterwards, or why it cannot be made.
    struct Outcome {
        var effects: [any Effect]
        var after: Schema
    }

    /// Splits the changes into the parts that must share a transaction: columns of one table,
    /// columns joined by foreign keys, columns read by one view. Each part is its own
    /// transaction, so no lock is held for longer than its own tables need.
    static func parts(of retypes: [ColumnRetype], in schema: Schema, _ probe: Probe) throws -> [[ColumnRetype]] {
        var parts: [[ColumnRetype]] = []
        var keysOfPart: [Set<String>] = []
        for retype in retypes {
            var keys: Set<String> = ["table " + retype.column.table.key]
            keys.formUnion(ForeignKeyGroup.of([retype.column], in: schema).map { "table " + $0.table.key })
            keys.formUnion(try DependentViews.of([retype.column], probe).map { "view " + $0.name.key })
            let joined = keysOfPart.indices.filter { !keysOfPart[$0].isDisjoint(with: keys) }
            var part = [retype]
            for index in joined.reversed() {
                part = parts[index] + part
                keys.formUnion(keysOfPart[index])
                parts.remove(at: index)
                keysOfPart.remove(at: index)
            }
            parts.append(part)
            keysOfPart.append(keys)
        }
        return parts
    }

    /// `plan` for each part in turn, each from the schema the previous leaves.
    static func inParts(
        _ retypes: [ColumnRetype], schema: Schema, probe: Probe, plan: ([ColumnRetype], Schema) throws -> Planned<Outcome>
    ) throws -> Assessment {
        var effects: [any Effect] = []
        var after = schema
        var problems: [StepProblem] = []
        for part in try parts(of: retypes, in: schema, probe) {
            switch try plan(part, after) {
            case .failure(let found): problems += found
            case .success(let done):
                effects += done.effects
                after = done.after
            }
        }
        return problems.isEmpty ? .needed(effects, after: after) : .blocked(problems)
    }

    /// The rewrite (`ALTER ... TYPE`) of `retypes`, a part at a time. `setAside` is journaled
    /// under the locks first; `pinned` settings hold for the altering transaction; `refusal`
    /// says what a value the conversion refuses means; `rewrites` says whether a part's tables
    /// are rewritten.
    static func planInParts(
        _ retypes: [ColumnRetype], schema: Schema, probe: Probe, recreateViews: Bool,
        setAside: [AlterColumnTypes.SetAside], pinned: [(name: String, value: String)], refusal: String?, rewrites: (ColumnRetype) -> Bool,
        notes: [ColumnName: [String]]
    ) throws -> Assessment {
        try inParts(retypes, schema: schema, probe: probe) { part, before in
            let tables = Set(part.map(\.column.table))
            let plan = RetypePlan(
                retypes: part, schema: before, recreateViews: recreateViews, setAside: setAside.filter { tables.contains($0.table) },
                pinned: pinned, refusal: refusal, rewrites: part.contains(where: rewrites), notes: part.flatMap { notes[$0.column] ?? [] })
            return try plan.make(probe)
        }
    }

    /// What a change killed after its swap or ALTER left to do on the converted `columns`:
    /// with `method: online`, the ANALYZE after the swap (`OnlineTypeChange.statisticsLeft`),
    /// then the foreign keys left NOT VALID. nil: nothing.
    static func leftToFinish(of columns: [ColumnName], in schema: Schema, method: TypeChangeMethod, _ probe: Probe) throws -> Assessment? {
        // The foreign-key partners were swapped with them.
        let analyze = method == .online ? try OnlineTypeChange.statisticsLeft(of: ForeignKeyGroup.of(columns, in: schema), probe) : []
        return ForeignKeyGroup.pendingValidations(of: columns, in: schema, after: analyze)
    }

    /// A type-changing step's settings as `plan show` prints them: its columns (`chosen` says
    /// what nil means), exclusions, its own options, then `recreate_views` and `method`.
    static func settings(
        columns: [ColumnName]?, chosen: String, exclude: [ColumnName], own: [(name: String, value: String)], recreateViews: Bool, method: TypeChangeMethod
    ) -> [(name: String, value: String)] {
        [
            ("columns", columns.map { $0.map(\.description).joined(separator: ", ") } ?? chosen),
            ("exclude", exclude.isEmpty ? "(none)" : exclude.map(\.description).joined(separator: ", ")),
        ] + own + [
            ("recreate_views", recreateViews ? "true" : "false"),
            ("method", method.rawValue),
        ]
    }

    /// The tables of `columns`, each once, in order: a step's scope (nil: the whole catalog).
    static func scope(of columns: [ColumnName]?) -> [ObjectName]? {
        guard let columns else { return nil }
        var tables: [ObjectName] = []
        for column in columns where !tables.contains(column.table) { tables.append(column.table) }
        return tables
    }

    /// The listed columns that are not excluded, with their catalog entries; a missing table
    /// or column is a problem.
    static func listed(_ columns: [ColumnName], excluding exclude: [ColumnName], in schema: Schema) -> (found: [(ColumnName, Column)], problems: [StepProblem]) {
        var found: [(ColumnName, Column)] = []
        var problems: [StepProblem] = []
        for name in columns where !exclude.contains(name) {
            guard let table = schema.tables[name.table.key] else {
                problems.append(StepProblem("table \(name.table) does not exist", table: name.table))
                continue
            }
            guard let column = table.column(name.column) else {
                problems.append(StepProblem("\(name.table) has no column \(name.column)", table: name.table))
                continue
            }
            found.append((name, column))
        }
        return (found, problems)
    }

    /// `name=value` options as the catalog keeps them (`reloptions`, `attoptions`), written for
    /// a `WITH (...)` or `SET (...)` clause: `"fillfactor" = '70'`.
    static func optionList(_ options: [String]) -> SQL {
        options.map { option -> SQL in
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? "\(ident: parts[0]) = \(literal: parts[1])" : "\(ident: option)"
        }.joined(separator: ", ")
    }

    /// What `pgmend.set_aside` gets for the rows of `table` matching `condition`: the row's
    /// key (`RowKey`), the column's name and its old value as text, and `reason`.
    static func setAside(
        _ table: ObjectName, key: RowKey, column: String, reason: String, where condition: SQL
    ) -> AlterColumnTypes.SetAside {
        AlterColumnTypes.SetAside(
            table: table,
            query: """
                SELECT \(key.text()) AS key, \(bind: column)::text AS field, \(bind: reason)::text AS reason, NULL::jsonb AS json_value, \
                \(ident: column)::text AS column_value FROM \(table.sqlName) WHERE \(condition)
                """)
    }
}
