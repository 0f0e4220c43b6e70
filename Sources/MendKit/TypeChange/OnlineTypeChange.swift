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
    /// The trigger function, in schema `pgmend` (written bare, as it always was).
    func function(_ table: ObjectName) -> SQL { "pgmend.\(ident: functionName(table))" }
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
/// validated after, in its own transaction. Each table's phases are `OnlineTable`'s.
///
/// Every piece is read back from the catalog by the next assessment, so a run killed anywhere
/// is finished by the next one: an existing shadow column and trigger are kept, the backfill
/// resumes at its checkpoint (its condition says what is left), an invalid index left by a
/// killed build is dropped and built again, and the swap is one transaction.
enum OnlineTypeChange {
    /// The suffixes of the indexes pgmend builds on the way (every kind's): never copied.
    static let ownIndexSuffixes = ["_pgmend_uuid", "_pgmend_tstz", "_pgmend_nulled"]

    static func isOwnIndex(_ name: String) -> Bool { ownIndexSuffixes.contains { name.hasSuffix($0) } }

    static func notNullName(_ table: ObjectName, _ column: String) -> String { GeneratedName.make([table.name, column], suffix: "pgmend_not_null") }
    /// The partial index of the rows whose value the conversion nulls: the swap journals them
    /// under its lock by this index, without reading the table. Dropped with the old column.
    static func nulledIndexName(_ table: ObjectName, _ column: String) -> String { GeneratedName.make([table.name, column], suffix: "pgmend_nulled") }

    /// The online change of `retypes` (every foreign-key group included), a part at a time as
    /// `ColumnTypeChange.parts` splits them, each from the schema the previous leaves.
    static func planInParts(
        _ retypes: [ColumnRetype], _ conversion: OnlineConversion, schema: Schema, probe: Probe, recreateViews: Bool, notes: [ColumnName: [String]]
    ) throws -> Assessment {
        try ColumnTypeChange.inParts(retypes, schema: schema, probe: probe) { part, before in
            try plan(part, conversion, schema: before, probe: probe, recreateViews: recreateViews, notes: part.flatMap { notes[$0.column] ?? [] })
        }
    }

    /// The online change of `retypes` (one foreign-key group, every partner included), from
    /// whatever an earlier killed run left: each table's shadow columns, then the index copies,
    /// then the assertion, the swap of every table in one transaction, ANALYZE and validations.
    static func plan(
        _ retypes: [ColumnRetype], _ conversion: OnlineConversion, schema: Schema, probe: Probe, recreateViews: Bool, notes: [String]
    ) throws -> Planned<ColumnTypeChange.Outcome> {
        // What the change leaves, and what stops it, as the rewrite predicts them (without the
        // pieces a killed run left, which the rewrite would take for the application's).
        var base = schema
        for table in Set(retypes.map(\.column.table)) {
            guard let indexes = schema.tables[table.key]?.indexes else { continue }
            base.tables[table.key]?.indexes = indexes.filter { name, _ in !isOwnIndex(name) }
        }
        let rewrite = try RetypePlan(
            retypes: retypes, schema: base, recreateViews: recreateViews, setAside: [], pinned: conversion.pinned, refusal: nil, rewrites: true, notes: notes
        ).make(probe)
        guard case .success(let rewritten) = rewrite else { return rewrite }

        let tables: [OnlineTable]
        switch try OnlineTable.read(retypes, conversion, schema: schema, probe) {
        case .failure(let problems): return .failure(problems)
        case .success(let read): tables = read
        }
        let views = try DependentViews.of(retypes.map(\.column), probe)
        let keys = ForeignKeyGroup.keys(touching: Set(retypes.map(\.column)), in: schema)

        var after = rewritten.after
        var prepared: [any Effect] = []
        var indexBuilds: [any Effect] = []
        var swap = OnlineSwap(retypes: retypes, conversion: conversion, keys: keys, views: views, notes: notes)
        for table in tables {
            let shadows = try table.shadowColumns(probe, after: &after)
            prepared += shadows.effects
            let copies = table.indexCopies(after: &after)
            indexBuilds += copies.builds
            swap.setAside += copies.setAside
            swap.tables.append(table.swapStatements(provenNotNull: shadows.provenNotNull, attach: copies.attach))
            swap.assertions.append(table.assertion)
            table.swapped(in: &after)
        }
        var effects = prepared + indexBuilds + swap.effects(tables: tables.map(\.name))
        effects += keys.filter(\.constraint.validated).map { $0.validation() }
        return .success(ColumnTypeChange.Outcome(effects: effects, after: after))
    }
}

/// The swap of a part: one short transaction under the locks of every table, then ANALYZE.
struct OnlineSwap {
    var retypes: [ColumnRetype]
    var conversion: OnlineConversion
    var keys: [TouchingForeignKey]
    var views: [SavedView]
    var notes: [String]
    /// Each table's statements (`OnlineTable.swapStatements`).
    var tables: [[SQL]] = []
    /// Each table's query for the rows whose shadow differs from the conversion.
    var assertions: [SQL] = []
    var setAside: [AlterColumnTypes.SetAside] = []

    /// Views and keys dropped, each table swapped, keys re-added NOT VALID, views recreated.
    var statements: [SQL] {
        views.reversed().map(\.dropStatement) + keys.map(\.dropStatement) + tables.flatMap { $0 }
            + keys.map(\.addNotValidStatement) + views.flatMap(\.recreateStatements)
    }

    var summary: String {
        var summary = "swap \(retypes.map(\.column.description).joined(separator: ", ")) for their \(Set(retypes.map(\.newType)).sorted().joined(separator: ", ")) shadow columns in one short transaction (no table rewrite)"
        if !keys.isEmpty { summary += "; foreign keys \(keys.map(\.constraint.name).joined(separator: ", ")) dropped and re-added NOT VALID" }
        if !views.isEmpty { summary += "; views \(views.map(\.name.description).joined(separator: ", ")) dropped and recreated with their owner, grants and comments" }
        if !notes.isEmpty { summary += "; " + notes.joined(separator: "; ") }
        return summary
    }

    /// The assertion that every shadow is equal to the conversion, the swap, and ANALYZE of
    /// each of `tables`.
    func effects(tables: [ObjectName]) -> [any Effect] {
        var effects: [any Effect] = [
            Assertion(
                "every row's shadow column equals \(conversion.holds) its column (\(retypes.map(\.column.description).joined(separator: ", ")))",
                query: assertions.joined(separator: "\nUNION ALL\n"), on: tables.first)
        ]
        let lockTables = Array(Set(tables + keys.flatMap(\.tables))).sorted()
        // The rows whose value the conversion nulls lose it at the swap (journaled first).
        let nulled = retypes.map(\.nulledCount).reduce(0, +)
        effects.append(AlterColumnTypes(
            summary: summary, tables: lockTables, pinned: conversion.pinned, refusal: nil, setAside: setAside, statements: statements,
            hazards: nulled > 0 ? [.accessExclusiveLock, .deletesData] : [.accessExclusiveLock], deletesRows: nulled > 0 ? nulled : nil))
        // The renamed columns have no statistics yet: the planner's estimates on them are
        // guesses until they are gathered (autovacuum would, later). The whole table, so that
        // afterwards no column of it lacks statistics while others have some: that is how a
        // later run tells a swap whose ANALYZE was killed (`statisticsLeft`).
        for table in tables {
            effects.append(OnlineTypeChange.analyze(table, "gather statistics on \(table), whose new columns have none"))
        }
        return effects
    }
}
