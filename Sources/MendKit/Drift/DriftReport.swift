import SchemaModel

/// What `pgmend drift` found: one row per table (the union of the database's and every
/// source's), each followed by a row per differing column, index, constraint or trigger; one
/// cell per source; and the tables whose names differ while their columns say they are the
/// same (rename and split candidates). docs/drift.md describes the JSON form.
public struct DriftReport: Codable, Sendable, Equatable {
    public var database: String
    public var sources: [DriftSourceInfo]
    public var rows: [DriftRow]
    public var candidates: [RenameCandidate]

    /// True when every source agrees with the database on every row.
    public var agree: Bool { rows.allSatisfy { row in row.cells.allSatisfy(row.agrees) } }

    enum CodingKeys: String, CodingKey { case database, sources, rows, candidates, agree }

    public init(database: String, sources: [DriftSourceInfo], rows: [DriftRow], candidates: [RenameCandidate]) {
        self.database = database
        self.sources = sources
        self.rows = rows
        self.candidates = candidates
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        database = try container.decode(String.self, forKey: .database)
        sources = try container.decode([DriftSourceInfo].self, forKey: .sources)
        rows = try container.decode([DriftRow].self, forKey: .rows)
        candidates = try container.decode([RenameCandidate].self, forKey: .candidates)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(database, forKey: .database)
        try container.encode(sources, forKey: .sources)
        try container.encode(rows, forKey: .rows)
        try container.encode(candidates, forKey: .candidates)
        try container.encode(agree, forKey: .agree)
    }

    /// The table rows only.
    public var tableRows: [DriftRow] { rows.filter { $0.objectType == "table" } }
}

/// A source compared with the database: its label (`models`), kind and where it was read from.
public struct DriftSourceInfo: Codable, Sendable, Equatable {
    public var label: String
    /// `models`, `migrations`, `docs`, or `database` for a snapshot of another database.
    public var kind: String
    public var path: String?
}

/// One table, or one column, index, constraint or trigger of a table, across the sources.
public struct DriftRow: Codable, Sendable, Equatable {
    /// table, column, index, constraint, trigger.
    public var objectType: String
    /// As an operator names it: `calendar`, `work_sessions.notes`, `ix_users_created_at`.
    public var object: String
    /// The table it belongs to (itself for a table row).
    public var table: String
    public var inDatabase: Bool
    /// One per source, in the report's source order.
    public var cells: [DriftCell]

    enum CodingKeys: String, CodingKey {
        case objectType = "object_type", object, table, inDatabase = "in_database", cells
    }

    /// Whether `cell` says what the database says: `ok`, not compared, or `absent` where the
    /// database lacks it too.
    public func agrees(_ cell: DriftCell) -> Bool {
        cell.state == .ok || cell.state == .notCompared || (cell.state == .absent && !inDatabase)
    }

    /// The cell of the source labelled `label`.
    public func cell(_ label: String) -> DriftCell? { cells.first { $0.source == label } }
}

/// How one source stands to the database on one row.
public struct DriftCell: Codable, Sendable, Equatable {
    public var source: String
    public var state: DriftState
    /// What differs, one line each, worded from the source's side.
    public var details: [String]
}

public enum DriftState: String, Codable, Sendable {
    /// The source says what the database has.
    case ok
    /// The source does not have it (a difference where the database has it).
    case absent
    /// The source has it, the database does not.
    case present
    /// Both have it, differently.
    case differs
    /// Absent or present on one side, and a table of another name on the other side has
    /// matching columns: see the report's candidates.
    case renameCandidate = "rename?"
    /// Not compared: the source cannot say (a document has no indexes), or lacks the table.
    case notCompared = "-"
}

/// A table of the database that a source seems to know under another name (`calendar` ->
/// `calendar_events`), or as several tables (`wheel` -> `wheel_categories`, `wheel_scores`).
public struct RenameCandidate: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case rename, split }
    public var kind: Kind
    /// The database's table.
    public var from: String
    /// The source's table(s).
    public var to: [String]
    /// The labels of the sources that name it so.
    public var sources: [String]
    /// Per target: Jaccard similarity of the column names, and of the (name, type) pairs.
    public var similarity: [CandidateSimilarity]
    /// Why it is a candidate, in words.
    public var reason: String
}

public struct CandidateSimilarity: Codable, Sendable, Equatable {
    public var table: String
    /// |common column names| / |all column names|, rounded to two places.
    public var columns: Double
    /// The same over (name, type) pairs.
    public var typedColumns: Double
    /// The column names both tables have.
    public var common: [String]

    enum CodingKeys: String, CodingKey { case table, columns, typedColumns = "typed_columns", common }
}
