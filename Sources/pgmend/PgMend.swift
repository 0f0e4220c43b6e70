import ArgumentParser
import Foundation
import MendKit
import PostgresClient
import SchemaModel

/// The `pgmend` command: repairs drifted PostgreSQL databases with named, idempotent plans.
@main
struct PgMend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgmend",
        abstract: "Repair a drifted PostgreSQL database with a named, idempotent repair plan.",
        discussion: """
            Exit codes: 0 done, 1 drift found or failed, 2 bad input, 3 blocked by data problems, \
            4 could not connect or lock, \
            5 not confirmed (declined at the prompt). `pgmend --version` prints the version.
            """,
        subcommands: [Ping.self, PlanCommand.self, RunCommand.self, Doctor.self, SnapshotCommand.self, Verify.self, Docs.self, Models.self, Drift.self, ArchiveCommand.self]
    )

    /// Parses, runs, and maps every failure onto pgmend's documented exit codes (argument
    /// errors are 2 here, not ArgumentParser's 64).
    static func main() {
        // The version is the top command's alone: given to ArgumentParser, every subcommand
        // would accept --version too (and ignore what it was asked to do).
        if CommandLine.arguments.dropFirst().elementsEqual(["--version"]) {
            print(PgMendVersion.string)
            Foundation.exit(ExitStatus.ok.rawValue)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CommandFailure {
            fail(failure)
        } catch let error as PostgresError {
            // Not worded by the command: its connection or one of its statements failed.
            fail(CommandFailure(error))
        } catch {
            if exitCode(for: error) == .validationFailure {
                let arguments = Array(CommandLine.arguments.dropFirst())
                if CommandPath.asksForJSON(arguments) {
                    // No command was parsed to answer: the document is written here, from
                    // the words of the command line (docs/json.md).
                    let failure = CommandFailure(.badInput, message(for: error))
                    let document = FailureDocument(command: CommandPath.named(by: arguments), failure: failure)
                    print((try? CanonicalJSON.encode(document)) ?? "", terminator: "")
                }
                FileHandle.standardError.write(Data("\(fullMessage(for: error))\n".utf8))
                Foundation.exit(ExitStatus.badInput.rawValue)
            }
            exit(withError: error)
        }
    }

    private static func fail(_ failure: CommandFailure) -> Never {
        FileHandle.standardError.write(Data("pgmend: \(failure.message)\n".utf8))
        Foundation.exit(failure.status.rawValue)
    }
}

/// A failure already worded for the operator, with the exit status it means.
struct CommandFailure: Error {
    var status: ExitStatus
    var message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: PostgresError) {
        switch error.kind {
        case .connection: self.init(.unreachable, error.description)
        case .server where error.sqlState?.rawValue == "42501" && error.message.hasPrefix("query would be affected by row-level security policy"):
            // Every session sets row_security = off: a read that a policy would filter fails
            // rather than return part of the table. Outside a run's steps, said here.
            self.init(
                .failed,
                error.descriptionWithDetail
                    + "\npgmend reads all of a table or none (row_security = off, as pg_dump): run it as a superuser or as a role with BYPASSRLS, or as the table's owner when it does not FORCE ROW LEVEL SECURITY")
        default: self.init(.failed, error.descriptionWithDetail)
        }
    }
}

/// The connection options every subcommand that talks to a database shares.
///
/// A conninfo on the command line can be read by every user of the machine (`ps`) for the
/// whole run, so it can also come from `PGMEND_DB` or a file, and a password in `--db` is
/// warned about.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Conninfo string or postgresql:// URI (visible in ps: keep passwords in ~/.pgpass or PGPASSWORD). Without it, --db-file, then PGMEND_DB, then libpq's PG* variables, ~/.pgpass and service files apply, as for psql.",
            valueName: "conninfo"))
    var db: String?

    @Option(
        name: .long,
        help: ArgumentHelp("A file holding the conninfo string or URI (its first line), instead of --db.", valueName: "path"))
    var dbFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How long a read waits for a table's lock before it gives up and names who holds it (default 2s; `run` uses its plan's lock_timeout).",
            valueName: "duration"))
    var lockTimeout: String?

    func validate() throws {
        if db != nil && dbFile != nil { throw ValidationError("choose --db or --db-file, not both") }
        if let lockTimeout, SessionTimeouts.lockTimeout(lockTimeout) == nil {
            throw ValidationError("--lock-timeout \(lockTimeout) is not a duration from 1ms to 24h such as 500ms, 2s or 1min")
        }
    }

    /// The timeouts the session's reads run under: `--lock-timeout`, and no statement timeout
    /// (the role's would otherwise apply).
    var timeouts: SessionTimeouts {
        guard let text = lockTimeout, let milliseconds = SessionTimeouts.lockTimeout(text) else { return .commandDefaults }
        return SessionTimeouts(lockTimeout: milliseconds, statementTimeout: 0, source: "--lock-timeout")
    }

    /// Runs `body`, which reads through `connection`: a table lock it waited for in vain ends
    /// the command with exit 4, naming the sessions in the way.
    func reading<T>(_ what: String, on connection: Connection, _ body: () throws -> T) throws -> T {
        do {
            return try LockWaitTimedOut.naming(what, tables: nil, timeouts: timeouts, on: connection, body)
        } catch let wait as LockWaitTimedOut {
            throw CommandFailure(.unreachable, wait.description)
        } catch let timedOut as StatementTimedOut {
            throw CommandFailure(.failed, timedOut.description)
        }
    }

    /// The conninfo to connect with: `--db`, `--db-file`, `PGMEND_DB`, or nil for libpq's own
    /// defaults.
    func conninfo(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let db {
            if Connection.holdsPassword(db) {
                StandardError.write(
                    "pgmend: warning: --db holds a password, which other users of this machine can read (ps) while pgmend runs; put it in ~/.pgpass or PGPASSWORD, or give the conninfo in PGMEND_DB or --db-file\n")
            }
            return db
        }
        if let dbFile {
            let text: String
            do {
                text = try String(contentsOfFile: dbFile, encoding: .utf8)
            } catch {
                throw CommandFailure(.badInput, "cannot read --db-file \(dbFile): \((error as NSError).localizedDescription)")
            }
            let line = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if line.isEmpty { throw CommandFailure(.badInput, "--db-file \(dbFile) holds no conninfo") }
            return line
        }
        if let fromEnvironment = environment["PGMEND_DB"], !fromEnvironment.isEmpty { return fromEnvironment }
        return nil
    }

    /// A connection whose statements run under `timeouts`, whatever the role's settings say.
    func connect() throws -> Connection {
        do {
            let connection = try Connection(try conninfo())
            try timeouts.pin(on: connection)
            return connection
        } catch let error as PostgresError {
            throw CommandFailure(error)
        }
    }
}
