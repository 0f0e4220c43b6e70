import PostgresClient
import SchemaModel

/// `rename_table`: give a table its right name (`calendar` -> `calendar_events`).
public struct RenameTableStep: RepairStep {
    public static let kind = "rename_table"
    public static let summary = "rename a table within its schema"

    public let from: ObjectName
    public let to: ObjectName
    /// Also rename the table's constraints, indexes and owned sequences named after it.
    public let renameDependents: Bool

    public init?(options: inout OptionReader) {
        let from = options.objectName("from")
        let toText = options.qualifiedName("to")
        renameDependents = options.bool("rename_dependents", default: false)
        guard let from, let toText else { return nil }
        var to = ObjectName(parsing: toText)
        if !toText.contains(".") { to.schema = from.schema }
        if to.schema != from.schema {
            options.report(options.location(of: "to"), "rename_table renames within a schema: '\(toText)' is in schema '\(to.schema)', '\(from)' in '\(from.schema)'")
            return nil
        }
        self.from = from
        self.to = to
    }

    public var scope: [ObjectName]? { [from, to] }

    public var settings: [(name: String, value: String)] {
        [("from", from.description), ("to", to.description), ("rename_dependents", String(renameDependents))]
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        switch (schema.tables[from.key] != nil, schema.tables[to.key] != nil) {
        case (false, true):
            // A run that renamed the table without them (or before the option was added)
            // left names to finish.
            let renames = renameDependents ? dependentRenames(in: schema) : []
            if renames.isEmpty { return .satisfied("\(to) exists and \(from) does not") }
            if let problems = problems(of: renames, in: schema) { return .blocked(problems) }
            return .needed(
                [AtomicSQL("rename what \(to) still names after \(from.name)", renames.map(statement), lock: .accessExclusive, on: to, hazards: [.accessExclusiveLock])],
                after: applying(renames, to: schema))
        case (true, true):
            return .blocked([StepProblem("both \(from) and \(to) exist; pgmend will not choose between them", table: to)])
        case (false, false):
            return .blocked([StepProblem("neither \(from) nor \(to) exists", table: from)])
        case (true, false):
            let sql: SQL = "ALTER TABLE \(from.sqlName) RENAME TO \(ident: to.name)"
            let renamed = predict(schema)
            let renames = renameDependents ? dependentRenames(in: renamed) : []
            if let problems = problems(of: renames, in: renamed) { return .blocked(problems) }
            // One transaction: no moment shows the new table with its old constraint names.
            let summary = renames.isEmpty ? "rename \(from) to \(to.name)" : "rename \(from) to \(to.name) with its constraints, indexes and sequences"
            return .needed(
                [AtomicSQL(summary, [sql] + renames.map(statement), lock: .accessExclusive, on: from, hazards: [.accessExclusiveLock])],
                after: applying(renames, to: renamed))
        }
    }

    /// A constraint (with the index that enforces it), an index or a sequence owned by the
    /// table, whose name begins with the old table's.
    struct DependentRename {
        enum Kind { case constraint, index, sequence }
        var kind: Kind
        var old: String
        var new: String
    }

    /// What of table `to` (renamed or about to be) is still named after `from`: names that
    /// begin with `from_`, which become `to_` and the rest. When `to` itself begins with
    /// `from_` (`calendar` -> `calendar_events`), names already beginning with `to_` are the
    /// new ones and stay.
    func dependentRenames(in schema: Schema) -> [DependentRename] {
        guard let table = schema.tables[to.key] else { return [] }
        let oldPrefix = from.name + "_"
        let newPrefix = to.name + "_"
        func renamed(_ name: String) -> String? {
            guard name.hasPrefix(oldPrefix) else { return nil }
            if newPrefix.count > oldPrefix.count && name.hasPrefix(newPrefix) { return nil }
            return newPrefix + name.dropFirst(oldPrefix.count)
        }
        var renames: [DependentRename] = []
        for name in table.constraints.keys.sorted() {
            if let new = renamed(name) { renames.append(DependentRename(kind: .constraint, old: name, new: new)) }
        }
        // An index that enforces a constraint is renamed with it.
        for (name, index) in table.indexes.sorted(by: { $0.key < $1.key }) where index.constraint == nil {
            if let new = renamed(name) { renames.append(DependentRename(kind: .index, old: name, new: new)) }
        }
        for sequence in schema.sequences.values.sorted(by: { $0.name < $1.name })
        where sequence.schema == to.schema && sequence.ownedBy?.hasPrefix(to.key + ".") == true {
            if let new = renamed(sequence.name) { renames.append(DependentRename(kind: .sequence, old: sequence.name, new: new)) }
        }
        return renames
    }

