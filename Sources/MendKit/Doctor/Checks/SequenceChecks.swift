import PostgresClient
import SchemaModel

/// `sequence_near_overflow` and `serial_not_key`: the sequences that feed columns (serial,
/// identity, or any `DEFAULT nextval(...)`), how far each has gone towards the largest value
/// its sequence or the column it feeds can hold, and sequence-fed columns that are no key.
enum SequenceChecks: DoctorCheck {
    static let classes: [FindingClass] = [.sequenceNearOverflow, .serialNotKey]
    /// Used fractions from which a sequence is reported, and from which it is an error.
    static let warnAt = 0.5
    static let errorAt = 0.8

    /// One column a sequence feeds.
    struct Feed {
        var sequence: ObjectName
        var table: ObjectName
        var column: String
        var columnType: String
        var sequenceType: String
        var increment: Int64
        var minValue: Int64
        var maxValue: Int64
        /// From `pg_sequences`; nil when never used, or the role may not read the sequence.
        var lastValue: Int64?
        var readable: Bool
        var tableReadable: Bool
    }

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        let feeds = try read(context)
        return try overflow(feeds, context) + notKeys(feeds, context)
    }

    /// Every (sequence, column) pair: the owning column (serial, identity) and every column whose
    /// default calls it. `pg_sequences.last_value` is NULL to a role without USAGE or SELECT on
    /// the sequence; `readable` says which it is.
    static func read(_ context: DoctorContext) throws -> [Feed] {
        try context.connection.query(
            """
            SELECT DISTINCT sn.nspname, sc.relname, tn.nspname, tc.relname, a.attname, format_type(a.atttypid, NULL),
                   format_type(s.seqtypid, NULL), s.seqincrement, s.seqmin, s.seqmax,
                   CASE WHEN has_sequence_privilege(sc.oid, 'SELECT,USAGE') THEN ps.last_value END,
                   has_sequence_privilege(sc.oid, 'SELECT,USAGE'), has_table_privilege(tc.oid, 'SELECT')
            FROM pg_sequence s JOIN pg_class sc ON sc.oid = s.seqrelid JOIN pg_namespace sn ON sn.oid = sc.relnamespace
            JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = sc.oid
            LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
            JOIN pg_class tc ON tc.oid = CASE WHEN d.classid = 'pg_attrdef'::regclass THEN ad.adrelid ELSE d.objid END
            JOIN pg_namespace tn ON tn.oid = tc.relnamespace
            JOIN pg_attribute a ON a.attrelid = tc.oid AND a.attnum = CASE WHEN d.classid = 'pg_attrdef'::regclass THEN ad.adnum ELSE d.objsubid END
            LEFT JOIN pg_sequences ps ON ps.schemaname = sn.nspname AND ps.sequencename = sc.relname
            WHERE (d.classid = 'pg_attrdef'::regclass OR (d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.objsubid > 0))
              AND sn.nspname = ANY(\(bind: context.schema.namespaces)::text[]) AND tc.relkind IN ('r', 'p')
            ORDER BY 1, 2, 3, 4, 5
            """
        ).map { row in
            Feed(
                sequence: ObjectName(schema: try row.get(0), name: try row.get(1)), table: ObjectName(schema: try row.get(2), name: try row.get(3)),
                column: try row.get(4), columnType: try row.get(5), sequenceType: try row.get(6), increment: try row.get(7),
                minValue: try row.get(8), maxValue: try row.get(9), lastValue: try row.get(10, as: Int64?.self), readable: try row.get(11),
                tableReadable: try row.get(12))
        }
    }

    /// The largest and smallest value of an integer column type; nil for others (numeric...).
    static func bounds(_ type: String) -> (min: Int64, max: Int64)? {
        switch type {
        case "smallint": (Int64(Int16.min), Int64(Int16.max))
        case "integer": (Int64(Int32.min), Int64(Int32.max))
        case "bigint": (Int64.min, Int64.max)
        default: nil
        }
    }

    static func overflow(_ feeds: [Feed], _ context: DoctorContext) throws -> [Finding] {
        var found: [Finding] = []
        for (sequence, columns) in Dictionary(grouping: feeds, by: \.sequence).sorted(by: { $0.key < $1.key }) {
            guard let first = columns.first else { continue }
            let fallback = first.lastValue == nil && !first.readable ? try columns.lazy.compactMap { try largestValue($0, context) }.first : nil
            guard let last = first.lastValue ?? fallback else { continue }
            // The tightest limit: the sequence's own, or the narrowest column it feeds.
            let ascending = first.increment > 0
            var limit = ascending ? first.maxValue : first.minValue
            var limitedBy = "sequence \(first.sequenceType)"
            for feed in columns {
                guard let columnBounds = bounds(feed.columnType) else { continue }
                let bound = ascending ? columnBounds.max : columnBounds.min
                if ascending ? bound < limit : bound > limit {
                    limit = bound
                    limitedBy = "column \(feed.table).\(feed.column) \(feed.columnType)"
                }
            }
            let used = Double(last) / Double(limit)
            guard used >= warnAt else { continue }
            let percent = (used * 1000).rounded() / 10
            let names = columns.map { "\($0.table).\($0.column)" }
            found.append(Finding(
                .sequenceNearOverflow, used >= errorAt ? .error : .warning, objects: [sequence.description] + names,
                table: columns.count == 1 ? first.table.description : nil,
                summary: "\(sequence) has used \(percent)% of its range (\(last) of \(limit), limited by the \(limitedBy)): "
                    + "inserts fail once it is reached; widen the column (and the sequence) to bigint before then",
                evidence: [
                    EvidenceItem("last_value", .int(last)), EvidenceItem("max_value", .int(limit)), EvidenceItem("percent_used", .number(percent)),
                    EvidenceItem("limited_by", .text(limitedBy)), EvidenceItem("columns", .list(names.map { n in n + " " + (columns.first { "\($0.table).\($0.column)" == n }?.columnType ?? "") })),
                    EvidenceItem("sequence_type", .text(first.sequenceType)), EvidenceItem("read_from", .text(first.lastValue == nil ? "largest column value" : "pg_sequences")),
                ],
                repair: nil))
        }
        return found
    }

    /// When the role may not read the sequence: the largest (or smallest) value of the column
    /// it feeds, read only where an index leads on the column (one index probe) and the table is
    /// readable.
    static func largestValue(_ feed: Feed, _ context: DoctorContext) throws -> Int64? {
        guard feed.tableReadable, let table = context.schema.tables[feed.table.key],
            table.indexes.values.contains(where: { $0.valid && $0.predicate == nil && $0.keys.first.map { $0.isColumn && $0.expression == feed.column } == true })
        else { return nil }
        let query: SQL = feed.increment > 0
            ? "SELECT max(\(ident: feed.column))::int8 FROM \(feed.table.sqlName)"
            : "SELECT min(\(ident: feed.column))::int8 FROM \(feed.table.sqlName)"
        return try context.measure("sequence \(feed.sequence) via \(feed.table).\(feed.column)") { try context.connection.scalar(query, as: Int64.self) } ?? nil
    }

    /// A column fed by a sequence that no primary key or unique index holds: its values are not
    /// known unique, and a reference column declared `serial` by mistake draws numbers from a
    /// sequence instead of naming its parent.
    static func notKeys(_ feeds: [Feed], _ context: DoctorContext) throws -> [Finding] {
        feeds.compactMap { feed in
            guard let table = context.schema.tables[feed.table.key], table.partitionOf == nil else { return nil }
            let keyed = table.indexes.values.contains { $0.unique && $0.valid && $0.predicate == nil && $0.keys.contains { $0.isColumn && $0.expression == feed.column } }
            guard !keyed else { return nil }
            let object = ObjectName(schema: table.schema, name: "\(table.name).\(feed.column)").description
            let references = table.constraints.values.filter { $0.kind == .foreignKey && $0.columns.contains(feed.column) }.map(\.name).sorted()
            var evidence = [EvidenceItem("sequence", .text(feed.sequence.description)), EvidenceItem("type", .text(feed.columnType))]
            if !references.isEmpty { evidence.append(EvidenceItem("foreign_keys", .list(references))) }
            return Finding(
                .serialNotKey, .warning, objects: [object], table: table.objectName.description,
                summary: "\(object) takes its default from \(feed.sequence) but is no primary key or unique column"
                    + (references.isEmpty ? ": its values are not known unique" : ", and it references another table: a serial reference by mistake?"),
                evidence: evidence, repair: nil)
        }
    }
}
