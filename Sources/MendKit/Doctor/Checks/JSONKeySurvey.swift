import Foundation
import PostgresClient
import SchemaModel

/// One read of a JSON column, aggregated per top-level key (`jsonb_each`, `GROUPING SETS` with
/// the whole: one scan): how many rows hold the key, of which JSON kinds, how many values
/// convert to each type family (`JSONCast`, the test `extract_json_fields` uses), the longest
/// text, distinct values; and for a column of the table named like a key, how many values
/// convert to its type, differ from it, or are missing where it is set.
struct JSONKeySurvey {
    /// The families a key's type is inferred from, most specific first.
    static let families: [(name: String, type: String, family: JSONCast.Family)] = [
        ("boolean", "boolean", .boolean),
        ("int4", "integer", .integer(min: Int64(Int32.min), max: Int64(Int32.max))),
        ("int8", "bigint", .integer(min: Int64.min, max: Int64.max)),
        ("numeric", "numeric", .numeric(.exact)),
        ("uuid", "uuid", .uuid),
        ("date", "date", .date),
        ("timestamptz", "timestamp with time zone", .timestamptz),
        ("timestamp", "timestamp without time zone", .timestamp),
    ]

    struct Key {
        var name: String
        /// Rows whose value is not JSON null / is JSON null.
        var present = 0
        var jsonNull = 0
        var strings = 0
        var numbers = 0
        var nested = 0
        /// Per `families` name: values that convert.
        var converts: [String: Int] = [:]
        var maxLength = 0
        var distinct = 0
        /// For a column of the same name: values that convert to its type, rows whose column
        /// is set and the JSON says otherwise (another value, null, or one that does not convert).
        var columnConverts = 0
        var differs = 0
    }

    /// Rows read, and rows whose document is a JSON object.
    var rows = 0
    var objects = 0
    var keys: [Key] = []
    /// Per same-named column: rows whose column is set and the key absent.
    var columnOnly: [String: Int] = [:]

    /// A column of the table that may hold a key's value: one a `JSONCast` family reads.
    static func matchingColumns(_ table: Table, json: String) -> [(name: String, type: String, family: JSONCast.Family)] {
        table.columns.compactMap { column in
            guard column.name != json, column.generatedExpression == nil, let family = JSONCast.Family(printedType: column.type) else { return nil }
            return (column.name, column.type, family)
        }
    }

    /// The document as jsonb, from the row source `t`.
    static func document(_ column: Column) -> SQL {
        column.type == "json" ? "(t.\(ident: column.name))::jsonb" : "t.\(ident: column.name)"
    }

    /// The table's rows as doctor reads them (a sample above the size), with `ctid` for a
    /// table without a primary key: an alias cannot follow `TABLESAMPLE`.
    static func source(_ read: TableRead) -> SQL { "(SELECT *, ctid FROM \(read.from))" }

    static func cast(_ family: JSONCast.Family, _ type: String, _ value: SQL) -> JSONCast {
        JSONCast(family: family, json: value, text: "(\(value) #>> '{}')", type: type, trim: false, timeZone: nil)
    }

    /// At most this many keys, the most frequent: a document keyed by ids is no schema.
    static let keyLimit = 200

