import PostgresClient
import SchemaModel

/// `fix_foreign_keys`: makes each listed reference a validated foreign key with exactly the
/// actions the models declare, replacing one on the same column that differs. Added NOT VALID
/// (a brief lock), then validated (reads and writes go on); rows whose value has no parent
/// block it unless `orphans: null` (journaled, then set to NULL) or `orphans: delete` (archived,
/// then deleted), decided under the lock of the transaction that adds the constraint.
public struct FixForeignKeysStep: RepairStep {
    public static let kind = "fix_foreign_keys"
    public static let summary = "make references validated foreign keys with the declared ON DELETE / ON UPDATE; orphans block, or are set to NULL (journaled) or deleted (archived)"

    /// One reference as the plan writes it: `{from: memories.user_id, to: users.id, on_delete: cascade}`,
    /// or with several columns `{from: [orders.shop_id, orders.sku], to: [products.shop_id, products.sku]}`.
    public struct Reference: Sendable {
        public var table: ObjectName
        /// The referencing columns, in order; one for most references.
        public var columns: [String]
        public var target: ObjectName
        /// The referenced columns, paired with `columns` in order.
        public var targetColumns: [String]
        public var onDelete: ForeignKey.Action
        public var onUpdate: ForeignKey.Action
        public var index: Bool

        /// PostgreSQL's own default name for the foreign key (within 63 bytes).
        var constraintName: String { GeneratedName.make([table.name] + columns, suffix: "fkey") }
        var indexName: String { GeneratedName.make([table.name] + columns, suffix: "idx") }
        /// `memories.user_id`, or `orders.(shop_id, sku)`.
        var fromText: String { Self.text(table, columns) }
        var toText: String { Self.text(target, targetColumns) }
        var columnsText: String { columns.count == 1 ? columns[0] : "(\(columns.joined(separator: ", ")))" }

        static func text(_ table: ObjectName, _ columns: [String]) -> String {
            columns.count == 1 ? "\(table).\(columns[0])" : "\(table).(\(columns.joined(separator: ", ")))"
        }
    }

    /// What to do with rows whose value has no parent.
    public enum Orphans: String, Sendable { case fail, null, delete }

    public let references: [Reference]
    public let orphans: Orphans
    /// Where `orphans: delete` archives the rows it deletes.
    public let archiveFolder: String

    public init?(options: inout OptionReader) {
        var references: [Reference] = []
        let items = options.mapList("references", itemOwner: "each reference of fix_foreign_keys") ?? []
        var good = !items.isEmpty
        for var item in items {
            let from = Self.columnReferences("from", &item)
            let to = Self.columnReferences("to", &item)
            let onDelete = Self.action(&item, "on_delete")
            let onUpdate = Self.action(&item, "on_update")
            let index = item.bool("index", default: false)
            if let from, let to, from.columns.count != to.columns.count {
                item.report(item.location(of: "to"), "from names \(from.columns.count) column\(from.columns.count == 1 ? "" : "s") and to \(to.columns.count): they pair in order")
                good = false
            } else if let from, let to, let onDelete, let onUpdate {
                references.append(Reference(
                    table: from.table, columns: from.columns, target: to.table, targetColumns: to.columns, onDelete: onDelete, onUpdate: onUpdate, index: index))
            } else {
                good = false
            }
            options.absorb(item)
        }
        var orphans = Orphans.fail
        if options.optionLocations["orphans"] != nil, !options.has("orphans") {
            // `orphans: null` unquoted is YAML's null: the operator wrote the null strategy,
            // and reading it as absent would quietly mean `fail`.
            orphans = .null
            _ = options.optionalText("orphans")
        } else if let text = options.optionalText("orphans") {
            if let value = Orphans(rawValue: text) {
                orphans = value
            } else {
                options.report(options.location(of: "orphans"), "orphans must be fail, null or delete, not '\(text)'")
                good = false
            }
        }
        for (i, reference) in references.enumerated() where references[..<i].contains(where: { $0.table == reference.table && $0.columns == reference.columns }) {
            options.report(options.location(of: "references"), "\(reference.fromText) is listed twice in references")
            good = false
        }
        let archiveFolder = options.optionalText("archive_to")
        if archiveFolder != nil, orphans != .delete {
            options.report(options.location(of: "archive_to"), "archive_to is where orphans: delete archives rows; with orphans: \(orphans.rawValue) nothing is archived")
            good = false
        }
        guard good else { return nil }
        self.references = references
        self.orphans = orphans
        self.archiveFolder = archiveFolder ?? options.archiveFolder
    }

