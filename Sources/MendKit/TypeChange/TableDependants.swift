import PostgresClient
import SchemaModel

/// What would stop a table from being dropped: views that read it and foreign keys from other
/// tables that reference it. Listed by name, so the operator knows what to change first.
enum TableDependants {
    static func problems(of table: ObjectName, in schema: Schema) -> [StepProblem] {
        var problems: [StepProblem] = []
        let views = schema.views.values
            .filter { view in view.dependsOn.contains { $0.hasPrefix(table.key + ".") } }
            .map { ObjectName(schema: $0.schema, name: $0.name).description }.sorted()
        if !views.isEmpty {
            problems.append(StepProblem("views read \(table): \(views.joined(separator: ", "))", table: table))
        }
        let foreignKeys = schema.tables.values
            .filter { $0.objectName != table }
            .flatMap { other in
                other.constraints.values
                    .filter { $0.foreignKey?.referencedTable == table.key }
                    .map { "\(other.objectName).\($0.name)" }
            }
            .sorted()
        if !foreignKeys.isEmpty {
            problems.append(StepProblem("foreign keys reference \(table): \(foreignKeys.joined(separator: ", "))", table: table))
        }
        return problems
    }

    /// Why `table` cannot be archived or dropped as one table: it is partitioned (its rows are
    /// in its partitions, COPY cannot read it, and DROP TABLE drops every partition), or an
    /// inheritance parent (its children's rows are read through it but archived, counted and
    /// dropped with them only). Archiving or dropping a subset of what the operator sees as the
    /// table is never done: the step is blocked and says what to do instead. `step` is
    /// `archive_table` or `drop_table`. A partitioned table without partitions can be dropped
    /// (it holds nothing); a partition or an inheritance child is an ordinary table here.
    static func hierarchyProblems(of table: ObjectName, step: String, probe: Probe) throws -> [StepProblem] {
        let quoted = table.sqlName.quoted
        guard let row = try probe.query(
            """
            SELECT c.relkind = 'p',
                   ARRAY(SELECT CASE WHEN cn.nspname = 'public' THEN cc.relname ELSE cn.nspname || '.' || cc.relname END
                         FROM pg_inherits i JOIN pg_class cc ON cc.oid = i.inhrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
                         WHERE i.inhparent = c.oid ORDER BY 1)::text[]
            FROM pg_class c WHERE c.oid = to_regclass(\(bind: quoted))
            """).first
        else { return [] }
        let partitioned = try row.get(0, as: Bool.self)
        let children = try row.get(1, as: [String].self)
        let list = children.prefix(10).joined(separator: ", ") + (children.count > 10 ? ", ... (\(children.count) in all)" : "")
        if partitioned {
            if children.isEmpty {
                guard step == ArchiveTableStep.kind else { return [] }
                return [StepProblem(
                    "\(table) is a partitioned table without partitions: it holds no rows, and archive_table archives ordinary tables; drop it with drop_table",
                    table: table)]
            }
            return [StepProblem(
                "\(table) is a partitioned table: its rows are in its partitions (\(list)), and \(step) handles one ordinary table, never a subset of what \(table) shows; "
                    + "archive_table each partition by name (tables: [...]) or drop_table each empty one, then drop_table \(table)",
                table: table)]
        }
        guard !children.isEmpty else { return [] }
        return [StepProblem(
            "\(table) has inheritance children (\(list)): their rows are read through \(table) but are theirs, \(step) would handle only \(table)'s own rows, "
                + "and DROP TABLE refuses while they inherit from it; archive or drop the children first, or detach them (ALTER TABLE child NO INHERIT \(quoted))",
            table: table)]
    }

    /// The schema without the table and the sequences it owns.
    static func dropping(_ table: ObjectName, from schema: Schema) -> Schema {
        var after = schema
        after.tables[table.key] = nil
        for (key, sequence) in schema.sequences where sequence.ownedBy?.hasPrefix(table.key + ".") == true {
            after.sequences[key] = nil
        }
        return after
    }

    /// The newest intact archive whose rows and fingerprint are the table's live content.
    static func matchingArchive(of table: ObjectName, in store: ArchiveStore, probe: Probe) throws -> ArchiveStore.Entry? {
        let archives = store.archives(of: table, database: probe.connection.database)
        guard !archives.isEmpty else { return nil }
        for archive in archives {
            guard let manifest = archive.manifest else { continue }
            let live = try probe.liveFingerprint(table, rowText: manifest.rowText)
            if manifest.rows == live.rows && manifest.fingerprint == live.fingerprint { return archive }
        }
        return nil
    }
}