    static func read(_ table: Table, _ json: Column, _ read: TableRead, _ connection: Connection) throws -> JSONKeySurvey {
        let value: SQL = "e.value"
        let kind: SQL = "jsonb_typeof(e.value)"
        let scalar: SQL = "\(kind) IN ('string', 'number', 'boolean')"
        var aggregates: [SQL] = [
            "count(*) FILTER (WHERE \(kind) <> 'null')", "count(*) FILTER (WHERE \(kind) = 'null')",
            "count(*) FILTER (WHERE \(kind) = 'string')", "count(*) FILTER (WHERE \(kind) = 'number')",
            "count(*) FILTER (WHERE \(kind) IN ('object', 'array'))",
            "coalesce(max(char_length(e.value #>> '{}')) FILTER (WHERE \(scalar)), 0)",
            "count(DISTINCT e.value #>> '{}') FILTER (WHERE \(scalar))",
            "count(*) FILTER (WHERE e.n IS NULL OR e.n = 1)",
            "count(*) FILTER (WHERE (e.n IS NULL OR e.n = 1) AND jsonb_typeof(t.pgmend_doc) = 'object')",
        ]
        aggregates += families.map { "count(*) FILTER (WHERE \(cast($0.family, $0.type, value).valid))" }
        let columns = matchingColumns(table, json: json.name)
        for column in columns {
            let converted = cast(column.family, column.type, value).value
            let own: SQL = "t.\(ident: column.name)"
            aggregates += [
                "count(*) FILTER (WHERE e.key = \(bind: column.name) AND \(converted) IS NOT NULL)",
                "count(*) FILTER (WHERE e.key = \(bind: column.name) AND \(own) IS NOT NULL AND (\(converted) IS NULL OR \(own) IS DISTINCT FROM \(converted)))",
                "count(*) FILTER (WHERE (e.n IS NULL OR e.n = 1) AND \(own) IS NOT NULL AND (t.pgmend_doc -> \(bind: column.name)) IS NULL)",
            ]
        }
        let query: SQL = """
            SELECT GROUPING(e.key) AS whole, e.key, \(aggregates, separator: ", ")
            FROM (SELECT *, \(document(json)) AS pgmend_doc FROM \(source(read)) t) t
            LEFT JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(t.pgmend_doc) = 'object' THEN t.pgmend_doc END) WITH ORDINALITY AS e(key, value, n) ON true
            GROUP BY GROUPING SETS ((e.key), ())
            ORDER BY GROUPING(e.key) DESC, count(*) DESC, e.key
            LIMIT \(literal: keyLimit + 2)
            """
        var survey = JSONKeySurvey()
        for row in try connection.query(query) {
            func int(_ index: Int) throws -> Int { try row.get(.index(index), as: Int.self) }
            let base = 2
            let familyBase = base + 9
            let columnBase = familyBase + families.count
            if try int(0) == 1 {
                survey.rows = try int(base + 7)
                survey.objects = try int(base + 8)
                for (index, column) in columns.enumerated() { survey.columnOnly[column.name] = try int(columnBase + 3 * index + 2) }
                continue
            }
            guard let name = try row.get(1, as: String?.self) else { continue }
            var key = Key(name: name)
            key.present = try int(base)
            key.jsonNull = try int(base + 1)
            key.strings = try int(base + 2)
            key.numbers = try int(base + 3)
            key.nested = try int(base + 4)
            key.maxLength = try int(base + 5)
            key.distinct = try int(base + 6)
            for (index, family) in families.enumerated() { key.converts[family.name] = try int(familyBase + index) }
            if let index = columns.firstIndex(where: { $0.name == name }) {
                key.columnConverts = try int(columnBase + 3 * index)
                key.differs = try int(columnBase + 3 * index + 1)
            }
            survey.keys.append(key)
        }
        return survey
    }
}

/// What a key's values are: the type `extract_json_fields` would give its column.
struct InferredType: Equatable {
    /// As the server prints it (`boolean`, `character varying(20)`).
    var printed: String
    var family: JSONCast.Family
    /// Values that convert to it, and that do not.
    var converts: Int
    var invalid: Int
    /// Dated values without an offset: a `timestamptz` needs `assume_time_zone`.
    var naive = 0

    /// The type as a plan writes it.
    var planText: String {
        if printed.hasPrefix("character varying(") { return "varchar(" + printed.dropFirst("character varying(".count) }
        switch printed {
        case "timestamp with time zone": return "timestamptz"
        case "timestamp without time zone": return "timestamp"
        case "character varying": return "varchar"
        default: return printed
        }
    }

    /// The most specific family that converts every value, else one that converts nearly all
    /// (at least `share` of them: the rest are invalid values, not another type), else text.
    /// Numbers count only where most values are JSON numbers (`"+15550000001"` is a string,
    /// not an integer); a key that is mostly objects or arrays has no column type (nil).
    static func infer(_ key: JSONKeySurvey.Key, share: Double = 0.9) -> InferredType? {
        guard key.present > 0, key.nested * 2 <= key.present else { return nil }
        let numeric = key.numbers * 2 >= key.present
        var candidates: [InferredType] = []
        for family in JSONKeySurvey.families where family.name != "timestamp" {
            if case .integer = family.family, !numeric { continue }
            if case .numeric = family.family, !numeric { continue }
            var converts = key.converts[family.name] ?? 0
            var naive = 0
            if family.name == "timestamptz" {
                naive = key.converts["timestamp"] ?? 0
                converts += naive
            }
            candidates.append(InferredType(printed: family.type, family: family.family, converts: converts, invalid: key.present - converts, naive: naive))
        }
        if let exact = candidates.first(where: { $0.invalid == 0 }) { return exact }
        if let near = candidates.first(where: { Double($0.converts) >= share * Double(key.present) && $0.converts >= 2 }) { return near }
        return InferredType(printed: "text", family: .text(limit: nil), converts: key.present - key.nested, invalid: key.nested)
    }
}
