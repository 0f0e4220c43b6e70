import CLibPQ
import Foundation

extension Connection {
    /// Runs one statement with its bound values (the extended protocol: one statement only).
    ///
    /// Values travel as parameters in text form, never spliced into the SQL. `nil` is NULL.
    @discardableResult
    public func query(_ sql: SQL) throws -> QueryResult {
        let text = sql.text
        try rejectNUL(in: text, what: "statement")
        let bindings = sql.bindings
        let types: [Oid] = bindings.map(\.type.rawValue)
        let texts = try parameterTexts(bindings)
        let result = withOptionalCStringArray(texts) { values in
            PQexecParams(handle, text, Int32(bindings.count), types, values, nil, nil, 0)
        }
        return try checked(result, statement: text)
    }

    /// Runs one statement as a prepared statement of this session: parsed (and, under
    /// `plan_cache_mode = force_generic_plan`, planned) the first time this connection runs
    /// its text, then only executed. For statements a command runs again and again on one
    /// connection: a run reads the catalog five times, and planning its queries was most of
    /// each read (1 to 3 ms a query against 0.1 to 2 ms of execution on the demo database).
    ///
    /// A statement whose plan depends much on its values should not be run this way with a
    /// generic plan; give it one text per shape instead (`CatalogFilter.covers`).
    @discardableResult
    public func queryPrepared(_ sql: SQL) throws -> QueryResult {
        let text = sql.text
        try rejectNUL(in: text, what: "statement")
        let bindings = sql.bindings
        let types = bindings.map(\.type.rawValue)
        let key = PreparedKey(text: text, types: types)
        let name: String
        if let known = prepared[key] {
            name = known
        } else {
            preparedCount += 1
            name = "pgmend_\(preparedCount)"
            _ = try checked(PQprepare(handle, name, text, Int32(types.count), types), statement: text)
            prepared[key] = name
        }
        let texts = try parameterTexts(bindings)
        let result = withOptionalCStringArray(texts) { values in
            PQexecPrepared(handle, name, Int32(bindings.count), values, nil, nil, 0)
        }
        return try checked(result, statement: text)
    }

    /// The bound values' text forms, in `$n` order (nil is NULL); a NUL in one is refused.
    private func parameterTexts(_ bindings: [SQL.Binding]) throws -> [String?] {
        try bindings.enumerated().map { position, binding in
            if let value = binding.text { try rejectNUL(in: value, what: "parameter $\(position + 1)") }
            return binding.text
        }
    }

    /// Forgets the statements `queryPrepared` prepared that the session no longer has, so they
    /// are prepared again: a plan's SQL may run `DEALLOCATE` or `DISCARD ALL`. One small query;
    /// a reader calls it before a series of prepared statements.
    public func forgetDeallocatedStatements() throws {
        guard !prepared.isEmpty else { return }
        let present = Set(try query("SELECT name FROM pg_catalog.pg_prepared_statements").map { try $0.get(0, as: String.self) })
        prepared = prepared.filter { present.contains($0.value) }
    }

    /// Runs a script of one or more statements with the simple query protocol and returns the
    /// result of the last one. A script takes no bound values: for values, use `query(_:)`.
    @discardableResult
    public func execute(_ sql: SQL) throws -> QueryResult {
        let text = try scriptText(sql)
        return try checked(PQexec(handle, text), statement: text)
    }

    /// Parses and analyses `sql` as one statement without running or planning it (the extended
    /// protocol's Parse and Describe): the result holds the columns it would return, no rows.
    /// For plan text whose meaning is wanted and whose effects are not.
    public func describe(_ sql: SQL) throws -> QueryResult {
        let text = try scriptText(sql)
        _ = try checked(PQprepare(handle, "", text, 0, nil), statement: text)
        return try checked(PQdescribePrepared(handle, ""), statement: text)
    }

    /// The first row's first column, or nil when there is no row or it is NULL.
    public func scalar<T: PostgresDecodable>(_ sql: SQL, as type: T.Type = T.self) throws -> T? {
        let result = try query(sql)
        guard let row = result.first else { return nil }
        return try row.get(0, as: T?.self)
    }

    /// The text of a statement sent without parameters (a script, COPY, a description).
    func scriptText(_ sql: SQL) throws -> String {
        let text = sql.text
        if sql.hasBindings {
            throw PostgresError(kind: .usage, message: "this statement takes no bound values (a script, COPY): \(sql)", statement: text)
        }
        try rejectNUL(in: text, what: "statement")
        return text
    }

    func rejectNUL(in text: String, what: String) throws {
        if text.utf8.contains(0) {
            throw PostgresError(kind: .usage, message: "\(what) contains a NUL byte, which PostgreSQL text cannot hold")
        }
    }

    /// Turns a libpq result into a `QueryResult`, or into the error it carries.
    func checked(_ result: OpaquePointer?, statement: String) throws -> QueryResult {
        guard let result else { throw lastError(statement: statement) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return QueryResult(result)
        case PGRES_COPY_OUT, PGRES_COPY_IN, PGRES_COPY_BOTH:
            PQclear(result)
            abandonCopy()
            throw PostgresError(kind: .usage, message: "COPY must run through copyOut or copyIn", statement: statement)
        default:
            let error = serverError(result, statement: statement)
            PQclear(result)
            throw error
        }
    }

