import SchemaModel

/// A models table as `create_table` options (docs/steps.md), and what those options cannot
/// say, for the step's comment.
enum DriftPlanTable {
    static func options(_ table: Table) -> (options: [YAMLPair], unsaid: [String]) {
        var unsaid: [String] = []
        let primary = table.primaryKey
        var primaryColumn: String?
        if let primary {
            if primary.columns.count == 1 { primaryColumn = primary.columns[0] } else {
                unsaid.append("the primary key (\(primary.columns.joined(separator: ", "))): create_table takes a one-column key")
            }
        }
        var uniqueColumns: Set<String> = []
        var uniqueSets: [YAMLValue] = []
        var checks: [String: String] = [:]
        var references: [String: ForeignKey] = [:]
        for constraint in table.constraints.values.sorted(by: { $0.name < $1.name }) {
            switch constraint.kind {
            case .primaryKey:
                break
            case .unique where constraint.columns.count == 1:
                uniqueColumns.insert(constraint.columns[0])
            case .unique where !constraint.columns.isEmpty:
                uniqueSets.append(.list(constraint.columns.map(YAMLValue.plain)))
            case .check where constraint.columns.count == 1 && checks[constraint.columns[0]] == nil && constraint.checkExpression != nil:
                checks[constraint.columns[0]] = constraint.checkExpression
            case .foreignKey where constraint.columns.count == 1 && constraint.foreignKey?.referencedColumns.count == 1
                && references[constraint.columns[0]] == nil:
                references[constraint.columns[0]] = constraint.foreignKey
                if let key = constraint.foreignKey, key.onUpdate != .noAction || key.match != .simple || constraint.deferrable {
                    unsaid.append("\(constraint.name): \(constraint.definition) (create_table sets only ON DELETE)")
                }
            default:
                unsaid.append("\(constraint.name): \(constraint.definition)")
            }
        }
        var columns: [YAMLValue] = []
        for column in table.columns {
            var pairs = [YAMLPair("name", .plain(column.name)), YAMLPair("type", .plain(column.type))]
            if column.name == primaryColumn { pairs.append(YAMLPair("primary_key", .bool(true))) }
            else if column.notNull { pairs.append(YAMLPair("nullable", .bool(false))) }
            if let identity = column.identity {
                pairs.append(YAMLPair("identity", .plain(identity.rawValue)))
            } else if let value = column.defaultExpression, value.hasPrefix("nextval(") {
                pairs.append(YAMLPair("identity", .plain(Column.Identity.byDefault.rawValue)))
                unsaid.append("\(column.name) DEFAULT \(value): a serial column; create_table makes it an identity column")
            } else if let value = column.defaultExpression {
                pairs.append(YAMLPair("default", .plain(value)))
            }
            if uniqueColumns.contains(column.name) { pairs.append(YAMLPair("unique", .bool(true))) }
            if let key = references[column.name] {
                pairs.append(YAMLPair("references", .plain("\(ObjectName(parsing: key.referencedTable))(\(key.referencedColumns[0]))")))
                if key.onDelete != .noAction {
                    pairs.append(YAMLPair("on_delete", .plain(key.onDelete.rawValue.lowercased().replacingOccurrences(of: " ", with: "_"))))
                }
            }
            if let check = checks[column.name] { pairs.append(YAMLPair("check", .plain(check))) }
            if column.generatedExpression != nil || column.collation != nil {
                unsaid.append("\(column.name): \(column.generatedExpression.map { "GENERATED ALWAYS AS (\($0))" } ?? "COLLATE \(column.collation ?? "")")")
            }
            columns.append(.map(pairs))
        }
        var indexes: [YAMLValue] = []
        for index in table.indexes.values.sorted(by: { $0.name < $1.name }) where index.constraint == nil {
            let plain = index.method == "btree" && index.include.isEmpty && index.predicate == nil && index.keys.allSatisfy {
                $0.isColumn && $0.operatorClass == nil && $0.collation == nil && !$0.descending && !$0.nullsFirst
            }
            guard plain else { unsaid.append(index.definition); continue }
            var pairs = [YAMLPair("columns", .list(index.keys.map { .plain($0.expression) })), YAMLPair("name", .plain(index.name))]
            if index.unique { pairs.append(YAMLPair("unique", .bool(true))) }
            indexes.append(.map(pairs))
        }
        var options = [YAMLPair("name", .plain(table.objectName.description)), YAMLPair("columns", .list(columns))]
        if !uniqueSets.isEmpty { options.append(YAMLPair("unique", .list(uniqueSets))) }
        if !indexes.isEmpty { options.append(YAMLPair("indexes", .list(indexes))) }
        if table.triggers.count > 0 { unsaid += table.triggers.keys.sorted().map { "trigger \($0)" } }
        return (options, unsaid)
    }

    /// `keys` with each table after the tables (among `keys`) it references.
    static func creationOrder(_ keys: [String], in schema: Schema) -> [String] {
        var done: [String] = []
        var left = keys.sorted()
        while !left.isEmpty {
            let ready = left.filter { key in
                let targets = schema.tables[key]?.constraints.values.compactMap(\.foreignKey?.referencedTable) ?? []
                return targets.allSatisfy { $0 == key || !left.contains($0) }
            }
            let next = ready.isEmpty ? [left[0]] : ready
            done += next
            left.removeAll(where: next.contains)
        }
        return done
    }
}
