import PostgresClient
import SchemaModel

/// One table of an online type change and its phases: the shadow columns (with the trigger
/// that keeps them, their backfill and the proof of NOT NULL), the copies of its indexes on
/// the shadows, and its share of the swap.
struct OnlineTable {
    var name: ObjectName
    var model: Table
    var retypes: [ColumnRetype]
    var conversion: OnlineConversion
    /// The primary key's columns and their types: the backfill's keyset.
    var key: [(name: String, type: String)]
    var carried: [CarriedColumn]
    var indexSources: [String: IndexCopySource]

    var table: QualifiedName { name.sqlName }
    var columns: [String] { retypes.map(\.column.column) }
    var shadowNames: [String] { columns.map(conversion.shadowName) }
    var shadows: [SQLIdentifier] { shadowNames.map(SQLIdentifier.init) }
    /// Each column's new value, from the column.
    var casts: [SQL] { retypes.map { $0.converted("\(ident: $0.column.column)") } }
    var hasShadows: Bool { shadowNames.allSatisfy { model.column($0) != nil } }

    /// The rows whose shadows differ from the conversion of their columns: what the backfill
    /// has left, and what the assertion expects none of.
    var difference: SQL {
        shadows.count == 1
            ? "\(shadows[0]) IS DISTINCT FROM \(casts[0])"
            : "(\(shadows)) IS DISTINCT FROM (\(casts, separator: ", "))"
    }

    var assertion: SQL { "SELECT \(RowKey(key.map(\.name)).text()) AS key FROM \(table) WHERE \(difference)" }

    /// Each table of `retypes` as the change finds it, or what stops the online method: no
    /// primary key, a column in the way of a shadow's name, a check or exclusion constraint or
    /// a trigger on a column (which it does not carry over), a privilege granted by another role.
    static func read(_ retypes: [ColumnRetype], _ conversion: OnlineConversion, schema: Schema, _ probe: Probe) throws -> Planned<[OnlineTable]> {
        var problems: [StepProblem] = []
        var found: [OnlineTable] = []
        let users = try ColumnUser.of(retypes.map(\.column), probe)
        for name in Array(Set(retypes.map(\.column.table))).sorted() {
            guard let model = schema.tables[name.key] else { continue }
            let primary = try probe.primaryKey(of: name)
            if primary.isEmpty {
                problems.append(StepProblem("\(name) has no primary key: method online backfills by it (use method: rewrite)", table: name))
            }
            let table = OnlineTable(
                name: name, model: model, retypes: retypes.filter { $0.column.table == name }, conversion: conversion,
                key: primary.map { column in (column, model.column(column)?.type ?? "text") },
                carried: try CarriedColumn.read(of: name, columns: retypes.filter { $0.column.table == name }.map(\.column.column), probe),
                indexSources: try IndexCopySource.read(on: name, probe))
            problems += table.problems(users: users)
            found.append(table)
        }
        return problems.isEmpty ? .success(found) : .failure(problems)
    }

    func problems(users: [ColumnUser]) -> [StepProblem] {
        var problems: [StepProblem] = []
        for retype in retypes {
            let column = retype.column.column
            let shadow = conversion.shadowName(column)
            if let existing = model.column(shadow), existing.type != retype.newType {
                problems.append(StepProblem("\(name) has a column \(shadow) of type \(existing.type): method online needs that name for its \(retype.newType) shadow column", table: name))
            }
            for constraint in model.constraints.values.sorted(by: { $0.name < $1.name })
            where (constraint.kind == .check || constraint.kind == .exclusion) && constraint.columns.contains(column) {
                problems.append(StepProblem("constraint \(constraint.name) uses \(name).\(column): method online does not carry it over yet (use method: rewrite)", table: name))
            }
            let triggers = users.filter { $0.column == retype.column && $0.kind == .trigger }.compactMap(\.member)
            for trigger in Set(triggers).sorted() where trigger != conversion.triggerName {
                problems.append(StepProblem("trigger \(trigger) names \(name).\(column): method online does not carry it over yet (use method: rewrite)", table: name))
            }
        }
        for column in carried where !column.otherGrantors.isEmpty {
            problems.append(StepProblem(
                "privileges on \(name).\(column.name) were granted by \(column.otherGrantors.joined(separator: ", ")), not the table's owner: method online cannot grant them again as \(column.otherGrantors.count == 1 ? "that role" : "those roles") (use method: rewrite)",
                table: name))
        }
        return problems
    }

