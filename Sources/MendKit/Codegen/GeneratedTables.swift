import SchemaModel

/// Why models cannot be generated for the tables asked for.
public enum CodegenError: Error, Sendable, CustomStringConvertible, Equatable {
    case unknownTables([String])
    case noTables

    public var description: String {
        switch self {
        case .unknownTables(let names):
            "no table named \(names.joined(separator: ", ")) in the schema"
        case .noTables:
            "no tables to generate models for"
        }
    }
}

/// The tables one generated file covers, and every name the file gives them, decided once so
/// the models and the migration agree: class names, attribute names, relationship pairs, the
/// order tables are created in, and the enum types they use.
struct GeneratedTables {
    let schema: Schema
    /// In creation order: every table after the tables it references (ties by name).
    let tables: [Table]
    /// Class (or, for a table without a primary key, variable) name by table key.
    let classNames: [String: String]
    /// Attribute name by table key and column name.
    let attributeNames: [String: [String: String]]
    /// Relationship pairs for foreign keys between two generated tables that both have a
    /// primary key, in a stable order.
    let relationships: [RelationshipPair]
    /// The enum types columns use, sorted by qualified name, with their Python class names.
    let enums: [(type: EnumType, className: String)]
    /// The domains columns use, each after the domain it is based on.
    let domains: [Domain]
    /// Foreign keys that reference a table created later (a cycle): created after all tables.
    let deferredForeignKeys: [(table: Table, constraint: Constraint)]

    /// Names SQLAlchemy's declarative classes reserve for themselves.
    static let reservedAttributes: Set<String> = ["metadata", "registry", "query", "query_class"]

    init(_ schema: Schema, tables names: [ObjectName]) throws {
        guard !names.isEmpty else { throw CodegenError.noTables }
        var unique: [ObjectName] = []
        for name in names where !unique.contains(name) { unique.append(name) }
        let missing = unique.filter { schema.tables[$0.key] == nil }
        if !missing.isEmpty { throw CodegenError.unknownTables(missing.map(\.description)) }
        let chosen = unique.compactMap { schema.tables[$0.key] }
        self.schema = schema

        let (ordered, deferred) = Self.creationOrder(chosen)
        tables = ordered
        deferredForeignKeys = deferred
        var takenClasses: Set<String> = ["Base", "PgType"]
        classNames = Self.classNames(ordered, taken: &takenClasses)
        enums = Self.enumClasses(ordered, in: schema, taken: &takenClasses)
        domains = Self.domains(ordered, in: schema)
        var taken: [String: Set<String>] = [:]
        attributeNames = Self.attributeNames(ordered, taken: &taken)
        relationships = Self.relationships(ordered, in: schema, taken: &taken)
    }

    /// No tables: the names and types of `schema`, for a migration that changes its tables
    /// rather than creating them.
    init(typesOf schema: Schema) {
        self.schema = schema
        (tables, classNames, attributeNames, relationships) = ([], [:], [:], [])
        (enums, domains, deferredForeignKeys) = ([], [], [])
    }

    /// Creation order: Kahn's algorithm over references between chosen tables, each round
    /// taking the first ready table by name; tables left in a cycle follow by name, and their
    /// foreign keys to tables not yet created are added afterwards (`deferred`).
    static func creationOrder(_ chosen: [Table]) -> (ordered: [Table], deferred: [(table: Table, constraint: Constraint)]) {
        let keys = Set(chosen.map(\.objectName.key))
        func references(_ table: Table) -> Set<String> {
            Set(table.constraints.values.compactMap { $0.foreignKey?.referencedTable }
                .filter { keys.contains($0) && $0 != table.objectName.key })
        }
        var remaining = chosen.sorted { $0.objectName < $1.objectName }
        var ordered: [Table] = []
        var created: Set<String> = []
        while !remaining.isEmpty {
            if let index = remaining.firstIndex(where: { references($0).isSubset(of: created) }) {
                let table = remaining.remove(at: index)
                ordered.append(table)
                created.insert(table.objectName.key)
            } else {
                let table = remaining.removeFirst()
                ordered.append(table)
                created.insert(table.objectName.key)
            }
        }
        var deferred: [(Table, Constraint)] = []
        var seen: Set<String> = []
        for table in ordered {
            seen.insert(table.objectName.key)
            for constraint in table.constraints.values.sorted(by: { $0.name < $1.name }) {
                if let target = constraint.foreignKey?.referencedTable, keys.contains(target), !seen.contains(target) {
                    deferred.append((table, constraint))
                }
            }
        }
        return (ordered, deferred.map { (table: $0.0, constraint: $0.1) })
    }

