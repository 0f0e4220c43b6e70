/// A table constraint.
public struct Constraint: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable {
        case primaryKey = "primary_key", unique, foreignKey = "foreign_key", check, exclusion
    }

    public var name: String
    public var kind: Kind
    /// The constrained columns, in key order (empty for a check on an expression).
    public var columns: [String]
    /// The full definition as `pg_get_constraintdef` prints it, e.g. `CHECK ((progress >= 0))`.
    public var definition: String
    /// For a check: the expression alone.
    public var checkExpression: String?
    public var foreignKey: ForeignKey?
    public var deferrable: Bool
    public var initiallyDeferred: Bool
    /// False for a constraint added NOT VALID and not yet validated.
    public var validated: Bool
    /// The index that enforces a primary key, unique or exclusion constraint.
    public var index: String?

    public init(
        name: String, kind: Kind, columns: [String] = [], definition: String,
        checkExpression: String? = nil, foreignKey: ForeignKey? = nil, deferrable: Bool = false,
        initiallyDeferred: Bool = false, validated: Bool = true, index: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.columns = columns
        self.definition = definition
        self.checkExpression = checkExpression
        self.foreignKey = foreignKey
        self.deferrable = deferrable
        self.initiallyDeferred = initiallyDeferred
        self.validated = validated
        self.index = index
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, columns, definition, checkExpression = "check_expression"
        case foreignKey = "foreign_key", deferrable, initiallyDeferred = "initially_deferred"
        case validated, index
    }
}

/// What a foreign key references and what happens on delete and update.
public struct ForeignKey: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable {
        case noAction = "NO ACTION", restrict = "RESTRICT", cascade = "CASCADE"
        case setNull = "SET NULL", setDefault = "SET DEFAULT"
    }
    public enum Match: String, Codable, Sendable { case simple = "SIMPLE", full = "FULL", partial = "PARTIAL" }

    /// The referenced table's qualified name (`schema.name`).
    public var referencedTable: String
    public var referencedColumns: [String]
    public var onDelete: Action
    public var onUpdate: Action
    public var match: Match

    public init(
        referencedTable: String, referencedColumns: [String], onDelete: Action = .noAction,
        onUpdate: Action = .noAction, match: Match = .simple
    ) {
        self.referencedTable = referencedTable
        self.referencedColumns = referencedColumns
        self.onDelete = onDelete
        self.onUpdate = onUpdate
        self.match = match
    }

    enum CodingKeys: String, CodingKey {
        case referencedTable = "references", referencedColumns = "referenced_columns"
        case onDelete = "on_delete", onUpdate = "on_update", match
    }
}

/// An index and the shape of its keys.
public struct Index: Codable, Sendable, Hashable {
    public var name: String
    /// `pg_get_indexdef`: the CREATE INDEX statement that rebuilds it.
    public var definition: String
    /// Access method: btree, hash, gin, gist, brin, ...
    public var method: String
    public var keys: [IndexKey]
    /// Non-key columns (`INCLUDE (...)`).
    public var include: [String]
    /// `WHERE ...` of a partial index.
    public var predicate: String?
    public var unique: Bool
    public var primary: Bool
    /// False for an index left invalid by a failed `CREATE INDEX CONCURRENTLY`.
    public var valid: Bool
    /// The constraint this index enforces, if any.
    public var constraint: String?

    public init(
        name: String, definition: String, method: String = "btree", keys: [IndexKey],
        include: [String] = [], predicate: String? = nil, unique: Bool = false, primary: Bool = false,
        valid: Bool = true, constraint: String? = nil
    ) {
        self.name = name
        self.definition = definition
        self.method = method
        self.keys = keys
        self.include = include
        self.predicate = predicate
        self.unique = unique
        self.primary = primary
        self.valid = valid
        self.constraint = constraint
    }
}

/// One key of an index: a column or an expression, with its operator class, collation and order
/// when they differ from the defaults.
public struct IndexKey: Codable, Sendable, Hashable {
    /// A column name, or an expression as PostgreSQL prints it.
    public var expression: String
    /// True when `expression` is a plain column name.
    public var isColumn: Bool
    public var operatorClass: String?
    public var collation: String?
    public var descending: Bool
    public var nullsFirst: Bool

    public init(
        expression: String, isColumn: Bool = true, operatorClass: String? = nil, collation: String? = nil,
        descending: Bool = false, nullsFirst: Bool = false
    ) {
        self.expression = expression
        self.isColumn = isColumn
        self.operatorClass = operatorClass
        self.collation = collation
        self.descending = descending
        self.nullsFirst = nullsFirst
    }

    enum CodingKeys: String, CodingKey {
        case expression, isColumn = "is_column", operatorClass = "operator_class", collation
        case descending, nullsFirst = "nulls_first"
    }
}
