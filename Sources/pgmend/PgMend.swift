import ArgumentParser
import Foundation
import MendKit
import PostgresClient

/// The `pgmend` command: repairs drifted PostgreSQL databases with named, idempotent plans.
@main
struct PgMend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgmend",
        abstract: "Repair a drifted PostgreSQL database with a named, idempotent repair plan.",
        discussion: """
            Exit codes: 0 done, 1 drift found or failed, 2 bad input, 3 blocked by data problems, \
            4 could not connect or lock.
            """,
        version: PgMendVersion.string,
        subcommands: [Ping.self, PlanCommand.self, RunCommand.self, SnapshotCommand.self, Verify.self, Docs.self, ArchiveCommand.self]
    )

    /// Parses, runs, and maps every failure onto pgmend's documented exit codes (argument
    /// errors are 2 here, not ArgumentParser's 64).
    static func main() {
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
        default: self.init(.failed, error.description)
        }
    }
}

/// The connection options every subcommand that talks to a database shares.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Conninfo string or postgresql:// URI. Without it, libpq's PG* variables, ~/.pgpass and service files apply, as for psql.",
            valueName: "conninfo"))
    var db: String?

    func connect() throws -> Connection {
        do {
            return try Connection(db)
        } catch let error as PostgresError {
            throw CommandFailure(error)
        }
    }
}