    /// Class names: the singular of the table name in CamelCase; a clash takes the schema as a
    /// prefix, then a number.
    static func classNames(_ ordered: [Table], taken takenClasses: inout Set<String>) -> [String: String] {
        var classNames: [String: String] = [:]
        for table in ordered.sorted(by: { $0.objectName < $1.objectName }) {
            var candidate = table.primaryKey == nil
                ? PythonSource.identifier(table.name + "_table")
                : PythonSource.camelCase(PythonSource.singular(table.name))
            if takenClasses.contains(candidate) {
                candidate = table.primaryKey == nil
                    ? PythonSource.identifier("\(table.schema)_\(table.name)_table")
                    : PythonSource.camelCase(table.schema) + candidate
            }
            var numbered = candidate
            var counter = 2
            while takenClasses.contains(numbered) {
                numbered = "\(candidate)\(counter)"
                counter += 1
            }
            takenClasses.insert(numbered)
            classNames[table.objectName.key] = numbered
        }
        return classNames
    }

    /// The enum types the columns use, with their Python class names.
    static func enumClasses(
        _ ordered: [Table], in schema: Schema, taken takenClasses: inout Set<String>
    ) -> [(type: EnumType, className: String)] {
        var enums: [String: EnumType] = [:]
        for table in ordered {
            for column in table.columns {
                let element = column.type.hasSuffix("[]") ? String(column.type.dropLast(2)) : column.type
                if let found = SQLAlchemyType.enumType(element, in: schema) {
                    enums[ObjectName(schema: found.schema, name: found.name).key] = found
                }
            }
        }
        var enumList: [(EnumType, String)] = []
        for (_, type) in enums.sorted(by: { $0.key < $1.key }) {
            var candidate = PythonSource.camelCase(type.name)
            if takenClasses.contains(candidate) { candidate = PythonSource.camelCase(type.schema) + candidate }
            while takenClasses.contains(candidate) { candidate += "Enum" }
            takenClasses.insert(candidate)
            enumList.append((type, candidate))
        }
        return enumList.map { (type: $0.0, className: $0.1) }
    }

    /// The domains the columns use, each after the domain it is based on.
    static func domains(_ ordered: [Table], in schema: Schema) -> [Domain] {
        var domainList: [Domain] = []
        func visitDomain(_ spelling: String) {
            let element = spelling.hasSuffix("[]") ? String(spelling.dropLast(2)) : spelling
            guard let domain = SQLAlchemyType.domainType(element, in: schema),
                !domainList.contains(where: { $0.schema == domain.schema && $0.name == domain.name })
            else { return }
            visitDomain(domain.baseType)
            domainList.append(domain)
        }
        for table in ordered {
            for column in table.columns { visitDomain(column.type) }
        }
        return domainList
    }

    /// Each column's Python attribute name, per table; `taken` gets the names used.
    static func attributeNames(_ ordered: [Table], taken: inout [String: Set<String>]) -> [String: [String: String]] {
        var attributeNames: [String: [String: String]] = [:]
        for table in ordered {
            var names: [String: String] = [:]
            var used: Set<String> = []
            for column in table.columns {
                var name = PythonSource.identifier(column.name, reserved: Self.reservedAttributes.union(used))
                if name.hasPrefix("__") { name = "c" + name }
                used.insert(name)
                names[column.name] = name
            }
            attributeNames[table.objectName.key] = names
            taken[table.objectName.key] = used
        }
        return attributeNames
    }

