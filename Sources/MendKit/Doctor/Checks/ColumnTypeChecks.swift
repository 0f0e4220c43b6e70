import SchemaModel

/// `json_column`: a column of type `json` rather than `jsonb`. `json` keeps the text as
/// written and parses it on every access; it has no equality operator (no `DISTINCT`, `GROUP
/// BY`, `UNION` or unique index over it) and no GIN index. SQLAlchemy's `JSON` type on
/// PostgreSQL is `json`; `JSONB` is the one to declare.
enum ColumnTypeChecks: DoctorCheck {
    static let classes: [FindingClass] = [.jsonColumn]

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        context.tables.filter { $0.partitionOf == nil && $0.kind != .foreign }.flatMap { table in
            table.columns.filter { $0.type == "json" || $0.type == "json[]" }.map { column in
                let object = ObjectName(schema: table.schema, name: "\(table.name).\(column.name)").description
                let stats = context.stats(table, column.name)
                var evidence = [EvidenceItem("type", .text(column.type)), EvidenceItem("estimated_rows", .int(max(context.facts(table).estimatedRows, 0)))]
                if let stats { evidence.append(EvidenceItem("null_fraction", .number(stats.nullFraction))) }
                return Finding(
                    .jsonColumn, .info, objects: [object], table: table.objectName.description,
                    summary: "\(object) is json, not jsonb: parsed on every read, no equality, no GIN index "
                        + "(ALTER COLUMN ... TYPE jsonb rewrites the table; declare JSONB in the model)",
                    evidence: evidence, repair: nil)
            }
        }
    }
}
