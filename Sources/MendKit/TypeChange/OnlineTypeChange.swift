import PostgresClient
import SchemaModel

/// What the shadow columns of one step kind hold, and the word its pieces are named with, so
/// that the pieces of `normalize_uuid` and of `normalize_timestamps` never share a name.
struct OnlineConversion: Sendable {
    /// The word in every name: `uuid` (the names `normalize_uuid` has always used, so a run
    /// killed on an older pgmend resumes) or `tstz`.
    var tag: String
    /// The value a shadow holds, for people, before a column's name: "the uuid cast of".
    var holds: String
    /// What the trigger refuses from then on, said when it is created ("" when nothing).
    var refuses: String
    /// Settings pinned in the swap transaction (`TimeZone` for timestamps).
    var pinned: [(name: String, value: String)]

    static let uuid = OnlineConversion(
        tag: "uuid", holds: "the uuid cast of", refuses: " (from now on a value uuid refuses is refused)", pinned: [])

    /// Timestamps read in `zone`: the conversion names the zone, so the session's never matters.
    static func timestamps(zone: String) -> OnlineConversion {
        OnlineConversion(tag: "tstz", holds: "the instant, read in \(zone), of", refuses: "", pinned: [("TimeZone", "UTC")])
    }

    /// BEFORE triggers fire in name order: this one fires after the application's own (which
    /// may change the column) and converts the final value.
    var triggerName: String { "zz_pgmend_\(tag)_shadow" }
    func shadowName(_ column: String) -> String { GeneratedName.make([column, ""], suffix: "pgmend_\(tag)") }
    func functionName(_ table: ObjectName) -> String { GeneratedName.make([table.schema, table.name], suffix: "pgmend_\(tag)_shadow") }
    func indexName(_ index: String) -> String { GeneratedName.make([index], suffix: "pgmend_\(tag)") }
    func quotedFunction(_ table: ObjectName) -> String { "pgmend.\(SQLIdentifier(functionName(table)).quoted)" }
}

/// `method: online` of `normalize_uuid` and `normalize_timestamps`: the type change of a
/// foreign-key group without holding an ACCESS EXCLUSIVE lock for a table rewrite. Each column
/// gets a shadow column of the new type (`<column>__pgmend_uuid`, `<column>__pgmend_tstz`) that
/// a trigger keeps equal to the conversion of the column on every insert and update; the
/// existing rows are backfilled in keyset batches; a NOT NULL column's shadow gets a validated
/// `CHECK (shadow IS NOT NULL)`, so the swap's SET NOT NULL skips its scan; the indexes on the
/// column are built on the shadow `CONCURRENTLY`; an assertion reads every row. Then one short
/// transaction under the locks of every table of the group swaps them: views and foreign keys
/// dropped, triggers dropped, old columns dropped, shadows renamed, NOT NULL (then the checks
/// that proved it dropped), defaults, comments, the prebuilt indexes attached (`ADD CONSTRAINT
/// ... USING INDEX`, or renamed), foreign keys re-added NOT VALID, views recreated; each key is
/// validated after, in its own transaction.
///
/// Every piece is read back from the catalog by the next assessment, so a run killed anywhere
/// is finished by the next one: an existing shadow column and trigger are kept, the backfill
/// resumes at its checkpoint (its condition says what is left), an invalid index left by a
/// killed build is dropped and built again, and the swap is one transaction.
enum OnlineTypeChange {
    /// The suffixes of the indexes pgmend builds on the way (every kind's): never copied.
    static let ownIndexSuffixes = ["_pgmend_uuid", "_pgmend_tstz", "_pgmend_nulled"]

    static func notNullName(_ table: ObjectName, _ column: String) -> String { GeneratedName.make([table.name, column], suffix: "pgmend_not_null") }
    /// The partial index of the rows whose value the conversion nulls: the swap journals them
    /// under its lock by this index, without reading the table. Dropped with the old column.
    static func nulledIndexName(_ table: ObjectName, _ column: String) -> String { GeneratedName.make([table.name, column], suffix: "pgmend_nulled") }