    /// New names PostgreSQL would cut (longer than 63 bytes) or that are taken: the rename
    /// would fail, or leave names other than predicted.
    func problems(of renames: [DependentRename], in schema: Schema) -> [StepProblem]? {
        let relations = Set(
            schema.tables.values.filter { $0.schema == to.schema }.flatMap { [$0.name] + $0.indexes.keys }
                + schema.views.values.filter { $0.schema == to.schema }.flatMap { [$0.name] + $0.indexes.keys }
                + schema.sequences.values.filter { $0.schema == to.schema }.map(\.name))
        let constraints = Set(schema.tables[to.key]?.constraints.keys.map { $0 } ?? [])
        func taken(_ rename: DependentRename) -> Bool {
            guard rename.kind == .constraint else { return relations.contains(rename.new) }
            // A constraint with an index needs the name free among relations too.
            let hasIndex = schema.tables[to.key]?.constraints[rename.old]?.index != nil
            return constraints.contains(rename.new) || (hasIndex && relations.contains(rename.new))
        }
        var problems: [StepProblem] = []
        for rename in renames {
            if rename.new.utf8.count > 63 {
                problems.append(StepProblem("\(rename.old) would become \(rename.new), longer than PostgreSQL's 63 bytes for a name", table: to))
            } else if taken(rename) {
                problems.append(StepProblem("\(rename.old) cannot become \(rename.new): the name is taken", table: to))
            }
        }
        return problems.isEmpty ? nil : problems
    }

    func statement(_ rename: DependentRename) -> SQL {
        let newName = SQLIdentifier(rename.new)
        switch rename.kind {
        case .constraint:
            // Renaming a primary key, unique or exclusion constraint renames its index too.
            return "ALTER TABLE \(to.sqlName) RENAME CONSTRAINT \(ident: rename.old) TO \(newName)"
        case .index:
            return "ALTER INDEX \(QualifiedName(schema: to.schema, rename.old)) RENAME TO \(newName)"
        case .sequence:
            return "ALTER SEQUENCE \(QualifiedName(schema: to.schema, rename.old)) RENAME TO \(newName)"
        }
    }

    /// The schema with the renames done: names, the index statements that print them, and
    /// the column defaults that print a renamed sequence (`nextval('public.t_id_seq'::regclass)`).
    func applying(_ renames: [DependentRename], to schema: Schema) -> Schema {
        guard var table = schema.tables[to.key] else { return schema }
        var after = schema
        func renameIndex(_ old: String, _ new: String, constraint: String?) {
            guard var index = table.indexes.removeValue(forKey: old) else { return }
            index.name = new
            index.constraint = constraint
            index.definition = index.definition.replacingOccurrences(
                of: "INDEX \(PrintedNames.identifier(old)) ON ", with: "INDEX \(PrintedNames.identifier(new)) ON ")
            table.indexes[new] = index
        }
        for rename in renames {
            switch rename.kind {
            case .constraint:
                guard var constraint = table.constraints.removeValue(forKey: rename.old) else { continue }
                constraint.name = rename.new
                if let index = constraint.index {
                    renameIndex(index, rename.new, constraint: rename.new)
                    constraint.index = rename.new
                }
                table.constraints[rename.new] = constraint
            case .index:
                renameIndex(rename.old, rename.new, constraint: nil)
            case .sequence:
                let oldKey = ObjectName(schema: to.schema, name: rename.old).key
                guard var sequence = after.sequences.removeValue(forKey: oldKey) else { continue }
                sequence.name = rename.new
                after.sequences[ObjectName(schema: to.schema, name: rename.new).key] = sequence
            }
        }
        after.tables[to.key] = table
        // regclass prints the sequence's current name, as a literal.
        for rename in renames where rename.kind == .sequence {
            func literal(_ name: String) -> String {
                "'" + PrintedNames.qualified(ObjectName(schema: to.schema, name: name)).replacingOccurrences(of: "'", with: "''") + "'::regclass"
            }
            for (key, other) in after.tables {
                for (position, column) in other.columns.enumerated() {
                    guard let expression = column.defaultExpression, expression.contains(literal(rename.old)) else { continue }
                    after.tables[key]?.columns[position].defaultExpression = expression.replacingOccurrences(of: literal(rename.old), with: literal(rename.new))
                }
            }
        }
        return after
    }

    /// The table under its new name, and every definition that printed the old one.
    func predict(_ schema: Schema) -> Schema {
        guard var table = schema.tables[from.key] else { return schema }
        var after = schema
        let old = PrintedNames.qualified(from)
        let new = PrintedNames.qualified(to)
        func rewrite(_ text: String) -> String { PrintedNames.replacingName(old, with: new, in: text) }

        after.tables[from.key] = nil
        table.name = to.name
        for (name, index) in table.indexes { table.indexes[name]?.definition = rewrite(index.definition) }
        for (name, trigger) in table.triggers { table.triggers[name]?.definition = rewrite(trigger.definition) }
        after.tables[to.key] = table
        for (key, other) in after.tables {
            for (name, constraint) in other.constraints where constraint.foreignKey?.referencedTable == from.key {
                after.tables[key]?.constraints[name]?.definition = rewrite(constraint.definition)
                after.tables[key]?.constraints[name]?.foreignKey?.referencedTable = to.key
            }
        }
        // A view without an alias qualifies columns by the bare table name: calendar.id.
        let oldBare = PrintedNames.identifier(from.name)
        let newBare = PrintedNames.identifier(to.name)
        for (key, view) in after.views {
            after.views[key]?.definition = PrintedNames.replacingName(
                oldBare, with: newBare, in: rewrite(view.definition), qualifier: true)
            after.views[key]?.dependsOn = view.dependsOn.map { $0.hasPrefix(from.key + ".") ? to.key + $0.dropFirst(from.key.count) : $0 }.sorted()
        }
        for (key, sequence) in after.sequences {
            if let owner = sequence.ownedBy, owner.hasPrefix(from.key + ".") {
                after.sequences[key]?.ownedBy = to.key + owner.dropFirst(from.key.count)
            }
        }
        return after
    }
}
