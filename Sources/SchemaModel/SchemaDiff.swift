/// One difference between two schemas, worded for an operator and structured for JSON.
public struct SchemaChange: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Action: String, Codable, Sendable { case added, removed, changed }

    /// What kind of object changed: table, column, constraint, index, trigger, view, sequence,
    /// enum, domain, extension, schema, data.
    public var objectType: String
    /// The object, as an operator names it: `users`, `api_keys.user_id`, `idx_apikey_user_id`.
    public var object: String
    public var action: Action
    /// For `changed`: which property (type, nullability, default, definition, ...).
    public var property: String?
    public var before: String?
    public var after: String?
    /// The line an operator reads, e.g. `column api_keys.user_id: type character varying(36) -> uuid`.
    public var description: String

    public init(
        objectType: String, object: String, action: Action, property: String? = nil,
        before: String? = nil, after: String? = nil, description: String
    ) {
        (self.objectType, self.object, self.action, self.property) = (objectType, object, action, property)
        (self.before, self.after, self.description) = (before, after, description)
    }

    enum CodingKeys: String, CodingKey {
        case objectType = "object_type", object, action, property, before, after, description
    }
}

/// The differences between two schemas (and, when both carry them, their data statistics).
///
/// Changes come out in a stable order: by object, then by kind of change, so the same two
/// inputs always give the same list.
public enum SchemaDiff {
    public static func changes(
        from old: Schema, to new: Schema,
        oldData: [String: TableData]? = nil, newData: [String: TableData]? = nil
    ) -> [SchemaChange] {
        var diff = Collector()
        diff.compareSets("schema", Set(old.namespaces), Set(new.namespaces))
        diff.compareNamed("extension", old.extensions, new.extensions, label: { $0 }) { name, a, b, diff in
            diff.property("extension", name, "version", a.version, b.version)
            diff.property("extension", name, "schema", a.schema, b.schema)
        } summary: { "version \($0.version)" }
        diff.compareNamed("enum", old.enums, new.enums, label: display) { name, a, b, diff in
            diff.property("enum", name, "labels", a.labels.joined(separator: ", "), b.labels.joined(separator: ", "))
        } summary: { "(\($0.labels.joined(separator: ", ")))" }
        diff.compareNamed("domain", old.domains, new.domains, label: display) { name, a, b, diff in
            diff.property("domain", name, "base type", a.baseType, b.baseType)
            diff.property("domain", name, "nullability", nullability(a.notNull), nullability(b.notNull))
            diff.property("domain", name, "default", a.defaultExpression, b.defaultExpression)
            diff.compareNamed("check", a.checks, b.checks, label: { "\(name).\($0)" }) { check, a, b, diff in
                diff.property("check", check, "definition", a, b)
            } summary: { $0 }
        } summary: { $0.baseType }
        diff.compareNamed("sequence", old.sequences, new.sequences, label: display) { name, a, b, diff in
            diff.property("sequence", name, "type", a.type, b.type)
            diff.property("sequence", name, "start", String(a.start), String(b.start))
            diff.property("sequence", name, "increment", String(a.increment), String(b.increment))
            diff.property("sequence", name, "min value", String(a.minValue), String(b.minValue))
            diff.property("sequence", name, "max value", String(a.maxValue), String(b.maxValue))
            diff.property("sequence", name, "cache", String(a.cache), String(b.cache))
            diff.property("sequence", name, "cycle", String(a.cycle), String(b.cycle))
            diff.property("sequence", name, "owned by", a.ownedBy.map(display), b.ownedBy.map(display))
        } summary: { $0.type }
        var oldTables = old.tables
        var newTables = new.tables
        for rename in tableRenames(from: old.tables, to: new.tables) {
            oldTables[rename.old] = nil
            newTables[rename.new] = nil
            let (before, after) = (display(rename.old), display(rename.new))
            diff.append("table", after, .changed, "name", before, after, "table \(before) renamed to \(after)")
            if let table = new.tables[rename.new] { compareTables(after, rename.renamed, table, &diff) }
        }
        diff.compareNamed("table", oldTables, newTables, label: display) { name, a, b, diff in
            compareTables(name, a, b, &diff)
        } summary: { countedColumns($0.columns.count) }
        diff.compareNamed("view", old.views, new.views, label: display) { name, a, b, diff in
            let kind = b.materialized ? "materialized view" : "view"
            diff.property(kind, name, "kind", a.materialized ? "materialized view" : "view", kind)
            diff.property(kind, name, "definition", a.definition, b.definition)
            diff.property(kind, name, "columns", columnList(a.columns), columnList(b.columns))
            diff.property(kind, name, "comment", a.comment, b.comment)
            diff.compareNamed("index", a.indexes, b.indexes, label: { $0 }) { index, a, b, diff in
                compareIndexes(index, a, b, &diff)
            } summary: { $0.definition }
        } summary: { $0.materialized ? "materialized" : countedColumns($0.columns.count) }

        if let oldData, let newData {
            for key in Set(oldData.keys).intersection(newData.keys).sorted() {
                guard let a = oldData[key], let b = newData[key], a != b else { continue }
                let name = display(key)
                if a.rows != b.rows {
                    diff.append("data", name, .changed, "rows", String(a.rows), String(b.rows),
                                "table \(name): rows \(a.rows) -> \(b.rows)")
                } else {
                    diff.append("data", name, .changed, "content", a.fingerprint, b.fingerprint,
                                "table \(name): content changed (same \(a.rows) rows, different fingerprint)")
                }
            }
        }
        return diff.changes
    }

