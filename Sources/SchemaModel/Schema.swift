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
    /// Only in a snapshot from a schema document: the type as the document wrote it, when the
    /// server did not recognise it (or none was asked). `type` then holds the same text, which
    /// no comparison reads: such a column is compared by name only (`hasComparableType`).
    public var documentedType: String?

    public init(
        name: String, type: String, notNull: Bool = false, defaultExpression: String? = nil,
        identity: Identity? = nil, generatedExpression: String? = nil, collation: String? = nil,
        comment: String? = nil, documentedType: String? = nil
    ) {
        self.name = name
        self.type = type
        self.notNull = notNull
        self.defaultExpression = defaultExpression
        self.identity = identity
        self.generatedExpression = generatedExpression
        self.collation = collation
        self.comment = comment
        self.documentedType = documentedType
    }

    /// False for a documented column whose type the server did not recognise: its `type` is
    /// the document's text, not PostgreSQL's spelling, and is not compared.
    public var hasComparableType: Bool { documentedType == nil }

    enum CodingKeys: String, CodingKey {
        case name, type, notNull = "not_null", defaultExpression = "default", identity
        case generatedExpression = "generated", collation, comment, documentedType = "documented_type"
    }
}
