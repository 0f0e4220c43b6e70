import SchemaModel

/// The `add_column` and `create_index` steps `drift --write-plan` writes for what the models
/// have inside a table the database has too, and the drift rows they repair (the not-repaired
/// list at the end of the plan leaves those out).
enum DriftPlanMembers {
    struct Step {
        var kind: String
        var comments: [String]
        var options: [YAMLPair]
    }

    /// `skip`: tables a rename or split candidate names (their steps are the operator's choice).
    static func steps(_ report: DriftReport, models label: String, modelTables: [String: Table], database: [String: Table], skip: Set<String>)
        -> (steps: [Step], repaired: Set<String>)
    {
        var steps: [Step] = []
        var repaired: Set<String> = []
        for row in report.rows where row.cell(label)?.state == .present {
            let key = ObjectName(parsing: row.table).key
            guard !skip.contains(key), let model = modelTables[key], database[key] != nil else { continue }
            let step: Step?
            switch row.objectType {
            case "column": step = column(model, String(row.object.dropFirst(row.table.count + 1)), label)
            case "index": step = model.indexes[row.object].flatMap { index(model, $0, label) }
            default: step = nil
            }
            guard let step else { continue }
            steps.append(step)
            repaired.insert("\(row.objectType) \(row.object)")
        }
        return (steps, repaired)
    }

    /// A column `add_column` can say: not an identity, generated or serial column.
    static func column(_ table: Table, _ name: String, _ label: String) -> Step? {
        guard let column = table.column(name), column.identity == nil, column.generatedExpression == nil,
              !(column.defaultExpression?.contains("nextval(") ?? false)
        else { return nil }
        var options = [YAMLPair("table", .plain(table.objectName.description)), YAMLPair("column", .plain(name)), YAMLPair("type", .plain(column.type))]
        var comments = ["\(table.objectName).\(name): in \(label), not in the database."]
        if column.notNull {
            options.append(YAMLPair("nullable", .bool(false)))
            if column.defaultExpression == nil {
                comments.append("NOT NULL without a default: blocked, with the row count, if the table has rows "
                    + "(add it nullable, backfill it, then set NOT NULL; or give it a default).")
            }
        }
        if let value = column.defaultExpression { options.append(YAMLPair("default", .plain(value))) }
        return Step(kind: AddColumnStep.kind, comments: comments, options: options)
    }

    /// An index `create_index` can say: plain columns as keys (no expression, operator class,
    /// collation or order), no INCLUDE, enforcing no constraint.
    static func index(_ table: Table, _ index: Index, _ label: String) -> Step? {
        guard index.constraint == nil, !index.primary, index.include.isEmpty,
              index.keys.allSatisfy({ $0.isColumn && $0.operatorClass == nil && $0.collation == nil && !$0.descending && !$0.nullsFirst }),
              !index.definition.contains(" NULLS NOT DISTINCT")
        else { return nil }
        var options = [
            YAMLPair("table", .plain(table.objectName.description)), YAMLPair("name", .plain(index.name)),
            YAMLPair("columns", .list(index.keys.map { .plain($0.expression) })),
        ]
        if index.unique { options.append(YAMLPair("unique", .bool(true))) }
        if index.method != "btree" { options.append(YAMLPair("method", .plain(index.method))) }
        if let predicate = index.predicate { options.append(YAMLPair("where", .plain(predicate))) }
        return Step(
            kind: CreateIndexStep.kind,
            comments: ["\(index.name) on \(table.objectName): in \(label), not in the database (built concurrently)."],
            options: options)
    }
}