    /// `from` or `to`: one `table.column`, or a list of them, all of one table, no column twice.
    private static func columnReferences(_ key: String, _ reader: inout OptionReader) -> (table: ObjectName, columns: [String])? {
        guard let raw = reader.rawValue(key), raw.list != nil else {
            guard let text = reader.text(key), let (table, column) = columnReference(text, key, &reader) else { return nil }
            return (table, [column])
        }
        guard let items = reader.locatedTextList(key), !items.isEmpty else { return nil }
        var parsed: [(ObjectName, String)] = []
        for item in items {
            guard let one = columnReference(item.text, key, &reader) else { return nil }
            parsed.append(one)
        }
        let table = parsed[0].0
        guard parsed.allSatisfy({ $0.0 == table }) else {
            reader.report(reader.location(of: key), "the columns of '\(key)' must all be of one table, not \(Set(parsed.map { $0.0.description }).sorted().joined(separator: " and "))")
            return nil
        }
        let columns = parsed.map(\.1)
        guard Set(columns).count == columns.count else {
            reader.report(reader.location(of: key), "'\(key)' names a column twice")
            return nil
        }
        return (table, columns)
    }

    /// `table.column` or `schema.table.column`: the last dot ends the table's name.
    private static func columnReference(_ text: String, _ key: String, _ reader: inout OptionReader) -> (ObjectName, String)? {
        guard let dot = text.lastIndex(of: "."), dot != text.startIndex, text.index(after: dot) != text.endIndex else {
            reader.report(reader.location(of: key), "\(key) must be written table.column, not '\(text)'")
            return nil
        }
        let table = String(text[..<dot])
        let column = String(text[text.index(after: dot)...])
        guard reader.checkName(table, at: reader.location(of: key), what: "the table of '\(key)'", qualified: "table"),
            reader.checkName(column, at: reader.location(of: key), what: "the column of '\(key)'")
        else { return nil }
        return (ObjectName(parsing: table), column)
    }

    /// `cascade`, `set_null`, `set_default`, `restrict`, `no_action` (the default).
    private static func action(_ reader: inout OptionReader, _ key: String) -> ForeignKey.Action? {
        guard let text = reader.optionalText(key) else { return .noAction }
        if let action = ForeignKey.Action(rawValue: text.uppercased().replacingOccurrences(of: "_", with: " ")) { return action }
        reader.report(reader.location(of: key), "\(key) must be one of cascade, set_null, set_default, restrict, no_action; not '\(text)'")
        return nil
    }

    public var scope: [ObjectName]? {
        var tables: [ObjectName] = []
        for reference in references {
            for table in [reference.table, reference.target] where !tables.contains(table) { tables.append(table) }
        }
        return tables
    }

    public var settings: [(name: String, value: String)] {
        references.map { reference in
            var text = "\(reference.toText) ON DELETE \(reference.onDelete.rawValue)"
            if reference.onUpdate != .noAction { text += " ON UPDATE \(reference.onUpdate.rawValue)" }
            if reference.index { text += ", indexed" }
            return ("reference \(reference.fromText)", text)
        } + [("orphans", orphans.rawValue)] + (orphans == .delete ? [("archive_to", archiveFolder)] : [])
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        var effects: [any Effect] = []
        var problems: [StepProblem] = []
        var after = schema
        var waiting: [String] = []
        for reference in references {
            // Each reference is assessed on the schema the ones before it leave: two references
            // from one table would otherwise each predict the table with only its own change.
            switch try assess(reference, after, probe) {
            case .satisfied: continue
            case .waiting(let reason): waiting.append(reason)
            case .blocked(let found): problems += found
            case .needed(let found, let predicted):
                effects += found
                if let table = predicted?.tables[reference.table.key] { after.tables[reference.table.key] = table }
            }
        }
        if !problems.isEmpty { return .blocked(problems) }
        if !waiting.isEmpty { return .waiting(waiting.joined(separator: "; ")) }
        if effects.isEmpty {
            return .satisfied("every reference is a validated foreign key with the declared actions")
        }
        return .needed(effects, after: after)
    }

