import PostgresClient
import SchemaModel

/// A documented column type's text, cleaned of what documents put beside the type.
enum ColumnType {
    /// `enum \`sms_role\``, `**uuid** PK`, `varchar(255) NOT NULL`, `uuid (FK)`: the type alone
    /// (`sms_role`, `uuid`, `varchar(255)`), whitespace collapsed; empty when there is none.
    static func cleaned(_ text: String) -> String {
        var type = text.filter { $0 != "`" && $0 != "*" }
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
        while let last = type.last, last == "." || last == "," || last == ";" { type.removeLast() }
        if let cut = firstAnnotation(in: type) { type = String(type[..<cut]).trimmingWhitespace() }
        if type.lowercased().hasPrefix("enum ") { type = String(type.dropFirst(5)).trimmingWhitespace() }
        return constraintWords.contains(type.lowercased()) ? "" : type
    }

    /// What is a key or a note rather than a type, when a whole cell or item is one.
    static let constraintWords: Set<String> = [
        "pk", "fk", "primary key", "foreign key", "unique", "not null", "null", "nullable", "required", "optional",
        "indexed", "index", "auto", "autoincrement", "auto increment",
    ]

    /// Where the annotations after a type start: ` NOT NULL`, ` PK`, ` DEFAULT ...`, ` (FK)`.
    static func firstAnnotation(in type: String) -> String.Index? {
        let lower = type.lowercased()
        var cut: String.Index?
        for word in ["not null", "null", "primary key", "pk", "fk", "unique", "default", "references", "check",
                     "nullable", "required", "optional", "indexed", "generated", "foreign key", "identity"] {
            var search = lower.startIndex
            while let range = lower.range(of: " " + word, range: search..<lower.endIndex) {
                let after = range.upperBound
                if after == lower.endIndex || !(lower[after].isLetter || lower[after].isNumber || lower[after] == "_") {
                    if cut.map({ range.lowerBound < $0 }) ?? true { cut = range.lowerBound }
                    break
                }
                search = after
            }
        }
        // ` (FK)`, ` (nullable)`: a parenthesis after a space that does not hold a type modifier.
        if let open = lower.range(of: " (") {
            let next = lower[open.upperBound...].first
            if next.map({ !$0.isNumber && $0 != " " }) ?? false, cut.map({ open.lowerBound < $0 }) ?? true {
                cut = open.lowerBound
            }
        }
        return cut
    }

    /// The type part of a list item after its separator: up to ` — `, ` - `, `; ` or a comma
    /// outside parentheses (`numeric(10,2), unique` -> `numeric(10,2)`).
    static func beforeDescription(_ text: String) -> String {
        var type = text
        for separator in [" — ", " – ", " - ", "; "] {
            if let range = type.range(of: separator) { type = String(type[..<range.lowerBound]) }
        }
        return MarkdownInline.splitAtTopLevelCommas(type).first ?? type
    }

    /// PostgreSQL's `serial` pseudo-types: a column declared with one has the integer type.
    static let serialTypes: [String: String] = [
        "serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint",
        "smallserial": "smallint", "serial2": "smallint",
    ]
}

/// Asks a server which documented types it knows, and how `format_type` prints them.
///
/// `to_regtype` parses the text (bound, never spliced) with the session's own `search_path`,
/// so an enum documented without its schema is found where the application finds it; the
/// modifier (`varchar(255)`, `numeric(10,2)`, `timestamp(3)`) is computed by the type's own
/// modifier function for the core types that have one, and the result is printed with
/// `search_path = pg_catalog` as the catalog reader prints column types. Text the server
/// does not parse, a type it does not have, or a modifier of a type outside the core
/// (`vector(1536)`) is left unrecognised. Reads only, in one read-only transaction.
public struct DocumentedTypeResolver {
    let connection: Connection

    public init(connection: Connection) {
        self.connection = connection
    }

