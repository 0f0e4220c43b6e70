import PostgresClient
import SchemaModel

/// The steps `drift --write-plan` writes for differences inside tables the database and the
/// models both have, where a step kind makes the change: UUIDs kept as text that the models
/// declare `uuid` (`normalize_uuid`), naive timestamps the models declare with a time zone
/// (`normalize_timestamps`, the zone a decision), checks the models declare and the database
/// lacks (`add_check`), and foreign keys the models declare that the database lacks or holds
/// with other actions (`fix_foreign_keys`). What it covers is named in `covered`, so the plan's
/// closing list of what is not repaired leaves it out.
struct DriftPlanInTables {
    /// Steps as (kind, comments, options), in the order they run.
    var steps: [(kind: String, comments: [String], options: [YAMLPair])] = []
    /// `column|table|name`, `constraint|table|name`, as DriftRow names them (`covers(_:)`).
    var covered: Set<String> = []

    /// `tables`: the keys of the tables both have, rename and split candidates left out (their
    /// columns are compared once the rename is decided). `creating`: tables the plan creates
    /// before these steps, which a foreign key may reference.
    /// `adding`: `table.column` of the columns earlier steps add (a check may read them).
    init(models: Schema, database: Schema, tables: [String], creating: Set<String>, adding: Set<String> = []) {
        var uuids: [String] = []
        var timestamps: [String] = []
        var checks: [(kind: String, comments: [String], options: [YAMLPair])] = []
        var references: [YAMLValue] = []
        var referenceNotes: [String] = []
        for key in tables.sorted() {
            guard let mine = models.tables[key], let theirs = database.tables[key] else { continue }
            let label = theirs.objectName.description
            for column in mine.columns {
                guard let live = theirs.columns.first(where: { $0.name == column.name }), live.type != column.type else { continue }
                if column.type == "uuid" && Self.isText(live.type) {
                    uuids.append("\(label).\(column.name)")
                } else if column.type == "timestamp with time zone" && live.type == "timestamp without time zone" {
                    timestamps.append("\(label).\(column.name)")
                } else {
                    continue
                }
                covered.insert("column|\(label)|\(column.name)")
            }
            let liveColumns = Set(theirs.columns.map(\.name)).union(mine.columns.map(\.name).filter { adding.contains("\(label).\($0)") })
            for constraint in mine.constraints.values.sorted(by: { $0.name < $1.name }) {
                switch constraint.kind {
                case .check:
                    // A check of that name that says something else is a replacement, which no kind makes.
                    guard let expression = constraint.checkExpression, constraint.columns.allSatisfy(liveColumns.contains),
                        theirs.constraints[constraint.name] == nil,
                        !theirs.constraints.values.contains(where: { $0.kind == .check && $0.checkExpression == expression })
                    else { continue }
                    checks.append((AddCheckStep.kind, ["\(label): \(constraint.name) \(constraint.definition) in the models, not in the database."], [
                        YAMLPair("table", .plain(label)), YAMLPair("name", .plain(constraint.name)),
                        YAMLPair("expression", .plain(expression)),
                    ]))
                    covered.insert("constraint|\(label)|\(constraint.name)")
                case .foreignKey:
                    guard let key = constraint.foreignKey, constraint.columns.allSatisfy(liveColumns.contains),
                        database.tables[key.referencedTable] != nil || creating.contains(key.referencedTable),
                        key.match == .simple, !constraint.deferrable
                    else { continue }
                    let same = theirs.constraints.values.filter { $0.kind == .foreignKey && $0.columns == constraint.columns }
                    if same.contains(where: { $0.foreignKey == key && $0.validated }) { continue }
                    references.append(Self.reference(from: label, constraint.columns, key))
                    referenceNotes.append("\(label) (\(constraint.columns.joined(separator: ", "))): "
                        + (same.isEmpty ? "no foreign key in the database" : same.map(\.definition).joined(separator: "; ") + " in the database"))
                    covered.insert("constraint|\(label)|\(constraint.name)")
                    for old in same { covered.insert("constraint|\(label)|\(old.name)") }
                default:
                    continue
                }
            }
        }
        if !uuids.isEmpty {
            steps.append((NormalizeUUIDStep.kind, ["UUIDs kept as text where the models declare uuid (with their foreign-key partners)."],
                          [YAMLPair("columns", .list(uuids.map(YAMLValue.plain)))]))
        }
        if !timestamps.isEmpty {
            steps.append((NormalizeTimestampsStep.kind, ["timestamp without time zone where the models declare timezone=True."], [
                YAMLPair("columns", .list(timestamps.map(YAMLValue.plain))),
                YAMLPair("assume_time_zone", .decide("the zone these values were written in, e.g. UTC")),
            ]))
        }
        steps += checks
        if !references.isEmpty {
            steps.append((FixForeignKeysStep.kind, ["The foreign keys the models declare: " + referenceNotes.joined(separator: "; ") + "."],
                          [YAMLPair("references", .list(references))]))
        }
        for key in tables.sorted() {
            guard let mine = models.tables[key], let theirs = database.tables[key] else { continue }
            drops(of: theirs, notIn: mine)
        }
    }

