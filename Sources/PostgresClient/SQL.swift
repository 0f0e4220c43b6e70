/// A statement, or a part of one: SQL text and the values bound to it.
///
/// It is written as a string literal whose interpolations say what each piece is, and each kind
/// of piece is written one way only:
///
///     let sql: SQL = "UPDATE \(table) SET \(column) = \(bind: value) WHERE \(ident: key) = ANY(\(bind: keys))"
///
/// - `\(identifier)`, `\(qualifiedName)`, `\(ident: "name")`: always quoted.
/// - `\(bind: value)`: a bound parameter (`$1`, `$2`, ... numbered when the statement is sent).
/// - `\(literal: "text")`: a quoted literal, for the few places PostgreSQL takes no parameter
///   (utility statements: DDL defaults, COMMENT ON, SET). Escaped by `SQLLiteral.quoted` only.
/// - `\(expression)`: a `PlanExpression`, plan text that passed the fragment check, in parentheses.
/// - `\(otherSQL)`: another `SQL`, its bound values renumbered into this one.
///
/// There is no interpolation of a bare `String`: it does not compile. Text that PostgreSQL itself
/// printed (a type from `format_type`, a definition from `pg_get_indexdef`) is `catalogText(_:)`;
/// a plan's `sql` step is `unsafeRaw(_:)`, used in one place.
public struct SQL: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringInterpolation {
    /// A value bound as a parameter: its type and text form (nil is NULL).
    public struct Binding: Sendable, Hashable {
        public let type: PostgresTypeOID
        public let text: String?
    }

    enum Part: Sendable, Hashable {
        case text(String)
        case binding(Binding)
    }

    private(set) var parts: [Part]

    init(parts: [Part]) { self.parts = parts }

    /// A literal in the source. (Swift requires this initialiser to be public and to take a
    /// `String`; calling it by name with text from a variable is refused by `StatementSourceTests`.)
    public init(stringLiteral value: String) { parts = value.isEmpty ? [] : [.text(value)] }

    public init(stringInterpolation: StringInterpolation) { parts = stringInterpolation.parts }

    /// Plan text sent as written: the statements of an `sql` step, and nothing else.
    public static func unsafeRaw(_ text: String) -> SQL { SQL(parts: [.text(text)]) }

    /// SQL that PostgreSQL printed and pgmend sends back unchanged: a type name from
    /// `format_type`, a definition from `pg_get_indexdef`, `pg_get_constraintdef`,
    /// `pg_get_viewdef` or `pg_get_expr`, read from the catalog (or from a snapshot taken from
    /// it). The server quotes what needs quoting in these; never use it for plan text or for
    /// text pgmend builds.
    public static func catalogText(_ text: String) -> SQL { SQL(parts: [.text(text)]) }

    /// An archive's script, run as `psql -f` would run it: its `schema.sql`, checked against the
    /// SHA-256 its manifest records before it is sent, or the statements `TableScript` writes
    /// into it (built as text with the same quoting, around the catalog's own text). Never for
    /// anything else (`StatementSourceTests` keep it in `Archive/`).
    public static func scriptFile(_ text: String) -> SQL { SQL(parts: [.text(text)]) }

    /// The text sent to the server, bound values as `$1`, `$2`, ... in order.
    public var text: String {
        var text = ""
        var number = 0
        for part in parts {
            switch part {
            case .text(let piece): text += piece
            case .binding:
                number += 1
                text += "$\(number)"
            }
        }
        return text
    }

    /// The bound values, in the order of their `$n`.
    public var bindings: [Binding] {
        parts.compactMap { if case .binding(let binding) = $0 { binding } else { nil } }
    }

    /// True when nothing in it is bound, so it can be sent as a script or written to a file.
    public var hasBindings: Bool { parts.contains { if case .binding = $0 { true } else { false } } }

    public var isEmpty: Bool { parts.allSatisfy { if case .text(let piece) = $0 { piece.isEmpty } else { false } } }

    /// For people (dry runs, error messages): the text with each bound value written as a
    /// literal where its `$n` stands.
    public var description: String {
        parts.map { part in
            switch part {
            case .text(let piece): piece
            case .binding(let binding): binding.text.map(SQLLiteral.quoted) ?? "NULL"
            }
        }.joined()
    }

    public mutating func append(_ other: SQL) { parts += other.parts }

    public static func + (lhs: SQL, rhs: SQL) -> SQL { SQL(parts: lhs.parts + rhs.parts) }

    public static func += (lhs: inout SQL, rhs: SQL) { lhs.append(rhs) }

    public struct StringInterpolation: StringInterpolationProtocol {
        var parts: [Part] = []