    func serverError(_ result: OpaquePointer, statement: String?) -> PostgresError {
        func field(_ code: Unicode.Scalar) -> String? {
            PQresultErrorField(result, Int32(code.value)).map { String(cString: $0) }
        }
        guard let message = field("M") else {
            // No server message: libpq itself failed, usually because the connection broke.
            var error = lastError(statement: statement)
            if !isOpen { error.kind = .connectionLost }
            return error
        }
        var error = PostgresError(
            kind: isOpen ? .server : .connectionLost,
            message: message,
            sqlState: field("C").map(SQLState.init(rawValue:)),
            severity: field("V") ?? field("S"),
            detail: field("D"),
            hint: field("H"),
            statement: statement)
        error.position = field("P").flatMap { Int($0) }
        error.schemaName = field("s")
        error.tableName = field("t")
        error.columnName = field("c")
        error.constraintName = field("n")
        return error
    }
}

/// The rows and status of one statement. Values are read lazily from libpq's result buffer.
public final class QueryResult {
    let handle: OpaquePointer
    /// Number of rows returned (0 for commands that return none).
    public let count: Int
    /// Result column names, in order.
    public let columnNames: [String]
    /// Result column type OIDs, in order.
    public let columnTypes: [PostgresTypeOID]
    /// Result column type modifiers (`varchar(20)` has 24: length + 4), -1 when none.
    public let columnTypeModifiers: [Int32]
    private let columnIndexByName: [String: Int]

    init(_ handle: OpaquePointer) {
        self.handle = handle
        count = Int(PQntuples(handle))
        let columnCount = Int(PQnfields(handle))
        columnNames = (0..<columnCount).map { String(cString: PQfname(handle, Int32($0))) }
        columnTypes = (0..<columnCount).map { PostgresTypeOID(rawValue: PQftype(handle, Int32($0))) }
        columnTypeModifiers = (0..<columnCount).map { PQfmod(handle, Int32($0)) }
        // First occurrence wins, as in SQL: `SELECT 1 AS a, 2 AS a` reads `a` as 1.
        columnIndexByName = Dictionary(columnNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    deinit { PQclear(handle) }

    /// The command tag, e.g. `UPDATE 42`, `CREATE TABLE`, `SELECT 3`.
    public var commandTag: String { String(cString: PQcmdStatus(handle)) }

    /// Rows affected by INSERT, UPDATE, DELETE, MERGE, SELECT, MOVE, FETCH or COPY; nil for others.
    public var affectedRows: Int? { Int(String(cString: PQcmdTuples(handle))) }

    func columnIndex(_ column: ColumnRef) throws -> Int {
        switch column {
        case .index(let index):
            guard columnNames.indices.contains(index) else {
                throw PostgresError(kind: .decoding, message: "no column \(index); the result has \(columnNames.count)")
            }
            return index
        case .name(let name):
            guard let index = columnIndexByName[name] else {
                throw PostgresError(kind: .decoding, message: "no column named \"\(name)\" in \(columnNames)")
            }
            return index
        }
    }
}

extension QueryResult: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(position: Int) -> Row { Row(result: self, index: position) }
}

/// A column of a result, by position (from 0) or by name.
public enum ColumnRef: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, Sendable {
    case index(Int)
    case name(String)
    public init(integerLiteral value: Int) { self = .index(value) }
    public init(stringLiteral value: String) { self = .name(value) }
}

/// One row of a `QueryResult`.
public struct Row {
    let result: QueryResult
    /// The row's position in its result, from 0.
    public let index: Int

    public func isNull(_ column: ColumnRef) throws -> Bool {
        PQgetisnull(result.handle, Int32(index), Int32(try result.columnIndex(column))) == 1
    }

    /// A value that must not be NULL, read as `T`.
    public func get<T: PostgresDecodable>(_ column: ColumnRef, as type: T.Type = T.self) throws -> T {
        let position = try result.columnIndex(column)
        guard let value = try decode(position, as: T.self) else {
            throw PostgresError(kind: .decoding, message: "column \"\(result.columnNames[position])\" is NULL in row \(index)")
        }
        return value
    }

    /// A value that may be NULL (then nil), read as `T`.
    public func get<T: PostgresDecodable>(_ column: ColumnRef, as type: T?.Type = T?.self) throws -> T? {
        try decode(try result.columnIndex(column), as: T.self)
    }

    private func decode<T: PostgresDecodable>(_ position: Int, as type: T.Type) throws -> T? {
        let row = Int32(index)
        let column = Int32(position)
        if PQgetisnull(result.handle, row, column) == 1 { return nil }
        let length = Int(PQgetlength(result.handle, row, column))
        guard let bytes = PQgetvalue(result.handle, row, column) else { return nil }
        let text = bytes.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
        do {
            return try T(postgresText: text, type: result.columnTypes[position])
        } catch let failure as PostgresDecodingFailure {
            let shown = text.count > 60 ? String(text.prefix(60)) + "..." : text
            throw PostgresError(
                kind: .decoding,
                message: "column \"\(result.columnNames[position])\" row \(index): '\(shown)' is not \(T.self)\(failure.reason.map { " (\($0))" } ?? "")")
        }
    }
}

/// Calls `body` with an array of C strings (NULL where the value is nil) that lives for the call.
func withOptionalCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    guard !strings.isEmpty else { return body(nil) }
    let pointers = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: strings.count)
    for (index, string) in strings.enumerated() {
        pointers[index] = string.map { UnsafePointer(strdup($0)) } ?? nil
    }
    defer {
        for index in 0..<strings.count {
            if let pointer = pointers[index] { free(UnsafeMutablePointer(mutating: pointer)) }
        }
        pointers.deallocate()
    }
    return body(pointers)
}
