/// Where a snapshot's schema came from when it is not a live database: the application's
/// models (`MODULE:ATTR`), its migrations (the `alembic.ini` path) or a schema document (the
/// file). Encoded as `{"kind": "models", "path": "app.models:Base"}`.
public enum SnapshotSource: Codable, Sendable, Hashable {
    case models(String)
    case migrations(String)
    case docs(String)

    /// `models`, `migrations` or `docs`.
    public var kind: String {
        switch self {
        case .models: "models"
        case .migrations: "migrations"
        case .docs: "docs"
        }
    }

    /// The MODULE:ATTR, alembic.ini path or document path.
    public var path: String {
        switch self {
        case .models(let path), .migrations(let path), .docs(let path): path
        }
    }

    enum CodingKeys: String, CodingKey { case kind, path }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .kind)
        let path = try container.decode(String.self, forKey: .path)
        switch kind {
        case "models": self = .models(path)
        case "migrations": self = .migrations(path)
        case "docs": self = .docs(path)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: container, debugDescription: "source kind '\(kind)' is not models, migrations or docs")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(path, forKey: .path)
    }
}
