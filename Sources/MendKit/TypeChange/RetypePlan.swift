import PostgresClient
import SchemaModel

/// The rewrite of one part of a type change (`ALTER TABLE ... ALTER COLUMN ... TYPE`, every
/// column of its foreign-key groups included by the caller) in one transaction under ACCESS
/// EXCLUSIVE locks: the dependent views dropped, the foreign keys among the columns dropped,
/// the columns altered, the keys re-added NOT VALID and the views recreated; each key then
/// validated in its own transaction, so no key ever points across types.
struct RetypePlan {
    var retypes: [ColumnRetype]
    var schema: Schema
    var recreateViews: Bool
    /// Journaled under the locks first.
    var setAside: [AlterColumnTypes.SetAside]
    /// Settings that hold for the altering transaction.
    var pinned: [(name: String, value: String)]
    /// What a value the conversion refuses means.
    var refusal: String?
    /// Whether the tables are rewritten.
    var rewrites: Bool
    var notes: [String]

    var columns: [ColumnName] { retypes.map(\.column) }
    var changing: Set<ColumnName> { Set(columns) }
    var tables: [ObjectName] { Array(Set(columns.map(\.table))).sorted() }

    /// The effects and the schema afterwards, or why the change cannot be made.
    func make(_ probe: Probe) throws -> Planned<ColumnTypeChange.Outcome> {
        var problems = try usageProblems(probe)
        let views = try DependentViews.of(columns, probe)
        problems += viewProblems(views)
        var (after, checkProblems) = try predictedTables(probe)
        problems += checkProblems
        let keys = ForeignKeyGroup.keys(touching: changing, in: schema)
        problems += ForeignKeyGroup.halfChangedProblems(keys, changing: changing)
        guard problems.isEmpty else { return .failure(problems) }

        // The views afterwards: their columns' types asked of the server on stand-ins.
        switch try DependentViews.predictedColumns(views, retypes: retypes, schema: schema, probe: probe) {
        case .failure(let found): return .failure(found)
        case .success(let types): Self.setViewColumns(types, in: &after)
        }

        let nulled = retypes.map(\.nulledCount).reduce(0, +)
        var hazards: [Hazard] = [.accessExclusiveLock]
        if rewrites { hazards.append(.tableRewrite) }
        if nulled > 0 { hazards.append(.deletesData) }
        let lockTables = Array(Set(tables + keys.flatMap(\.tables))).sorted()
        var effects: [any Effect] = [
            AlterColumnTypes(
                summary: try summary(keys: keys, views: views, probe), tables: lockTables, pinned: pinned, refusal: refusal, setAside: setAside,
                statements: statements(keys: keys, views: views), hazards: hazards, deletesRows: nulled > 0 ? nulled : nil)
        ]
        effects += keys.filter(\.constraint.validated).map { $0.validation() }
        return .success(ColumnTypeChange.Outcome(effects: effects, after: after))
    }

    /// What ALTER ... TYPE cannot carry over: a partitioned table or a partition, an index that
    /// reads a column in an expression or predicate or with an operator class of its old type,
    /// a generated column that reads it. Found in the catalog (`ColumnUser`); an index the
    /// step's schema does not hold (one a killed online run built) is not the application's.
    func usageProblems(_ probe: Probe) throws -> [StepProblem] {
        let users = try ColumnUser.of(columns, probe)
        var problems: [StepProblem] = []
        for column in columns {
            guard let table = schema.tables[column.table.key] else { continue }
            if table.kind != .ordinary || table.partitionOf != nil {
                problems.append(StepProblem("\(column.table) is partitioned or a partition: changing a column type there is not supported yet", table: column.table))
            }
            let indexes = users.filter { $0.column == column && $0.isIndex && table.indexes[$0.owner.name] != nil }.map(\.owner.name)
            for index in Set(indexes).sorted() {
                problems.append(StepProblem(
                    "index \(index) uses \(column) in an expression, a predicate or with an operator class of its type: drop it first and build it again after",
                    table: column.table))
            }
            if users.contains(where: { $0.column == column && $0.kind == .generatedColumn }) {
                problems.append(StepProblem("a generated column of \(column.table) reads \(column.column): not supported yet", table: column.table))
            }
        }
        return problems
    }

    /// Views are saved and recreated with `recreate_views: true`; otherwise, or when pgmend
    /// cannot recreate one, they are named.
    func viewProblems(_ views: [SavedView]) -> [StepProblem] {
        var problems: [StepProblem] = []
        if !views.isEmpty && !recreateViews {
            problems.append(StepProblem(
                "views read \(columns.map(\.description).joined(separator: ", ")): \(views.map(\.name.description).joined(separator: ", ")) (recreate_views: true drops and recreates them in the same transaction)",
                table: columns.first?.table))
        }
        for view in views {
            guard let what = view.notRecreated else { continue }
            problems.append(StepProblem("view \(view.name) \(what): pgmend does not recreate it; drop it first", table: columns.first?.table))
        }
        return problems
    }

