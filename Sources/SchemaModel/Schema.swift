/// The structure of a database (or of the schemas chosen from it): what a snapshot records and
/// what a diff compares.
///
/// Named things are kept in dictionaries keyed by their qualified name (`schema.name`), so two
/// schemas are equal whatever order the catalog returned them in, and the JSON form lists them
/// sorted. Columns keep their order, which is part of a table's meaning (`SELECT *`, `COPY`).
public struct Schema: Codable, Sendable, Hashable {
    /// The schemas (namespaces) this snapshot covers.
    public var namespaces: [String]
    public var tables: [String: Table]
    public var views: [String: View]
    public var sequences: [String: SequenceDefinition]
    public var enums: [String: EnumType]
    public var domains: [String: Domain]
    public var extensions: [String: Extension]

    public init(
        namespaces: [String] = [], tables: [String: Table] = [:], views: [String: View] = [:],
        sequences: [String: SequenceDefinition] = [:], enums: [String: EnumType] = [:],
        domains: [String: Domain] = [:], extensions: [String: Extension] = [:]
    ) {
        self.namespaces = namespaces.sorted()
        self.tables = tables
        self.views = views
        self.sequences = sequences
        self.enums = enums
        self.domains = domains
        self.extensions = extensions
    }

    /// The table called `name` (`users` means `public.users`; `s.t` is schema-qualified).
    public func table(_ name: String) -> Table? {
        tables[ObjectName(parsing: name).key]
    }

    enum CodingKeys: String, CodingKey {
        case namespaces, tables, views, sequences, enums, domains, extensions
    }

    /// As synthesized, except that tables already rendered in parallel (by `Snapshot.jsonText`)
    /// are spliced in rather than encoded again.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(namespaces, forKey: .namespaces)
        if let rendered = encoder.userInfo[.renderedTables] as? [String: [UInt8]] {
            try container.encode(RenderedMembers(members: rendered), forKey: .tables)
        } else {
            try container.encode(tables, forKey: .tables)
        }
        try container.encode(views, forKey: .views)
        try container.encode(sequences, forKey: .sequences)
        try container.encode(enums, forKey: .enums)
        try container.encode(domains, forKey: .domains)
        try container.encode(extensions, forKey: .extensions)
    }
}

extension CodingUserInfoKey {
    /// `[String: [UInt8]]`: the schema's tables, already rendered as canonical JSON.
    static let renderedTables: CodingUserInfoKey = {
        guard let key = CodingUserInfoKey(rawValue: "pgmend.renderedTables") else {
            preconditionFailure("CodingUserInfoKey refused a constant, non-empty raw value")
        }
        return key
    }()
}

/// A schema-qualified name, written `schema.name` as a dictionary key and shown without the
/// schema when it is `public`.
public struct ObjectName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var schema: String
    public var name: String

    public init(schema: String, name: String) {
        self.schema = schema
        self.name = name
    }

    /// `users` -> public.users, `audit.log` -> audit.log.
    public init(parsing text: String) {
        if let dot = text.firstIndex(of: ".") {
            self.init(schema: String(text[..<dot]), name: String(text[text.index(after: dot)...]))
        } else {
            self.init(schema: "public", name: text)
        }
    }

    /// The key of this object in `Schema`'s dictionaries.
    public var key: String { "\(schema).\(name)" }
    /// How an operator reads it: without `public.`.
    public var description: String { schema == "public" ? name : key }
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.schema, lhs.name) < (rhs.schema, rhs.name) }
}

/// A table (ordinary, partitioned or foreign) and everything defined on it.
public struct Table: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable { case ordinary, partitioned, foreign }
    public enum Persistence: String, Codable, Sendable { case permanent, unlogged, temporary }

    public var schema: String
    public var name: String
    public var kind: Kind
    public var persistence: Persistence
    public var comment: String?
    /// In column order (`attnum`).
    public var columns: [Column]
    public var constraints: [String: Constraint]
    public var indexes: [String: Index]
    public var triggers: [String: Trigger]
    /// For a partition: the parent table's qualified name and the partition bound.
    public var partitionOf: String?
    public var partitionBound: String?
    /// For a partitioned table: `PARTITION BY ...`.
    public var partitionKey: String?

    public init(
        schema: String, name: String, kind: Kind = .ordinary, persistence: Persistence = .permanent,
        comment: String? = nil, columns: [Column] = [], constraints: [String: Constraint] = [:],
        indexes: [String: Index] = [:], triggers: [String: Trigger] = [:],
        partitionOf: String? = nil, partitionBound: String? = nil, partitionKey: String? = nil
    ) {
        self.schema = schema
        self.name = name
        self.kind = kind
        self.persistence = persistence
        self.comment = comment
        self.columns = columns
        self.constraints = constraints
        self.indexes = indexes
        self.triggers = triggers
        self.partitionOf = partitionOf
        self.partitionBound = partitionBound
        self.partitionKey = partitionKey
    }

    public var objectName: ObjectName { ObjectName(schema: schema, name: name) }
    public func column(_ name: String) -> Column? { columns.first { $0.name == name } }
    /// The primary key constraint, if the table has one.
    public var primaryKey: Constraint? { constraints.values.first { $0.kind == .primaryKey } }
}

