/// An SQL identifier (a table, column, index, schema ... name), always written quoted.
///
/// Quoting every identifier keeps names exactly as the catalog spells them (case included)
/// and makes a name like `weird"name; drop table x` one harmless identifier.
public struct SQLIdentifier: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }

    /// The identifier in double quotes, embedded quotes doubled.
    public var quoted: String { "\"" + name.replacingAll("\"", with: "\"\"") + "\"" }
    public var description: String { quoted }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.name < rhs.name }
}

/// A possibly schema-qualified name: `"schema"."table"`.
public struct QualifiedName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let schema: String?
    public let name: String
    public init(schema: String? = nil, _ name: String) {
        self.schema = schema
        self.name = name
    }

    public var quoted: String {
        let table = SQLIdentifier(name).quoted
        guard let schema else { return table }
        return SQLIdentifier(schema).quoted + "." + table
    }
    public var description: String { quoted }
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.schema ?? "", lhs.name) < (rhs.schema ?? "", rhs.name)
    }
}

/// Text for the rare place SQL cannot take a bound parameter (DDL defaults, COMMENT ON,
/// CHECK expressions in generated DDL). Everywhere else, bind the value instead.
public enum SQLLiteral {
    /// A string literal that means `value` whatever `standard_conforming_strings` is: quotes
    /// doubled and, when there is a backslash, the `E'...'` form with backslashes doubled
    /// (what `PQescapeLiteral` produces).
    public static func quoted(_ value: String) -> String {
        let body = value.replacingAll("'", with: "''")
        if value.contains("\\") {
            return " E'" + body.replacingAll("\\", with: "\\\\") + "'"
        }
        return "'" + body + "'"
    }
}