    private func assess(_ reference: Reference, _ schema: Schema, _ probe: Probe) throws -> Assessment {
        let from = reference.fromText
        let to = reference.toText
        guard let table = schema.tables[reference.table.key] else {
            return .blocked([StepProblem("table \(reference.table) does not exist", table: reference.table)])
        }
        guard let target = schema.tables[reference.target.key] else {
            return .blocked([StepProblem("table \(reference.target) does not exist", table: reference.target)])
        }
        let notNull: [String]
        switch Self.columnProblems(reference, table, target) {
        case .failure(let problems): return .blocked(problems)
        case .success(let columns): notNull = columns
        }
        // orphans: null sets every column of the reference to NULL.
        let cannotBeNull = !notNull.isEmpty

        let onColumn = table.constraints.values.filter { $0.kind == .foreignKey && $0.columns == reference.columns }.sorted { $0.name < $1.name }
        let wanted = onColumn.first { Self.matches($0, reference) }
        let existingIndex = table.indexes.values.first { index in
            index.valid && index.predicate == nil && index.keys.count >= reference.columns.count
                && zip(index.keys, reference.columns).allSatisfy { $0.isColumn && $0.expression == $1 }
        }
        let needsIndex = reference.index && existingIndex == nil
        if let wanted, wanted.validated, !needsIndex, onColumn.count == 1 {
            return .satisfied("\(from) references \(to)")
        }
        guard try probe.tableExists(reference.table), try probe.tableExists(reference.target) else {
            return .waiting("\(reference.table) or \(reference.target) does not exist yet; an earlier step creates it")
        }

        let sql = ReferenceSQL(reference)
        let orphanRows = try probe.offendingRows(in: reference.table, where: sql.orphans(of: "\(sql.table)", only: ""))
        if orphans == .delete {
            // A deleted orphan must not take rows of other tables with it: those would be
            // deleted or changed without an archive. Checked again under the lock.
            let acting = try probe.query(ResolveRowsUnderLock.actingOnDelete(sql.table)).map { try $0.get(0, as: String.self) }
                + references.filter { $0.target == reference.table && [.cascade, .setNull, .setDefault].contains($0.onDelete) }
                .map { "\($0.fromText) (this step, ON DELETE \($0.onDelete.rawValue))" }
            if !acting.isEmpty {
                return .blocked([StepProblem(
                    "orphans: delete would delete rows of \(reference.table), and these references act on its deletes (their rows would change unarchived): \(acting.joined(separator: ", "))",
                    table: reference.table)])
            }
        }
        if orphanRows.count > 0 {
            if orphans == .fail || (orphans == .null && cannotBeNull) {
                let why = cannotBeNull && orphans == .null ? " (orphans: null cannot clear them: \(notNull.joined(separator: ", ")) is NOT NULL)" : ""
                return .blocked([StepProblem(
                    "rows of \(reference.table) whose \(reference.columnsText) is in no row of \(to)\(why)", count: orphanRows.count, sample: orphanRows.sample,
                    table: reference.table)])
            }
        }

        var effects: [any Effect] = []
        var after = schema
        let name = wanted?.name ?? reference.constraintName
        if needsIndex {
            let indexName = reference.indexName
            let index = ObjectName(schema: reference.table.schema, name: indexName)
            effects.append(ConcurrentSQL(
                "build index \(indexName) on \(from) for the foreign key (deletes of \(reference.target) look it up)",
                "CREATE INDEX CONCURRENTLY \(ident: indexName) ON \(sql.table) (\(sql.columns))",
                rehearsalSQL: "CREATE INDEX \(ident: indexName) ON \(sql.table) (\(sql.columns))",
                lock: .shareUpdateExclusive, on: reference.table, hazards: [.indexBuild], builds: index))
            after.tables[reference.table.key]?.indexes[indexName] = Index(
                name: indexName,
                definition: "CREATE INDEX \(PrintedNames.identifier(indexName)) ON \(PrintedNames.qualified(reference.table)) USING btree (\(reference.columns.map(PrintedNames.identifier).joined(separator: ", ")))",
                keys: reference.columns.map { IndexKey(expression: $0) })
        }
        if wanted == nil || onColumn.count > 1 || orphanRows.count > 0 {
            let old = onColumn.filter { $0.name != wanted?.name }
            effects.append(try constraintChange(reference, sql, replacing: old, named: name, adding: wanted == nil, orphanCount: orphanRows.count, cannotBeNull: cannotBeNull, probe))
            for constraint in old { after.tables[reference.table.key]?.constraints[constraint.name] = nil }
        }
        if wanted?.validated != true {
            effects.append(AtomicSQL(
                "validate \(name) against existing rows", ["ALTER TABLE \(sql.table) VALIDATE CONSTRAINT \(ident: name)"],
                lock: .shareUpdateExclusive, on: reference.table, hazards: [.fullTableScan]))
        }
        var definition = "FOREIGN KEY (\(reference.columns.map(PrintedNames.identifier).joined(separator: ", "))) REFERENCES \(PrintedNames.qualified(reference.target))(\(reference.targetColumns.map(PrintedNames.identifier).joined(separator: ", ")))"
        if reference.onUpdate != .noAction { definition += " ON UPDATE \(reference.onUpdate.rawValue)" }
        if reference.onDelete != .noAction { definition += " ON DELETE \(reference.onDelete.rawValue)" }
        after.tables[reference.table.key]?.constraints[name] = Constraint(
            name: name, kind: .foreignKey, columns: reference.columns, definition: definition,
            foreignKey: ForeignKey(referencedTable: reference.target.key, referencedColumns: reference.targetColumns, onDelete: reference.onDelete, onUpdate: reference.onUpdate))
        return .needed(effects, after: after)
    }

