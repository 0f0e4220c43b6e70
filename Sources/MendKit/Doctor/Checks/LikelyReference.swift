import PostgresClient
import SchemaModel

/// The tables by schema and lower-cased name, and by the last word of their name: looked up
/// for every `*_id` column, built once.
struct TableIndex {
    var byName: [String: [String: Table]] = [:]
    var byLastWord: [String: [String: [Table]]] = [:]

    init(_ schema: Schema) {
        for table in schema.tables.values.sorted(by: { $0.objectName < $1.objectName }) {
            let lower = table.name.lowercased()
            if byName[table.schema]?[lower] == nil { byName[table.schema, default: [:]][lower] = table }
            if let last = ColumnRoles.words(lower).last { byLastWord[table.schema, default: [:]][last, default: []].append(table) }
        }
    }
}

/// A reference doctor checks row by row: a `*_id` column without a foreign key and the parent
/// its name points to, or a declared foreign key left `NOT VALID` (rows may violate it).
struct LikelyReference {
    var table: Table
    var columns: [String]
    var parent: Table
    var parentColumns: [String]
    /// The declared constraint, when it is one (`NOT VALID`).
    var constraint: Constraint?
    /// The child's text holds the parent's `uuid`: compared through `uuid`'s own input.
    var textToUUID = false
    /// The two types compared as text (a uuid child of a text parent).
    var asText = false

    var from: String { columns.map { ColumnRoles.name(table, $0) }.joined(separator: ", ") }
    var to: String { parentColumns.map { ColumnRoles.name(parent, $0) }.joined(separator: ", ") }
    var typesDiffer: Bool { textToUUID || asText }

    /// What one read found: values with a key, how many have no parent, the first of those.
    struct Census {
        var values: Int64
        var orphans: Int64
        var examples: [(key: String, value: String)]
        var sample: SampleNote?
    }

    /// The parent of `column` by its name: `user_id` -> `users`, `category_id` -> `categories`,
    /// `session_id` -> the one table ending in `_sessions`; `owner_id`, `author_id`,
    /// `creator_id` -> `users`. Its single-column primary key, of a type the column can be
    /// compared with. Nil when none is found (no finding: `milestones.goal_id` without `goals`).
    static func parent(of column: Column, in table: Table, tables index: TableIndex) -> LikelyReference? {
        let lower = column.name.lowercased()
        guard lower.hasSuffix("_id"), lower.count > 3 else { return nil }
        let base = String(lower.dropLast(3))
        var names = [base + "s", base + "es", base.hasSuffix("y") ? String(base.dropLast()) + "ies" : base + "s", base]
        if ["owner", "author", "creator", "created_by", "user"].contains(base) { names.append("users") }
        let schemas = table.schema == "public" ? ["public"] : [table.schema, "public"]
        var found = schemas.lazy.flatMap { schemaName in names.lazy.compactMap { index.byName[schemaName]?[$0] } }.first
        if found == nil {
            let ending = schemas.flatMap { schemaName in
                names.prefix(2).flatMap { plural in
                    (index.byLastWord[schemaName]?[ColumnRoles.words(plural).last ?? plural] ?? []).filter { $0.name.lowercased().hasSuffix("_" + plural) }
                }
            }
            if ending.count == 1 { found = ending[0] }
        }
        guard let parent = found, let key = parent.primaryKey, key.columns.count == 1,
              let parentColumn = parent.column(key.columns[0]), !(parent.objectName == table.objectName && key.columns[0] == column.name)
        else { return nil }
        var reference = LikelyReference(table: table, columns: [column.name], parent: parent, parentColumns: [parentColumn.name])
        let integers: Set<String> = ["smallint", "integer", "bigint"]
        let (mine, theirs) = (column.type, parentColumn.type)
        if mine == theirs || (integers.contains(mine) && integers.contains(theirs)) || (ColumnRoles.isTextLike(mine) && ColumnRoles.isTextLike(theirs)) {
            return reference
        } else if ColumnRoles.isTextLike(mine) && theirs == "uuid" {
            reference.textToUUID = true
        } else if mine == "uuid" && ColumnRoles.isTextLike(theirs) {
            reference.asText = true
        } else {
            return nil
        }
        return reference
    }

    /// `NOT EXISTS (parent row)` for the child's row, the child's columns qualified by its
    /// table's name (the parent is `p`), with MATCH SIMPLE's rule: a NULL references nothing.
    var orphanCondition: SQL {
        let child = table.objectName.sqlName
        let present: [SQL] = columns.map { "\(child).\(ident: $0) IS NOT NULL" }
        let pairs: [SQL] = zip(columns, parentColumns).map { column, parentColumn in
            let value: SQL = "\(child).\(ident: column)"
            if textToUUID {
                return "p.\(ident: parentColumn) = (CASE WHEN \(value)::text ~ \(bind: NormalizeUUIDStep.acceptedPattern) THEN \(value)::text::uuid END)"
            }
            return asText ? "p.\(ident: parentColumn)::text = \(value)::text" : "p.\(ident: parentColumn) = \(value)"
        }
        return "\(present, separator: " AND ") AND NOT EXISTS (SELECT 1 FROM \(parent.objectName.sqlName) p WHERE \(pairs, separator: " AND "))"
    }

    /// One read counts the values and those without a parent; a second, bounded one names the
    /// first orphan rows by key, only when there are some.
    func census(_ context: DoctorContext, _ what: String) throws -> Census? {
        guard context.mayHoldRows(table) else { return nil }
        let read = context.read(table)
        let child = table.objectName.sqlName
        let present: [SQL] = columns.map { "\(child).\(ident: $0) IS NOT NULL" }
        guard let counts = try context.measure("\(what): \(from) -> \(to)", {
            try context.connection.query("SELECT count(*) FILTER (WHERE \(present, separator: " AND ")), count(*) FILTER (WHERE \(orphanCondition)) FROM \(read.from)").first
        }), let counts else { return nil }
        var census = Census(values: try counts.get(0), orphans: try counts.get(1), examples: [], sample: read.sample)
        guard census.orphans > 0 else { return census }
        let key = context.rowKey(table)
        let shown: SQL = columns.count == 1 ? "\(child).\(ident: columns[0])::text" : "ROW(\(columns.map { "\(child).\(ident: $0)" as SQL }, separator: ", "))::text"
        census.examples = try context.measure("\(what): rows of \(from) without a parent") {
            try context.connection.query(
                "SELECT \(key.text()), \(shown) FROM \(read.from) WHERE \(orphanCondition) ORDER BY \(key.order()) LIMIT \(literal: UUIDValueCensus.shownBadRows)"
            ).map { (key: try $0.get(0, as: String.self), value: try $0.get(1, as: String.self)) }
        } ?? []
        return census
    }
}