    // MARK: Shadow columns

    /// The shadow columns and the trigger that keeps them (one transaction), the backfill of
    /// the existing rows, and the validated checks that prove NOT NULL; what of it a killed run
    /// did is not done again. `provenNotNull` drops those checks in the swap, after its SET
    /// NOT NULL: dropped before, they prove nothing and PostgreSQL reads the whole table under
    /// the swap's ACCESS EXCLUSIVE lock.
    func shadowColumns(_ probe: Probe, after: inout Schema) throws -> (effects: [any Effect], provenNotNull: [SQL]) {
        var effects: [any Effect] = []
        if !hasShadows || model.triggers[conversion.triggerName] == nil { effects.append(shadowsAndTrigger) }
        if let backfill = try backfill(probe) { effects.append(backfill) }
        var provenNotNull: [SQL] = []
        for retype in retypes where model.column(retype.column.column)?.notNull == true {
            let check = OnlineTypeChange.notNullName(name, retype.column.column)
            let shadow = conversion.shadowName(retype.column.column)
            if model.constraints[check] == nil {
                effects.append(AtomicSQL(
                    "add check \(check) (\(shadow) IS NOT NULL) NOT VALID",
                    ["ALTER TABLE \(table) ADD CONSTRAINT \(ident: check) CHECK (\(ident: shadow) IS NOT NULL) NOT VALID"], lock: .accessExclusive, on: name))
            }
            if model.constraints[check]?.validated != true {
                effects.append(AtomicSQL(
                    "validate \(check), so the swap's SET NOT NULL does not read the table",
                    ["ALTER TABLE \(table) VALIDATE CONSTRAINT \(ident: check)"], lock: .shareUpdateExclusive, on: name, hazards: [.fullTableScan]))
            }
            provenNotNull.append("ALTER TABLE \(table) DROP CONSTRAINT \(ident: check)")
            after.tables[name.key]?.constraints[check] = nil
        }
        return (effects, provenNotNull)
    }

    /// The trigger function's body: each shadow set to the conversion of the new row's column.
    var triggerBody: SQL {
        zip(shadows, retypes).map { shadow, retype -> SQL in "  NEW.\(shadow) := \(retype.converted("NEW.\(ident: retype.column.column)"));" }
            .joined(separator: "\n")
    }

    /// The shadow columns, the trigger function and the trigger, in one transaction.
    var shadowsAndTrigger: AtomicSQL {
        let body = triggerBody
        // A dollar quote that no column name in the body can end early.
        var number = 0
        func tag(_ number: Int) -> SQL { number == 0 ? "$pgmend$" : "$pgmend\(literal: number)$" }
        while body.text.contains(tag(number).text) { number += 1 }
        let function = conversion.function(name)
        let trigger = SQLIdentifier(conversion.triggerName)
        var statements: [SQL] = [
            "CREATE SCHEMA IF NOT EXISTS pgmend",
            "CREATE OR REPLACE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql AS \(tag(number))\nBEGIN\n\(body)\n  RETURN NEW;\nEND\n\(tag(number))",
        ]
        statements += zip(shadows, retypes).map { "ALTER TABLE \(table) ADD COLUMN IF NOT EXISTS \($0) \($1.newTypeSQL)" }
        statements.append("DROP TRIGGER IF EXISTS \(trigger) ON \(table)")
        statements.append("CREATE TRIGGER \(trigger) BEFORE INSERT OR UPDATE ON \(table) FOR EACH ROW EXECUTE FUNCTION \(function)()")
        let refuses = retypes.contains { $0.nulledReason == nil } ? conversion.refuses : " (from now on a value it turns into NULL is journaled at the swap)"
        return AtomicSQL(
            "add \(shadows.count == 1 ? "shadow column" : "shadow columns") \(shadowNames.joined(separator: ", ")) to \(name), kept equal to \(conversion.holds) \(columns.joined(separator: ", ")) by trigger \(conversion.triggerName)\(refuses)",
            statements, lock: .accessExclusive, on: name)
    }

