import SchemaModel

/// Collects the matrix: per table and per differing member, one cell per source.
struct RowBuilder {
    let labels: [String]
    let live: Schema
    /// Table key -> source label -> cell.
    private var tableCells: [String: [String: DriftCell]] = [:]
    /// Table key -> member key (`type object`) -> (row without cells, cells by label).
    private var members: [String: [String: (type: String, object: String, inDatabase: Bool, cells: [String: DriftCell])]] = [:]
    /// Source label -> the table keys it has, for member cells (`-` where it has no table).
    private var sourceTables: [String: Set<String>] = [:]
    /// The labels of documents: they say nothing of constraints, indexes and triggers.
    private var docsLabels: Set<String> = []

    init(labels: [String], live: Schema) {
        self.labels = labels
        self.live = live
    }

    mutating func add(_ label: String, _ schema: Schema, docs: Bool) {
        sourceTables[label] = Set(schema.tables.keys)
        if docs { docsLabels.insert(label) }
        for key in Set(live.tables.keys).union(schema.tables.keys) {
            switch (schema.tables[key], live.tables[key]) {
            case (let mine?, let theirs?):
                compare(label, key, mine, theirs, docs: docs)
            case (nil, _?):
                tableCells[key, default: [:]][label] = DriftCell(source: label, state: .absent, details: [])
            case (let mine?, nil):
                tableCells[key, default: [:]][label] = DriftCell(
                    source: label, state: .present, details: ["\(mine.columns.count) columns; the database has no such table"])
            case (nil, nil):
                break
            }
        }
    }

    private mutating func compare(_ label: String, _ key: String, _ mine: Table, _ theirs: Table, docs: Bool) {
        let (a, b) = DriftMatrix.comparable(source: mine, database: theirs, docs: docs)
        let changes = SchemaDiff.changes(from: Schema(tables: [key: a]), to: Schema(tables: [key: b]))
            .filter { $0.property != "column order" }
        var summary: [String: [DriftState: Int]] = [:]
        var tableDetails: [String] = []
        for change in changes {
            if change.objectType == "table" {
                tableDetails.append("\(change.property ?? "definition"): \(change.before ?? "none") in \(label), \(change.after ?? "none") in the database")
                continue
            }
            let memberKey = "\(change.objectType) \(change.object)"
            var member = members[key, default: [:]][memberKey]
                ?? (type: change.objectType, object: change.object, inDatabase: change.action != .removed, cells: [:])
            var cell = member.cells[label] ?? DriftCell(source: label, state: .ok, details: [])
            switch change.action {
            case .added:
                cell.state = .absent
                cell.details.append("the database has \(change.after ?? "it"); \(label) does not")
            case .removed:
                cell.state = .present
                cell.details.append("\(label) has \(change.before ?? "it"); the database does not")
            case .changed:
                cell.state = .differs
                cell.details.append("\(change.property ?? "definition"): \(change.before ?? "none") in \(label), \(change.after ?? "none") in the database")
            }
            member.cells[label] = cell
            members[key, default: [:]][memberKey] = member
            summary[change.objectType, default: [:]][cell.state, default: 0] += 1
        }
        for (type, counts) in summary.sorted(by: { Self.typeOrder($0.key) < Self.typeOrder($1.key) }) {
            var parts: [String] = []
            if let count = counts[.present] { parts.append("\(count) only in \(label)") }
            if let count = counts[.absent] { parts.append("\(count) only in the database") }
            if let count = counts[.differs] { parts.append("\(count) differ") }
            tableDetails.append("\(type == "index" ? "indexes" : type + "s"): \(parts.joined(separator: ", "))")
        }
        tableCells[key, default: [:]][label] = DriftCell(source: label, state: changes.isEmpty ? .ok : .differs, details: tableDetails)
    }

    /// Puts `rename?` in the cells of each candidate's tables, for the sources that name it.
    mutating func mark(_ candidates: [RenameCandidate]) {
        for candidate in candidates {
            let from = ObjectName(parsing: candidate.from).key
            for label in candidate.sources {
                let figures = candidate.similarity.map { "\($0.table) (columns \(DriftRenames.figure($0.columns)))" }
                tableCells[from, default: [:]][label] = DriftCell(
                    source: label, state: .renameCandidate,
                    details: ["\(candidate.kind == .split ? "split into" : "renamed to") \(figures.joined(separator: ", ")) in \(label)?"])
                for target in candidate.to {
                    tableCells[ObjectName(parsing: target).key, default: [:]][label] = DriftCell(
                        source: label, state: .renameCandidate,
                        details: ["the database's \(candidate.from), \(candidate.kind == .split ? "split" : "renamed")?"])
                }
            }
        }
    }

    func rows() -> [DriftRow] {
        var rows: [DriftRow] = []
        for key in tableCells.keys.sorted(by: { ObjectName(parsing: $0) < ObjectName(parsing: $1) }) {
            let name = ObjectName(parsing: key).description
            // Neither the database nor the source has it: the source's cell says it lacks it.
            let cells = labels.map { tableCells[key]?[$0] ?? DriftCell(source: $0, state: .absent, details: []) }
            rows.append(DriftRow(objectType: "table", object: name, table: name, inDatabase: live.tables[key] != nil, cells: cells))
            let mine = (members[key] ?? [:]).values.sorted { (Self.typeOrder($0.type), $0.object) < (Self.typeOrder($1.type), $1.object) }
            for member in mine {
                let cells = labels.map { label in
                    member.cells[label] ?? DriftCell(source: label, state: unchangedState(label, table: key, type: member.type, inDatabase: member.inDatabase), details: [])
                }
                rows.append(DriftRow(objectType: member.type, object: member.object, table: name, inDatabase: member.inDatabase, cells: cells))
            }
        }
        return rows
    }

    /// A member cell where the source reported no change: `ok` (or `absent`, when the database
    /// lacks it too) when it has the table and can say such a thing, else not compared.
    private func unchangedState(_ label: String, table key: String, type: String, inDatabase: Bool) -> DriftState {
        guard sourceTables[label]?.contains(key) == true, live.tables[key] != nil else { return .notCompared }
        if docsLabels.contains(label) && type != "column" { return .notCompared }
        return inDatabase ? .ok : .absent
    }

    static func typeOrder(_ type: String) -> Int {
        ["column", "constraint", "index", "trigger"].firstIndex(of: type) ?? 4
    }
}
