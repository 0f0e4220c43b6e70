import Foundation
import PostgresClient
import SchemaModel

/// A snapshot of what a schema document says: tables and their columns, nothing else
/// (no constraints, indexes, defaults, nullability, sequences or types), `source` `.docs(path)`.
///
/// A column's `type` is PostgreSQL's spelling when a connected server recognised the
/// document's type text (`serial` -> `integer`, `timestamptz` -> `timestamp with time zone`,
/// `enum \`sms_role\`` -> `public.sms_role`); otherwise it is the document's text and
/// `documentedType` holds it too, marking a type no comparison reads. Without a connection no
/// type is recognised. A column the document gives no type has `type` "" and `documentedType` "".
public enum MarkdownSchemaSnapshot {
    public static func snapshot(_ document: MarkdownSchema, path: String, connection: Connection?) throws -> Snapshot {
        let started = Date()
        let texts = Set(document.tables.flatMap { $0.columns.compactMap(\.type) })
        let recognised = try connection.map { try DocumentedTypeResolver(connection: $0).resolve(texts) } ?? [:]
        var tables: [String: Table] = [:]
        for documented in document.tables {
            let columns = documented.columns.map { column -> Column in
                if let text = column.type, let type = recognised[text] { return Column(name: column.name, type: type) }
                let text = column.type ?? ""
                return Column(name: column.name, type: text, documentedType: text)
            }
            tables[documented.name.key] = Table(schema: documented.name.schema, name: documented.name.name, columns: columns)
        }
        let namespaces = Set(document.tables.map(\.name.schema)).sorted()
        return Snapshot(
            pgmendVersion: PgMendVersion.string,
            takenAt: ISO8601DateFormatter().string(from: started),
            durationMilliseconds: Int((Date().timeIntervalSince(started) * 1000).rounded()),
            serverVersion: connection?.serverVersion ?? "",
            database: connection?.database ?? "",
            selectedSchemas: namespaces,
            schema: Schema(namespaces: namespaces, tables: tables),
            source: .docs(path))
    }
}
