import PostgresClient
import SchemaModel

extension Backfill {
    /// A key bound in a batch's statements: the key's values, bound as parameters, or (in the
    /// text for people) the `$n` they are sent as.
    enum Bound {
        case values([String])
        case shown

        init?(_ values: [String]?) {
            guard let values else { return nil }
            self = .values(values)
        }
    }

    var name: QualifiedName { table.sqlName }
    /// The key's columns, in key order.
    var keyColumns: [SQLIdentifier] { key.map { SQLIdentifier($0.name) } }
    /// How reports and samples name a row of the table (`RowKey`).
    var rowKey: RowKey { RowKey(key.map(\.name)) }

    /// `($1::uuid, $2::integer)`: `bound` as a row of the key's types, its `$n` from `first`.
    func tuple(_ bound: Bound, first: Int) -> SQL {
        let items: [SQL] = key.enumerated().map { index, column in
            let type = SQL.catalogText(column.type)
            switch bound {
            case .values(let values): return "\(bind: values[index])::\(type)"
            case .shown: return "$\(literal: first + index)::\(type)"
            }
        }
        return "(\(items))"
    }

    /// The key range after `lower` through `upper`, the key's columns qualified by the
    /// UPDATE's alias `t` when `qualified`.
    func range(lower: Bound?, upper: Bound?, qualified: Bool = false) -> [SQL] {
        let columns: [SQL] = keyColumns.map { column in qualified ? "t.\(column)" : "\(column)" }
        var clauses: [SQL] = []
        if let lower { clauses.append("(\(columns)) > \(tuple(lower, first: 1))") }
        if let upper { clauses.append("(\(columns)) <= \(tuple(upper, first: lower == nil ? 1 : key.count + 1))") }
        return clauses
    }

    /// The batch's upper bound: the key `size` keys after `after` (or from the first; the first
    /// batch's size when not given), as text; no row when fewer are left (up to `through`, when
    /// given). Only the primary key's index is read.
    func boundStatement(after: Bound?, through: Bound? = nil, size: Int? = nil) -> SQL {
        "SELECT \(keyTexts) FROM \(name)\(keyFilter(after: after, through: through)) ORDER BY \(keyColumns) OFFSET \(literal: (size ?? sizing.first) - 1) LIMIT 1"
    }

    /// Every `spacing`-th key after `after` (or from the first) through `through`, as text
    /// (`KeyMarks`): one read of the primary key's index.
    func marksStatement(after: Bound?, through: Bound?, spacing: Int) -> SQL {
        """
        SELECT \(keyTexts) FROM (SELECT \(keyColumns), row_number() OVER (ORDER BY \(keyColumns)) AS pgmend_n FROM \(name)\(keyFilter(after: after, through: through))) s
        WHERE pgmend_n % \(literal: spacing) = 0 ORDER BY pgmend_n LIMIT \(literal: KeyMarks.limit)
        """
    }

    /// A key as the statements above read it: `ARRAY[k1::text, ...]`.
    private var keyTexts: SQL {
        let texts: [SQL] = keyColumns.map { "\($0)::text" }
        return "ARRAY[\(texts)]"
    }

    /// ` WHERE` the key range after `after` through `through`, or nothing for the whole table.
    private func keyFilter(after: Bound?, through: Bound?) -> SQL {
        let clauses = range(lower: after, upper: through)
        return clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
    }

    /// Whether `updateStatement` compares rows' xmin with the assessment's snapshot.
    var usesTrustedXid: Bool {
        guard conditionIsDifference, let trusted else { return false }
        return verify != nil || trusted.expressions.contains(where: { $0 != nil })
    }

    /// `(age(xmin) > age($n::xid))`: the row's version is older than the assessment's snapshot.
    func assessed(shown: Bool, first: Int) -> SQL {
        let xid: SQL = shown || trusted == nil
            ? "$\(literal: first)" : "\(bind: String((trusted?.assessedBefore ?? 0) & 0xFFFF_FFFF))"
        return "(age(xmin) > age(\(xid)::xid))"
    }

    /// True when the reads after the first pass may leave out the rows whose version the
    /// assessment read: each of them was there, unchanged, when its batch of the first pass
    /// (which went over every key: `firstPassWhole`) tested it, and the batch either wrote it
    /// (its version is then the batch's) or found it needed nothing; its condition reads the
    /// row alone (`conditionIsDifference`), and none broke `verify` (`trusted`). So only
    /// versions written since the assessment, by the application, can still match or break
    /// the rule. The last pass, under its EXCLUSIVE lock, then converts those rows only, not
    /// every row again; it still reads the whole table (0.6 to 0.9 s of the application's
    /// writes waiting on the demo database at 1,000,000 users, docs/performance.md).
    func unchanged(firstPassWhole: Bool) -> Bool {
        firstPassWhole && conditionIsDifference && trusted != nil
    }

    /// `(text)`, the closing parenthesis on a line of its own when the text holds a comment.
    static func parenthesized(_ sql: SQL) -> SQL {
        sql.text.contains("--") ? "(\(sql)\n)" : "(\(sql))"
    }

    var setList: SQL {
        assignments.map { "\(ident: $0.column) = \(Self.parenthesized($0.expression))" as SQL }.joined()
    }

