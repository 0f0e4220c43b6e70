import CLibPQ

extension Connection {
    /// Runs `COPY ... TO STDOUT` and hands each chunk (one row of COPY text, or a block of
    /// binary COPY) to `chunk` as it arrives; nothing is accumulated, so memory stays flat
    /// however large the table.
    ///
    /// The buffer is valid only during the call. If `chunk` throws, the COPY is cancelled on the
    /// server, the connection is left ready for the next statement, and the error is rethrown.
    /// - Returns: the number of rows the server reports copied.
    @discardableResult
    public func copyOut(_ statement: SQL, chunk: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        let sql = try scriptText(statement)
        guard let started = PQexec(handle, sql) else { throw lastError(statement: sql) }
        guard PQresultStatus(started) == PGRES_COPY_OUT else {
            _ = try checked(started, statement: sql)  // throws the server's error, if any
            throw PostgresError(kind: .usage, message: "not a COPY ... TO STDOUT statement", statement: sql)
        }
        PQclear(started)

        var failure: Error?
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &buffer, 0)
            if length > 0, let buffer {
                defer { PQfreemem(buffer) }
                guard failure == nil else { continue }  // draining after a cancel
                do {
                    try chunk(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
                } catch {
                    failure = error
                    try? cancelToken().cancel()
                }
            } else if length == -1 {
                break  // done; the final status follows
            } else {
                failure = failure ?? lastError(statement: sql)
                break
            }
        }
        let rows = try finishCopy(statement: sql, clientFailure: failure)
        return rows
    }

    /// Runs `COPY ... FROM STDIN`, feeding it whatever `produce` writes to the sink.
    ///
    /// Data flows to the server as it is written, so the source can be any size. If `produce`
    /// throws, the COPY is aborted (the server rolls back the rows already sent) and the error
    /// is rethrown.
    /// - Returns: the number of rows the server reports copied.
    @discardableResult
    public func copyIn(_ statement: SQL, produce: (CopyInSink) throws -> Void) throws -> Int {
        let sql = try scriptText(statement)
        guard let started = PQexec(handle, sql) else { throw lastError(statement: sql) }
        guard PQresultStatus(started) == PGRES_COPY_IN else {
            _ = try checked(started, statement: sql)
            throw PostgresError(kind: .usage, message: "not a COPY ... FROM STDIN statement", statement: sql)
        }
        PQclear(started)

        var failure: Error?
        do {
            try produce(CopyInSink(connection: self, statement: sql))
        } catch {
            failure = error
        }
        let reason = failure.map { "pgmend aborted the COPY: \(String(describing: $0).prefix(200))" }
        if PQputCopyEnd(handle, reason) != 1 {
            failure = failure ?? lastError(statement: sql)
        }
        return try finishCopy(statement: sql, clientFailure: failure)
    }

    /// `copyIn` fed from a sequence of chunks (each any number of COPY rows).
    @discardableResult
    public func copyIn<Chunks: Sequence>(_ sql: SQL, chunks: Chunks) throws -> Int where Chunks.Element == [UInt8] {
        try copyIn(sql) { sink in
            for chunk in chunks { try sink.write(chunk) }
        }
    }

    /// Reads the results that end a COPY; the client's own failure, if any, wins over the
    /// server's report of it (a cancel or an abort the client asked for).
    private func finishCopy(statement: String, clientFailure: Error?) throws -> Int {
        var rows = 0
        var serverFailure: Error?
        while let result = PQgetResult(handle) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                rows = Int(String(cString: PQcmdTuples(result))) ?? 0
                PQclear(result)
            } else {
                do { _ = try checked(result, statement: statement) } catch { serverFailure = serverFailure ?? error }
            }
        }
        if let failure = clientFailure ?? serverFailure { throw failure }
        return rows
    }

    /// Gets a connection out of a COPY state that a plain `query` or `execute` ran into.
    func abandonCopy() {
        while let result = PQgetResult(handle) {
            switch PQresultStatus(result) {
            case PGRES_COPY_IN:
                PQputCopyEnd(handle, "COPY must run through copyIn")
            case PGRES_COPY_OUT:
                var buffer: UnsafeMutablePointer<CChar>?
                while PQgetCopyData(handle, &buffer, 0) > 0 { PQfreemem(buffer) }
            default:
                break
            }
            PQclear(result)
        }
    }
}

/// Where `copyIn` writes COPY data. Valid only inside the `produce` closure.
public struct CopyInSink {
    let connection: Connection
    let statement: String

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        let sent = bytes.withMemoryRebound(to: CChar.self) { buffer in
            PQputCopyData(connection.handle, buffer.baseAddress, Int32(buffer.count))
        }
        if sent != 1 { throw connection.lastError(statement: statement) }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }
}
