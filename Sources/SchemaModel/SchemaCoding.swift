/// Snapshot JSON leaves out values that are the usual default (`not_null: false`, `valid: true`,
/// `is_column: true`, `NO ACTION`, empty lists, ...): a snapshot reads as what is special about
/// each object, diffs stay small, and a large schema is written faster. Reading puts the
/// defaults back, so the model never sees the difference.
extension KeyedEncodingContainer {
    mutating func encode<T: Encodable & Equatable>(_ value: T, forKey key: Key, unless usual: T) throws {
        if value != usual { try encode(value, forKey: key) }
    }
}

extension KeyedDecodingContainer {
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key, otherwise usual: T) throws -> T {
        try decodeIfPresent(type, forKey: key) ?? usual
    }
}

extension Table {
    enum CodingKeys: String, CodingKey {
        case schema, name, kind, persistence, comment, columns, constraints, indexes, triggers
        case partitionOf = "partition_of", partitionBound = "partition_bound", partitionKey = "partition_key"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            schema: try container.decode(String.self, forKey: .schema),
            name: try container.decode(String.self, forKey: .name),
            kind: try container.decode(Kind.self, forKey: .kind, otherwise: .ordinary),
            persistence: try container.decode(Persistence.self, forKey: .persistence, otherwise: .permanent),
            comment: try container.decodeIfPresent(String.self, forKey: .comment),
            columns: try container.decode([Column].self, forKey: .columns, otherwise: []),
            constraints: try container.decode([String: Constraint].self, forKey: .constraints, otherwise: [:]),
            indexes: try container.decode([String: Index].self, forKey: .indexes, otherwise: [:]),
            triggers: try container.decode([String: Trigger].self, forKey: .triggers, otherwise: [:]),
            partitionOf: try container.decodeIfPresent(String.self, forKey: .partitionOf),
            partitionBound: try container.decodeIfPresent(String.self, forKey: .partitionBound),
            partitionKey: try container.decodeIfPresent(String.self, forKey: .partitionKey))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind, unless: .ordinary)
        try container.encode(persistence, forKey: .persistence, unless: .permanent)
        try container.encodeIfPresent(comment, forKey: .comment)
        try container.encode(columns, forKey: .columns)
        try container.encode(constraints, forKey: .constraints, unless: [:])
        try container.encode(indexes, forKey: .indexes, unless: [:])
        try container.encode(triggers, forKey: .triggers, unless: [:])
        try container.encodeIfPresent(partitionOf, forKey: .partitionOf)
        try container.encodeIfPresent(partitionBound, forKey: .partitionBound)
        try container.encodeIfPresent(partitionKey, forKey: .partitionKey)
    }
}

extension Column {
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            type: try container.decode(String.self, forKey: .type),
            notNull: try container.decode(Bool.self, forKey: .notNull, otherwise: false),
            defaultExpression: try container.decodeIfPresent(String.self, forKey: .defaultExpression),
            identity: try container.decodeIfPresent(Identity.self, forKey: .identity),
            generatedExpression: try container.decodeIfPresent(String.self, forKey: .generatedExpression),
            collation: try container.decodeIfPresent(String.self, forKey: .collation),
            comment: try container.decodeIfPresent(String.self, forKey: .comment),
            documentedType: try container.decodeIfPresent(String.self, forKey: .documentedType))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(type, forKey: .type)
        try container.encode(notNull, forKey: .notNull, unless: false)
        try container.encodeIfPresent(defaultExpression, forKey: .defaultExpression)
        try container.encodeIfPresent(identity, forKey: .identity)
        try container.encodeIfPresent(generatedExpression, forKey: .generatedExpression)
        try container.encodeIfPresent(collation, forKey: .collation)
        try container.encodeIfPresent(comment, forKey: .comment)
        try container.encodeIfPresent(documentedType, forKey: .documentedType)
    }
}

