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
