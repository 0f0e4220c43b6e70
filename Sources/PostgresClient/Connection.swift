import CLibPQ
import Foundation

/// A message the server sent alongside a result: NOTICE, WARNING, INFO and the like.
public struct PostgresNotice: Sendable, CustomStringConvertible {
    public var severity: String
    public var sqlState: SQLState?
    public var message: String
    public var detail: String?
    public var hint: String?
    public var description: String { "\(severity): \(message)" }
}

/// What a prepared statement is known by: its text and the types of its parameters.
struct PreparedKey: Hashable {
    var text: String
    var types: [UInt32]
}

/// One connection to a PostgreSQL server, owning its libpq `PGconn`.
///
/// A connection is used by one owner at a time (libpq connections are not thread-safe); the
/// only thing another thread may do is cancel the running statement through a `CancelToken`.
/// The connection closes when the value is released.
public final class Connection {
    let handle: OpaquePointer
    let secrets: ConnectionSecrets
    let conninfo: String
    /// The database asked for instead of the conninfo's own (`connection(toDatabase:)`).
    let otherDatabase: String?
    let applicationName: String
    /// False: `row_security = off` (see `init`).
    let rowSecurity: Bool
    /// Settings `pin` set for the whole session, in the order set: a connection opened from
    /// `recipe` gets them too.
    public internal(set) var pinned: [(name: String, value: String)] = []
    /// How to open another connection like this one (parallel readers share a snapshot), with
    /// the settings pinned on this one so far.
    public var recipe: ConnectionRecipe {
        ConnectionRecipe(
            conninfo: conninfo, otherDatabase: otherDatabase, applicationName: applicationName, rowSecurity: rowSecurity, pinned: pinned)
    }
    private let noticeSink: NoticeSink
    /// How many savepoints `transaction` has open inside the outer transaction.
    var savepointDepth = 0
    /// The statements `queryPrepared` prepared on this session, by text and parameter types, and
    /// how many it has named (names are never reused).
    var prepared: [PreparedKey: String] = [:]
    var preparedCount = 0
    /// The connection `sibling()` keeps, and the settings pinned here when it was opened.
    private var keptSibling: (connection: Connection, pinned: [(name: String, value: String)])?

    /// Connects the way psql does.
    ///
    /// - Parameter conninfo: a conninfo string (`host=... dbname=...`) or a `postgresql://` URI.
    ///   `nil` or empty means libpq's defaults: the `PG*` environment variables, `~/.pgpass` and
    ///   service files apply exactly as they do for psql.
    /// - Parameter applicationName: reported in `pg_stat_activity` unless the conninfo or
    ///   `PGAPPNAME` names another.
    /// - Parameter rowSecurity: false (the default) sets `row_security = off`, as pg_dump does:
    ///   a query that a row-level security policy would filter for this role fails (SQLSTATE
    ///   42501) instead of seeing a subset of the rows. pgmend counts, archives, proves and
    ///   rewrites whole tables, so every session it opens is one of these. True keeps the
    ///   server's default, for a session that stands for the application (a test's writer).
    /// - Parameter database: another database on the server the conninfo names, instead of its own.
    public init(_ conninfo: String? = nil, applicationName: String = "pgmend", rowSecurity: Bool = false, database: String? = nil) throws {
        let conninfo = conninfo ?? ""
        self.conninfo = conninfo
        otherDatabase = database
        self.applicationName = applicationName
        self.rowSecurity = rowSecurity
        secrets = ConnectionSecrets(conninfo: conninfo)
        // dbname with expand_dbname=1 is how libpq takes "a conninfo string or a URI" whole;
        // later keywords (only ever fallbacks here) do not override what it says, and earlier
        // ones are overridden by it: the default connect_timeout comes first.
        var keywords = ["dbname", "fallback_application_name", "client_encoding"]
        var values = [conninfo, applicationName, "UTF8"]
        if let timeout = Self.defaultConnectTimeout(ProcessInfo.processInfo.environment) {
            keywords.insert("connect_timeout", at: 0)
            values.insert(timeout, at: 0)
        }
        // A second dbname is a plain name (only the first is expanded), and the last one wins.
        if let database {
            keywords.append("dbname")
            values.append(database)
        }
        let connection: OpaquePointer? = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(kind: .connection, message: "out of memory allocating a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let text = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            throw Self.connectionError(text, secrets: secrets)
        }
        handle = connection
        noticeSink = NoticeSink()
        PQsetNoticeReceiver(handle, noticeReceiver, Unmanaged.passUnretained(noticeSink).toOpaque())
        // Values are read in text form; ISO dates are the one form the decoders accept. Standard
        // strings (no backslash escapes in '...') are how SQLFragment and SQLLiteral read text.
        // row_security: see the parameter.
        try execute(rowSecurity
            ? "SET DateStyle TO ISO; SET standard_conforming_strings TO on"
            : "SET DateStyle TO ISO; SET standard_conforming_strings TO on; SET row_security TO off")
        // A killed pgmend's backend notices only when it next talks to the client, at the end
        // of its statement, and holds its locks (the run lock, ACCESS EXCLUSIVE on a table)
        // until then; from PostgreSQL 14 it can poll the socket while the statement runs.
        if serverVersionNumber >= 140000 {
            try execute("SET client_connection_check_interval TO 1000")
        }
    }

