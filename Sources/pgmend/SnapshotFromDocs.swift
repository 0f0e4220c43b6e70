import Foundation
import MendKit
import PostgresClient
import SchemaModel

extension PgMend.SnapshotCommand.Take {
    /// `snapshot take --from-docs FILE.md`: the tables and columns the document lists. A
    /// connection is made only when one is named (--db, --db-file, PGMEND_DB), to recognise
    /// the document's types; without it every type stays the document's text.
    func takeFromDocs(_ path: String) throws {
        let server: Connection? = try connection.conninfo() == nil ? nil : connection.connect()
        let snapshot = try ExpectedSources.snapshot(.docs(path), python: nil, path: nil, server: server)
        let destination = output ?? defaultPath(database: "docs-" + URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)
        try SnapshotFile.write(snapshot, to: destination)
        let columns = snapshot.schema.tables.values.flatMap(\.columns)
        let unrecognised = columns.filter { !$0.hasComparableType }.count
        var written = SnapshotWritten(snapshot, source: SnapshotSource.docs(path).description, file: destination)
        written.columns = columns.count
        written.typesNotRecognised = server == nil ? nil : unrecognised
        try format.answer(written) {
            let types = server == nil
                ? "types kept as written (no --db to recognise them)"
                : "\(columns.count - unrecognised) types recognised by \(snapshot.database), \(unrecognised) not"
            say("snapshot of \(path): \(TextLayout.count(snapshot.schema.tables.count, "table")), \(TextLayout.count(columns.count, "column")), \(types) -> \(destination)")
        }
    }
}