    /// For each column and plain index the database's table has and the models' lacks: an `sql`
    /// step that drops it, a decision (the other answer is to add it to the models).
    mutating func drops(of table: Table, notIn models: Table) {
        let label = table.objectName.description
        let name = QualifiedName(schema: table.schema, table.name)
        // A models' index of another name and these keys is this one, renamed (drift pairs them).
        let unpaired = Set(models.indexes.values.filter { table.indexes[$0.name] == nil }.map(\.keys))
        for index in table.indexes.values.sorted(by: { $0.name < $1.name })
        where index.constraint == nil && models.indexes[index.name] == nil && !unpaired.contains(index.keys) {
            let drop: SQL = "DROP INDEX CONCURRENTLY IF EXISTS \(QualifiedName(schema: table.schema, index.name))"
            let done: SQL = "SELECT to_regclass(\(literal: QualifiedName(schema: table.schema, index.name).description)) IS NULL"
            steps.append((SQLStep.kind, ["\(label): index \(index.name) in the database, not in the models: \(index.definition)"], [
                YAMLPair("decide", .plain("drop index \(index.name)? Delete this line to drop it, or delete this step and declare it in the models")),
                YAMLPair("run", .plain(drop.description)), YAMLPair("done_when", .plain(done.description)),
                YAMLPair("transaction", .bool(false)),
            ]))
            covered.insert("index|\(label)|\(index.name)")
        }
        let modelColumns = Set(models.columns.map(\.name))
        for column in table.columns where !modelColumns.contains(column.name) {
            let drop: SQL = "ALTER TABLE \(name) DROP COLUMN IF EXISTS \(ident: column.name)"
            let done: SQL = """
                SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = \(literal: name.description)::regclass \
                AND attname = \(literal: column.name) AND NOT attisdropped)
                """
            steps.append((SQLStep.kind, ["\(label).\(column.name) (\(column.type)): in the database, not in the models."], [
                YAMLPair("decide", .plain("drop \(label).\(column.name) and its values? Delete this line to drop it (archive the table first "
                    + "if its values may be needed), or delete this step and declare the column in the models")),
                YAMLPair("run", .plain(drop.description)), YAMLPair("done_when", .plain(done.description)),
            ]))
            covered.insert("column|\(label)|\(column.name)")
        }
    }

    /// Whether a step of this plan repairs `row` (a column or constraint row of the matrix).
    func covers(_ row: DriftRow) -> Bool {
        let name = row.objectType == "index" ? row.object : String(row.object.dropFirst(row.table.count + 1))
        return covered.contains("\(row.objectType)|\(row.table)|\(name)")
    }

    static func isText(_ type: String) -> Bool {
        type == "text" || type.hasPrefix("character varying") || type.hasPrefix("character(") || type == "character"
    }

    /// A `fix_foreign_keys` reference: `{from: t.c, to: p.c, on_delete: cascade}`, lists of
    /// columns for a key of several.
    static func reference(from table: String, _ columns: [String], _ key: ForeignKey) -> YAMLValue {
        let target = ObjectName(parsing: key.referencedTable).description
        func side(_ table: String, _ columns: [String]) -> YAMLValue {
            columns.count == 1 ? .plain("\(table).\(columns[0])") : .list(columns.map { .plain("\(table).\($0)") })
        }
        var pairs = [YAMLPair("from", side(table, columns)), YAMLPair("to", side(target, key.referencedColumns))]
        if key.onDelete != .noAction { pairs.append(YAMLPair("on_delete", .plain(action(key.onDelete)))) }
        if key.onUpdate != .noAction { pairs.append(YAMLPair("on_update", .plain(action(key.onUpdate)))) }
        return .map(pairs)
    }

    static func action(_ action: ForeignKey.Action) -> String {
        action.rawValue.lowercased().replacingOccurrences(of: " ", with: "_")
    }
}
