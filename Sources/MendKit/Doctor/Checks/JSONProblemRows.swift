import Foundation
import PostgresClient
import SchemaModel

/// The second read of a JSON column with a finding, one query: the first rows (in key order,
/// at most `limit` per problem) of each value that does not convert, each column the JSON
/// contradicts or lacks, each group of rows sharing a unique-looking key's value; and which of
/// the other frequent keys occur in rows without any reported key.
struct JSONProblemRows {
    /// `key row 'value'` texts.
    var invalid: [String] = []
    /// `key 'value' held by row, row`.
    var duplicates: [String] = []
    var differs: [String] = []
    var columnOnly: [String] = []
    /// Other frequent keys found in rows without any reported key.
    var outside: Set<String> = []
    /// Every row named, in key order.
    var rows: [String] = []

    static let limit = 20

    enum Problem { case invalid, duplicate, differs, columnOnly, outside }

    static func read(
        _ table: Table, _ json: Column, _ fields: [JSONFieldsCheck.Field], _ others: [(JSONKeySurvey.Key, InferredType)], _ read: TableRead,
        _ context: DoctorContext
    ) throws -> JSONProblemRows {
        let key = context.rowKey(table)
        // A duplicate's test and value are the group's (`group`); the others' are per row.
        var conditions: [(problem: Problem, field: String, test: SQL, value: SQL, group: Int?)] = []
        var groups: [SQL] = []
        for field in fields {
            let json: SQL = "(t.pgmend_doc -> \(bind: field.key.name))"
            let text: SQL = "(t.pgmend_doc ->> \(bind: field.key.name))"
            let value = JSONKeySurvey.cast(field.type.family, field.type.printed, json).value
            let column: SQL = "t.\(ident: field.key.name)"
            if field.type.invalid > 0 {
                conditions.append((.invalid, field.key.name, "(jsonb_typeof(\(json)) <> 'null' AND \(value) IS NULL)", "left(\(text), 60)", nil))
            }
            if field.column && field.key.differs > 0 {
                conditions.append((.differs, field.key.name, "(\(column) IS NOT NULL AND \(json) IS NOT NULL AND (\(value) IS NULL OR \(column) IS DISTINCT FROM \(value)))",
                                   "format('column %L, JSON %s', \(column), coalesce(quote_literal(left(\(text), 60)), 'null'))", nil))
            }
            if field.column {
                conditions.append((.columnOnly, field.key.name, "(\(column) IS NOT NULL AND \(json) IS NULL)", "format('column %L', \(column))", nil))
            }
            if field.unique && field.key.distinct < field.key.present - field.key.nested {
                let group = SQLIdentifier("g\(groups.count)")
                groups.append("(\(value))::text AS \(group)")
                conditions.append((.duplicate, field.key.name, "", "", groups.count - 1))
            }
        }
        let reported: [String] = fields.map(\.key.name)
        for (other, _) in others {
            conditions.append((.outside, other.name, "((t.pgmend_doc -> \(bind: other.name)) IS NOT NULL AND NOT (t.pgmend_doc ?| \(bind: reported)::text[]))", "NULL::text", nil))
        }
        guard !conditions.isEmpty else { return JSONProblemRows() }
        // Tests and values are computed per row in s1 (over the read's rows), the groups'
        // counts in s; x spreads each row over the problems it has.
        let perRow = conditions.enumerated().filter { $0.element.group == nil }
        let tests: [SQL] = perRow.map { "\($1.test) AS \(ident: "b\($0)")" }
        let values: [SQL] = perRow.map { "\($1.value) AS \(ident: "v\($0)")" }
        let counts: [SQL] = (0..<groups.count).map { "count(s1.\(ident: "g\($0)")) OVER (PARTITION BY s1.\(ident: "g\($0)")) AS \(ident: "n\($0)")" }
        let spread: [SQL] = conditions.enumerated().map { index, condition in
            guard let group = condition.group else {
                return "SELECT \(literal: index) AS c, s.\(ident: "v\(index)") AS v, NULL::text AS sv WHERE s.\(ident: "b\(index)")"
            }
            let value: SQL = "s.\(ident: "g\(group)")"
            return "SELECT \(literal: index) AS c, \(value) AS v, \(value) AS sv WHERE s.\(ident: "n\(group)") > 1"
        }
        let query: SQL = """
            SELECT c, v, k, dense_rank() OVER (ORDER BY o) FROM (
              SELECT x.c, x.v, s.k, s.o, row_number() OVER (PARTITION BY x.c ORDER BY x.sv, s.o) AS r
              FROM (SELECT s1.*\(counts.isEmpty ? "" : ", " as SQL)\(counts, separator: ", ") FROM (
                  SELECT \(key.text(of: SQLIdentifier("t"))) AS k, \(key.order(of: SQLIdentifier("t"))) AS o, \((tests + values + groups), separator: ", ")
                  FROM (SELECT *, \(JSONKeySurvey.document(json)) AS pgmend_doc FROM \(JSONKeySurvey.source(read)) t) t) s1) s
              CROSS JOIN LATERAL (\(spread, separator: " UNION ALL ")) x
            ) y WHERE r <= \(literal: limit)
            ORDER BY c, r
            """
        var result = JSONProblemRows()
        var named: [(rank: Int, key: String)] = []
        var groupRows: [Int: [(value: String, key: String)]] = [:]
        for row in try context.connection.query(query) {
            let index = try row.get(0, as: Int.self)
            let value = try row.get(1, as: String?.self) ?? "null"
            let rowKey = try row.get(2, as: String.self)
            let condition = conditions[index]
            if condition.problem != .outside { named.append((try row.get(3, as: Int.self), rowKey)) }
            switch condition.problem {
            case .invalid: result.invalid.append("\(condition.field) \(rowKey) \(SQLLiteral.quoted(value))")
            case .differs: result.differs.append("\(condition.field) \(rowKey): \(value)")
            case .columnOnly: result.columnOnly.append("\(condition.field) \(rowKey): \(value), no key")
            case .duplicate: groupRows[index, default: []].append((value, rowKey))
            case .outside: result.outside.insert(condition.field)
            }
        }
        for (index, rows) in groupRows.sorted(by: { $0.key < $1.key }) {
            var order: [String] = []
            var byValue: [String: [String]] = [:]
            for row in rows {
                if byValue[row.value] == nil { order.append(row.value) }
                byValue[row.value, default: []].append(row.key)
            }
            result.duplicates += order.map { "\(conditions[index].field) \(SQLLiteral.quoted($0)) held by \(byValue[$0]!.joined(separator: ", "))" }
        }
        var seen: Set<String> = []
        result.rows = named.sorted { $0.rank < $1.rank }.map(\.key).filter { seen.insert($0).inserted }
        return result
    }
}
