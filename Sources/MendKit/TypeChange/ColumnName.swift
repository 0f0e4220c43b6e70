import PostgresClient
import SchemaModel

/// A table's column, as the type-changing steps name them: `apps.id`.
public struct ColumnName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var table: ObjectName
    public var column: String

    public init(table: ObjectName, column: String) {
        self.table = table
        self.column = column
    }

    /// `table.column` or `schema.table.column`: the last dot ends the table's name.
    public init?(parsing text: String) {
        guard let dot = text.lastIndex(of: "."), dot != text.startIndex, text.index(after: dot) != text.endIndex else { return nil }
        self.init(table: ObjectName(parsing: String(text[..<dot])), column: String(text[text.index(after: dot)...]))
    }

    /// `schema.table.column`, as views' `depends_on` lists columns.
    public var key: String { "\(table.key).\(column)" }
    public var description: String { "\(table).\(column)" }
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.table, lhs.column) < (rhs.table, rhs.column) }
}

extension OptionReader {
    /// A list of `table.column` names (`columns`, `exclude` of the type-changing steps).
    mutating func columnNames(_ key: String) -> [ColumnName]? {
        guard let items = locatedTextList(key, required: false) else { return nil }
        var names: [ColumnName] = []
        for (text, location) in items {
            guard let name = columnName(text, at: location, in: key) else { continue }
            if names.contains(name) { report(location, "\(name) is listed twice in '\(key)'") }
            names.append(name)
        }
        return names
    }

    /// One item of a list of `table.column` names, checked where it is written.
    mutating func columnName(_ text: String, at location: FileLocation, in key: String) -> ColumnName? {
        guard let name = ColumnName(parsing: text) else {
            report(location, "each item of '\(key)' in \(owner) must be written table.column, not '\(text)'")
            return nil
        }
        let table = text[..<(text.lastIndex(of: ".") ?? text.endIndex)]
        guard checkName(String(table), at: location, what: "the table of '\(text)'", qualified: "table"),
            checkName(name.column, at: location, what: "the column of '\(text)'")
        else { return nil }
        return name
    }

    /// `method: rewrite` (the default) or `online`; nil after a problem was reported.
    mutating func typeChangeMethod() -> TypeChangeMethod? {
        guard let text = optionalText("method") else { return .rewrite }
        guard let method = TypeChangeMethod(rawValue: text) else {
            report(location(of: "method"), "option 'method' of \(owner) must be rewrite or online, not '\(text)'")
            return nil
        }
        return method
    }
}

/// How a column's type changes: `ALTER ... TYPE` under one lock, or a shadow column swapped in.
enum TypeChangeMethod: String, Sendable {
    case rewrite, online
}

/// One column's change: the type it gets, how its values convert, and its default afterwards.
struct ColumnRetype: Sendable {
    var column: ColumnName
    /// The type as written in `ALTER ... TYPE`, and as the catalog will print it.
    var newType: String
    /// SQL over the quoted column that gives the new value; nil: the type's own cast.
    var using: SQL?
    /// The default expression afterwards, as the catalog printed it (the old default with its
    /// cast to the old type removed); nil: none. The old one is dropped first (PostgreSQL
    /// converts a default by an assignment cast, which text to uuid lacks).
    var newDefault: String?
    /// Whether the column had a default to drop.
    var hadDefault: Bool
    /// For `method: online`: the new value from `value` (the quoted column in a batch,
    /// `NEW."column"` in the trigger), as SQL that no session setting changes the result of;
    /// nil: `value::newType`. It goes into DDL and a trigger's body: it binds no values.
    var convert: (@Sendable (_ value: SQL) -> SQL)? = nil
    /// For `method: online`: a value the conversion turns into NULL is journaled with this
    /// reason under the swap's lock (`on_invalid: null`); nil: the conversion nulls nothing.
    var nulledReason: String? = nil
    /// Values the conversion sets to NULL, as the assessment counted them: the change then
    /// carries the `deletes_data` hazard with their number.
    var nulledCount = 0

    /// The new type, as SQL: the catalog's spelling of it.
    var newTypeSQL: SQL { .catalogText(newType) }

    /// The new default, as SQL; nil: none.
    var newDefaultSQL: SQL? { newDefault.map(SQL.catalogText) }

    /// The column's new value from `value`: the conversion, or the type's own cast.
    func converted(_ value: SQL) -> SQL { convert?(value) ?? "\(value)::\(newTypeSQL)" }
}

/// A change that can be made, or the problems that stop it.
enum Planned<Value> {
    case success(Value)
    case failure([StepProblem])
}

