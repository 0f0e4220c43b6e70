/// A five-character SQLSTATE code, with names for the ones pgmend reacts to.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let uniqueViolation = SQLState("23505")
    public static let foreignKeyViolation = SQLState("23503")
    public static let checkViolation = SQLState("23514")
    public static let notNullViolation = SQLState("23502")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let syntaxError = SQLState("42601")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedColumn = SQLState("42703")
    public static let duplicateTable = SQLState("42P07")
    public static let lockNotAvailable = SQLState("55P03")
    public static let objectInUse = SQLState("55006")
    public static let queryCanceled = SQLState("57014")
    public static let adminShutdown = SQLState("57P01")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let invalidPassword = SQLState("28P01")
    public static let undefinedFunction = SQLState("42883")
    public static let undefinedObject = SQLState("42704")

    /// A name the statement uses does not exist (yet): a table, column, function or type.
    public var isUndefinedObject: Bool {
        [Self.undefinedTable, .undefinedColumn, .undefinedFunction, .undefinedObject].contains(self)
    }
}

/// An error from the server, from libpq, or from decoding a value.
///
/// `description` is one short line that is safe to print: it never contains a password from the
/// connection string. Server detail, hint and the failing statement are in `debugDescription`.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Kind: String, Sendable {
        /// Could not open a connection (server down, bad password, unknown database, bad conninfo).
        case connection
        /// The connection broke while in use; the statement's outcome is unknown until reconnect.
        case connectionLost
        /// The server rejected a statement; `sqlState` says why.
        case server
        /// A value in a result could not be read as the requested Swift type.
        case decoding
        /// The client was asked to do something it cannot (e.g. a NUL byte in a query).
        case usage
    }

    public var kind: Kind
    public var sqlState: SQLState?
    public var severity: String?
    public var message: String
    public var detail: String?
    public var hint: String?
    /// 1-based character position in the statement, when the server reported one.
    public var position: Int?
    public var schemaName: String?
    public var tableName: String?
    public var columnName: String?
    public var constraintName: String?
    /// The statement that failed, for debugging; never printed by `description`.
    public var statement: String?

    public init(
        kind: Kind, message: String, sqlState: SQLState? = nil, severity: String? = nil,
        detail: String? = nil, hint: String? = nil, statement: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.severity = severity
        self.detail = detail
        self.hint = hint
        self.statement = statement
    }

    public var description: String {
        switch kind {
        case .server:
            let code = sqlState.map { " \($0.rawValue)" } ?? ""
            return "\(severity ?? "ERROR")\(code): \(message)"
        case .connection: return "could not connect: \(message)"
        case .connectionLost: return "connection lost: \(message)"
        case .decoding: return "cannot read value: \(message)"
        case .usage: return message
        }
    }

    /// `description` and the server's DETAIL and HINT, one line each: what an operator needs
    /// to act on a failed statement (`Key (phone)=(+1555...) is duplicated.`). Like
    /// `description`, it never holds the statement text or a password.
    public var descriptionWithDetail: String {
        guard kind == .server else { return description }
        var lines = [description]
        if let detail { lines.append("DETAIL: \(detail)") }
        if let hint { lines.append("HINT: \(hint)") }
        return lines.joined(separator: "\n")
    }

    public var debugDescription: String {
        var lines = [description]
        if let detail { lines.append("DETAIL: \(detail)") }
        if let hint { lines.append("HINT: \(hint)") }
        if let constraintName { lines.append("CONSTRAINT: \(constraintName)") }
        if let tableName {
            lines.append("TABLE: \(schemaName.map { "\($0)." } ?? "")\(tableName)")
        }
        if let columnName { lines.append("COLUMN: \(columnName)") }
        if let statement {
            lines.append("STATEMENT: \(statement)")
            if let position { lines.append("POSITION: \(position)") }
        }
        return lines.joined(separator: "\n")
    }
}
