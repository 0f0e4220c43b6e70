import PostgresClient
import SchemaModel

/// `archive_table`: write a verified, restorable archive of a table (`schema.sql`,
/// `data.copy.gz`, `manifest.json`) and then drop it. The drop happens only after the archive
/// has been read back from disk and matches what the server sent, in the same transaction that
/// held writes off the table since the first row was read.
public struct ArchiveTableStep: RepairStep {
    public static let kind = "archive_table"
    public static let summary = "archive a table to a verified, restorable folder, then drop it"

    public let tables: [ObjectName]
    public let folder: String
    public let drop: Bool

    public init?(options: inout OptionReader) {
        let single = options.objectName("table", required: false)
        let several = options.objectNameList("tables", required: false)
        let folder = options.optionalText("to") ?? options.archiveFolder
        let drop = options.bool("drop", default: true)
        // Which were written, whether or not they hold good names (those are reported already).
        switch (options.has("table"), options.has("tables")) {
        case (false, false):
            options.report(options.location, "archive_table needs option 'table' or 'tables'")
            return nil
        case (true, true):
            options.report(options.location(of: "tables"), "archive_table takes 'table' or 'tables', not both")
            return nil
        default:
            guard let written = single.map({ [$0] }) ?? several, !written.isEmpty else { return nil }
            tables = written
        }
        self.folder = folder
        self.drop = drop
    }

    public var scope: [ObjectName]? { tables }

    public var settings: [(name: String, value: String)] {
        [("tables", tables.map(\.description).joined(separator: ", ")), ("to", folder), ("drop", String(drop))]
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        let store = probe.archiveStore(folder)
        var effects: [any Effect] = []
        var after = schema
        var satisfied: [String] = []
        var problems: [StepProblem] = []
        for table in tables {
            let archives = store.archives(of: table, database: probe.connection.database)
            guard schema.tables[table.key] != nil else {
                if let newest = archives.first {
                    satisfied.append("\(table) is archived in \(newest.path)")
                } else {
                    problems.append(StepProblem("\(table) does not exist and no archive of it is in \(folder)/\(ArchiveStore.folderName(database: probe.connection.database))", table: table))
                }
                continue
            }
            if drop {
                let dependants = TableDependants.problems(of: table, in: schema)
                if !dependants.isEmpty {
                    problems += dependants
                    continue
                }
            }
            guard try probe.tableExists(table) else {
                return .waiting("\(table) does not exist yet; an earlier step creates it")
            }
            // Before any row is read: all of a table or nothing (principle 7).
            let whole = try TableDependants.hierarchyProblems(of: table, step: Self.kind, probe: probe)
                + RowSecurity.problems(of: [table], probe: probe)
            if !whole.isEmpty {
                problems += whole
                continue
            }
            if let archived = try TableDependants.matchingArchive(of: table, in: store, probe: probe) {
                if drop {
                    effects.append(DropAgainstArchive(table, archive: archived.path, summary: "drop \(table): its content matches the archive \(archived.path)"))
                    after = TableDependants.dropping(table, from: after)
                } else {
                    satisfied.append("\(table) is archived in \(archived.path)")
                }
                continue
            }
            let target = "\(folder)/\(ArchiveStore.folderName(database: probe.connection.database))/\(ArchiveStore.folderName(table: table))-<UTC time>/"
            effects.append(ArchiveTable(table, folder: folder, drop: drop, target: target))
            if drop { after = TableDependants.dropping(table, from: after) }
        }
        if !problems.isEmpty { return .blocked(problems) }
        if effects.isEmpty { return .satisfied(satisfied.joined(separator: "; ")) }
        return .needed(effects, after: after)
    }
}