extension Constraint {
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            kind: try container.decode(Kind.self, forKey: .kind),
            columns: try container.decode([String].self, forKey: .columns, otherwise: []),
            definition: try container.decode(String.self, forKey: .definition),
            checkExpression: try container.decodeIfPresent(String.self, forKey: .checkExpression),
            foreignKey: try container.decodeIfPresent(ForeignKey.self, forKey: .foreignKey),
            deferrable: try container.decode(Bool.self, forKey: .deferrable, otherwise: false),
            initiallyDeferred: try container.decode(Bool.self, forKey: .initiallyDeferred, otherwise: false),
            validated: try container.decode(Bool.self, forKey: .validated, otherwise: true),
            index: try container.decodeIfPresent(String.self, forKey: .index))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind)
        try container.encode(columns, forKey: .columns, unless: [])
        try container.encode(definition, forKey: .definition)
        try container.encodeIfPresent(checkExpression, forKey: .checkExpression)
        try container.encodeIfPresent(foreignKey, forKey: .foreignKey)
        try container.encode(deferrable, forKey: .deferrable, unless: false)
        try container.encode(initiallyDeferred, forKey: .initiallyDeferred, unless: false)
        try container.encode(validated, forKey: .validated, unless: true)
        try container.encodeIfPresent(index, forKey: .index)
    }
}

extension ForeignKey {
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            referencedTable: try container.decode(String.self, forKey: .referencedTable),
            referencedColumns: try container.decode([String].self, forKey: .referencedColumns),
            onDelete: try container.decode(Action.self, forKey: .onDelete, otherwise: .noAction),
            onUpdate: try container.decode(Action.self, forKey: .onUpdate, otherwise: .noAction),
            match: try container.decode(Match.self, forKey: .match, otherwise: .simple))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(referencedTable, forKey: .referencedTable)
        try container.encode(referencedColumns, forKey: .referencedColumns)
        try container.encode(onDelete, forKey: .onDelete, unless: .noAction)
        try container.encode(onUpdate, forKey: .onUpdate, unless: .noAction)
        try container.encode(match, forKey: .match, unless: .simple)
    }
}

extension Index {
    enum CodingKeys: String, CodingKey {
        case name, definition, method, keys, include, predicate, unique, primary, valid, constraint
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            definition: try container.decode(String.self, forKey: .definition),
            method: try container.decode(String.self, forKey: .method, otherwise: "btree"),
            keys: try container.decode([IndexKey].self, forKey: .keys),
            include: try container.decode([String].self, forKey: .include, otherwise: []),
            predicate: try container.decodeIfPresent(String.self, forKey: .predicate),
            unique: try container.decode(Bool.self, forKey: .unique, otherwise: false),
            primary: try container.decode(Bool.self, forKey: .primary, otherwise: false),
            valid: try container.decode(Bool.self, forKey: .valid, otherwise: true),
            constraint: try container.decodeIfPresent(String.self, forKey: .constraint))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(definition, forKey: .definition)
        try container.encode(method, forKey: .method, unless: "btree")
        try container.encode(keys, forKey: .keys)
        try container.encode(include, forKey: .include, unless: [])
        try container.encodeIfPresent(predicate, forKey: .predicate)
        try container.encode(unique, forKey: .unique, unless: false)
        try container.encode(primary, forKey: .primary, unless: false)
        try container.encode(valid, forKey: .valid, unless: true)
        try container.encodeIfPresent(constraint, forKey: .constraint)
    }
}

extension IndexKey {
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            expression: try container.decode(String.self, forKey: .expression),
            isColumn: try container.decode(Bool.self, forKey: .isColumn, otherwise: true),
            operatorClass: try container.decodeIfPresent(String.self, forKey: .operatorClass),
            collation: try container.decodeIfPresent(String.self, forKey: .collation),
            descending: try container.decode(Bool.self, forKey: .descending, otherwise: false),
            nullsFirst: try container.decode(Bool.self, forKey: .nullsFirst, otherwise: false))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(expression, forKey: .expression)
        try container.encode(isColumn, forKey: .isColumn, unless: true)
        try container.encodeIfPresent(operatorClass, forKey: .operatorClass)
        try container.encodeIfPresent(collation, forKey: .collation)
        try container.encode(descending, forKey: .descending, unless: false)
        try container.encode(nullsFirst, forKey: .nullsFirst, unless: false)
    }
}