    /// Relationships: many-to-one on the referencing class, one-to-many on the referenced.
    static func relationships(_ ordered: [Table], in schema: Schema, taken: inout [String: Set<String>]) -> [RelationshipPair] {
        var pairs: [RelationshipPair] = []
        let mapped = ordered.filter { $0.primaryKey != nil }
        let mappedKeys = Set(mapped.map(\.objectName.key))
        var foreignKeys: [(Table, Constraint, Table)] = []
        for table in mapped.sorted(by: { $0.objectName < $1.objectName }) {
            for constraint in table.constraints.values.sorted(by: { $0.name < $1.name }) {
                guard let foreignKey = constraint.foreignKey, mappedKeys.contains(foreignKey.referencedTable),
                    let target = schema.tables[foreignKey.referencedTable]
                else { continue }
                foreignKeys.append((table, constraint, target))
            }
        }
        func pairCount(_ a: String, _ b: String) -> Int {
            foreignKeys.filter {
                ($0.0.objectName.key == a && $0.2.objectName.key == b) || ($0.0.objectName.key == b && $0.2.objectName.key == a)
            }.count
        }
        func claim(_ candidate: String, on table: String) -> String {
            var name = PythonSource.identifier(candidate, reserved: Self.reservedAttributes.union(taken[table] ?? []))
            if name.hasPrefix("__") { name = "r" + name }
            taken[table, default: []].insert(name)
            return name
        }
        for (child, constraint, parent) in foreignKeys {
            let childKey = child.objectName.key
            let parentKey = parent.objectName.key
            let selfReferencing = childKey == parentKey
            let base: String
            if constraint.columns.count == 1, let column = constraint.columns.first, column.hasSuffix("_id"), column.count > 3 {
                base = String(column.dropLast(3))
            } else {
                base = PythonSource.singular(parent.name)
            }
            let childAttribute = claim(base, on: childKey)
            let ambiguous = selfReferencing || pairCount(childKey, parentKey) > 1
            let parentCandidate =
                selfReferencing ? "\(childAttribute)_children"
                : ambiguous ? "\(child.name)_by_\(childAttribute)" : child.name
            let parentAttribute = claim(parentCandidate, on: parentKey)
            pairs.append(RelationshipPair(
                child: child, parent: parent, constraint: constraint, childAttribute: childAttribute,
                parentAttribute: parentAttribute, needsForeignKeys: ambiguous, selfReferencing: selfReferencing))
        }
        return pairs
    }

    func className(_ table: Table) -> String { classNames[table.objectName.key] ?? table.name }

    func attribute(_ table: Table, _ column: String) -> String {
        attributeNames[table.objectName.key]?[column] ?? PythonSource.identifier(column)
    }

    var enumClasses: [String: String] {
        Dictionary(uniqueKeysWithValues: enums.map { (ObjectName(schema: $0.type.schema, name: $0.type.name).key, $0.className) })
    }

    /// The sequence a serial column's default draws from, when the column owns it and it has
    /// the name PostgreSQL gives a serial's sequence: such a column is written as an
    /// autoincrementing key (SERIAL) rather than with its `nextval` default.
    func isSerial(_ column: Column, of table: Table) -> Bool {
        guard column.identity == nil, let expression = column.defaultExpression,
            ["integer", "bigint", "smallint"].contains(column.type),
            expression.hasPrefix("nextval('"), expression.hasSuffix("'::regclass)")
        else { return false }
        let quoted = expression.dropFirst("nextval('".count).dropLast("'::regclass)".count)
        let parts = SQLAlchemyType.identifierParts(String(quoted))
        let sequence = parts.count == 2 ? ObjectName(schema: parts[0], name: parts[1]) : ObjectName(schema: table.schema, name: parts.last ?? "")
        guard sequence.schema == table.schema, sequence.name == "\(table.name)_\(column.name)_seq" else { return false }
        if let known = schema.sequences[sequence.key] {
            return known.ownedBy == "\(table.schema).\(table.name).\(column.name)"
        }
        return true
    }