    /// Each recognised text, mapped to PostgreSQL's spelling; unrecognised texts are absent.
    public func resolve(_ texts: Set<String>) throws -> [String: String] {
        try connection.transaction(readOnly: true) { connection in
            var found: [String: (oid: UInt32, modifier: Int32)] = [:]
            for text in texts.sorted() {
                if let resolved = try typeAndModifier(text) { found[text] = resolved }
            }
            try connection.setLocal("search_path", "pg_catalog")
            var spelled: [String: String] = [:]
            for (text, resolved) in found {
                let sql: SQL = "SELECT format_type(\(bind: Int(resolved.oid))::oid, \(bind: Int(resolved.modifier))::int4)"
                if let name = try connection.scalar(sql, as: String.self) { spelled[text] = name }
            }
            return spelled
        }
    }

    /// The type's oid and modifier (-1 for none), or nil when the server does not know it.
    func typeAndModifier(_ text: String) throws -> (oid: UInt32, modifier: Int32)? {
        let mapped = ColumnType.serialTypes[text.lowercased()] ?? text
        let modifiers = Self.modifiers(mapped)
        guard modifiers != .unreadable else { return nil }
        let looked: (oid: Int64, modifierFunction: String?)? = try attempt {
            let sql: SQL = """
                SELECT t.oid::int8, CASE WHEN n.nspname = 'pg_catalog' THEN p.proname END
                FROM pg_catalog.pg_type t
                LEFT JOIN pg_catalog.pg_proc p ON p.oid = t.typmodin
                LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE t.oid = pg_catalog.to_regtype(\(bind: mapped))
                """
            guard let row = try connection.query(sql).first else { return nil }
            return (try row.get(0, as: Int64.self), try row.get(1, as: String?.self))
        } ?? nil
        guard let looked, let oid = UInt32(exactly: looked.oid) else { return nil }
        guard case .list(let values) = modifiers else { return (oid, -1) }
        guard let function = looked.modifierFunction, let statement = Self.modifierStatement(function, values) else { return nil }
        guard let modifier = try attempt({ try connection.scalar(statement, as: Int.self) }) ?? nil,
              let typmod = Int32(exactly: modifier)
        else { return nil }
        return (oid, typmod)
    }

    /// Runs `body` in a savepoint; a server error (a syntax error in the type text, a modifier
    /// the type refuses) means "not recognised", any other failure is thrown.
    private func attempt<T>(_ body: () throws -> T) throws -> T? {
        do {
            return try connection.transaction { _ in try body() }
        } catch let error as PostgresError where error.kind == .server {
            return nil
        }
    }

    enum Modifiers: Equatable {
        case none
        case list([String])
        case unreadable
    }

    /// The one parenthesised modifier list in a type (`varchar(255)[]` -> ["255"]).
    static func modifiers(_ text: String) -> Modifiers {
        guard let open = text.firstIndex(of: "(") else { return .none }
        guard let inside = MarkdownInline.parenthesised(text[open...]) else { return .unreadable }
        let after = text[text.index(open, offsetBy: inside.count + 2)...]
        if after.contains("(") { return .unreadable }
        return .list(MarkdownInline.splitAtTopLevelCommas(inside))
    }

    /// The modifier function of a core type, called with the document's modifiers as a
    /// bound `cstring[]`. The list is fixed so no function name is ever spliced in.
    static func modifierStatement(_ function: String, _ values: [String]) -> SQL? {
        let array = "{" + values.map { $0.filter { $0.isNumber || $0 == "-" } }.joined(separator: ",") + "}"
        switch function {
        case "varchartypmodin": return "SELECT pg_catalog.varchartypmodin(\(bind: array)::cstring[])"
        case "bpchartypmodin": return "SELECT pg_catalog.bpchartypmodin(\(bind: array)::cstring[])"
        case "numerictypmodin": return "SELECT pg_catalog.numerictypmodin(\(bind: array)::cstring[])"
        case "timestamptypmodin": return "SELECT pg_catalog.timestamptypmodin(\(bind: array)::cstring[])"
        case "timestamptztypmodin": return "SELECT pg_catalog.timestamptztypmodin(\(bind: array)::cstring[])"
        case "timetypmodin": return "SELECT pg_catalog.timetypmodin(\(bind: array)::cstring[])"
        case "timetztypmodin": return "SELECT pg_catalog.timetztypmodin(\(bind: array)::cstring[])"
        case "bittypmodin": return "SELECT pg_catalog.bittypmodin(\(bind: array)::cstring[])"
        case "varbittypmodin": return "SELECT pg_catalog.varbittypmodin(\(bind: array)::cstring[])"
        default: return nil
        }
    }
}
