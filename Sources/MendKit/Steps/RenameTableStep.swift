import PostgresClient
import SchemaModel

/// `rename_table`: give a table its right name (`calendar` -> `calendar_events`).
public struct RenameTableStep: RepairStep {
    public static let kind = "rename_table"
    public static let summary = "rename a table within its schema"

    public let from: ObjectName
    public let to: ObjectName

    public init?(options: inout OptionReader) {
        let from = options.text("from").map(ObjectName.init(parsing:))
        let toText = options.text("to")
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

    public var settings: [(name: String, value: String)] { [("from", from.description), ("to", to.description)] }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        switch (schema.tables[from.key] != nil, schema.tables[to.key] != nil) {
        case (false, true):
            return .satisfied("\(to) exists and \(from) does not")
        case (true, true):
            return .blocked([StepProblem("both \(from) and \(to) exist; pgmend will not choose between them", table: to)])
        case (false, false):
            return .blocked([StepProblem("neither \(from) nor \(to) exists", table: from)])
        case (true, false):
            let sql = "ALTER TABLE \(QualifiedName(schema: from.schema, from.name).quoted) RENAME TO \(SQLIdentifier(to.name).quoted)"
            return .needed(
                [AtomicSQL("rename \(from) to \(to.name)", [sql], lock: .accessExclusive, on: from, hazards: [.accessExclusiveLock])],
                after: predict(schema))
        }
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