    /// Whether a value of the type may be NULL and its default, as SQLAlchemy reflects a column
    /// of it: a domain's NOT NULL and default (or its base domain's) count as the column's.
    func domainConstraints(of type: String) -> (notNull: Bool, defaultExpression: String?) {
        guard !type.hasSuffix("[]"), let domain = SQLAlchemyType.domainType(type, in: schema) else { return (false, nil) }
        let base = domainConstraints(of: domain.baseType)
        return (domain.notNull || base.notNull, domain.defaultExpression ?? base.defaultExpression)
    }

    /// The column that SQLAlchemy writes as SERIAL: the table's only integer key, drawing from
    /// the sequence PostgreSQL gives a serial column.
    func isAutoincrementSerial(_ column: Column, of table: Table) -> Bool {
        autoincrementCandidate(table) == column.name && isSerial(column, of: table)
    }

    /// The sequence a column's `nextval('...'::regclass)` default draws from, when it is not
    /// written as SERIAL and the schema has the sequence: the models declare it as the column's
    /// `Sequence(...)`, the migration creates it before the tables.
    func explicitSequence(_ column: Column, of table: Table) -> SequenceDefinition? {
        guard column.identity == nil, !isAutoincrementSerial(column, of: table),
            let expression = column.defaultExpression,
            expression.hasPrefix("nextval('"), expression.hasSuffix("'::regclass)")
        else { return nil }
        let quoted = expression.dropFirst("nextval('".count).dropLast("'::regclass)".count)
        let parts = SQLAlchemyType.identifierParts(String(quoted.replacingOccurrences(of: "''", with: "'")))
        if parts.count == 2 { return schema.sequences[ObjectName(schema: parts[0], name: parts[1]).key] }
        guard parts.count == 1 else { return nil }
        return schema.sequences[ObjectName(schema: table.schema, name: parts[0]).key]
            ?? schema.sequences[ObjectName(schema: "public", name: parts[0]).key]
    }

    /// The sequences the generated tables' columns draw from through `explicitSequence`, each
    /// once, by qualified name, with the generated column that owns it (nil when it is owned by
    /// none, or by a column of a table outside these).
    var explicitSequences: [(sequence: SequenceDefinition, owner: (table: Table, column: String)?)] {
        var found: [String: SequenceDefinition] = [:]
        for table in tables {
            for column in table.columns {
                if let sequence = explicitSequence(column, of: table) {
                    found[ObjectName(schema: sequence.schema, name: sequence.name).key] = sequence
                }
            }
        }
        return found.sorted { $0.key < $1.key }.map { _, sequence in
            let owner = tables.lazy.compactMap { table in
                table.columns.first { "\(table.schema).\(table.name).\($0.name)" == sequence.ownedBy }.map { (table, $0.name) }
            }.first
            return (sequence, owner)
        }
    }

    /// The column SQLAlchemy would make autoincrementing on its own: the table's only
    /// primary key column, when it is an integer.
    func autoincrementCandidate(_ table: Table) -> String? {
        guard let key = table.primaryKey, key.columns.count == 1, let name = key.columns.first,
            let column = table.column(name), ["integer", "bigint", "smallint"].contains(column.type)
        else { return nil }
        return name
    }
}

/// A foreign key between two generated classes, seen from both ends.
struct RelationshipPair {
    let child: Table
    let parent: Table
    let constraint: Constraint
    /// The many-to-one attribute on the referencing class.
    let childAttribute: String
    /// The one-to-many attribute on the referenced class.
    let parentAttribute: String
    /// True when more than one foreign key joins the two tables, so each side names its columns.
    let needsForeignKeys: Bool
    let selfReferencing: Bool
}
