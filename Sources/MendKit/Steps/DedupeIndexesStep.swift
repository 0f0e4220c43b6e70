import PostgresClient
import SchemaModel

/// `dedupe_indexes`: drops indexes that another index of the same table already makes
/// useless (an exact duplicate, or a plain btree index whose keys lead a longer one), each with
/// `DROP INDEX CONCURRENTLY`; what enforces a constraint, identifies rows for replication or
/// orders the table is never dropped.
public struct DedupeIndexesStep: RepairStep {
    public static let kind = "dedupe_indexes"
    public static let summary = "drop duplicate and left-prefix redundant indexes concurrently, keeping the best of each group"

    /// nil: every table the plan's catalog covers.
    public let tables: [ObjectName]?
    public let includeRedundant: Bool
    /// Index names never dropped.
    public let keep: [String]
    /// A LIKE pattern: among equals, an index whose name matches it is kept.
    public let prefer: String?

    public init?(options: inout OptionReader) {
        var tables: [ObjectName]?
        var good = true
        if let value = options.rawValue("tables"), value.text == "all" {
            tables = nil
        } else if options.has("tables") {
            tables = options.objectNameList("tables")
            good = tables != nil
        }
        includeRedundant = options.bool("include_redundant", default: true)
        var keep: [String] = []
        if options.has("keep") {
            guard let names = options.locatedTextList("keep") else { return nil }
            for name in names where options.checkName(name.text, at: name.location, what: "each item of 'keep' in dedupe_indexes") {
                keep.append(name.text)
            }
            good = good && keep.count == names.count
        }
        prefer = options.optionalText("prefer")
        guard good else { return nil }
        self.tables = tables
        self.keep = keep
    }

    public var scope: [ObjectName]? { tables }

    public var settings: [(name: String, value: String)] {
        var lines = [
            ("tables", tables.map { $0.map(\.description).joined(separator: ", ") } ?? "all"),
            ("include_redundant", "\(includeRedundant)"),
        ]
        if !keep.isEmpty { lines.append(("keep", keep.joined(separator: ", "))) }
        if let prefer { lines.append(("prefer", prefer)) }
        return lines
    }

    public func assess(_ schema: Schema, _ probe: Probe) throws -> Assessment {
        var chosen: [Table] = []
        for name in tables ?? schema.tables.values.map(\.objectName).sorted() {
            guard let table = schema.tables[name.key] else {
                return .blocked([StepProblem("table \(name) does not exist", table: name)])
            }
            chosen.append(table)
        }
        let facts = try LiveIndexFact.read(chosen.map(\.objectName), prefer: prefer, probe)
        var effects: [any Effect] = []
        var after = schema
        var looked: [String] = []
        var freed: Int64 = 0
        // A partitioned table's index cannot be dropped concurrently, nor a partition's index
        // that is attached to its parent's: they are left alone.
        for table in chosen where table.kind != .partitioned && table.partitionOf == nil {
            let verdict = IndexRedundancy(table: table, facts: facts, keep: Set(keep)).verdict(includeRedundant: includeRedundant)
            looked += verdict.lookAlikes.map { "\(table.objectName): \($0)" }
            for (position, drop) in verdict.drops.enumerated() {
                guard let index = table.indexes[drop.index] else { continue }
                let fact = facts[table.objectName.key + "." + index.name]
                freed += fact?.bytes ?? 0
                let kept = facts[table.objectName.key + "." + drop.keptInstead]?.size ?? "size unknown"
                var summary = "drop index \(index.name) on \(table.objectName): \(drop.reason); \(fact?.size ?? "size unknown") freed; kept over it: \(drop.keptInstead), \(kept)"
                if position == 0, !verdict.lookAlikes.isEmpty {
                    summary += "; look-alikes kept: " + verdict.lookAlikes.joined(separator: ", ")
                }
                effects.append(Self.drop(index, of: table.objectName, summary: summary))
                after.tables[table.objectName.key]?.indexes[index.name] = nil
            }
        }
        guard !effects.isEmpty else {
            let checked = chosen.count == 1 ? "\(chosen[0].objectName)" : "\(chosen.count) tables"
            return .satisfied("no duplicate or redundant index on \(checked)" + (looked.isEmpty ? "" : "; look-alikes kept: " + looked.joined(separator: ", ")))
        }
        if freed > 0, let total = try probe.scalar("SELECT pg_size_pretty(\(bind: freed)::bigint)", as: String.self), var last = effects.last as? ConcurrentSQL {
            last.summary += " (\(total) freed in all)"
            effects[effects.count - 1] = last
        }
        return .needed(effects, after: after)
    }

    /// One `DROP INDEX CONCURRENTLY` (a brief SHARE UPDATE EXCLUSIVE lock; reads and writes go
    /// on). Its SQL starts with the statement that builds the index again, as a comment: the
    /// journal records every effect's SQL, so `pgmend.statements` holds the way back.
    static func drop(_ index: Index, of table: ObjectName, summary: String) -> ConcurrentSQL {
        let name = QualifiedName(schema: table.schema, index.name)
        return ConcurrentSQL(
            summary, "-- to put it back: \(restoreStatement(index.definition));\nDROP INDEX CONCURRENTLY IF EXISTS \(name)",
            rehearsalSQL: "DROP INDEX IF EXISTS \(name)", lock: .shareUpdateExclusive, on: table)
    }

    /// `pg_get_indexdef`'s text, built concurrently so that putting it back blocks no writes.
    static func restoreStatement(_ definition: String) -> SQL {
        let concurrently: [(printed: String, written: SQL)] = [
            ("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX CONCURRENTLY "), ("CREATE INDEX ", "CREATE INDEX CONCURRENTLY "),
        ]
        for (printed, written) in concurrently where definition.hasPrefix(printed) {
            return written + .catalogText(String(definition.dropFirst(printed.count)))
        }
        return SQL.catalogText(definition)
    }
}
