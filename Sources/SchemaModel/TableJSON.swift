/// The canonical JSON of a table and its parts, written directly (see `CanonicalJSONWriter`):
/// the same members as their `encode(to:)` in `SchemaCoding.swift`, the usual values left out
/// the same way, each object's keys in sorted order.
extension Table: CanonicalJSONWritable {
    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.member("columns", columns)
        writer.member("comment", comment)
        writer.member("constraints", constraints, omittedWhenEmpty: true)
        writer.member("indexes", indexes, omittedWhenEmpty: true)
        writer.member("kind", kind.rawValue, unless: Kind.ordinary.rawValue)
        writer.member("name", name)
        writer.member("partition_bound", partitionBound)
        writer.member("partition_key", partitionKey)
        writer.member("partition_of", partitionOf)
        writer.member("persistence", persistence.rawValue, unless: Persistence.permanent.rawValue)
        writer.member("schema", schema)
        writer.member("triggers", triggers, omittedWhenEmpty: true)
        writer.endObject()
    }
}

extension Column: CanonicalJSONWritable {
    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.member("collation", collation)
        writer.member("comment", comment)
        writer.member("default", defaultExpression)
        writer.member("documented_type", documentedType)
        writer.member("generated", generatedExpression)
        writer.member("identity", identity?.rawValue)
        writer.member("name", name)
        writer.member("not_null", notNull, unless: false)
        writer.member("type", type)
        writer.endObject()
    }
}

extension Constraint: CanonicalJSONWritable {
    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.member("check_expression", checkExpression)
        if !columns.isEmpty { writer.member("columns", columns) }
        writer.member("deferrable", deferrable, unless: false)
        writer.member("definition", definition)
        if let foreignKey {
            writer.key("foreign_key")
            foreignKey.write(to: &writer)
        }
        writer.member("index", index)
        writer.member("initially_deferred", initiallyDeferred, unless: false)
        writer.member("kind", kind.rawValue)
        writer.member("name", name)
        writer.member("validated", validated, unless: true)
        writer.endObject()
    }
}

extension ForeignKey: CanonicalJSONWritable {
    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.member("match", match.rawValue, unless: Match.simple.rawValue)
        writer.member("on_delete", onDelete.rawValue, unless: Action.noAction.rawValue)
        writer.member("on_update", onUpdate.rawValue, unless: Action.noAction.rawValue)
        writer.member("referenced_columns", referencedColumns)
        writer.member("references", referencedTable)
        writer.endObject()
    }
}

extension Index: CanonicalJSONWritable {
    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.member("constraint", constraint)
        writer.member("definition", definition)
        if !include.isEmpty { writer.member("include", include) }
        writer.member("keys", keys)
        writer.member("method", method, unless: "btree")
        writer.member("name", name)
        writer.member("predicate", predicate)
        writer.member("primary", primary, unless: false)
        writer.member("unique", unique, unless: false)
        writer.member("valid", valid, unless: true)
        writer.endObject()
    }
}

extension IndexKey: CanonicalJSONWritable {
    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.member("collation", collation)
        writer.member("descending", descending, unless: false)
        writer.member("expression", expression)
        writer.member("is_column", isColumn, unless: true)
        writer.member("nulls_first", nullsFirst, unless: false)
        writer.member("operator_class", operatorClass)
        writer.endObject()
    }
}

extension Trigger: CanonicalJSONWritable {
    func write(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.member("definition", definition)
        writer.member("enabled", enabled)
        writer.member("name", name)
        writer.endObject()
    }
}
