import PostgresClient
import SchemaModel

/// `duplicate_index`, `redundant_index` and `invalid_index`: exactly what `dedupe_indexes`
/// would drop (its rules, `IndexRedundancy`, on the facts it reads, `LiveIndexFact`), and the
/// indexes a failed `CREATE INDEX CONCURRENTLY` left invalid: maintained on every write, used
/// by no query.
enum IndexChecks: DoctorCheck {
    static let classes: [FindingClass] = [.duplicateIndex, .redundantIndex, .invalidIndex, .unusedIndex, .btreeIndexOnArray]

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        let usage = try IndexUsage.read(context)
        // The tables dedupe_indexes looks at: not partitioned tables nor partitions.
        let judged = context.tables.filter { $0.kind == .ordinary && $0.partitionOf == nil && $0.indexes.count > 1 }
        let facts = try LiveIndexFact.read(judged.map(\.objectName), prefer: nil, context.probe)
        var found: [Finding] = []
        var dropped: [String: IndexRedundancy.Drop] = [:]
        for table in judged {
            let verdict = IndexRedundancy(table: table, facts: facts, keep: []).verdict(includeRedundant: true)
            for drop in verdict.drops {
                guard let index = table.indexes[drop.index] else { continue }
                dropped[table.objectName.key + "." + drop.index] = drop
                // An invalid duplicate is reported as invalid: dedupe_indexes drops it.
                guard index.valid else { continue }
                found.append(redundancy(drop, index, table, facts, usage, lookAlikes: verdict.lookAlikes))
            }
        }
        for table in context.tables {
            for index in table.indexes.values.sorted(by: { $0.name < $1.name }) where !index.valid {
                found.append(invalid(index, table, usage, duplicateOf: dropped[table.objectName.key + "." + index.name]))
            }
        }
        let age = try context.connection.scalar(
            """
            SELECT extract(epoch FROM now() - coalesce((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
                                                       pg_postmaster_start_time()))::float8
            """, as: Double.self) ?? 0
        found += unused(context, usage, reported: Set(dropped.keys), statisticsAgeDays: age / 86_400)
        found += btreeOnArrays(context)
        return found
    }

    static func redundancy(
        _ drop: IndexRedundancy.Drop, _ index: Index, _ table: Table, _ facts: [String: LiveIndexFact], _ usage: IndexUsage,
        lookAlikes: [String]
    ) -> Finding {
        let duplicate = drop.reason.hasPrefix("duplicate")
        let fact = facts[table.objectName.key + "." + index.name]
        let kept = facts[table.objectName.key + "." + drop.keptInstead]
        let name = ObjectName(schema: table.schema, name: index.name).description
        let keptName = ObjectName(schema: table.schema, name: drop.keptInstead).description
        var evidence = [
            EvidenceItem("kept_instead", .text(keptName)),
            EvidenceItem("reason", .text(drop.reason)),
            EvidenceItem("size", .text(fact?.size ?? "unknown")),
            EvidenceItem("kept_size", .text(kept?.size ?? "unknown")),
        ]
        if let scans = usage.scans[table.objectName.key + "." + index.name] { evidence.append(EvidenceItem("scans", .int(scans))) }
        if let scans = usage.scans[table.objectName.key + "." + drop.keptInstead] { evidence.append(EvidenceItem("kept_scans", .int(scans))) }
        if !lookAlikes.isEmpty { evidence.append(EvidenceItem("look_alikes_kept", .list(lookAlikes))) }
        let summary = duplicate
            ? "\(name) duplicates \(keptName) on \(table.objectName): every write updates both, queries need one"
            : "\(name) is redundant on \(table.objectName): its keys lead \(keptName), which serves its queries"
        return Finding(
            duplicate ? .duplicateIndex : .redundantIndex, .warning, objects: [name, keptName], table: table.objectName.description,
            summary: summary, evidence: evidence, repair: DedupeIndexesStep.kind, planData: ["table": .text(table.objectName.description)])
    }

    static func invalid(_ index: Index, _ table: Table, _ usage: IndexUsage, duplicateOf drop: IndexRedundancy.Drop?) -> Finding {
        let name = ObjectName(schema: table.schema, name: index.name).description
        var evidence = [EvidenceItem("definition", .text(index.definition)), EvidenceItem("unique", .flag(index.unique))]
        if let size = usage.sizes[table.objectName.key + "." + index.name] { evidence.append(EvidenceItem("size", .text(size))) }
        var summary = "\(name) on \(table.objectName) is invalid (a failed CREATE INDEX CONCURRENTLY): writes maintain it, no query uses it"
        if index.unique { summary += ", and it may still refuse duplicates" }
        let partitioned = table.kind == .partitioned || table.partitionOf != nil
        var repair: String? = partitioned ? nil : SQLStep.kind
        var data: [String: EvidenceValue] = [
            "table": .text(table.objectName.description), "definition": .text(index.definition), "schema": .text(table.schema), "index": .text(index.name),
        ]
        if let drop {
            evidence.append(EvidenceItem("duplicate_of", .text(ObjectName(schema: table.schema, name: drop.keptInstead).description)))
            summary += "; it duplicates \(drop.keptInstead), so dedupe_indexes drops it"
            repair = DedupeIndexesStep.kind
            data["dedupe"] = .flag(true)
        } else if partitioned {
            summary += "; on a partitioned table, attach or build the partitions' indexes by hand"
        }
        return Finding(
            .invalidIndex, .warning, objects: [name], table: table.objectName.description, summary: summary, evidence: evidence, repair: repair,
            planData: data)
    }

    static func planSteps(_ findings: [Finding]) -> [PlanDraftStep] {
        var steps: [PlanDraftStep] = []
        let deduped = findings.filter { $0.repair == DedupeIndexesStep.kind }
        var tables: [String] = []
        for finding in deduped {
            if case .text(let table) = finding.planData["table"], !tables.contains(table) { tables.append(table) }
        }
        if !tables.isEmpty {
            var comments = deduped.map { "\($0.id): \($0.summary)" }
            let fromModels = deduped.map(\.subject).filter { $0.hasPrefix("ix_") || $0.contains(".ix_") }
            if !fromModels.isEmpty {
                comments.append(
                    "The application's models may still declare \(fromModels.joined(separator: ", ")) (SQLAlchemy names index=True "
                        + "indexes ix_<table>_<column>): remove index=True there too, or the next autogenerated migration builds it again.")
            }
            steps.append(PlanDraftStep(
                .duplicateIndex, kind: DedupeIndexesStep.kind, comments: comments,
                options: [YAMLPair("tables", .list(tables.map { .plain($0) })), YAMLPair("include_redundant", .bool(true))]))
        }
        for finding in findings where finding.classID == .invalidIndex && finding.repair == SQLStep.kind {
            steps += rebuild(finding)
        }
        return steps
    }

    /// Two `sql` steps: drop the invalid index (concurrently), then build it again from its
    /// definition (concurrently). Split so a rehearsal, which runs both without CONCURRENTLY in
    /// one transaction, does not trip over the leftover's name; each step's `done_when` makes it
    /// idempotent (the drop is done once the index is valid or gone).
    static func rebuild(_ finding: Finding) -> [PlanDraftStep] {
        guard case .text(let definition) = finding.planData["definition"], case .text(let schema) = finding.planData["schema"],
            case .text(let name) = finding.planData["index"]
        else { return [] }
        let index = ObjectName(schema: schema, name: name)
        let regclass = SQLLiteral.quoted(index.sqlName.quoted)
        let validity = "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(" + regclass + ")"
        let dropText = "DROP INDEX CONCURRENTLY IF EXISTS " + index.sqlName.description
        let build = definition.replacingOccurrences(of: " INDEX ", with: " INDEX CONCURRENTLY ", options: [], range: definition.range(of: " INDEX "))
        return [
            PlanDraftStep(
                .invalidIndex, kind: SQLStep.kind, comments: ["\(finding.id): \(finding.summary)", "Drops the invalid leftover; the next step builds it again."],
                options: [
                    YAMLPair("run", .plain(dropText)), YAMLPair("done_when", .plain("SELECT coalesce((" + validity + "), true)")),
                    YAMLPair("lock", .plain("share_update_exclusive")), YAMLPair("transaction", .bool(false)),
                ]),
            PlanDraftStep(
                .invalidIndex, kind: SQLStep.kind,
                comments: ["Builds \(finding.subject) again without blocking writes; delete this step to leave it dropped"
                    + (definition.hasPrefix("CREATE UNIQUE") ? " (a unique index builds only once its duplicate rows are gone)." : ".")],
                options: [
                    YAMLPair("run", .plain(build)), YAMLPair("done_when", .plain("SELECT coalesce((" + validity + "), false)")),
                    YAMLPair("lock", .plain("share_update_exclusive")), YAMLPair("transaction", .bool(false)),
                ]),
        ]
    }
}

/// `pg_stat_user_indexes` of every index, read once: scans since statistics began, and sizes.
/// Keyed by `schema.table.index`.
struct IndexUsage {
    var scans: [String: Int64] = [:]
    var sizes: [String: String] = [:]
    var bytes: [String: Int64] = [:]

    static func read(_ context: DoctorContext) throws -> IndexUsage {
        var usage = IndexUsage()
        for row in try context.connection.query(
            """
            SELECT name, idx_scan, bytes, pg_size_pretty(bytes)
            FROM (SELECT s.schemaname || '.' || s.relname || '.' || s.indexrelname AS name, s.idx_scan, pg_relation_size(s.indexrelid) AS bytes
                  FROM pg_stat_user_indexes s WHERE s.schemaname = ANY(\(bind: context.schema.namespaces)::text[])) AS sized
            """)
        {
            let key = try row.get(0, as: String.self)
            usage.scans[key] = try row.get(1, as: Int64?.self)
            usage.bytes[key] = try row.get(2, as: Int64.self)
            usage.sizes[key] = try row.get(3, as: String.self)
        }
        return usage
    }
}
