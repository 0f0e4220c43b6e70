import PostgresClient
import SchemaModel

/// What blocks `extract_json_fields` before any change, by primary key: unique fields whose
/// rows would share a value (unless `keep_first_by` sets the later ones aside), values that do
/// not convert, set columns the JSON contradicts, and NULLs a NOT NULL column would get.
struct FieldConflicts {
    var step: ExtractJSONFieldsStep
    var probe: Probe
    var key: RowKey
    var table: QualifiedName

    /// Unique groups: their losers become part of each field's target expression (`losers`).
    /// Every row of each group is read, with its value and the keep_first_by column's, so that
    /// a conflict can be named in full (`groups`).
    func uniqueGroups(_ plans: [FieldPlan]) throws -> (losers: [String: [(key: String, value: String)]], groups: [String: [[UniqueGroupRow]]], problems: [StepProblem]) {
        var losers: [String: [(key: String, value: String)]] = [:]
        var groupsByField: [String: [[UniqueGroupRow]]] = [:]
        var problems: [StepProblem] = []
        let keepFirstBy = step.onConflict.keepFirstBy
        for plan in plans where plan.field.unique && plan.counts.repeated > 0 {
            let rows = try groupRows(plan)
            let groups = UniqueGroupRow.grouped(rows)
            let setAside = rows.filter { $0.rank > 1 }
            guard !setAside.isEmpty else { continue }
            let named = Array(groups.prefix(10))
            let listed = named.map { UniqueGroupRow.describe($0, by: keepFirstBy) }.joined(separator: "; ") + (groups.count > named.count ? "; ..." : "")
            let sample = named.flatMap { $0.map(\.key) }
            if step.onConflict == .fail {
                problems.append(StepProblem(
                    "\(plan.field.name): \(groups.count) value\(groups.count == 1 ? " is" : "s are") held by more than one row; a unique index cannot be built"
                        + " (on_conflict: {keep_first_by: column} keeps the first row of each group): \(listed)",
                    count: rows.count, sample: sample, table: step.table))
            } else if setAside.count > ExtractJSONFieldsStep.setAsideLimit {
                problems.append(StepProblem(
                    "\(plan.field.name): more than \(ExtractJSONFieldsStep.setAsideLimit) rows share a value; too many to set aside safely: \(listed)",
                    count: rows.count, sample: sample, table: step.table))
            } else {
                losers[plan.field.name] = setAside.map { ($0.key, $0.value) }
                groupsByField[plan.field.name] = groups
            }
        }
        return (losers, groupsByField, problems)
    }

    /// The rows of `plan`'s groups, by value and then by keep_first_by and the key.
    private func groupRows(_ plan: FieldPlan) throws -> [UniqueGroupRow] {
        let keepFirstBy = step.onConflict.keepFirstBy
        let order: SQL = keepFirstBy.map { "\(ident: $0), \(key.order())" } ?? key.order()
        let by: SQL = keepFirstBy.map { "(\(ident: $0))::text" } ?? "NULL::text"
        let query: SQL = """
            SELECT k, v, b, r FROM (SELECT \(key.text()) AS k, v::text AS v, \(by) AS b, count(*) OVER (PARTITION BY v) AS n,
                row_number() OVER (PARTITION BY v ORDER BY \(order)) AS r
              FROM (SELECT *, \(plan.groupValue) AS v FROM \(table)) t WHERE v IS NOT NULL) g
            WHERE n > 1 ORDER BY v, r
            """
        return try probe.memoized(query.description) {
            try probe.readOnly { probe in
                try probe.query(query).map { row in
                    UniqueGroupRow(
                        key: try row.get(0, as: String.self), value: try row.get(1, as: String.self), by: try row.get(2, as: String?.self),
                        rank: try row.get(3, as: Int.self))
                }
            }
        }
    }

    /// Values that do not convert (without `on_invalid: null`), set columns the JSON
    /// contradicts (without `prefer`), NULLs a NOT NULL column would get: each names its rows.
    func rowProblems(_ plan: FieldPlan, notNull: Bool) throws -> [StepProblem] {
        var problems: [StepProblem] = []
        let table = step.table
        if plan.counts.invalid > 0 && !step.invalidToNull {
            let invalid = try probe.offendingRows(in: table, where: plan.unconvertible)
            problems.append(StepProblem(
                "\(plan.field.name): values that do not convert to \(plan.printedType) (on_invalid: \"null\" makes them NULL, the value stays in the JSON)",
                count: invalid.count, sample: invalid.sample, table: table))
        }
        // Without prefer, a set column the JSON contradicts blocks: another value, JSON null,
        // or (with on_invalid: null, which would make it NULL) a value that does not convert.
        let contradicted = plan.counts.differing + (step.invalidToNull ? plan.counts.differingInvalid : 0)
        if plan.exists, step.preferColumn == nil, contradicted > 0 {
            let differing = try probe.offendingRows(
                in: table, where: step.invalidToNull ? "(\(plan.columnDiffers) OR \(plan.columnSetInvalid))" : plan.columnDiffers)
            if differing.count > 0 {
                problems.append(StepProblem(
                    "\(plan.field.name): the column is already set and the JSON says otherwise (another value\(step.invalidToNull ? ", null or a value that does not convert" : " or null"); prefer: json or column decides)",
                    count: differing.count, sample: differing.sample, table: table))
            }
        }
        // A column that does not allow NULL: a row whose column would get NULL (a value
        // that does not convert, JSON null, a row set aside) blocks the step before any
        // change, where the batch would otherwise fail on it halfway.
        if notNull {
            let nulled = try probe.offendingRows(in: table, where: "(\(plan.target)) IS NULL" as SQL)
            if nulled.count > 0 {
                problems.append(StepProblem(
                    "\(plan.field.name): rows whose column would get NULL (a value that does not convert, JSON null or a row set aside), but \(table).\(plan.field.name) is NOT NULL",
                    count: nulled.count, sample: nulled.sample, table: table))
            }
        }
        return problems
    }
}

/// One row of a group of rows that would share a unique field's value.
struct UniqueGroupRow: Equatable {
    var key: String
    /// The value, as text.
    var value: String
    /// The `keep_first_by` column's value, as text (nil without one, or NULL).
    var by: String?
    /// Its place in the group: 1 keeps the value.
    var rank: Int

    /// Rows in the order the groups query gives them, one group per value.
    static func grouped(_ rows: [UniqueGroupRow]) -> [[UniqueGroupRow]] {
        var groups: [[UniqueGroupRow]] = []
        for row in rows {
            if row.rank == 1 || groups.isEmpty { groups.append([row]) } else { groups[groups.count - 1].append(row) }
        }
        return groups
    }

    /// A group of rows that would share a unique field's value, for people:
    /// `'+15550000004' held by 4 (created_at 2026-01-01 04:00:00) keeps it, 44 (created_at ...)`.
    static func describe(_ group: [UniqueGroupRow], by: String?) -> String {
        guard let value = group.first?.value else { return "" }
        let rows = group.map { row in
            guard let by else { return row.key }
            return "\(row.key) (\(by) \(row.by ?? "NULL"))" + (row.rank == 1 ? " keeps it" : "")
        }
        return "\(SQLLiteral.quoted(value)) held by " + rows.joined(separator: ", ")
    }
}
