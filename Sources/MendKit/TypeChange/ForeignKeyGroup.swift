import PostgresClient
import SchemaModel

/// Columns joined by declared foreign keys change type together: a key never points across
/// types. The keys among them are dropped before the change, re-added NOT VALID after it in
/// the same transaction, and validated each in a transaction of its own.
enum ForeignKeyGroup {
    /// Every column joined to `columns` by declared foreign keys, referencing or referenced,
    /// transitively: a group that must change type together.
    static func of(_ columns: [ColumnName], in schema: Schema) -> [ColumnName] {
        var group = Set(columns)
        var queue = columns
        while let next = queue.popLast() {
            for (_, table) in schema.tables {
                for constraint in table.constraints.values {
                    guard let key = constraint.foreignKey, key.referencedColumns.count == constraint.columns.count else { continue }
                    let target = ObjectName(parsing: key.referencedTable)
                    for (local, remote) in zip(constraint.columns, key.referencedColumns) {
                        let from = ColumnName(table: table.objectName, column: local)
                        let to = ColumnName(table: target, column: remote)
                        for (here, there) in [(from, to), (to, from)] where here == next && !group.contains(there) {
                            group.insert(there)
                            queue.append(there)
                        }
                    }
                }
            }
        }
        return group.sorted()
    }

    /// Splits columns into their foreign-key groups, each sorted, in the order of their first column.
    static func split(_ columns: [ColumnName], in schema: Schema) -> [[ColumnName]] {
        var seen: Set<ColumnName> = []
        var groups: [[ColumnName]] = []
        for column in columns.sorted() where !seen.contains(column) {
            let group = of([column], in: schema)
            seen.formUnion(group)
            groups.append(group)
        }
        return groups
    }

    /// The foreign keys that use any of the columns, on either side, by table.
    static func keys(touching columns: Set<ColumnName>, in schema: Schema) -> [TouchingForeignKey] {
        var found: [TouchingForeignKey] = []
        for table in schema.tables.values.sorted(by: { $0.objectName < $1.objectName }) {
            for constraint in table.constraints.values.sorted(by: { $0.name < $1.name }) {
                guard let key = constraint.foreignKey else { continue }
                let target = ObjectName(parsing: key.referencedTable)
                let uses = constraint.columns.contains { columns.contains(ColumnName(table: table.objectName, column: $0)) }
                    || key.referencedColumns.contains { columns.contains(ColumnName(table: target, column: $0)) }
                if uses { found.append(TouchingForeignKey(table: table.objectName, constraint: constraint)) }
            }
        }
        return found
    }

    /// A key of `keys` that joins a changing column to one that does not change: it would point
    /// across types.
    static func halfChangedProblems(_ keys: [TouchingForeignKey], changing: Set<ColumnName>) -> [StepProblem] {
        var problems: [StepProblem] = []
        for key in keys {
            guard let foreignKey = key.constraint.foreignKey else { continue }
            let target = ObjectName(parsing: foreignKey.referencedTable)
            for (local, remote) in zip(key.constraint.columns, foreignKey.referencedColumns) {
                let from = ColumnName(table: key.table, column: local)
                let to = ColumnName(table: target, column: remote)
                if changing.contains(from) != changing.contains(to) {
                    problems.append(StepProblem(
                        "foreign key \(key.constraint.name) joins \(from) and \(to), and only one of them would change type", table: key.table))
                }
            }
        }
        return problems
    }

    /// The foreign keys on `columns` (and their groups) left NOT VALID, each validated: what a
    /// run killed between re-adding them and validating them left to do, after the effects
    /// `first`. nil: nothing.
    static func pendingValidations(of columns: [ColumnName], in schema: Schema, after first: [any Effect] = []) -> Assessment? {
        let group = Set(of(columns, in: schema))
        let pending = keys(touching: group, in: schema).filter { !$0.constraint.validated }
        guard !pending.isEmpty || !first.isEmpty else { return nil }
        var after = schema
        var effects: [any Effect] = first
        for key in pending {
            effects.append(key.validation(left: true))
            after.tables[key.table.key]?.constraints[key.constraint.name]?.validated = true
            if key.constraint.definition.hasSuffix(" NOT VALID") {
                after.tables[key.table.key]?.constraints[key.constraint.name]?.definition = key.definitionWhenValid
            }
        }
        return .needed(effects, after: after)
    }
}

/// A foreign key that uses a changing column, on its table: dropped before the change and
/// added again NOT VALID after it, then validated.
struct TouchingForeignKey {
    var table: ObjectName
    var constraint: Constraint

    var tableName: QualifiedName { table.sqlName }

    /// The referencing table and the referenced one: both are locked by the change.
    var tables: [ObjectName] { [table] + (constraint.foreignKey.map { [ObjectName(parsing: $0.referencedTable)] } ?? []) }

    /// `pg_get_constraintdef`'s text without NOT VALID.
    var definitionWhenValid: String {
        var definition = constraint.definition
        if definition.hasSuffix(" NOT VALID") { definition.removeLast(" NOT VALID".count) }
        return definition
    }

    var dropStatement: SQL { "ALTER TABLE \(tableName) DROP CONSTRAINT \(ident: constraint.name)" }

    /// The key as it was, checked for new rows only: its validation reads the table later.
    var addNotValidStatement: SQL {
        "ALTER TABLE \(tableName) ADD CONSTRAINT \(ident: constraint.name) \(SQL.catalogText(definitionWhenValid)) NOT VALID"
    }

    /// Its validation, in a transaction of its own; `left` says a killed run left it to do.
    func validation(left: Bool = false) -> AtomicSQL {
        AtomicSQL(
            "validate \(constraint.name) against existing rows\(left ? " (left NOT VALID)" : "")",
            ["ALTER TABLE \(tableName) VALIDATE CONSTRAINT \(ident: constraint.name)"],
            lock: .shareUpdateExclusive, on: table, hazards: [.fullTableScan])
    }
}