    /// Tables that disappeared and appeared under another name in the same schema, with the
    /// old table as it reads once renamed. A pair counts as a rename when the columns,
    /// constraints and indexes are the same with the old name read as the new one, also as
    /// the prefix of their own names (`calendar_pkey` as `calendar_events_pkey`), so a
    /// `rename_table` with or without `rename_dependents` reads as one rename, not as a drop
    /// and an add. Each disappeared table pairs with the first match, by name.
    static func tableRenames(from old: [String: Table], to new: [String: Table]) -> [(old: String, new: String, renamed: Table)] {
        let appeared = new.keys.filter { old[$0] == nil }.sorted()
        var used: Set<String> = []
        var renames: [(old: String, new: String, renamed: Table)] = []
        for key in old.keys.filter({ new[$0] == nil }).sorted() {
            guard let table = old[key] else { continue }
            for candidate in appeared where !used.contains(candidate) {
                guard let other = new[candidate], let renamed = renaming(table, as: other) else { continue }
                used.insert(candidate)
                renames.append((key, candidate, renamed))
                break
            }
        }
        return renames
    }

    /// `b` with what a rename leaves as it was taken from `a` (comment, triggers, storage), to
    /// report what else changed; nil when `a`'s columns, constraints and indexes are not `b`'s
    /// with the old name read as the new one. Both sides are read with either name (and each
    /// pair of own names) as one placeholder, so it holds whether definitions print the old
    /// name or the new.
    private static func renaming(_ a: Table, as b: Table) -> Table? {
        guard a.schema == b.schema, a.kind == b.kind, a.columns.map(\.name) == b.columns.map(\.name) else { return nil }
        // Names of a's own objects that b has under the new prefix: constraints, indexes, and
        // sequences as its column defaults print them.
        let oldPrefix = a.name + "_"
        let newPrefix = b.name + "_"
        let placeholder = "\u{1}"
        var same = [a.name: placeholder, b.name: placeholder]
        var forward = [a.name: b.name]
        let defaultTokens = Set(b.columns.compactMap(\.defaultExpression).flatMap(tokens))
        let candidates = Set(a.constraints.keys).union(a.indexes.keys).union(a.columns.compactMap(\.defaultExpression).flatMap(tokens))
        for name in candidates where name.hasPrefix(oldPrefix) {
            let renamed = newPrefix + name.dropFirst(oldPrefix.count)
            guard b.constraints[renamed] != nil || b.indexes[renamed] != nil || defaultTokens.contains(renamed) else { continue }
            same[name] = placeholder + "_" + name.dropFirst(oldPrefix.count)
            same[renamed] = same[name]
            forward[name] = renamed
        }
        let keys: Set<String> = [ObjectName(schema: a.schema, name: a.name).key, ObjectName(schema: b.schema, name: b.name).key]
        func normalized(_ table: Table) -> Table {
            func map(_ text: String) -> String { replacingTokens(in: text, same) }
            func mapName(_ name: String) -> String { same[name] ?? name }
            var table = table
            for index in table.columns.indices {
                table.columns[index].defaultExpression = table.columns[index].defaultExpression.map(map)
                table.columns[index].generatedExpression = table.columns[index].generatedExpression.map(map)
            }
            table.constraints = Dictionary(table.constraints.values.map { constraint in
                var constraint = constraint
                constraint.name = mapName(constraint.name)
                constraint.index = constraint.index.map(mapName)
                constraint.definition = map(constraint.definition)
                constraint.checkExpression = constraint.checkExpression.map(map)
                if let target = constraint.foreignKey?.referencedTable, keys.contains(target) { constraint.foreignKey?.referencedTable = placeholder }
                return (constraint.name, constraint)
            }, uniquingKeysWith: { first, _ in first })
            table.indexes = Dictionary(table.indexes.values.map { index in
                var index = index
                index.name = mapName(index.name)
                index.constraint = index.constraint.map(mapName)
                index.definition = map(index.definition)
                index.predicate = index.predicate.map(map)
                return (index.name, index)
            }, uniquingKeysWith: { first, _ in first })
            return table
        }
        let (x, y) = (normalized(a), normalized(b))
        guard x.columns == y.columns, x.constraints == y.constraints, x.indexes == y.indexes else { return nil }
        var renamed = b
        renamed.persistence = a.persistence
        renamed.comment = a.comment
        renamed.partitionOf = a.partitionOf
        renamed.partitionBound = a.partitionBound
        renamed.partitionKey = a.partitionKey
        renamed.triggers = a.triggers.mapValues { trigger in
            var trigger = trigger
            trigger.definition = replacingTokens(in: trigger.definition, forward)
            return trigger
        }
        return renamed
    }