    /// What makes `reference` impossible between `table` and `target` as the catalog has them
    /// (a column missing, two types, a target that is no key, SET NULL on a NOT NULL column),
    /// or its NOT NULL columns.
    private static func columnProblems(_ reference: Reference, _ table: Table, _ target: Table) -> Planned<[String]> {
        var notNull: [String] = []
        for (name, targetName) in zip(reference.columns, reference.targetColumns) {
            guard let column = table.column(name) else {
                return .failure([StepProblem("\(reference.table) has no column \(name)", table: reference.table)])
            }
            guard let targetColumn = target.column(targetName) else {
                return .failure([StepProblem("\(reference.target) has no column \(targetName)", table: reference.target)])
            }
            if column.type != targetColumn.type {
                return .failure([StepProblem(
                    "\(reference.table).\(name) is \(column.type) and \(reference.target).\(targetName) is \(targetColumn.type): a foreign key needs one type; convert it first (normalize_uuid for UUIDs kept as text)",
                    table: reference.table)])
            }
            if column.notNull { notNull.append(name) }
        }
        // PostgreSQL takes the referenced columns in any order, as long as they are exactly a
        // primary key's or a unique constraint's.
        guard target.constraints.values.contains(where: { [.primaryKey, .unique].contains($0.kind) && $0.columns.sorted() == reference.targetColumns.sorted() }) else {
            return .failure([StepProblem("\(reference.toText) is not a primary key or unique constraint of its own: a foreign key can reference only one", table: reference.target)])
        }
        if !notNull.isEmpty, [.setNull].contains(reference.onDelete) || [.setNull].contains(reference.onUpdate) {
            return .failure([StepProblem("\(reference.table).\(notNull.joined(separator: ", ")) is NOT NULL, so SET NULL would fail when the parent goes", table: reference.table)])
        }
        return .success(notNull)
    }