/// A table or view column.
public struct Column: Codable, Sendable, Hashable {
    public enum Identity: String, Codable, Sendable { case always, byDefault = "by_default" }

    public var name: String
    /// The type as PostgreSQL prints it (`format_type`): `character varying(20)`, `uuid`,
    /// `timestamp without time zone`, `public.sms_role`.
    public var type: String
    public var notNull: Bool
    /// The default expression as PostgreSQL prints it (`pg_get_expr`), e.g. `nextval('users_id_seq'::regclass)`.
    public var defaultExpression: String?
    public var identity: Identity?
    /// For a stored generated column, its expression.
    public var generatedExpression: String?
    /// Set only when it differs from the type's default collation.
    public var collation: String?
    public var comment: String?

    public init(
        name: String, type: String, notNull: Bool = false, defaultExpression: String? = nil,
        identity: Identity? = nil, generatedExpression: String? = nil, collation: String? = nil,
        comment: String? = nil
    ) {
        self.name = name
        self.type = type
        self.notNull = notNull
        self.defaultExpression = defaultExpression
        self.identity = identity
        self.generatedExpression = generatedExpression
        self.collation = collation
        self.comment = comment
    }

    enum CodingKeys: String, CodingKey {
        case name, type, notNull = "not_null", defaultExpression = "default", identity
        case generatedExpression = "generated", collation, comment
    }
}

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

/// A trigger on a table.
public struct Trigger: Codable, Sendable, Hashable {
    public var name: String
    /// `pg_get_triggerdef`: the CREATE TRIGGER statement.
    public var definition: String
    /// `O` origin (enabled), `D` disabled, `R` replica, `A` always.
    public var enabled: String

    public init(name: String, definition: String, enabled: String = "O") {
        self.name = name
        self.definition = definition
        self.enabled = enabled
    }
}

/// A view or materialized view.
public struct View: Codable, Sendable, Hashable {
    public var schema: String
    public var name: String
    public var materialized: Bool
    /// `pg_get_viewdef`: the query.
    public var definition: String
    public var columns: [Column]
    /// The table columns the view reads, as `schema.table.column`, sorted.
    public var dependsOn: [String]
    public var comment: String?
    /// Indexes on a materialized view.
    public var indexes: [String: Index]

    public init(
        schema: String, name: String, materialized: Bool = false, definition: String, columns: [Column] = [],
        dependsOn: [String] = [], comment: String? = nil, indexes: [String: Index] = [:]
    ) {
        self.schema = schema
        self.name = name
        self.materialized = materialized
        self.definition = definition
        self.columns = columns
        self.dependsOn = dependsOn.sorted()
        self.comment = comment
        self.indexes = indexes
    }

    enum CodingKeys: String, CodingKey {
        case schema, name, materialized, definition, columns, dependsOn = "depends_on", comment, indexes
    }
}

/// A sequence and the column that owns it (serial and identity columns).
public struct SequenceDefinition: Codable, Sendable, Hashable {
    public var schema: String
    public var name: String
    public var type: String
    public var start: Int64
    public var increment: Int64
    public var minValue: Int64
    public var maxValue: Int64
    public var cache: Int64
    public var cycle: Bool
    /// `schema.table.column` of the owning column, if any.
    public var ownedBy: String?

    public init(
        schema: String, name: String, type: String = "bigint", start: Int64 = 1, increment: Int64 = 1,
        minValue: Int64 = 1, maxValue: Int64 = Int64.max, cache: Int64 = 1, cycle: Bool = false, ownedBy: String? = nil
    ) {
        self.schema = schema
        self.name = name
        self.type = type
        self.start = start
        self.increment = increment
        self.minValue = minValue
        self.maxValue = maxValue
        self.cache = cache
        self.cycle = cycle
        self.ownedBy = ownedBy
    }

    enum CodingKeys: String, CodingKey {
        case schema, name, type, start, increment, minValue = "min_value", maxValue = "max_value"
        case cache, cycle, ownedBy = "owned_by"
    }
}

/// An enum type and its labels, in order.
public struct EnumType: Codable, Sendable, Hashable {
    public var schema: String
    public var name: String
    public var labels: [String]

    public init(schema: String, name: String, labels: [String]) {
        self.schema = schema
        self.name = name
        self.labels = labels
    }
}

/// A domain: a base type with constraints.
public struct Domain: Codable, Sendable, Hashable {
    public var schema: String
    public var name: String
    public var baseType: String
    public var notNull: Bool
    public var defaultExpression: String?
    /// Check constraints by name: their `CHECK (...)` definitions.
    public var checks: [String: String]

    public init(
        schema: String, name: String, baseType: String, notNull: Bool = false,
        defaultExpression: String? = nil, checks: [String: String] = [:]
    ) {
        self.schema = schema
        self.name = name
        self.baseType = baseType
        self.notNull = notNull
        self.defaultExpression = defaultExpression
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey {
        case schema, name, baseType = "base_type", notNull = "not_null", defaultExpression = "default", checks
    }
}

/// An installed extension.
public struct Extension: Codable, Sendable, Hashable {
    public var name: String
    public var version: String
    public var schema: String

    public init(name: String, version: String, schema: String) {
        self.name = name
        self.version = version
        self.schema = schema
    }
}
