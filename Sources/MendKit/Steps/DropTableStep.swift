import PostgresClient
import SchemaModel

/// `drop_table`: drop a table that is empty or whose content is in a verified archive. Without
/// either it is blocked, unless the plan says `require_archive: false`.
public struct DropTableStep: RepairStep {
    public static let kind = "drop_table"
    public static let summary = "drop a table that is empty or archived"

    public let table: ObjectName
    public let requireArchive: Bool
    public let folder: String

    public init?(options: inout OptionReader) {
        let table = options.objectName("table")
        requireArchive = options.bool("require_archive", default: true)
        folder = options.optionalText("archives") ?? options.archiveFolder
        guard let table else { return nil }
        self.table = table
    }

    public var scope: [ObjectName]? { [table] }

    public var settings: [(name: String, value: String)] {
        [("table", table.description), ("require_archive", String(requireArchive)), ("archives", folder)]
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        guard schema.tables[table.key] != nil else { return .satisfied("\(table) does not exist") }
        let dependants = TableDependants.problems(of: table, in: schema)
        if !dependants.isEmpty { return .blocked(dependants) }
        guard try probe.tableExists(table) else { return .waiting("\(table) does not exist yet; an earlier step creates it") }
        // Before any row is counted: a table "empty" to a policy or without its partitions'
        // rows is not empty (principle 7).
        let whole = try TableDependants.hierarchyProblems(of: table, step: Self.kind, probe: probe)
            + RowSecurity.problems(of: [table], probe: probe)
        if !whole.isEmpty { return .blocked(whole) }
        let quoted = table.sqlName
        let after = TableDependants.dropping(table, from: schema)
        let rows = try probe.scalar("SELECT count(*) FROM ONLY \(quoted)" as SQL, as: Int.self) ?? 0
        if rows == 0 {
            return .needed([DropIfEmpty(table)], after: after)
        }
        if !requireArchive {
            return .needed(
                [AtomicSQL(
                    "drop \(table) and its \(rows) rows (require_archive: false)", ["DROP TABLE \(quoted)"],
                    lock: .accessExclusive, on: table, hazards: [.accessExclusiveLock, .deletesData])],
                after: after)
        }
        let store = probe.archiveStore(folder)
        if let archived = try TableDependants.matchingArchive(of: table, in: store, probe: probe) {
            return .needed([DropAgainstArchive(table, archive: archived.path, summary: "drop \(table): its \(rows) rows are in the archive \(archived.path)")], after: after)
        }
        // Archives that no longer match say something different from none at all: the table
        // changed after it was archived.
        if let newest = store.archives(of: table, database: probe.connection.database).first, let manifest = newest.manifest {
            let live = try probe.liveFingerprint(table, rowText: manifest.rowText)
            let what = manifest.rows == live.rows
                ? "the same number of rows (\(live.rows)) but other content (fingerprint \(manifest.fingerprint), the table's is now \(live.fingerprint))"
                : "\(manifest.rows) rows, the table now \(live.rows)"
            return .blocked([StepProblem(
                "\(table) has \(rows) rows; an archive of it exists, but it no longer matches them: the newest, \(newest.path), holds \(what); archive it again (archive_table) or say require_archive: false",
                table: table)])
        }
        return .blocked([StepProblem(
            "\(table) has \(rows) rows and no archive of them in \(folder)/\(probe.connection.database); archive it first (archive_table) or say require_archive: false",
            table: table)])
    }
}