        public init(literalCapacity: Int, interpolationCount: Int) {}

        public mutating func appendLiteral(_ literal: String) {
            if !literal.isEmpty { parts.append(.text(literal)) }
        }

        /// An identifier, quoted.
        public mutating func appendInterpolation(_ identifier: SQLIdentifier) {
            parts.append(.text(identifier.quoted))
        }

        /// A name, quoted: an identifier, as `SQLIdentifier(name)`.
        public mutating func appendInterpolation(ident name: String) {
            parts.append(.text(SQLIdentifier(name).quoted))
        }

        /// Identifiers, quoted, separated by commas: a column list.
        public mutating func appendInterpolation(_ identifiers: [SQLIdentifier]) {
            parts.append(.text(identifiers.map(\.quoted).joined(separator: ", ")))
        }

        /// A schema-qualified name, each part quoted.
        public mutating func appendInterpolation(_ name: QualifiedName) {
            parts.append(.text(name.quoted))
        }

        /// A value bound as a parameter; nil is NULL.
        public mutating func appendInterpolation(bind value: (any PostgresEncodable)?) {
            guard let value else { return parts.append(.binding(Binding(type: .unspecified, text: nil))) }
            parts.append(.binding(Binding(type: type(of: value).postgresType, text: value.postgresText)))
        }

        /// A string literal, for a place where PostgreSQL takes no parameter.
        public mutating func appendInterpolation(literal value: String) {
            parts.append(.text(SQLLiteral.quoted(value)))
        }

        /// An integer written as its digits, for a place where PostgreSQL takes no parameter.
        public mutating func appendInterpolation<I: BinaryInteger>(literal value: I) {
            parts.append(.text(String(value)))
        }

        /// Another statement part; its bound values keep their order.
        public mutating func appendInterpolation(_ sql: SQL) {
            parts += sql.parts
        }

        /// Statement parts joined by `separator`.
        public mutating func appendInterpolation(_ list: [SQL], separator: SQL = ", ") {
            parts += list.joined(separator: separator).parts
        }

        /// Plan text that passed the fragment check, in its parentheses.
        public mutating func appendInterpolation(_ expression: PlanExpression) {
            parts.append(.text(SQLFragment.parenthesized(expression.text)))
        }

        /// A plan's type name that passed the fragment check, as written (a type takes no
        /// parentheses).
        public mutating func appendInterpolation(_ type: PlanTypeName) {
            parts.append(.text(type.text))
        }
    }
}

extension Array where Element == SQL {
    /// The parts one after the other, `separator` between each two.
    public func joined(separator: SQL = ", ") -> SQL {
        var joined = SQL(parts: [])
        for (index, part) in enumerated() {
            if index > 0 { joined.append(separator) }
            joined.append(part)
        }
        return joined
    }
}

/// Plan text that is one SQL expression (a CHECK, a DEFAULT, a condition): made only by the fragment
/// check, so it holds no `;` and no parenthesis closing one it did not open, and it is always
/// written inside parentheses of its own. What it means is checked elsewhere (purity, types).
public struct PlanExpression: Sendable, Hashable, CustomStringConvertible {
    /// The plan's text, as written.
    public let text: String

    /// Checks `text` with `SQLFragment.problem(in:)`; throws `PlanExpression.Problem` with the
    /// offset of the first character that makes it more than one fragment.
    public init(checking text: String) throws(Problem) {
        if let problem = SQLFragment.problem(in: text) {
            throw Problem(offset: problem.offset, message: problem.message)
        }
        self.text = text
    }

    public var description: String { text }

    /// The text as SQL without the parentheses `\(expression)` adds: only for a statement builder
    /// that puts every expression it is given in parentheses of its own (`Backfill`'s SET and
    /// WHERE), so that they are not doubled in what it runs and shows.
    public var unparenthesized: SQL { SQL(parts: [.text(text)]) }

    public struct Problem: Error, Sendable, Hashable {
        /// 0-based, in characters of the text.
        public let offset: Int
        public let message: String
    }
}

/// Plan text that names a type (`varchar(20)`, `public.mood`): made only by the fragment check,
/// as `PlanExpression` is, and written as is. Whether it is a type name and nothing more is the
/// server's to say (`to_regtype`) before it goes into a statement; only the server's printing of
/// it (`format_type`) goes into DDL.
public struct PlanTypeName: Sendable, Hashable, CustomStringConvertible {
    /// The plan's text, as written.
    public let text: String

    /// Checks `text` as `PlanExpression(checking:)` does.
    public init(checking text: String) throws(PlanExpression.Problem) {
        _ = try PlanExpression(checking: text)
        self.text = text
    }

    public var description: String { text }
}