    /// The new value of a column from `value` (the quoted column, or `NEW."column"`).
    static func converted(_ retype: ColumnRetype, _ value: String) -> String {
        retype.convert?(value) ?? "\(value)::\(retype.newType)"
    }

    /// The online change of `retypes` (every foreign-key group included), a part at a time as
    /// `ColumnTypeChange.parts` splits them, each from the schema the previous leaves.
    static func planInParts(
        _ retypes: [ColumnRetype], _ conversion: OnlineConversion, schema: Schema, probe: Probe, recreateViews: Bool, notes: [ColumnName: [String]]
    ) throws -> Assessment {
        var effects: [any Effect] = []
        var after = schema
        var problems: [StepProblem] = []
        for part in try ColumnTypeChange.parts(of: retypes, in: schema, probe) {
            switch try plan(part, conversion, schema: after, probe: probe, recreateViews: recreateViews, notes: part.flatMap { notes[$0.column] ?? [] }) {
            case .failure(let found): problems += found
            case .success(let done):
                effects += done.effects
                after = done.after
            }
        }
        return problems.isEmpty ? .needed(effects, after: after) : .blocked(problems)
    }

    /// The online change of `retypes` (one foreign-key group, every partner included), from
    /// whatever an earlier killed run left.
    static func plan(
        _ retypes: [ColumnRetype], _ conversion: OnlineConversion, schema: Schema, probe: Probe, recreateViews: Bool, notes: [String]
    ) throws -> Planned<ColumnTypeChange.Outcome> {
        let c = conversion
        // What the change leaves, and what stops it, as the rewrite predicts them (without the
        // pieces a killed run left, which the rewrite would take for the application's).
        var base = schema
        for table in Set(retypes.map(\.column.table)) {
            guard let indexes = schema.tables[table.key]?.indexes else { continue }
            base.tables[table.key]?.indexes = indexes.filter { name, _ in !ownIndexSuffixes.contains { name.hasSuffix($0) } }
        }
        let rewrite = try ColumnTypeChange.plan(
            retypes, schema: base, probe: probe, recreateViews: recreateViews, setAside: [], pinned: c.pinned, refusal: nil, rewrites: true, notes: notes)
        guard case .success(let rewritten) = rewrite else { return rewrite }

        var problems: [StepProblem] = []
        let tables = Array(Set(retypes.map(\.column.table))).sorted()
        var keys: [ObjectName: [(name: String, type: String)]] = [:]
        var carried: [ObjectName: [CarriedColumn]] = [:]
        var storage: [ObjectName: [String: IndexStorage]] = [:]
        for table in tables {
            guard let model = schema.tables[table.key] else { continue }
            let mine = retypes.filter { $0.column.table == table }.map(\.column.column)
            let primary = try probe.primaryKey(of: table)
            if primary.isEmpty {
                problems.append(StepProblem("\(table) has no primary key: method online backfills by it (use method: rewrite)", table: table))
            }
            keys[table] = primary.map { name in (name, model.column(name)?.type ?? "text") }
            for column in mine {
                let shadow = c.shadowName(column)
                let newType = retypes.first { $0.column == ColumnName(table: table, column: column) }?.newType ?? ""
                if let existing = model.column(shadow), existing.type != newType {
                    problems.append(StepProblem("\(table) has a column \(shadow) of type \(existing.type): method online needs that name for its \(newType) shadow column", table: table))
                }
                for constraint in model.constraints.values.sorted(by: { $0.name < $1.name }) where constraint.kind == .check || constraint.kind == .exclusion {
                    if constraint.columns.contains(column) || ColumnTypeChange.mentions(constraint.definition, column) {
                        problems.append(StepProblem("constraint \(constraint.name) uses \(table).\(column): method online does not carry it over yet (use method: rewrite)", table: table))
                    }
                }
                for trigger in model.triggers.values.sorted(by: { $0.name < $1.name }) where trigger.name != c.triggerName && ColumnTypeChange.mentions(trigger.definition, column) {
                    problems.append(StepProblem("trigger \(trigger.name) names \(table).\(column): method online does not carry it over yet (use method: rewrite)", table: table))
                }
            }
            carried[table] = try CarriedColumn.read(of: table, columns: mine, probe)
            for column in carried[table] ?? [] where !column.otherGrantors.isEmpty {
                problems.append(StepProblem(
                    "privileges on \(table).\(column.name) were granted by \(column.otherGrantors.joined(separator: ", ")), not the table's owner: method online cannot grant them again as \(column.otherGrantors.count == 1 ? "that role" : "those roles") (use method: rewrite)",
                    table: table))
            }
            storage[table] = try IndexStorage.read(on: table, probe)
        }
        guard problems.isEmpty else { return .failure(problems) }

        var effects: [any Effect] = []
        var swap: [String] = []
        var after = rewritten.after
        let views = try ColumnTypeChange.dependentViews(of: retypes.map(\.column), probe)
        let foreignKeys = ColumnTypeChange.foreignKeys(touching: Set(retypes.map(\.column)), in: schema)
        swap += views.reversed().map(\.dropStatement)
        for (table, constraint) in foreignKeys {
            swap.append("ALTER TABLE \(ColumnTypeChange.quoted(table)) DROP CONSTRAINT \(SQLIdentifier(constraint.name).quoted)")
        }

        var prepared: [any Effect] = []
        var indexBuilds: [any Effect] = []
        var setAside: [AlterColumnTypes.SetAside] = []
        var assertions: [String] = []
        for table in tables {
            guard let model = schema.tables[table.key], let key = keys[table] else { continue }
            let quotedTable = ColumnTypeChange.quoted(table)
            let mine = retypes.filter { $0.column.table == table }
            let columns = mine.map(\.column.column)
            let casts = mine.map { converted($0, SQLIdentifier($0.column.column).quoted) }
            let shadows = columns.map { SQLIdentifier(c.shadowName($0)).quoted }

            // The shadow columns and the trigger that keeps them, in one transaction.
            let hasShadows = columns.allSatisfy { model.column(c.shadowName($0)) != nil }
            if !hasShadows || model.triggers[c.triggerName] == nil {
                let body = zip(shadows, mine).map { "  NEW.\($0) := \(converted($1, "NEW." + SQLIdentifier($1.column.column).quoted));" }.joined(separator: "\n")
                // A dollar quote that no column name in the body can end early.
                var tag = "$pgmend$"
                while body.contains(tag) { tag = "$pgmend\(tag.count)$" }
                var statements = [
                    "CREATE SCHEMA IF NOT EXISTS pgmend",
                    "CREATE OR REPLACE FUNCTION \(c.quotedFunction(table))() RETURNS trigger LANGUAGE plpgsql AS \(tag)\nBEGIN\n\(body)\n  RETURN NEW;\nEND\n\(tag)",
                ]
                statements += zip(shadows, mine).map { "ALTER TABLE \(quotedTable) ADD COLUMN IF NOT EXISTS \($0) \($1.newType)" }
                statements.append("DROP TRIGGER IF EXISTS \(SQLIdentifier(c.triggerName).quoted) ON \(quotedTable)")
                statements.append("CREATE TRIGGER \(SQLIdentifier(c.triggerName).quoted) BEFORE INSERT OR UPDATE ON \(quotedTable) FOR EACH ROW EXECUTE FUNCTION \(c.quotedFunction(table))()")
                prepared.append(AtomicSQL(
                    "add \(shadows.count == 1 ? "shadow column" : "shadow columns") \(columns.map(c.shadowName).joined(separator: ", ")) to \(table), kept equal to \(c.holds) \(columns.joined(separator: ", ")) by trigger \(c.triggerName)\(mine.contains { $0.nulledReason == nil } ? c.refuses : " (from now on a value it turns into NULL is journaled at the swap)")",
                    statements.map(SQL.legacy), lock: .accessExclusive, on: table))
            }

            // The existing rows, in keyset batches.
            let condition = shadows.count == 1
                ? "\(shadows[0]) IS DISTINCT FROM \(casts[0])"
                : "(\(shadows.joined(separator: ", "))) IS DISTINCT FROM (\(casts.joined(separator: ", ")))"
            let matching: Int
            if hasShadows {
                matching = try probe.scalar("SELECT count(*) FROM \(quotedTable) WHERE \(condition)", as: Int.self) ?? 0
            } else {
                matching = try probe.scalar(
                    "SELECT count(*) FROM \(quotedTable) WHERE " + columns.map { "\(SQLIdentifier($0).quoted) IS NOT NULL" }.joined(separator: " OR "), as: Int.self) ?? 0
            }
            if !hasShadows || matching > 0 {
                var backfill = Backfill(
                    table: table, key: key, assignments: zip(columns, casts).map { (c.shadowName($0.0), SQL.legacy($0.1)) }, condition: .legacy(condition),
                    matching: matching, batchSize: probe.settings.batchSize, workers: probe.settings.batchWorkers)
                backfill.purpose = "the shadow column\(columns.count == 1 ? " \(c.shadowName(columns[0])) gets" : "s \(columns.map(c.shadowName).joined(separator: ", ")) get") \(c.holds) \(columns.joined(separator: ", "))"
                backfill.conditionIsDifference = true
                prepared.append(backfill)
            }

            // NOT NULL, proven before the swap by a validated check, which the swap drops only
            // after its SET NOT NULL: dropped before, it proves nothing and PostgreSQL reads the
            // whole table under the swap's ACCESS EXCLUSIVE lock.
            var provenNotNull: [String] = []
            for retype in mine where model.column(retype.column.column)?.notNull == true {
                let name = notNullName(table, retype.column.column)
                let shadow = SQLIdentifier(c.shadowName(retype.column.column)).quoted
                let check = model.constraints[name]
                if check == nil {
                    prepared.append(AtomicSQL(
                        "add check \(name) (\(c.shadowName(retype.column.column)) IS NOT NULL) NOT VALID", [
                            .legacy("ALTER TABLE \(quotedTable) ADD CONSTRAINT \(SQLIdentifier(name).quoted) CHECK (\(shadow) IS NOT NULL) NOT VALID")
                        ], lock: .accessExclusive, on: table))
                }
                if check?.validated != true {
                    prepared.append(AtomicSQL(
                        "validate \(name), so the swap's SET NOT NULL does not read the table",
                        [.legacy("ALTER TABLE \(quotedTable) VALIDATE CONSTRAINT \(SQLIdentifier(name).quoted)")],
                        lock: .shareUpdateExclusive, on: table, hazards: [.fullTableScan]))
                }
                provenNotNull.append("ALTER TABLE \(quotedTable) DROP CONSTRAINT \(SQLIdentifier(name).quoted)")
                after.tables[table.key]?.constraints[name] = nil
            }

            // The indexes on the columns, built on the shadows beforehand.
            var attach: [String] = []
            for index in model.indexes.values.sorted(by: { $0.name < $1.name }) where !ownIndexSuffixes.contains(where: { index.name.hasSuffix($0) }) {
                let usesColumn = index.keys.contains { $0.isColumn && columns.contains($0.expression) } || index.include.contains { columns.contains($0) }
                guard usesColumn else { continue }
                let shadowIndex = c.indexName(index.name)
                let keyList = index.keys.map { key -> String in
                    var text = key.isColumn ? SQLIdentifier(columns.contains(key.expression) ? c.shadowName(key.expression) : key.expression).quoted : "(\(key.expression))"
                    if let collation = key.collation, !(key.isColumn && columns.contains(key.expression)) { text += " COLLATE \(collation)" }
                    if let operatorClass = key.operatorClass { text += " \(operatorClass)" }
                    if key.descending { text += key.nullsFirst ? " DESC" : " DESC NULLS LAST" } else if key.nullsFirst { text += " NULLS FIRST" }
                    return text
                }.joined(separator: ", ")
                var definition = "INDEX CONCURRENTLY \(SQLIdentifier(shadowIndex).quoted) ON \(quotedTable) USING \(index.method) (\(keyList))"
                if !index.include.isEmpty {
                    definition += " INCLUDE (" + index.include.map { SQLIdentifier(columns.contains($0) ? c.shadowName($0) : $0).quoted }.joined(separator: ", ") + ")"
                }
                if index.definition.contains(") NULLS NOT DISTINCT") { definition += " NULLS NOT DISTINCT" }
                if let stored = storage[table]?[index.name] {
                    if !stored.options.isEmpty { definition += " WITH (\(ColumnTypeChange.optionList(stored.options)))" }
                    if let tablespace = stored.tablespace { definition += " TABLESPACE \(SQLIdentifier(tablespace).quoted)" }
                }
                if let predicate = index.predicate { definition += " WHERE \(predicate)" }
                let statement = "CREATE \(index.unique ? "UNIQUE " : "")\(definition)"
                if model.indexes[shadowIndex]?.valid != true {
                    indexBuilds.append(ConcurrentSQL(
                        "build \(shadowIndex) on \(table), the index \(index.name) will be after the swap",
                        .legacy(statement), rehearsalSQL: .legacy(statement.replacingOccurrences(of: "INDEX CONCURRENTLY", with: "INDEX")),
                        lock: .shareUpdateExclusive, on: table, hazards: [.indexBuild], builds: ObjectName(schema: table.schema, name: shadowIndex)))
                }
                after.tables[table.key]?.indexes[shadowIndex] = nil
                if let name = index.constraint, let constraint = model.constraints[name], constraint.kind == .primaryKey || constraint.kind == .unique {
                    var clause = "ALTER TABLE \(quotedTable) ADD CONSTRAINT \(SQLIdentifier(name).quoted) \(constraint.kind == .primaryKey ? "PRIMARY KEY" : "UNIQUE") USING INDEX \(SQLIdentifier(shadowIndex).quoted)"
                    if constraint.deferrable { clause += constraint.initiallyDeferred ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE" }
                    attach.append(clause)
                } else {
                    attach.append("ALTER INDEX \(QualifiedName(schema: table.schema, shadowIndex).quoted) RENAME TO \(SQLIdentifier(index.name).quoted)")
                }
            }

            // The values the conversion nulls, found under the swap's lock by a partial index.
            for retype in mine {
                guard let reason = retype.nulledReason else { continue }
                let column = retype.column.column
                let nulled = "\(SQLIdentifier(column).quoted) IS NOT NULL AND \(SQLIdentifier(c.shadowName(column)).quoted) IS NULL"
                let name = nulledIndexName(table, column)
                if model.indexes[name]?.valid != true {
                    let statement = "CREATE INDEX CONCURRENTLY \(SQLIdentifier(name).quoted) ON \(quotedTable) (\(key.map { SQLIdentifier($0.name).quoted }.joined(separator: ", "))) WHERE \(nulled)"
                    indexBuilds.append(ConcurrentSQL(
                        "build \(name) on \(table): the rows whose \(column) the conversion sets to NULL, journaled under the swap's lock",
                        .legacy(statement), rehearsalSQL: .legacy(statement.replacingOccurrences(of: "INDEX CONCURRENTLY", with: "INDEX")),
                        lock: .shareUpdateExclusive, on: table, hazards: [.indexBuild], builds: ObjectName(schema: table.schema, name: name)))
                }
                after.tables[table.key]?.indexes[name] = nil
                setAside.append(ColumnTypeChange.setAside(table, key: key.map(\.name), column: column, reason: reason, where: nulled))
            }

            // The swap of this table.
            swap.append("DROP TRIGGER \(SQLIdentifier(c.triggerName).quoted) ON \(quotedTable)")
            swap.append("ALTER TABLE \(quotedTable) " + columns.map { "DROP COLUMN \(SQLIdentifier($0).quoted)" }.joined(separator: ", "))
            for column in columns {
                swap.append("ALTER TABLE \(quotedTable) RENAME COLUMN \(SQLIdentifier(c.shadowName(column)).quoted) TO \(SQLIdentifier(column).quoted)")
            }
            for retype in mine {
                let column = SQLIdentifier(retype.column.column).quoted
                var parts: [String] = []
                if model.column(retype.column.column)?.notNull == true { parts.append("ALTER COLUMN \(column) SET NOT NULL") }
                if let value = retype.newDefault { parts.append("ALTER COLUMN \(column) SET DEFAULT \(value)") }
                if !parts.isEmpty { swap.append("ALTER TABLE \(quotedTable) " + parts.joined(separator: ", ")) }
            }
            swap += provenNotNull
            swap += attach
            for retype in mine {
                if let comment = model.column(retype.column.column)?.comment {
                    swap.append("COMMENT ON COLUMN \(quotedTable).\(SQLIdentifier(retype.column.column).quoted) IS \(SQLLiteral.quoted(comment))")
                }
            }
            for column in carried[table] ?? [] { swap += column.statements(on: quotedTable) }
            swap.append("DROP FUNCTION \(c.quotedFunction(table))()")

            // Afterwards: the shadows and the trigger are gone, the columns are last.
            if var changed = after.tables[table.key] {
                changed.triggers[c.triggerName] = nil
                changed.columns.removeAll { column in columns.contains { c.shadowName($0) == column.name } }
                let moved = columns.compactMap { name in changed.columns.first { $0.name == name } }
                changed.columns.removeAll { columns.contains($0.name) }
                changed.columns += moved
                after.tables[table.key] = changed
            }

            let keyText = key.map { "\(SQLIdentifier($0.name).quoted)::text" }.joined(separator: " || ', ' || ")
            assertions.append("SELECT \(keyText) AS key FROM \(quotedTable) WHERE \(condition)")
        }
        for (table, constraint) in foreignKeys {
            var definition = constraint.definition
            if definition.hasSuffix(" NOT VALID") { definition.removeLast(" NOT VALID".count) }
            swap.append("ALTER TABLE \(ColumnTypeChange.quoted(table)) ADD CONSTRAINT \(SQLIdentifier(constraint.name).quoted) \(definition) NOT VALID")
        }
        for view in views { swap += view.recreateStatements }

        effects += prepared
        effects += indexBuilds
        effects.append(Assertion(
            "every row's shadow column equals \(c.holds) its column (\(retypes.map(\.column.description).joined(separator: ", ")))",
            query: .legacy(assertions.joined(separator: "\nUNION ALL\n")), on: tables.first))
        let lockTables = Array(Set(tables + foreignKeys.flatMap { [$0.table] + ($0.constraint.foreignKey.map { [ObjectName(parsing: $0.referencedTable)] } ?? []) })).sorted()
        var summary = "swap \(retypes.map(\.column.description).joined(separator: ", ")) for their \(Set(retypes.map(\.newType)).sorted().joined(separator: ", ")) shadow columns in one short transaction (no table rewrite)"
        if !foreignKeys.isEmpty { summary += "; foreign keys \(foreignKeys.map(\.constraint.name).joined(separator: ", ")) dropped and re-added NOT VALID" }
        if !views.isEmpty { summary += "; views \(views.map(\.name.description).joined(separator: ", ")) dropped and recreated with their owner, grants and comments" }
        if !notes.isEmpty { summary += "; " + notes.joined(separator: "; ") }
        // The rows whose value the conversion nulls lose it at the swap (journaled first).
        let nulled = retypes.map(\.nulledCount).reduce(0, +)
        effects.append(AlterColumnTypes(
            summary: summary, tables: lockTables, pinned: c.pinned, refusal: nil, setAside: setAside, statements: swap.map(SQL.legacy),
            hazards: nulled > 0 ? [.accessExclusiveLock, .deletesData] : [.accessExclusiveLock], deletesRows: nulled > 0 ? nulled : nil))
        // The renamed columns have no statistics yet: the planner's estimates on them are
        // guesses until they are gathered (autovacuum would, later). The whole table, so that
        // afterwards no column of it lacks statistics while others have some: that is how a
        // later run tells a swap whose ANALYZE was killed (`statisticsLeft`).
        for table in tables {
            effects.append(analyze(table, "gather statistics on \(table), whose new columns have none"))
        }
        for (table, constraint) in foreignKeys where constraint.validated {
            effects.append(AtomicSQL(
                "validate \(constraint.name) against existing rows",
                [.legacy("ALTER TABLE \(ColumnTypeChange.quoted(table)) VALIDATE CONSTRAINT \(SQLIdentifier(constraint.name).quoted)")],
                lock: .shareUpdateExclusive, on: table, hazards: [.fullTableScan]))
        }
        return .success(ColumnTypeChange.Outcome(effects: effects, after: after))
    }
}

extension OnlineTypeChange {
    static func analyze(_ table: ObjectName, _ summary: String) -> AtomicSQL {
        AtomicSQL(summary, [.legacy("ANALYZE \(ColumnTypeChange.quoted(table))")], lock: .shareUpdateExclusive, on: table)
    }

