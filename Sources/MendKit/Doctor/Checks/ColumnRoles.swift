import PostgresClient
import SchemaModel

/// What the data checks ask of a column's name and type, and how they name it.
enum ColumnRoles {
    /// `text`, `varchar(n)`, `char(n)` as `format_type` prints them.
    static func isTextLike(_ type: String) -> Bool { NormalizeUUIDStep.isTextLike(type) }

    /// `timestamp without time zone`, with or without a precision.
    static func isNaiveTimestamp(_ type: String) -> Bool {
        type.hasPrefix("timestamp") && type.hasSuffix("without time zone")
    }

    static func isZonedTimestamp(_ type: String) -> Bool {
        type.hasPrefix("timestamp") && type.hasSuffix("with time zone") && !type.hasSuffix("without time zone")
    }

    /// `users.created_at`, `audit.log.at` outside `public`: as a plan names a column.
    static func name(_ table: Table, _ column: String) -> String { "\(table.objectName.description).\(column)" }

    /// The tables a check looks at: not partitions (their parent carries the finding), not
    /// foreign tables (no rows of their own to read).
    static func tables(_ context: DoctorContext) -> [Table] {
        context.tables.filter { $0.partitionOf == nil && $0.kind != .foreign }
    }

    /// Words of a name split at underscores, lower-cased: `memories_backup_66d3d5d1` ->
    /// [memories, backup, 66d3d5d1].
    static func words(_ name: String) -> [String] {
        name.lowercased().split(separator: "_", omittingEmptySubsequences: true).map(String.init)
    }

    /// Single-column foreign keys: (table, column) -> (referenced table key, column), and the
    /// reverse, for the foreign-key groups of `normalize_uuid` and the naive timestamps'
    /// related tables.
    static func singleColumnReferences(_ schema: Schema) -> [(from: (table: Table, column: String), to: (table: Table, column: String), constraint: Constraint)] {
        var found: [(from: (table: Table, column: String), to: (table: Table, column: String), constraint: Constraint)] = []
        for table in schema.tables.values.sorted(by: { $0.objectName < $1.objectName }) {
            for constraint in table.constraints.values.sorted(by: { $0.name < $1.name }) {
                guard let key = constraint.foreignKey, constraint.columns.count == 1, key.referencedColumns.count == 1,
                      let parent = schema.tables[key.referencedTable] else { continue }
                found.append(((table, constraint.columns[0]), (parent, key.referencedColumns[0]), constraint))
            }
        }
        return found
    }

    /// `'value'` for a report: quoted, cut after 40 characters.
    static func quotedValue(_ value: String) -> String {
        let cut = value.count > 40 ? String(value.prefix(40)) + "..." : value
        return "'" + cut + "'"
    }
}

/// How a text value reads as a UUID: PostgreSQL's `uuid` input rules (`string_to_uuid`), in
/// Swift, for the values `pg_stats` holds.
enum UUIDTextForm: Equatable {
    /// `uuid`'s own printing: lower case, 8-4-4-4-12.
    case canonical
    /// Accepted by `uuid` but written otherwise (upper case, braces, no or other hyphens).
    case other
    case notUUID

    init(_ text: String) {
        var body = Substring(text)
        if body.first == "{" {
            guard body.last == "}", body.count >= 2 else { self = .notUUID; return }
            body = body.dropFirst().dropLast()
        }
        var digits = 0
        var lastWasHyphen = false
        for character in body {
            if character == "-" {
                guard digits > 0, digits < 32, digits % 4 == 0, !lastWasHyphen else { self = .notUUID; return }
                lastWasHyphen = true
            } else if character.isASCII && character.isHexDigit {
                digits += 1
                lastWasHyphen = false
            } else {
                self = .notUUID
                return
            }
        }
        guard digits == 32, !lastWasHyphen else { self = .notUUID; return }
        let canonical = text.count == 36 && text.enumerated().allSatisfy { offset, character in
            [8, 13, 18, 23].contains(offset) ? character == "-" : (character.isASCII && character.isHexDigit && !character.isUppercase)
        }
        self = canonical ? .canonical : .other
    }
}