    /// The existing rows, in keyset batches: nil when the shadows exist and equal their columns.
    func backfill(_ probe: Probe) throws -> Backfill? {
        let matching: Int
        if hasShadows {
            matching = try probe.scalar("SELECT count(*) FROM \(table) WHERE \(difference)" as SQL, as: Int.self) ?? 0
        } else {
            let present: [SQL] = columns.map { "\(ident: $0) IS NOT NULL" }
            matching = try probe.scalar("SELECT count(*) FROM \(table) WHERE \(present, separator: " OR ")", as: Int.self) ?? 0
        }
        guard !hasShadows || matching > 0 else { return nil }
        var backfill = Backfill(
            table: name, key: key, assignments: zip(shadowNames, casts).map { (column: $0, expression: $1) }, condition: difference,
            matching: matching, sizing: probe.settings.batchSizing, workers: try probe.batchWorkers(rows: matching))
        let gets = columns.count == 1 ? " \(shadowNames[0]) gets" : "s \(shadowNames.joined(separator: ", ")) get"
        backfill.progressLabel = "copy into \(shadowNames.joined(separator: ", "))"
        backfill.purpose = "the shadow column\(gets) \(conversion.holds) \(columns.joined(separator: ", "))"
        backfill.conditionIsDifference = true
        return backfill
    }

    // MARK: Swap

    /// Trigger dropped, old columns dropped, shadows renamed, NOT NULL, defaults, the checks
    /// that proved NOT NULL dropped, indexes attached, comments and what the columns carried,
    /// the trigger function dropped.
    func swapStatements(provenNotNull: [SQL], attach: [SQL]) -> [SQL] {
        let trigger = SQLIdentifier(conversion.triggerName)
        let drops: [SQL] = columns.map { "DROP COLUMN \(ident: $0)" }
        var swap: [SQL] = ["DROP TRIGGER \(trigger) ON \(table)", "ALTER TABLE \(table) \(drops, separator: ", ")"]
        for column in columns {
            swap.append("ALTER TABLE \(table) RENAME COLUMN \(ident: conversion.shadowName(column)) TO \(ident: column)")
        }
        for retype in retypes {
            let column = SQLIdentifier(retype.column.column)
            var parts: [SQL] = []
            if model.column(retype.column.column)?.notNull == true { parts.append("ALTER COLUMN \(column) SET NOT NULL") }
            if let value = retype.newDefaultSQL { parts.append("ALTER COLUMN \(column) SET DEFAULT \(value)") }
            if !parts.isEmpty { swap.append("ALTER TABLE \(table) \(parts, separator: ", ")") }
        }
        swap += provenNotNull
        swap += attach
        for retype in retypes {
            if let comment = model.column(retype.column.column)?.comment {
                swap.append("COMMENT ON COLUMN \(table).\(ident: retype.column.column) IS \(literal: comment)")
            }
        }
        for column in carried { swap += column.statements(on: table) }
        swap.append("DROP FUNCTION \(conversion.function(name))()")
        return swap
    }

    /// Afterwards: the shadows and the trigger are gone, the columns are last.
    func swapped(in after: inout Schema) {
        guard var changed = after.tables[name.key] else { return }
        changed.triggers[conversion.triggerName] = nil
        changed.columns.removeAll { shadowNames.contains($0.name) }
        let moved = columns.compactMap { name in changed.columns.first { $0.name == name } }
        changed.columns.removeAll { columns.contains($0.name) }
        changed.columns += moved
        after.tables[name.key] = changed
    }
}
