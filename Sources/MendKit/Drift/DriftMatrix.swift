import SchemaModel

/// Compares the live database's schema with what other sources of truth expect (the
/// application's models, its migrations, its schema document), table by table, with
/// `SchemaDiff` doing each table's comparison.
///
/// What is compared: tables and, for a source that can say them (not a document), their
/// columns (type, nullability, default, identity, generated expression, collation),
/// constraints, indexes and triggers. Not compared: comments (an application's models rarely
/// carry them, and they change nothing the application sees), column order (a column added
/// later comes last in the database, wherever the model declares it), and constraint and index
/// names where the definition is the same (SQLAlchemy's naming convention is not PostgreSQL's:
/// `uq_goals_user_id_title` is `goals_user_id_title_key` by another name). A document (source
/// kind `docs`) is compared for table presence, column presence, and column types only where
/// the document gave a type the server recognises (`Column.hasComparableType`).
public enum DriftMatrix {
    public static func compare(live: Snapshot, sources: [(label: String, snapshot: Snapshot)]) -> DriftReport {
        let infos = sources.map { source in
            DriftSourceInfo(label: source.label, kind: source.snapshot.source?.kind ?? "database", path: source.snapshot.source?.path)
        }
        var builder = RowBuilder(labels: sources.map(\.label), live: live.schema)
        var found: [(label: String, candidates: [RenameCandidate])] = []
        for source in sources {
            let docs = source.snapshot.source?.kind == "docs"
            builder.add(source.label, source.snapshot.schema, docs: docs)
            found.append((source.label, DriftRenames.candidates(
                database: live.schema, source: source.snapshot.schema, label: source.label)))
        }
        let candidates = DriftRenames.merged(found)
        builder.mark(candidates)
        return DriftReport(database: live.database, sources: infos, rows: builder.rows(), candidates: candidates)
    }

    /// `source`'s and the database's table reduced to what the source can say and what drift
    /// compares (see the type's comment), ready for `SchemaDiff`.
    static func comparable(source: Table, database: Table, docs: Bool) -> (source: Table, database: Table) {
        if docs {
            let documented = Dictionary(source.columns.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            func reduced(_ table: Table, fromDocs: Bool) -> Table {
                Table(schema: table.schema, name: table.name, columns: table.columns.map { column in
                    let known = documented[column.name].map { $0.hasComparableType && !$0.type.isEmpty } ?? !fromDocs
                    return Column(name: column.name, type: known ? column.type : "")
                })
            }
            return (reduced(source, fromDocs: true), reduced(database, fromDocs: false))
        }
        var (a, b) = (withoutComments(source), withoutComments(database))
        (a, b) = (reparsedChecks(a), reparsedChecks(b))
        a = namedAs(a, in: b)
        return (a, b)
    }

    /// `table` with its checks printed as PostgreSQL prints them once parsed again. A list of
    /// strings compared with a varchar column (SQLAlchemy's `Enum` and `in_()` checks) prints as
    /// `ARRAY['a'::character varying]::text[]`; the same text parsed again (as a plan's
    /// `create_table` or `add_check` does) prints `ARRAY['a'::character varying::text]`. One
    /// rule, no difference of meaning: both are read as the second.
    static func reparsedChecks(_ table: Table) -> Table {
        var table = table
        for (name, constraint) in table.constraints where constraint.kind == .check {
            table.constraints[name]?.definition = reparsed(constraint.definition)
            table.constraints[name]?.checkExpression = constraint.checkExpression.map(reparsed)
        }
        return table
    }

    static func reparsed(_ text: String) -> String {
        guard text.contains("]::text[]") else { return text }
        let literal = #"'(?:[^']|'')*'::character varying"#
        // ARRAY[<literals>]::text[] -> ARRAY[<literal>::text, ...]
        guard let array = try? Regex(#"ARRAY\[((?:"# + literal + #"(?:, )?)+)\]::text\[\]"#), let item = try? Regex(literal) else {
            return text
        }
        return text.replacing(array) { match in
            let inner = String(match.output[1].substring ?? "")
            let items = inner.replacing(item) { "\($0.output[0].substring ?? "")::text" }
            return "ARRAY[\(items)]"
        }
    }

    static func withoutComments(_ table: Table) -> Table {
        var table = table
        table.comment = nil
        for index in table.columns.indices { table.columns[index].comment = nil }
        return table
    }

    /// `table` with each constraint and index that `other` has under another name with the same
    /// definition given `other`'s name.
    static func namedAs(_ table: Table, in other: Table) -> Table {
        var table = table
        var renamed: [String: String] = [:]
        let theirs = other.constraints.values.filter { table.constraints[$0.name] == nil }.sorted { $0.name < $1.name }
        for constraint in table.constraints.values.sorted(by: { $0.name < $1.name }) where other.constraints[constraint.name] == nil {
            guard let match = theirs.first(where: { candidate in
                renamed.values.contains(candidate.name) == false && candidate.kind == constraint.kind
                    && candidate.columns == constraint.columns && candidate.definition == constraint.definition
                    && candidate.foreignKey == constraint.foreignKey
            }) else { continue }
            renamed[constraint.name] = match.name
        }
        let freeIndexes = other.indexes.values.filter { table.indexes[$0.name] == nil }.sorted { $0.name < $1.name }
        var indexNames: [String: String] = [:]
        for index in table.indexes.values.sorted(by: { $0.name < $1.name }) where other.indexes[index.name] == nil {
            guard let match = freeIndexes.first(where: { candidate in
                !indexNames.values.contains(candidate.name) && candidate.method == index.method && candidate.keys == index.keys
                    && candidate.include == index.include && candidate.predicate == index.predicate
                    && candidate.unique == index.unique && candidate.primary == index.primary
            }) else { continue }
            indexNames[index.name] = match.name
        }
        for (old, new) in renamed {
            guard var constraint = table.constraints.removeValue(forKey: old) else { continue }
            constraint.name = new
            constraint.index = constraint.index.map { indexNames[$0] ?? $0 }
            table.constraints[new] = constraint
        }
        for (old, new) in indexNames {
            guard var index = table.indexes.removeValue(forKey: old), let theirs = other.indexes[new] else { continue }
            index.name = new
            index.definition = theirs.definition
            index.constraint = index.constraint.map { renamed[$0] ?? $0 }
            table.indexes[new] = index
        }
        return table
    }
}