    /// The transaction that drops `old` and, when `adding`, adds the key `name` NOT VALID (else
    /// the wanted key is there), resolving the orphans under its lock as `orphans` says.
    private func constraintChange(
        _ reference: Reference, _ sql: ReferenceSQL, replacing old: [Constraint], named name: String, adding: Bool, orphanCount: Int, cannotBeNull: Bool, _ probe: Probe
    ) throws -> any Effect {
        let from = reference.fromText
        let to = reference.toText
        // The old constraint goes in the transaction that adds the new one, so the column
        // is never without a reference; the brief ACCESS EXCLUSIVE lock is the DROP's.
        var statements: [SQL] = old.map { "ALTER TABLE \(sql.table) DROP CONSTRAINT \(ident: $0.name)" }
        let hazards: [Hazard] = old.isEmpty ? [] : [.accessExclusiveLock]
        if adding {
            var add: SQL = "ALTER TABLE \(sql.table) ADD CONSTRAINT \(ident: name) FOREIGN KEY (\(sql.columns)) REFERENCES \(sql.target) (\(sql.targetColumns))"
            if reference.onUpdate != .noAction { add += " ON UPDATE \(reference.onUpdate.sql)" }
            if reference.onDelete != .noAction { add += " ON DELETE \(reference.onDelete.sql)" }
            statements.append(add + " NOT VALID")
        }
        let lock: LockLevel = old.isEmpty ? .shareRowExclusive : .accessExclusive
        var summary = (old.isEmpty ? "" : "replace \(old.map(\.name).joined(separator: ", ")): ")
            + (adding ? "add \(name) NOT VALID (existing rows are checked next)" : "keep \(name)")
        if orphans == .fail || cannotBeNull && orphans == .null {
            // Nothing to resolve (a NOT NULL column cannot take NULL: its orphans block
            // above, and one committed while this waited makes the validation fail).
            return AtomicSQL(summary, statements, lock: lock, on: [reference.table, reference.target], hazards: hazards)
        } else {
            // Also when none was seen: one committed while this waited for its lock is
            // handled too. Which rows are orphans is decided after the lock, in the
            // transaction that adds the constraint, so none can appear in between.
            let selection = ArchiveWriter.RowSelection(
                condition: sql.orphans(of: "t", only: "ONLY "),
                description: "orphans of \(from): rows whose value is in no row of \(to)", label: "orphans")
            let resolution: ResolveRowsUnderLock.Resolution
            if orphans == .delete {
                let database = ArchiveStore.folderName(database: probe.connection.database)
                let target = "\(archiveFolder)/\(database)/\(ArchiveStore.folderName(table: reference.table))-orphans-<UTC time>/"
                resolution = .delete(folder: archiveFolder, target: target)
                summary = "archive the orphan rows of \(reference.table) (\(orphanCount) now) to \(target), verify, delete them; " + summary
            } else {
                resolution = .setNull(columns: reference.columns, reason: "orphans: null (no row of \(to) has the value)")
                summary += "; set orphan values to NULL, journaled in pgmend.set_aside (\(orphanCount) now)"
            }
            return ResolveRowsUnderLock(
                summary, table: reference.table, selection: selection, resolution: resolution, then: statements, lock: lock,
                on: [reference.table, reference.target], counted: orphanCount)
        }
    }

    /// A reference's names as SQL, and its orphans.
    private struct ReferenceSQL {
        var table: QualifiedName
        var target: QualifiedName
        var columns: [SQLIdentifier]
        var targetColumns: [SQLIdentifier]

        init(_ reference: Reference) {
            table = reference.table.sqlName
            target = reference.target.sqlName
            columns = reference.columns.map(SQLIdentifier.init)
            targetColumns = reference.targetColumns.map(SQLIdentifier.init)
        }

        /// Rows whose value no parent has: under MATCH SIMPLE a row with a NULL in any of the
        /// columns references nothing and is no orphan. `row` is how the table is named.
        func orphans(of row: SQL, only: SQL) -> SQL {
            let present: [SQL] = columns.map { "\(row).\($0) IS NOT NULL" }
            let equal: [SQL] = zip(columns, targetColumns).map { "p.\($1) = \(row).\($0)" }
            return "\(present, separator: " AND ") AND NOT EXISTS (SELECT 1 FROM \(only)\(target) p WHERE \(equal, separator: " AND "))"
        }
    }

    /// Exactly the reference: the same parent column and actions, plain MATCH SIMPLE, not deferrable.
    static func matches(_ constraint: Constraint, _ reference: Reference) -> Bool {
        guard let key = constraint.foreignKey else { return false }
        return key.referencedTable == reference.target.key && key.referencedColumns == reference.targetColumns
            && key.onDelete == reference.onDelete && key.onUpdate == reference.onUpdate && key.match == .simple && !constraint.deferrable
    }
}

extension ForeignKey.Action {
    /// The action as the ON DELETE / ON UPDATE clause writes it.
    fileprivate var sql: SQL {
        switch self {
        case .noAction: "NO ACTION"
        case .restrict: "RESTRICT"
        case .cascade: "CASCADE"
        case .setNull: "SET NULL"
        case .setDefault: "SET DEFAULT"
        }
    }
}