    /// The ANALYZE a swap left undone (the run was killed between the swap and it): a table
    /// among `columns`' that has rows and statistics on some column, but none on one of
    /// `columns` (that gathers any: `SET STATISTICS 0` asks for none). A swapped column is a
    /// new column, with no statistics, while the table's others keep theirs; the swap's own
    /// ANALYZE covers the whole table, so after it no column lacks them. A table that was
    /// never analyzed shows nothing: it is left to autovacuum, as before the change.
    static func statisticsLeft(of columns: [ColumnName], _ probe: Probe) throws -> [any Effect] {
        guard !columns.isEmpty else { return [] }
        let tables = try probe.query(
            """
            SELECT DISTINCT n.nspname::text, c.relname::text
            FROM unnest($1::text[], $2::text[]) u(t, col)
            JOIN pg_attribute a ON a.attrelid = to_regclass(u.t) AND a.attname = u.col AND NOT a.attisdropped AND coalesce(a.attstattarget, -1) <> 0
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname)
              AND EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname)
            ORDER BY 1, 2
            """, [columns.map { ColumnTypeChange.quoted($0.table) }, columns.map(\.column)]
        ).map { ObjectName(schema: try $0.get(0), name: try $0.get(1)) }
        var effects: [any Effect] = []
        // An empty table gets no statistics from ANALYZE: it would be needed again on every run.
        for table in tables where try probe.scalar("SELECT EXISTS (SELECT 1 FROM \(ColumnTypeChange.quoted(table)))", as: Bool.self) == true {
            effects.append(analyze(table, "gather statistics on \(table): a converted column has none while its other columns have some (the run that swapped it ended before its ANALYZE)"))
        }
        return effects
    }
}

/// What a column has that its renamed shadow does not, and the swap sets again: its statistics
/// target, its options (`n_distinct`), its privileges. A privilege granted by a role other than
/// the table's owner cannot be granted again as that role (PostgreSQL records pgmend's grants
/// as the owner's): it is named, and the step blocked.
struct CarriedColumn {
    var name: String
    var statistics: Int?
    var options: [String]
    /// Each grant: the role (nil: PUBLIC), the privilege, whether with grant option.
    var grants: [(grantee: String?, privilege: String, grantable: Bool)]
    var otherGrantors: [String]

