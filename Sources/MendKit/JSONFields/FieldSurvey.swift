import PostgresClient
import SchemaModel

/// Every field's counts of `extract_json_fields`, in one read of the table (and for a unique
/// field, whether any value repeats), read by column name: `present_0`, `invalid_2`, ...
/// Rows are named only where a count says there are some (a second read, of the problem rows'
/// keys). Read once per run (`Probe.memoized`).
struct FieldSurvey: Equatable {
    /// Per field, in the plan's order.
    var fields: [FieldCounts]
    /// Rows with any of the keys: all a backfill writes while a column is missing.
    var rowsWithKeys: Int
    /// The oldest transaction the read's snapshot did not see finished: every row version
    /// written before it was read here (`Backfill.trusted`).
    var snapshotXmin: Int

    /// The columns of one field's counts, in `FieldCounts`' order, each suffixed `_<field>`.
    static let countNames = ["present", "converted", "rounded", "invalid", "json_null", "differing", "differing_invalid", "column_only", "repeated"]

    /// Reads the survey row, by column name; throws when a column is missing.
    init(row: [String: Int], fieldCount: Int) throws {
        func count(_ name: String) throws -> Int {
            guard let value = row[name] else { throw PostgresError(kind: .decoding, message: "the survey has no column \(name)") }
            return value
        }
        fields = try (0..<fieldCount).map { index in
            let value = try Self.countNames.map { try count("\($0)_\(index)") }
            return FieldCounts(
                present: value[0], converted: value[1], rounded: value[2], invalid: value[3], jsonNull: value[4], differing: value[5],
                differingInvalid: value[6], columnOnly: value[7], repeated: value[8])
        }
        rowsWithKeys = try count("rows_with_keys")
        snapshotXmin = try count("snapshot_xmin")
    }

    /// Reads the survey of `plans` from `table`, once per run.
    static func read(_ plans: [FieldPlan], from table: QualifiedName, probe: Probe) throws -> FieldSurvey? {
        let query = query(plans, from: table)
        // Not an optional: `memoized` would take a remembered nil for any optional.
        let row: [String: Int] = try probe.memoized(query.description) {
            try probe.readOnly { probe in
                // The distinct hashes sort in memory rather than on disk.
                try probe.connection.setLocal("work_mem", "64MB")
                let result = try probe.query(query)
                guard let row = result.first else { return [:] }
                return Dictionary(uniqueKeysWithValues: try result.columnNames.enumerated().map { ($1, try row.get(.index($0), as: Int.self)) })
            }
        }
        return row.isEmpty ? nil : try FieldSurvey(row: row, fieldCount: plans.count)
    }

    /// Each field's state is computed once per row in `s` (OFFSET 0 keeps the planner from
    /// copying the expressions into every aggregate): 0 absent, 4 JSON null, 1 converts,
    /// 2 converts from another form, 5 converts but rounds, 3 does not convert; `d` what the
    /// column says against it (`FieldPlan.columnState`); `g` the value a unique index will
    /// hold. A unique field's repeats are counted by hash (a collision only costs the exact
    /// query of the groups, which then finds none).
    static func query(_ plans: [FieldPlan], from table: QualifiedName) -> SQL {
        var states: [SQL] = []
        var aggregates: [SQL] = []
        var presence: [SQL] = []
        for (index, plan) in plans.enumerated() {
            let part = parts(plan, index)
            states += part.states
            presence.append(part.presence)
            aggregates += zip(countNames, part.counts).map { name, count in "\(count) AS \(ident: "\(name)_\(index)")" }
        }
        aggregates.append("count(*) FILTER (WHERE \(presence, separator: " OR ")) AS rows_with_keys")
        aggregates.append("pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS snapshot_xmin")
        return "SELECT \(aggregates, separator: ",\n  ")\nFROM (SELECT \(states, separator: ",\n  ") FROM \(table) OFFSET 0) s"
    }

    /// One field's per-row states, its nine counts (in `countNames`' order) and when a row has
    /// its key.
    static func parts(_ plan: FieldPlan, _ index: Int) -> (states: [SQL], counts: [SQL], presence: SQL) {
        let s = SQLIdentifier("s\(index)"), p = SQLIdentifier("p\(index)"), c = SQLIdentifier("c\(index)")
        let d = SQLIdentifier("d\(index)"), g = SQLIdentifier("g\(index)")
        let rounds = plan.cast.rounded(plan.value)
        var states: [SQL] = []
        var counts: [SQL] = []
        let presence: SQL
        if plan.field.unique && !plan.exists && rounds == nil {
            // A unique field whose column is still missing: the value its index will hold is
            // the JSON's value itself, so its state is told from that text (`g`), and the
            // conversion runs once per row, not twice.
            states += ["\(plan.kind) AS \(p)", "\(plan.convertedForm) AS \(c)", "(\(plan.value))::text AS \(g)"]
            let present: SQL = "\(p) NOT IN ('', 'null')"
            counts += [
                "count(*) FILTER (WHERE \(present))", "count(*) FILTER (WHERE \(present) AND \(g) IS NOT NULL AND \(c))", "0::bigint",
                "count(*) FILTER (WHERE \(present) AND \(g) IS NULL)", "count(*) FILTER (WHERE \(p) = 'null')",
            ]
            presence = plan.field.defaultValue == nil ? present : "\(p) <> ''"
        } else {
            let rounded: SQL = rounds.map { " WHEN \($0) THEN 5" } ?? ""
            states.append(
                "CASE \(plan.kind) WHEN '' THEN 0 WHEN 'null' THEN 4 ELSE CASE WHEN NOT \(plan.valid) THEN 3\(rounded) WHEN \(plan.convertedForm) THEN 2 ELSE 1 END END AS \(s)")
            counts += [
                "count(*) FILTER (WHERE \(s) IN (1, 2, 3, 5))", "count(*) FILTER (WHERE \(s) = 2)", "count(*) FILTER (WHERE \(s) = 5)",
                "count(*) FILTER (WHERE \(s) = 3)", "count(*) FILTER (WHERE \(s) = 4)",
            ]
            // A JSON null changes a column that starts at a default.
            presence = plan.field.defaultValue == nil ? "\(s) IN (1, 2, 3, 5)" : "\(s) > 0"
        }
        if plan.exists {
            states.append("\(plan.columnState) AS \(d)")
            counts += ["count(*) FILTER (WHERE \(d) = 1)", "count(*) FILTER (WHERE \(d) = 2)", "count(*) FILTER (WHERE \(d) = 3)"]
        } else {
            counts += ["0::bigint", "0::bigint", "0::bigint"]
        }
        if plan.field.unique {
            if plan.exists || rounds != nil { states.append("\(plan.groupValue)::text AS \(g)") }
            counts.append("count(\(g)) - count(DISTINCT hashtextextended(\(g), 0))")
        } else {
            counts.append("0::bigint")
        }
        return (states, counts, presence)
    }
}
