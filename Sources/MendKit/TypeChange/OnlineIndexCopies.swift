import PostgresClient
import SchemaModel

extension OnlineTable {
    /// The indexes on the columns, built on the shadows beforehand (`CONCURRENTLY`) and
    /// attached by the swap; with a conversion that nulls values, the partial index of the rows
    /// it nulls, by which the swap journals them under its lock.
    func indexCopies(after: inout Schema) -> (builds: [any Effect], attach: [SQL], setAside: [AlterColumnTypes.SetAside]) {
        var builds: [any Effect] = []
        var attach: [SQL] = []
        for index in model.indexes.values.sorted(by: { $0.name < $1.name }) where !OnlineTypeChange.isOwnIndex(index.name) {
            let usesColumn = index.keys.contains { $0.isColumn && columns.contains($0.expression) } || index.include.contains { columns.contains($0) }
            guard usesColumn else { continue }
            let copy = conversion.indexName(index.name)
            if model.indexes[copy]?.valid != true {
                builds.append(Self.concurrentBuild(
                    "build \(copy) on \(name), the index \(index.name) will be after the swap", copyStatement(of: index), on: name, building: copy))
            }
            after.tables[name.key]?.indexes[copy] = nil
            attach.append(attachStatement(copy, as: index))
        }
        var setAside: [AlterColumnTypes.SetAside] = []
        for retype in retypes {
            guard let reason = retype.nulledReason else { continue }
            let column = retype.column.column
            let nulled: SQL = "\(ident: column) IS NOT NULL AND \(ident: conversion.shadowName(column)) IS NULL"
            let index = OnlineTypeChange.nulledIndexName(name, column)
            if model.indexes[index]?.valid != true {
                let keyColumns = key.map { SQLIdentifier($0.name) }
                builds.append(Self.concurrentBuild(
                    "build \(index) on \(name): the rows whose \(column) the conversion sets to NULL, journaled under the swap's lock",
                    { concurrently in "CREATE INDEX \(concurrently)\(ident: index) ON \(table) (\(keyColumns)) WHERE \(nulled)" }, on: name, building: index))
            }
            after.tables[name.key]?.indexes[index] = nil
            setAside.append(ColumnTypeChange.setAside(name, key: RowKey(key.map(\.name)), column: column, reason: reason, where: nulled))
        }
        return (builds, attach, setAside)
    }

    /// `statement` with `CONCURRENTLY ` (the build) and without (its rehearsal, in a transaction).
    static func concurrentBuild(_ summary: String, _ statement: (SQL) -> SQL, on table: ObjectName, building index: String) -> ConcurrentSQL {
        ConcurrentSQL(
            summary, statement("CONCURRENTLY "), rehearsalSQL: statement(""),
            lock: .shareUpdateExclusive, on: table, hazards: [.indexBuild], builds: ObjectName(schema: table.schema, name: index))
    }

    /// The CREATE INDEX of `index`'s copy on the shadows (given `CONCURRENTLY ` or nothing):
    /// its keys with their collations and operator classes as the catalog names them, quoted
    /// and schema-qualified (`IndexCopySource`), INCLUDE, NULLS NOT DISTINCT, storage,
    /// tablespace and predicate as they are.
    func copyStatement(of index: Index) -> (SQL) -> SQL {
        let source = indexSources[index.name]
        let keys = index.keys.enumerated().map { position, key -> SQL in
            let converted = key.isColumn && columns.contains(key.expression)
            var text: SQL = key.isColumn ? "\(ident: converted ? conversion.shadowName(key.expression) : key.expression)" : "(\(SQL.catalogText(key.expression)))"
            if !converted, let collation = source?.collations[safe: position] ?? nil { text += " COLLATE \(SQL.catalogText(collation))" }
            if let operatorClass = source?.operatorClasses[safe: position] ?? nil { text += " \(SQL.catalogText(operatorClass))" }
            if key.descending { text += key.nullsFirst ? " DESC" : " DESC NULLS LAST" } else if key.nullsFirst { text += " NULLS FIRST" }
            return text
        }
        var tail: SQL = ""
        if !index.include.isEmpty {
            tail += " INCLUDE (\(index.include.map { SQLIdentifier(columns.contains($0) ? conversion.shadowName($0) : $0) }))"
        }
        if index.definition.contains(") NULLS NOT DISTINCT") { tail += " NULLS NOT DISTINCT" }
        if let source, !source.options.isEmpty { tail += " WITH (\(ColumnTypeChange.optionList(source.options)))" }
        if let tablespace = source?.tablespace { tail += " TABLESPACE \(ident: tablespace)" }
        if let predicate = index.predicate { tail += " WHERE \(SQL.catalogText(predicate))" }
        let unique: SQL = index.unique ? "UNIQUE " : ""
        let copy = SQLIdentifier(conversion.indexName(index.name))
        let method = SQL.catalogText(index.method)
        return { concurrently in "CREATE \(unique)INDEX \(concurrently)\(copy) ON \(table) USING \(method) (\(keys, separator: ", "))\(tail)" }
    }

    /// The copy takes the original's place: as the constraint it backed (`USING INDEX`), or
    /// by name.
    func attachStatement(_ copy: String, as index: Index) -> SQL {
        guard let name = index.constraint, let constraint = model.constraints[name], constraint.kind == .primaryKey || constraint.kind == .unique else {
            return "ALTER INDEX \(QualifiedName(schema: self.name.schema, copy)) RENAME TO \(ident: index.name)"
        }
        let kind: SQL = constraint.kind == .primaryKey ? "PRIMARY KEY" : "UNIQUE"
        let deferrable: SQL = !constraint.deferrable ? "" : constraint.initiallyDeferred ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE"
        return "ALTER TABLE \(table) ADD CONSTRAINT \(ident: name) \(kind) USING INDEX \(ident: copy)\(deferrable)"
    }
}

extension Array {
    /// The element at `index`, or nil past the end.
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
