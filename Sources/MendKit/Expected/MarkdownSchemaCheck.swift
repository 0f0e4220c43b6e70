import SchemaModel

/// What a schema document says that a database contradicts, and what the database has that
/// the document does not mention.
///
/// A comparison with a docs snapshot compares only what a document can say:
/// - each documented table: present in the database or not;
/// - each documented column of a present table: present or not;
/// - its type, only when the server recognised the document's type (`hasComparableType`),
///   compared as `format_type` prints both;
/// - and the other way round, the database's tables in the schemas the document covers, and
///   the columns of documented tables, that the document does not mention. A table documented
///   without any column is compared by presence only.
/// Nothing else (nullability, defaults, keys, indexes, constraints, column order) is compared.
public struct DocsCheck: Codable, Sendable, Hashable {
    /// One line of the check.
    public struct Finding: Codable, Sendable, Hashable, CustomStringConvertible {
        public enum Kind: String, Codable, Sendable {
            /// Documented, not in the database.
            case tableAbsent = "table_absent", columnAbsent = "column_absent"
            /// Documented with a recognised type that is not the database's.
            case typeDiffers = "type_differs"
            /// In the database, not in the document.
            case tableUndocumented = "table_undocumented", columnUndocumented = "column_undocumented"
            /// Documented with a type the server did not recognise, so not compared.
            case typeNotCompared = "type_not_compared"
        }

        public var kind: Kind
        /// `users`, `audit.log` (public is left out).
        public var table: String
        public var column: String?
        /// The type as documented (recognised: PostgreSQL's spelling; else the document's text).
        public var documentedType: String?
        public var databaseType: String?
        /// The document's line for what it says, when known.
        public var line: Int?

        public init(
            kind: Kind, table: String, column: String? = nil, documentedType: String? = nil, databaseType: String? = nil,
            line: Int? = nil
        ) {
            self.kind = kind
            self.table = table
            self.column = column
            self.documentedType = documentedType
            self.databaseType = databaseType
            self.line = line
        }

        enum CodingKeys: String, CodingKey {
            case kind, table, column, documentedType = "documented_type", databaseType = "database_type", line
        }

        var object: String { column.map { "\(table).\($0)" } ?? table }

        public var description: String {
            let at = line.map { " (line \($0))" } ?? ""
            switch kind {
            case .tableAbsent: return "table \(table)\(at): not in the database"
            case .columnAbsent: return "column \(object)\(at): not in the database"
            case .typeDiffers:
                return "column \(object)\(at): documented as \(documentedType ?? ""), the database has \(databaseType ?? "")"
            case .tableUndocumented: return "table \(table)"
            case .columnUndocumented: return "column \(object) \(databaseType ?? "")"
            case .typeNotCompared:
                let type = (documentedType ?? "").isEmpty ? "no type given" : documentedType ?? ""
                return "column \(object)\(at): \(type)"
            }
        }
    }

    /// Documented tables, columns and types the database contradicts: the check fails on these.
    public var contradictions: [Finding]
    /// What the database has that the document does not mention: reported, not a failure.
    public var undocumented: [Finding]
    /// Documented columns whose type was not compared (the server did not recognise it).
    public var typesNotCompared: [Finding]

    /// True when the document says nothing the database contradicts.
    public var agrees: Bool { contradictions.isEmpty }

    enum CodingKeys: String, CodingKey {
        case contradictions, undocumented, typesNotCompared = "types_not_compared"
    }

    /// Compares a docs snapshot's schema with the database's; `document` adds line numbers.
    public static func compare(documented: Schema, database: Schema, document: MarkdownSchema? = nil) -> DocsCheck {
        var absentTables: [Finding] = []
        var absentColumns: [Finding] = []
        var differingTypes: [Finding] = []
        var undocumentedColumns: [Finding] = []
        var notCompared: [Finding] = []
        for (key, table) in documented.tables.sorted(by: { $0.key < $1.key }) {
            let label = table.objectName.description
            let lines = document?.table(key)
            guard let live = database.tables[key] else {
                absentTables.append(Finding(kind: .tableAbsent, table: label, line: lines?.line))
                continue
            }
            for column in table.columns {
                let line = lines?.column(column.name)?.line
                guard let liveColumn = live.column(column.name) else {
                    absentColumns.append(Finding(kind: .columnAbsent, table: label, column: column.name, line: line))
                    continue
                }
                if !column.hasComparableType {
                    notCompared.append(Finding(
                        kind: .typeNotCompared, table: label, column: column.name, documentedType: column.documentedType,
                        databaseType: liveColumn.type, line: line))
                } else if column.type != liveColumn.type {
                    differingTypes.append(Finding(
                        kind: .typeDiffers, table: label, column: column.name, documentedType: column.type,
                        databaseType: liveColumn.type, line: line))
                }
            }
            // A table documented without columns says nothing about them.
            guard !table.columns.isEmpty else { continue }
            for liveColumn in live.columns where table.column(liveColumn.name) == nil {
                undocumentedColumns.append(Finding(
                    kind: .columnUndocumented, table: label, column: liveColumn.name, databaseType: liveColumn.type))
            }
        }
        let covered = Set(documented.namespaces.isEmpty ? documented.tables.values.map(\.schema) : documented.namespaces)
        let undocumentedTables = database.tables.sorted(by: { $0.key < $1.key })
            .filter { covered.contains($0.value.schema) && documented.tables[$0.key] == nil }
            .map { Finding(kind: .tableUndocumented, table: $0.value.objectName.description) }
        return DocsCheck(
            contradictions: absentTables + absentColumns + differingTypes,
            undocumented: undocumentedTables + undocumentedColumns,
            typesNotCompared: notCompared)
    }
}