    /// The columns of `table` among `columns` that have any of it.
    static func read(of table: ObjectName, columns: [String], _ probe: Probe) throws -> [CarriedColumn] {
        // In the ACL's own order, so the grants give the same array back.
        let grants = "aclexplode(a.attacl) WITH ORDINALITY x(grantor, grantee, privilege_type, is_grantable, n)"
        return try probe.query(
            """
            SELECT a.attname::text, CASE WHEN a.attstattarget >= 0 THEN a.attstattarget::int END, coalesce(a.attoptions, '{}')::text[],
                   ARRAY(SELECT coalesce(r.rolname::text, '') FROM \(grants) LEFT JOIN pg_roles r ON r.oid = x.grantee ORDER BY x.n)::text[],
                   ARRAY(SELECT x.privilege_type FROM \(grants) ORDER BY x.n)::text[],
                   ARRAY(SELECT x.is_grantable::text FROM \(grants) ORDER BY x.n)::text[],
                   ARRAY(SELECT DISTINCT pg_get_userbyid(x.grantor)::text FROM aclexplode(a.attacl) x WHERE x.grantor <> c.relowner ORDER BY 1)::text[]
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE a.attrelid = to_regclass($1) AND a.attname = ANY($2::text[])
              AND (a.attstattarget >= 0 OR a.attoptions IS NOT NULL OR a.attacl IS NOT NULL)
            ORDER BY a.attnum
            """, [ColumnTypeChange.quoted(table), columns]
        ).map { row in
            let grantees = try row.get(3, as: [String].self)
            let privileges = try row.get(4, as: [String].self)
            let grantable = try row.get(5, as: [String].self)
            return CarriedColumn(
                name: try row.get(0), statistics: try row.get(1, as: Int?.self), options: try row.get(2, as: [String].self),
                grants: grantees.indices.map { (grantees[$0].isEmpty ? nil : grantees[$0], privileges[$0], grantable[$0] == "true") },
                otherGrantors: try row.get(6, as: [String].self))
        }
    }

