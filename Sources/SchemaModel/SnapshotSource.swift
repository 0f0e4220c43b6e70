/// Where a snapshot's schema came from when it was not read from a live database: the
/// application's models, its migrations or a schema document. A snapshot of a live database has
/// none, and its file does not mention it.
///
/// Written as `{"kind": "models"|"migrations"|"docs", "path": ...}`.
public enum SnapshotSource: Codable, Sendable, Hashable, CustomStringConvertible {
    /// SQLAlchemy models, named as `MODULE:ATTR`.
    case models(String)
    /// An Alembic history, named by its `alembic.ini`.
    case migrations(String)
    /// A Markdown schema document.
    case docs(String)

    /// "models", "migrations" or "docs".
    public var kind: String {
        switch self {
        case .models: "models"
        case .migrations: "migrations"
        case .docs: "docs"
        }
    }

    /// The `MODULE:ATTR`, the alembic.ini or the document, as given on the command line.
    public var path: String {
        switch self {
        case .models(let path), .migrations(let path), .docs(let path): path
        }
    }

    /// `models app.models:Base`: how a report and a snapshot's `database` name the source.
    public var description: String { "\(kind) \(path)" }

    enum CodingKeys: String, CodingKey { case kind, path }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let path = try container.decode(String.self, forKey: .path)
        switch try container.decode(String.self, forKey: .kind) {
        case "models": self = .models(path)
        case "migrations": self = .migrations(path)
        case "docs": self = .docs(path)
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: container, debugDescription: "unknown snapshot source \"\(other)\" (models, migrations or docs)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(path, forKey: .path)
    }
}
