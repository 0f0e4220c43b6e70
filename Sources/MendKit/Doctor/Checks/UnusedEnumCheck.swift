import Foundation
import PostgresClient
import SchemaModel

/// `unused_enum`: an enum type that no column (of a table, view or composite type), domain,
/// or function (argument or result) uses, nor an extension owns: a leftover of a migration
/// that went another way (seed 000's `subscriptiontier`). A text column whose values are the
/// type's labels, compared folded, is named: the type may be what that column was meant to be.
/// Catalog only.
enum UnusedEnumCheck: DoctorCheck {
    static let classes: [FindingClass] = [.unusedEnum]

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        let unused = try context.connection.query(
            """
            SELECT n.nspname, t.typname
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'e' AND n.nspname = ANY(\(bind: context.schema.namespaces)::text[])
              AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
              AND NOT EXISTS (SELECT FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                              WHERE a.atttypid IN (t.oid, t.typarray) AND NOT a.attisdropped AND a.attnum > 0)
              AND NOT EXISTS (SELECT FROM pg_type u WHERE u.typbasetype IN (t.oid, t.typarray)
                                 OR (u.typtype = 'r' AND EXISTS (SELECT FROM pg_range r WHERE r.rngtypid = u.oid AND r.rngsubtype = t.oid)))
              AND NOT EXISTS (SELECT FROM pg_proc p WHERE p.prorettype IN (t.oid, t.typarray)
                                 OR p.proargtypes::oid[] && ARRAY[t.oid, t.typarray]
                                 OR coalesce(p.proallargtypes, '{}') && ARRAY[t.oid, t.typarray])
            ORDER BY 1, 2
            """
        ).map { ObjectName(schema: try $0.get(0, as: String.self), name: try $0.get(1, as: String.self)) }
        return unused.compactMap { name in
            guard let type = context.schema.enums[name.key] else { return nil }
            var evidence = [EvidenceItem("labels", .list(type.labels))]
            let similar = similarColumns(type.labels, context)
            if !similar.isEmpty { evidence.append(EvidenceItem("similar_columns", .list(similar))) }
            var summary = "enum type \(name) (\(type.labels.joined(separator: ", "))) is used by no column, domain or function"
            if let first = similar.first { summary += "; \(first) holds the same labels as text" }
            return Finding(
                .unusedEnum, .warning, objects: [name.description], table: nil, summary: summary, evidence: evidence, repair: "sql",
                planData: ["similar": .list(similar), "schema": .text(name.schema), "name": .text(name.name)])
        }
    }

    /// Text columns whose values (the statistics' common values) are the labels, compared
    /// folded (`free` for `FREE`): `users.subscription_tier (free, pro, enterprise)`.
    static func similarColumns(_ labels: [String], _ context: DoctorContext) -> [String] {
        let folded = Set(labels.map(FreeTextEnumCheck.canonical))
        var found: [String] = []
        for table in context.tables where table.partitionOf == nil {
            for column in table.columns where FreeTextEnumCheck.isText(column.type) {
                guard let stats = context.stats(table, column.name), !stats.commonValues.isEmpty else { continue }
                let common = zip(stats.commonValues, stats.commonFrequencies).filter { $0.1 >= 0.01 }.map(\.0)
                let values = Set(common.map(FreeTextEnumCheck.canonical))
                guard !values.isEmpty, values.isSubset(of: folded), values.count * 2 > folded.count else { continue }
                found.append("\(table.objectName.description).\(column.name) (\(common.prefix(6).joined(separator: ", ")))")
            }
        }
        return found
    }

    static func planSteps(_ findings: [Finding]) -> [PlanDraftStep] {
        findings.map { finding in
            let name = finding.subject
            var quoted = FreeTextEnumCheck.planIdentifier(name)
            if case .text(let schema)? = finding.planData["schema"], case .text(let type)? = finding.planData["name"] {
                quoted = (schema == "public" ? "" : FreeTextEnumCheck.planIdentifier(schema) + ".") + FreeTextEnumCheck.planIdentifier(type)
            }
            var question = "drop the unused enum type \(name)? Delete this line to drop it, or delete the step to keep the type"
            if case .list(let similar)? = finding.planData["similar"], let first = similar.first {
                question += " (or use it for \(first): then delete this step and give that column's to_enum this type and its labels)"
            }
            // Plan text for the `sql` step (the operator reads and accepts it), not a statement
            // doctor sends: the type's name as a string literal for to_regtype.
            let literal = SQLLiteral.quoted(quoted)
            return PlanDraftStep(
                .unusedEnum, kind: "sql", comments: ["\(finding.id): \(finding.summary)."],
                options: [
                    YAMLPair("decide", .plain(question)),
                    YAMLPair("run", .plain("DROP TYPE \(quoted)")),
                    YAMLPair("done_when", .plain("SELECT to_regtype(\(literal)) IS NULL")),
                ])
        }
    }
}