    /// The batch: the rows after `lower` (when there is one) up to and including `upper` (when
    /// there is one) that still match the condition, except those the transactions in
    /// `written` wrote.
    /// With `youngOnly`, also except the rows whose version the assessment read (`unchanged`).
    func updateStatement(lower: Bound?, upper: Bound?, skipping written: [UInt64] = [], youngOnly: Bool = false) -> SQL {
        guard conditionIsDifference else {
            return "UPDATE \(name) SET \(setList)\nWHERE " + (range(lower: lower, upper: upper) + [Self.parenthesized(condition)]).joined(separator: " AND ")
        }
        // A trusted row's values come from the expressions without checks (`trusted`). A row
        // that breaks `verify` is not written: it keeps an xmin that is not this run's, so the
        // proof (`count`) reads it and fails naming it. The rows this run's batches wrote
        // (`written`) need nothing.
        let shown = [lower, upper].contains { if case .shown? = $0 { true } else { false } }
        let assessed = assessed(shown: shown, first: (lower == nil ? 0 : key.count) + (upper == nil ? 0 : key.count) + 1)
        let expressions: [SQL] = assignments.indices.map { index in
            let general = Self.parenthesized(assignments[index].expression)
            guard let trusted, index < trusted.expressions.count, let fast = trusted.expressions[index] else { return general }
            return "(CASE WHEN \(assessed) THEN \(Self.parenthesized(fast)) ELSE \(general) END)"
        }
        let violates: SQL? = verify.map { verify in
            let violates: SQL = "coalesce(\(Self.parenthesized(verify.condition)), false)"
            return trusted == nil ? violates : "(CASE WHEN \(assessed) THEN false ELSE \(violates) END)"
        }
        let notWritten = (written.isEmpty ? [] : [Self.notWrittenBy(written)]) + (youngOnly ? ["NOT \(assessed)"] : [])
        let columns = keyColumnsOf(assignments)

        // Every expression cheap for the rows it meets (each has a form without checks, and the
        // rows written during the run are few): a plain UPDATE, which evaluates them in WHERE
        // and again in SET, costs less than the join below. EvalPlanQual recomputes both on the
        // newest version of a row another session changed meanwhile.
        if let trusted, trusted.expressions.count == assignments.count, !trusted.expressions.contains(where: { $0 == nil }) {
            let sets: [SQL] = zip(columns, expressions).map { "\($0) = \($1)" }
            return "UPDATE \(name) AS t SET \(sets)\nWHERE "
                + (range(lower: lower, upper: upper) + notWritten + (violates.map { ["NOT \($0)"] } ?? [])
                    + ["(\(columns)) IS DISTINCT FROM (\(expressions))"]).joined(separator: " AND ")
        }
        return joinedUpdate(expressions: expressions, violates: violates, lower: lower, upper: upper, notWritten: notWritten)
    }

    private func keyColumnsOf(_ assignments: [(column: String, expression: SQL)]) -> [SQLIdentifier] {
        assignments.map { SQLIdentifier($0.column) }
    }

    /// The UPDATE that computes the expressions once per row, in `v` (OFFSET 0 keeps the
    /// planner from merging it back into the UPDATE, which would evaluate them in SET and WHERE
    /// again). A row that another session changed after `v` read it is left alone: EvalPlanQual
    /// rechecks the WHERE clause on the row's newest version, whose xmin is not the one `v`
    /// saw, so values computed from the old version are never written; the catch-up pass
    /// takes it.
    ///
    /// `v` and `t` are joined by ctid, not by the key: each row of `v` then finds its row of
    /// `t` by a TID scan, whatever the planner estimates. Joined by a text key, PostgreSQL can
    /// estimate a batch's key range at a few rows where it holds thousands (a range inside one
    /// histogram bucket of UUID-like text), choose a nested loop whose inner side is the whole
    /// batch re-read for each row, and spend a second on 5,000 rows. A ctid names a row only
    /// within one table, and a partitioned table's partitions repeat them: the partition's
    /// tableoid makes the match exact.
    private func joinedUpdate(expressions: [SQL], violates: SQL?, lower: Bound?, upper: Bound?, notWritten: [SQL]) -> SQL {
        let columns = keyColumnsOf(assignments)
        // The computed values are named pgmend_0, pgmend_1, ... in `v`.
        let values = Array(assignments.indices)
        let computed: [SQL] = zip(expressions, values).map { "\($0) AS pgmend_\(literal: $1)" } + (violates.map { ["\($0) AS pgmend_violates"] } ?? [])
        let vWhere = range(lower: lower, upper: upper) + notWritten
        let sets: [SQL] = zip(columns, values).map { "\($0) = v.pgmend_\(literal: $1)" }
        let targets: [SQL] = columns.map { "t.\($0)" }
        let fromV: SQL = vWhere.isEmpty ? "" : " WHERE " + vWhere.joined(separator: " AND ")
        let conditions: [SQL] = ["t.ctid = v.pgmend_ctid", "t.tableoid = v.pgmend_tableoid"] + range(lower: lower, upper: upper, qualified: true)
            + ["t.xmin = v.pgmend_xmin"] + (violates == nil ? [] : ["NOT v.pgmend_violates"])
            + ["(\(targets)) IS DISTINCT FROM (\(values.map { "v.pgmend_\(literal: $0)" as SQL }))"]
        return "UPDATE \(name) AS t SET \(sets)"
            + "\nFROM (SELECT ctid AS pgmend_ctid, tableoid AS pgmend_tableoid, xmin AS pgmend_xmin, \(computed) FROM \(name)\(fromV) OFFSET 0) AS v"
            + "\nWHERE " + conditions.joined(separator: " AND ")
    }

    /// The row's version was not written by one of `written` (xid8s, compared by their 32 bits).
    static func notWrittenBy(_ written: [UInt64]) -> SQL {
        let xids = Set(written.map { $0 & 0xFFFF_FFFF }).sorted().map(String.init)
        return "xmin <> ALL (\(bind: xids)::xid[])"
    }
}