    /// The statements that give the renamed column the same, in the swap's transaction.
    func statements(on quotedTable: String) -> [String] {
        let column = SQLIdentifier(name).quoted
        var statements: [String] = []
        if let statistics { statements.append("ALTER TABLE \(quotedTable) ALTER COLUMN \(column) SET STATISTICS \(statistics)") }
        if !options.isEmpty { statements.append("ALTER TABLE \(quotedTable) ALTER COLUMN \(column) SET (\(ColumnTypeChange.optionList(options)))") }
        // One GRANT per role and grant option, in the order the catalog lists them.
        var groups: [(grantee: String?, grantable: Bool, privileges: [String])] = []
        for grant in grants {
            if let at = groups.firstIndex(where: { $0.grantee == grant.grantee && $0.grantable == grant.grantable }) {
                groups[at].privileges.append(grant.privilege)
            } else {
                groups.append((grant.grantee, grant.grantable, [grant.privilege]))
            }
        }
        for group in groups {
            let grantee = group.grantee.map { SQLIdentifier($0).quoted } ?? "PUBLIC"
            statements.append(
                "GRANT \(group.privileges.map { "\($0) (\(column))" }.joined(separator: ", ")) ON \(quotedTable) TO \(grantee)\(group.grantable ? " WITH GRANT OPTION" : "")")
        }
        return statements
    }
}

/// An index's storage parameters and tablespace, which its copy on the shadow is built with.
struct IndexStorage {
    var options: [String]
    /// nil: the database's default tablespace.
    var tablespace: String?

    /// Every index of `table` that has either, by name.
    static func read(on table: ObjectName, _ probe: Probe) throws -> [String: IndexStorage] {
        var found: [String: IndexStorage] = [:]
        for row in try probe.query(
            """
            SELECT c.relname::text, coalesce(c.reloptions, '{}')::text[], t.spcname::text
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
            WHERE i.indrelid = to_regclass($1) AND (c.reloptions IS NOT NULL OR c.reltablespace <> 0)
            """, [ColumnTypeChange.quoted(table)])
        {
            found[try row.get(0)] = IndexStorage(options: try row.get(1, as: [String].self), tablespace: try row.get(2, as: String?.self))
        }
        return found
    }
}
