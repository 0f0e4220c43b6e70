import Foundation
import SchemaModel

/// `naive_timestamp`: `timestamp without time zone` columns, one finding per table (objects:
/// the table, then its columns). The evidence says how the values were written: each
/// column's default (`timezone('utc', now())` writes UTC's wall clock; `now()`,
/// `CURRENT_TIMESTAMP`, `LOCALTIMESTAMP` the writing session's zone, by default the server's
/// `TimeZone`), and the `timestamptz` columns of the same table and of the tables a foreign
/// key joins it to. Catalog only: no data is read. Repaired by `normalize_timestamps`, whose
/// `assume_time_zone` only the operator can choose.
enum NaiveTimestampCheck: DoctorCheck {
    static let classes: [FindingClass] = [.naiveTimestamp]

    /// How a default writes a naive timestamp.
    enum Writer: Equatable {
        /// The wall clock of a named zone: `timezone('utc'::text, now())`, `now() AT TIME ZONE 'utc'`.
        case zone(String)
        /// The writing session's zone: `now()`, `CURRENT_TIMESTAMP`, `LOCALTIMESTAMP`, ...
        case session
        case other

        init?(_ expression: String?) {
            guard let expression else { return nil }
            let lower = expression.lowercased()
            if let zone = Self.namedZone(lower) {
                self = .zone(zone)
            } else if ["now()", "current_timestamp", "localtimestamp", "statement_timestamp()", "transaction_timestamp()", "clock_timestamp()"]
                .contains(where: { lower.contains($0) }) {
                self = .session
            } else {
                self = .other
            }
        }

        /// `timezone('utc'::text, now())` -> utc; `(now() AT TIME ZONE 'utc'::text)` -> utc.
        static func namedZone(_ lower: String) -> String? {
            for marker in ["timezone('", "at time zone '"] {
                guard let start = lower.range(of: marker)?.upperBound, let end = lower[start...].firstIndex(of: "'") else { continue }
                return String(lower[start..<end])
            }
            return nil
        }
    }

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        let serverZone = try context.connection.scalar("SELECT reset_val FROM pg_settings WHERE name = 'TimeZone'", as: String.self) ?? "unknown"
        let related = relatedTables(context.schema)
        var findings: [Finding] = []
        for table in ColumnRoles.tables(context) {
            let naive = table.columns.filter { ColumnRoles.isNaiveTimestamp($0.type) && $0.generatedExpression == nil }
            guard !naive.isEmpty else { continue }
            let zoned = table.columns.filter { ColumnRoles.isZonedTimestamp($0.type) }.map { ColumnRoles.name(table, $0.name) }
            let zonedRelated = (related[table.objectName.key] ?? []).sorted().compactMap { context.schema.tables[$0] }.flatMap { other in
                other.columns.filter { ColumnRoles.isZonedTimestamp($0.type) }.map { ColumnRoles.name(other, $0.name) }
            }
            findings.append(finding(table, naive, zoned: zoned, zonedRelated: zonedRelated, serverZone: serverZone))
        }
        return findings
    }

    static func finding(_ table: Table, _ naive: [Column], zoned: [String], zonedRelated: [String], serverZone: String) -> Finding {
        let names = naive.map { ColumnRoles.name(table, $0.name) }
        let writers = naive.compactMap { Writer($0.defaultExpression) }
        var evidence = [EvidenceItem("columns", .list(naive.map { column in
            column.name + (column.defaultExpression.map { " default \($0)" } ?? "")
        }))]
        if !zoned.isEmpty { evidence.append(EvidenceItem("timestamptz_in_table", .list(zoned))) }
        if !zonedRelated.isEmpty { evidence.append(EvidenceItem("timestamptz_in_related_tables", .list(Array(zonedRelated.prefix(6))))) }
        let hint = zoneHint(writers, serverZone: serverZone)
        evidence.append(EvidenceItem("written_in", .text(hint)))
        evidence.append(EvidenceItem("server_time_zone", .text(serverZone)))
        let mixed = zoned.isEmpty ? "" : " while \(zoned.joined(separator: ", ")) \(zoned.count == 1 ? "is" : "are") timestamptz"
        let list = naive.count == 1 ? "\(names[0]) is" : "\(naive.count) columns of \(table.objectName) are"
        return Finding(
            .naiveTimestamp, .warning, objects: [table.objectName.description] + names, table: table.objectName.description,
            summary: "\(list) timestamp without time zone\(mixed): which instant a value means depends on a zone nobody recorded",
            evidence: evidence, repair: NormalizeTimestampsStep.kind,
            planData: ["columns": .list(names), "written_in": .text(hint), "server_time_zone": .text(serverZone)])
    }

    /// What the defaults say about the zone the values were written in.
    static func zoneHint(_ writers: [Writer], serverZone: String) -> String {
        let zones = Set(writers.compactMap { if case .zone(let zone) = $0 { zone } else { nil } })
        let session = writers.contains(.session)
        var parts: [String] = []
        if !zones.isEmpty { parts.append("defaults write the wall clock of \(zones.sorted().joined(separator: ", ")) (timezone('...', now()))") }
        if session { parts.append("defaults write now() in the writing session's zone (by default the server's, \(serverZone))") }
        if parts.isEmpty { parts.append("no default says; values written by the application, in its zone") }
        return parts.joined(separator: "; ")
    }

    /// Tables joined by a foreign key either way, by key.
    static func relatedTables(_ schema: Schema) -> [String: Set<String>] {
        var related: [String: Set<String>] = [:]
        for table in schema.tables.values {
            for key in table.constraints.values.compactMap(\.foreignKey) where key.referencedTable != table.objectName.key {
                related[table.objectName.key, default: []].insert(key.referencedTable)
                related[key.referencedTable, default: []].insert(table.objectName.key)
            }
        }
        return related
    }

    /// One `normalize_timestamps` step naming every column; the zone is the operator's
    /// choice, asked with what the defaults and the server say.
    static func planSteps(_ findings: [Finding]) -> [PlanDraftStep] {
        guard !findings.isEmpty else { return [] }
        var columns: [YAMLValue] = []
        var hints: [String] = []
        var serverZone = "unknown"
        for finding in findings {
            if case .list(let names)? = finding.planData["columns"] { columns += names.map(YAMLValue.plain) }
            if let hint = finding.planData["written_in"]?.description, !hints.contains(hint) { hints.append(hint) }
            if let zone = finding.planData["server_time_zone"]?.description { serverZone = zone }
        }
        let utc = hints.allSatisfy { $0.contains("wall clock of utc") && !$0.contains("session") }
        let question = "the zone these values were written in (a name PostgreSQL knows, e.g. UTC, Europe/Berlin): "
            + hints.joined(separator: "; ") + "; the server's TimeZone is \(serverZone)"
            + (utc ? "; the defaults suggest UTC" : "") + ". A zone with daylight saving may need on_nonexistent / on_ambiguous"
        let mixed = findings.filter { finding in finding.evidence.contains { $0.label == "timestamptz_in_table" } }.map(\.subject)
        var comments = ["naive_timestamp: \(columns.count) columns of \(findings.count) tables are timestamp without time zone (\(findings.map(\.subject).joined(separator: ", ")))"]
        if !mixed.isEmpty { comments.append("mixed with timestamptz in the same table: \(mixed.joined(separator: ", "))") }
        return [PlanDraftStep(
            .naiveTimestamp, kind: NormalizeTimestampsStep.kind, comments: comments,
            options: [YAMLPair("columns", .list(columns)), YAMLPair("assume_time_zone", .decide(question))])]
    }
}