    /// Seconds libpq waits for a server to answer before giving up, unless the conninfo (which
    /// overrides it) or `PGCONNECT_TIMEOUT` says otherwise: without one, a host that accepts
    /// TCP and never answers hangs the connection forever.
    public static let connectTimeout = 10

    /// The `connect_timeout` to pass ahead of the conninfo; nil when `PGCONNECT_TIMEOUT`
    /// decides (libpq reads it only for a keyword nobody set).
    static func defaultConnectTimeout(_ environment: [String: String]) -> String? {
        (environment["PGCONNECT_TIMEOUT"] ?? "").isEmpty ? String(connectTimeout) : nil
    }

    deinit {
        PQfinish(handle)
    }

    /// A second connection like this one (`recipe`), opened the first time it is asked for and
    /// kept as long as this one: the reads that split their work over two connections (the
    /// catalog, data statistics, an archive's fingerprint) use it again and again, instead of
    /// a new server process each time whose first catalog queries plan against cold caches
    /// (3 to 7 ms each at bind). It is opened again when settings were pinned here since, or
    /// when it was left broken or inside a transaction.
    ///
    /// Asked for by this connection's owner; the owner may hand it to one other thread for
    /// the length of one read and must not use it meanwhile.
    public func sibling() throws -> Connection {
        if let kept = usableSibling() { return kept }
        return keep(sibling: try recipe.connect())
    }

    /// The kept second connection when it can be used as it is (see `sibling()`), else nil.
    /// With `keep(sibling:)`, for a caller that opens a new one from `recipe` on another
    /// thread, beside work of its own on this connection.
    public func usableSibling() -> Connection? {
        // Compared whole: pinning a setting again replaces its value without adding one.
        if let kept = keptSibling, kept.pinned.elementsEqual(pinned, by: { $0 == $1 }), kept.connection.isOpen,
            !kept.connection.isInTransaction {
            return kept.connection
        }
        keptSibling = nil
        return nil
    }

    /// Keeps `connection`, opened from `recipe` with the settings pinned here now, as the
    /// second connection `sibling()` hands out.
    @discardableResult
    public func keep(sibling connection: Connection) -> Connection {
        keptSibling = (connection, pinned)
        return connection
    }

    // MARK: Facts about the connection

    /// `server_version_num`, e.g. 150018 for 15.18.
    public var serverVersionNumber: Int { Int(PQserverVersion(handle)) }
    /// The server's version as it reports it, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    public var serverVersion: String { parameterStatus("server_version") ?? "unknown" }
    public var database: String { String(cString: PQdb(handle)) }
    public var user: String { String(cString: PQuser(handle)) }
    /// The host or socket directory the connection went to, and its port.
    public var host: String { PQhost(handle).map { String(cString: $0) } ?? "" }
    public var port: String { PQport(handle).map { String(cString: $0) } ?? "" }
    /// The server process serving this connection (`pg_backend_pid()`).
    public var backendPID: Int32 { PQbackendPID(handle) }
    public var isOpen: Bool { PQstatus(handle) == CONNECTION_OK }
    /// True inside a transaction block, including a failed one awaiting ROLLBACK.
    public var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// The value libpq used for a connection option (`connect_timeout`, `sslmode`, ...), as
    /// `PQconninfo` reports it; nil when unset. Never asked for `password` here.
    public func option(_ keyword: String) -> String? {
        guard keyword != "password", let options = PQconninfo(handle) else { return nil }
        defer { PQconninfoFree(options) }
        var option = options
        while let name = option.pointee.keyword {
            if String(cString: name) == keyword { return option.pointee.val.map { String(cString: $0) } }
            option += 1
        }
        return nil
    }

