import PostgresClient
import SchemaModel

extension CatalogReader {
    // MARK: Types, sequences, extensions

    static func readSequences(_ connection: Connection, _ filter: CatalogFilter) throws -> [String: SequenceDefinition] {
        let rows = try filter.run(
            """
            SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
                   s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                   (SELECT tn.nspname || '.' || tc.relname || '.' || a.attname
                      FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
                      JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1)
            FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(\(bind: filter.namespaces)) AND \(Self.notExtensionMember("c.oid"))
              AND \(filter.coversOwnerOf("c.oid"))
            """, on: connection)
        var sequences: [String: SequenceDefinition] = [:]
        for row in rows {
            let sequence = SequenceDefinition(
                schema: try row.get(0), name: try row.get(1), type: try row.get(2), start: try row.get(3),
                increment: try row.get(4), minValue: try row.get(5), maxValue: try row.get(6),
                cache: try row.get(7), cycle: try row.get(8), ownedBy: try row.get(9, as: String?.self))
            sequences["\(sequence.schema).\(sequence.name)"] = sequence
        }
        return sequences
    }

    static func readEnums(_ connection: Connection, _ filter: CatalogFilter) throws -> [String: EnumType] {
        let rows = try filter.run(
            """
            SELECT n.nspname, t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
            FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = ANY(\(bind: filter.namespaces)) AND \(Self.notExtensionMember("t.oid", catalog: "pg_type"))
            GROUP BY n.nspname, t.typname
            """, on: connection)
        var enums: [String: EnumType] = [:]
        for row in rows {
            let type = EnumType(schema: try row.get(0), name: try row.get(1), labels: try row.get(2))
            enums["\(type.schema).\(type.name)"] = type
        }
        return enums
    }

    static func readDomains(_ connection: Connection, _ filter: CatalogFilter) throws -> [String: Domain] {
        let rows = try filter.run(
            """
            SELECT n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
                   coalesce((SELECT json_object_agg(co.conname, pg_get_constraintdef(co.oid, true))::text
                               FROM pg_constraint co WHERE co.contypid = t.oid), '{}')
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'd' AND n.nspname = ANY(\(bind: filter.namespaces)) AND \(Self.notExtensionMember("t.oid", catalog: "pg_type"))
            """, on: connection)
        var domains: [String: Domain] = [:]
        for row in rows {
            let checks = try JSONObjectText.strings(try row.get(5, as: String.self))
            let domain = Domain(
                schema: try row.get(0), name: try row.get(1), baseType: try row.get(2), notNull: try row.get(3),
                defaultExpression: try row.get(4, as: String?.self), checks: checks)
            domains["\(domain.schema).\(domain.name)"] = domain
        }
        return domains
    }

    static func readExtensions(_ connection: Connection, _ filter: CatalogFilter) throws -> [String: Extension] {
        let rows = try filter.run(
            """
            SELECT e.extname, e.extversion, n.nspname
            FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE n.nspname = ANY(\(bind: filter.namespaces))
            """, on: connection)
        var extensions: [String: Extension] = [:]
        for row in rows {
            let found = Extension(name: try row.get(0), version: try row.get(1), schema: try row.get(2))
            extensions[found.name] = found
        }
        return extensions
    }
}