    /// The tables afterwards: the new types, and the check constraints (on the columns, by
    /// `pg_constraint.conkey`) and defaults as the server will print them on the new types.
    func predictedTables(_ probe: Probe) throws -> (Schema, [StepProblem]) {
        var after = schema
        var problems: [StepProblem] = []
        for table in tables {
            guard var model = schema.tables[table.key] else { continue }
            let mine = retypes.filter { $0.column.table == table }
            var columns = model.columns
            for retype in mine {
                guard let position = columns.firstIndex(where: { $0.name == retype.column.column }) else { continue }
                columns[position].type = retype.newType
                columns[position].defaultExpression = nil
            }
            let checks = model.constraints.values.filter { constraint in
                constraint.kind == .check && mine.contains { constraint.columns.contains($0.column.column) }
            }.sorted { $0.name < $1.name }
            var forms = CanonicalForms()
            do {
                forms = try probe.canonicalForms(
                    columns: columns.map { Column(name: $0.name, type: $0.type) },
                    checks: checks.compactMap { check in check.checkExpression.map { (check.name, $0) } },
                    defaults: mine.compactMap { retype in retype.newDefault.map { (retype.column.column, $0) } })
            } catch let error as PostgresError where error.kind == .server {
                problems.append(StepProblem(
                    "a check constraint or default of \(table) does not hold for the new type (\(error.message)): change it first", table: table))
                continue
            }
            for retype in mine {
                guard let position = model.columns.firstIndex(where: { $0.name == retype.column.column }) else { continue }
                model.columns[position].type = retype.newType
                model.columns[position].defaultExpression = retype.newDefault.map { forms.defaults[retype.column.column] ?? $0 }
                model.columns[position].collation = nil
            }
            for check in checks {
                guard let form = forms.checks[check.name] else { continue }
                model.constraints[check.name]?.definition = check.validated ? form.definition : form.definition + " NOT VALID"
                model.constraints[check.name]?.checkExpression = form.expression
            }
            after.tables[table.key] = model
        }
        return (after, problems)
    }

    static func setViewColumns(_ types: [String: [String: String]], in after: inout Schema) {
        for (key, columns) in types {
            guard after.views[key] != nil else { continue }
            for (position, column) in (after.views[key]?.columns ?? []).enumerated() {
                if let type = columns[column.name] { after.views[key]?.columns[position].type = type }
            }
        }
    }

    /// Views dropped deepest first, keys dropped, each table's columns altered in one
    /// statement, keys re-added NOT VALID, views recreated.
    func statements(keys: [TouchingForeignKey], views: [SavedView]) -> [SQL] {
        var statements: [SQL] = views.reversed().map(\.dropStatement)
        statements += keys.map(\.dropStatement)
        for table in tables {
            var parts: [SQL] = []
            for retype in retypes where retype.column.table == table {
                let column = SQLIdentifier(retype.column.column)
                if retype.hadDefault { parts.append("ALTER COLUMN \(column) DROP DEFAULT") }
                let using: SQL = retype.using.map { " USING \($0)" } ?? ""
                parts.append("ALTER COLUMN \(column) TYPE \(retype.newTypeSQL)\(using)")
                if let value = retype.newDefaultSQL { parts.append("ALTER COLUMN \(column) SET DEFAULT \(value)") }
            }
            statements.append("ALTER TABLE \(table.sqlName)\n  \(parts, separator: ",\n  ")")
        }
        statements += keys.map(\.addNotValidStatement)
        statements += views.flatMap(\.recreateStatements)
        return statements
    }

    /// What the change does, for the operator: the columns, their tables' sizes, the lock, the
    /// keys and views carried over.
    func summary(keys: [TouchingForeignKey], views: [SavedView], _ probe: Probe) throws -> String {
        let names = tables.map { $0.sqlName.quoted }
        let sizes = try probe.query(
            "SELECT pg_size_pretty(pg_table_size(to_regclass(t))) FROM unnest(\(bind: names)::text[]) WITH ORDINALITY u(t, o) ORDER BY o"
        ).map { try $0.get(0, as: String.self) }
        let sized = zip(tables, sizes).map { "\($0) \($1)" }.joined(separator: ", ")
        var summary = "change \(columns.map(\.description).joined(separator: ", ")) to \(Set(retypes.map(\.newType)).sorted().joined(separator: ", "))"
        summary += rewrites ? "; rewrites \(sized) under ACCESS EXCLUSIVE" : "; no table rewrite (\(sized)), ACCESS EXCLUSIVE while the catalog changes"
        if !keys.isEmpty { summary += "; foreign keys \(keys.map(\.constraint.name).joined(separator: ", ")) dropped and re-added NOT VALID" }
        if !views.isEmpty { summary += "; views \(views.map(\.name.description).joined(separator: ", ")) dropped and recreated with their owner, grants and comments" }
        if !notes.isEmpty { summary += "; " + notes.joined(separator: "; ") }
        return summary
    }
}