    /// A run-time parameter the server reports on its own (`server_version`, `TimeZone`, ...).
    public func parameterStatus(_ name: String) -> String? {
        PQparameterStatus(handle, name).map { String(cString: $0) }
    }

    /// Where server notices (NOTICE, WARNING, ...) go; by default they are dropped.
    public var onNotice: ((PostgresNotice) -> Void)? {
        get { noticeSink.handler }
        set { noticeSink.handler = newValue }
    }

    /// A token another thread can use to cancel the statement this connection is running.
    public func cancelToken() throws -> CancelToken {
        guard let cancel = PQgetCancel(handle) else {
            throw PostgresError(kind: .usage, message: "connection cannot be cancelled (not open)")
        }
        return CancelToken(cancel)
    }

    // MARK: Errors

    /// The error libpq reports for this connection, redacted, as the right kind.
    func lastError(statement: String?) -> PostgresError {
        let text = secrets.redact(String(cString: PQerrorMessage(handle)))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let kind: PostgresError.Kind = isOpen ? .usage : .connectionLost
        var error = PostgresError(kind: kind, message: text.isEmpty ? "unknown libpq error" : text)
        error.statement = statement
        return error
    }

    static func connectionError(_ text: String, secrets: ConnectionSecrets) -> PostgresError {
        // libpq writes one line per address it tried, each "... failed: REASON", with hints
        // indented below; the first line says what happened, the rest goes to detail.
        let lines = secrets.redact(text)
            .split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let first = (lines.first ?? "unknown reason").replacingAll("FATAL:  ", with: "FATAL: ")
        let rest = lines.dropFirst().joined(separator: "\n")
        var error = PostgresError(kind: .connection, message: first)
        error.detail = rest.isEmpty ? nil : rest
        if first.contains("password authentication failed") { error.sqlState = .invalidPassword }
        return error
    }
}

/// What it takes to open another connection like an existing one, to hand to another thread.
/// It holds the connection string, password included, so it never prints it.
public struct ConnectionRecipe: Sendable, CustomStringConvertible {
    let conninfo: String
    let otherDatabase: String?
    let applicationName: String
    /// As the original connection was opened: a sibling of a pgmend session is one too.
    let rowSecurity: Bool
    let pinned: [(name: String, value: String)]

    /// A new connection, with the settings pinned on the one this recipe came from.
    public func connect() throws -> Connection {
        let connection = try Connection(conninfo, applicationName: applicationName, rowSecurity: rowSecurity, database: otherDatabase)
        for (name, value) in pinned { try connection.pin(name, value) }
        return connection
    }

    public var description: String { "ConnectionRecipe(application: \(applicationName))" }
}

/// Cancels the statement running on a connection, from any thread.
///
/// libpq documents `PQcancel` on a `PGcancel` object as safe to call from another thread (or
/// a signal handler) while the connection is busy, which is what makes this type Sendable.
public final class CancelToken: @unchecked Sendable {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { PQfreeCancel(handle) }

    /// Asks the server to cancel the running statement. The statement then fails with
    /// SQLSTATE 57014 (`queryCanceled`); if nothing was running, nothing happens.
    public func cancel() throws {
        var buffer = [CChar](repeating: 0, count: 256)
        if PQcancel(handle, &buffer, Int32(buffer.count)) == 0 {
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            let message = String(decoding: bytes, as: UTF8.self)
            throw PostgresError(kind: .usage, message: "cancel request failed: \(message)")
        }
    }
}

/// Holds the notice handler; libpq calls back into it with a pointer the connection owns.
final class NoticeSink {
    var handler: ((PostgresNotice) -> Void)?
}

private let noticeReceiver: PQnoticeReceiver = { context, result in
    guard let context, let result else { return }
    let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
    guard let handler = sink.handler else { return }
    func field(_ code: Unicode.Scalar) -> String? {
        PQresultErrorField(result, Int32(code.value)).map { String(cString: $0) }
    }
    handler(
        PostgresNotice(
            severity: field("V") ?? field("S") ?? "NOTICE",
            sqlState: field("C").map(SQLState.init(rawValue:)),
            message: field("M") ?? "",
            detail: field("D"),
            hint: field("H")))
}

/// Calls `body` with a NULL-terminated array of C strings that lives for the call.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let pointers = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: strings.count + 1)
    for (index, string) in strings.enumerated() {
        pointers[index] = UnsafePointer(strdup(string))
    }
    pointers[strings.count] = nil
    defer {
        for index in 0..<strings.count { free(UnsafeMutablePointer(mutating: pointers[index])) }
        pointers.deallocate()
    }
    return body(pointers)
}