    /// The name-like words of SQL text: runs of letters, digits, `_` and `$`.
    private static func tokens(_ text: String) -> [String] {
        text.split(whereSeparator: { !isNameCharacter($0) }).map(String.init)
    }

    /// `text` with every whole word that is a key of `names` replaced by its value.
    private static func replacingTokens(in text: String, _ names: [String: String]) -> String {
        var result = ""
        var word = ""
        for character in text {
            if isNameCharacter(character) {
                word.append(character)
            } else {
                result += names[word] ?? word
                word = ""
                result.append(character)
            }
        }
        return result + (names[word] ?? word)
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character == "_" || character == "$" || character.isLetter || character.isNumber
    }

    private static func compareTables(_ name: String, _ a: Table, _ b: Table, _ diff: inout Collector) {
        diff.property("table", name, "kind", a.kind.rawValue, b.kind.rawValue)
        diff.property("table", name, "persistence", a.persistence.rawValue, b.persistence.rawValue)
        diff.property("table", name, "comment", a.comment, b.comment)
        diff.property("table", name, "partition of", a.partitionOf.map(display), b.partitionOf.map(display))
        diff.property("table", name, "partition bound", a.partitionBound, b.partitionBound)
        diff.property("table", name, "partition key", a.partitionKey, b.partitionKey)

        let oldColumns = Dictionary(a.columns.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let newColumns = Dictionary(b.columns.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for column in b.columns where oldColumns[column.name] == nil {
            diff.append("column", "\(name).\(column.name)", .added, nil, nil, columnSummary(column),
                        "table \(name): column \(column.name) added: \(columnSummary(column))")
        }
        for column in a.columns where newColumns[column.name] == nil {
            diff.append("column", "\(name).\(column.name)", .removed, nil, columnSummary(column), nil,
                        "table \(name): column \(column.name) removed")
        }
        for column in a.columns {
            guard let after = newColumns[column.name], after != column else { continue }
            let object = "\(name).\(column.name)"
            diff.property("column", object, "type", column.type, after.type)
            diff.property("column", object, "nullability", nullability(column.notNull), nullability(after.notNull))
            diff.property("column", object, "default", column.defaultExpression, after.defaultExpression)
            diff.property("column", object, "identity", column.identity?.rawValue, after.identity?.rawValue)
            diff.property("column", object, "generated", column.generatedExpression, after.generatedExpression)
            diff.property("column", object, "collation", column.collation, after.collation)
            diff.property("column", object, "comment", column.comment, after.comment)
        }
        let commonOld = a.columns.map(\.name).filter { newColumns[$0] != nil }
        let commonNew = b.columns.map(\.name).filter { oldColumns[$0] != nil }
        if commonOld != commonNew {
            diff.property("table", name, "column order", commonOld.joined(separator: ", "), commonNew.joined(separator: ", "))
        }

        diff.compareNamed("constraint", a.constraints, b.constraints, label: { "\(name).\($0)" }, owner: "table \(name)") {
            constraint, a, b, diff in
            diff.property("constraint", constraint, "definition", a.definition, b.definition)
            diff.property("constraint", constraint, "validation", a.validated ? "valid" : "NOT VALID", b.validated ? "valid" : "NOT VALID")
            diff.property("constraint", constraint, "index", a.index, b.index)
        } summary: { $0.definition + ($0.validated ? "" : " NOT VALID") }
        diff.compareNamed("index", a.indexes, b.indexes, label: { qualifiedMember(of: a, $0) }, removedFrom: name) { index, a, b, diff in
            compareIndexes(index, a, b, &diff)
        } summary: { $0.definition }
        diff.compareNamed("trigger", a.triggers, b.triggers, label: { "\(name).\($0)" }, owner: "table \(name)") {
            trigger, a, b, diff in
            diff.property("trigger", trigger, "definition", a.definition, b.definition)
            diff.property("trigger", trigger, "enabled", a.enabled, b.enabled)
        } summary: { $0.definition }
    }

    private static func compareIndexes(_ name: String, _ a: Index, _ b: Index, _ diff: inout Collector) {
        diff.property("index", name, "definition", a.definition, b.definition)
        diff.property("index", name, "validity", a.valid ? "valid" : "INVALID", b.valid ? "valid" : "INVALID")
        diff.property("index", name, "constraint", a.constraint, b.constraint)
    }

    /// Indexes share their table's schema namespace: shown bare in `public`, qualified elsewhere.
    private static func qualifiedMember(of table: Table, _ name: String) -> String {
        table.schema == "public" ? name : "\(table.schema).\(name)"
    }

    private static func display(_ key: String) -> String {
        key.hasPrefix("public.") ? String(key.dropFirst("public.".count)) : key
    }

    private static func countedColumns(_ count: Int) -> String { count == 1 ? "1 column" : "\(count) columns" }

    private static func nullability(_ notNull: Bool) -> String { notNull ? "NOT NULL" : "NULL" }

    static func columnSummary(_ column: Column) -> String {
        var text = "\(column.type) \(nullability(column.notNull))"
        if let value = column.defaultExpression { text += " DEFAULT \(value)" }
        if let identity = column.identity {
            text += identity == .always ? " GENERATED ALWAYS AS IDENTITY" : " GENERATED BY DEFAULT AS IDENTITY"
        }
        if let expression = column.generatedExpression { text += " GENERATED ALWAYS AS (\(expression)) STORED" }
        if let collation = column.collation { text += " COLLATE \(collation)" }
        return text
    }

    private static func columnList(_ columns: [Column]) -> String {
        columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
    }
}

/// Accumulates changes in the order they are found.
private struct Collector {
    var changes: [SchemaChange] = []

    mutating func append(
        _ type: String, _ object: String, _ action: SchemaChange.Action, _ property: String?,
        _ before: String?, _ after: String?, _ description: String
    ) {
        changes.append(SchemaChange(
            objectType: type, object: object, action: action, property: property,
            before: before, after: after, description: description))
    }

    /// A changed property, when it did change: `type object: property before -> after`.
    mutating func property(_ type: String, _ object: String, _ property: String, _ before: String?, _ after: String?) {
        guard before != after else { return }
        append(type, object, .changed, property, before, after,
               "\(type) \(object): \(property) \(before ?? "none") -> \(after ?? "none")")
    }

    mutating func compareSets(_ type: String, _ old: Set<String>, _ new: Set<String>) {
        for name in new.subtracting(old).sorted() { append(type, name, .added, nil, nil, nil, "\(type) \(name) added") }
        for name in old.subtracting(new).sorted() { append(type, name, .removed, nil, nil, nil, "\(type) \(name) removed") }
    }

    /// Added, removed and changed members of two keyed collections. Members of a table are
    /// reported under it (`table users: constraint ... added`) when `owner` is given. With
    /// `removedFrom`, a removed member names the table it was on (`index x on users removed`):
    /// an added index's definition names its table, a removed one has nothing else that does.
    mutating func compareNamed<Value: Equatable>(
        _ type: String, _ old: [String: Value], _ new: [String: Value],
        label: (String) -> String, owner: String? = nil, removedFrom table: String? = nil,
        changed: (String, Value, Value, inout Collector) -> Void,
        summary: (Value) -> String
    ) {
        let prefix = owner.map { "\($0): " } ?? ""
        for key in Set(old.keys).union(new.keys).sorted() {
            let name = label(key)
            let shortName = owner == nil ? name : key
            switch (old[key], new[key]) {
            case (nil, let added?):
                append(type, name, .added, nil, nil, summary(added), "\(prefix)\(type) \(shortName) added: \(summary(added))")
            case (let removed?, nil):
                append(type, name, .removed, nil, summary(removed), nil, "\(prefix)\(type) \(shortName)\(table.map { " on \($0)" } ?? "") removed")
            case (let before?, let after?) where before != after:
                changed(name, before, after, &self)
            default:
                break
            }
        }
    }
}
