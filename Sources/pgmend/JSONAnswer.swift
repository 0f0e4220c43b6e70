import ArgumentParser
import Foundation
import MendKit
import PostgresClient
import SchemaModel

/// What a command prints on stdout with `--format json` when it fails, the same fields for
/// every command, so a script reads one document whatever happened (docs/json.md). `run`
/// adds the plan it was given.
struct FailureDocument: Encodable {
    /// The subcommand as typed after `pgmend`: `snapshot take`, `archive verify`.
    var command: String
    var plan: String?
    var outcome: String
    var message: String
    var exitCode: Int32

    init(command: String, plan: String? = nil, failure: CommandFailure) {
        self.command = command
        self.plan = plan
        outcome = failure.status.outcome
        message = failure.message
        exitCode = failure.status.rawValue
    }

    enum CodingKeys: String, CodingKey { case command, plan, outcome, message, exitCode = "exit_code" }
}

extension ExitStatus {
    /// The exit status in words, as the failure document's `outcome` says it.
    var outcome: String {
        switch self {
        case .ok: "ok"
        case .failed: "failed"
        case .badInput: "bad_input"
        case .blocked: "blocked"
        case .unreachable: "unreachable"
        case .declined: "declined"
        }
    }
}

extension CommandFailure {
    /// Any error a command's body lets out, as the failure it is to the operator: a server's
    /// error as `main` words it, an argument rejected at run time as bad input, anything else
    /// as a failure (exit 1, as ArgumentParser would have ended it).
    init(reporting error: any Error) {
        switch error {
        case let failure as CommandFailure: self = failure
        case let error as PostgresError: self.init(error)
        case let error as ValidationError: self.init(.badInput, error.message)
        default: self.init(.failed, String(describing: error))
        }
    }
}

extension FormatOption {
    /// Runs a command's body. With `--format json`, a failure is also printed on stdout as the
    /// failure document before it goes on to `main`, which writes its message to stderr and
    /// exits with its status. An `ExitCode` passes untouched: the command printed its answer.
    func answering(_ command: any ParsableCommand.Type, plan: String? = nil, _ body: () throws -> Void) throws {
        guard format == .json else { return try body() }
        do {
            try body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            let failure = CommandFailure(reporting: error)
            let document = FailureDocument(command: CommandPath.of(command), plan: plan, failure: failure)
            print(try CanonicalJSON.encode(document), terminator: "")
            throw failure
        }
    }

    /// Prints a command's answer: `document` with `--format json`, else `text` for people.
    func answer(_ document: some Encodable, text: () -> Void) throws {
        switch format {
        case .json: print(try CanonicalJSON.encode(document), terminator: "")
        case .text: text()
        }
    }
}

/// A subcommand's name as typed after `pgmend` (`archive verify`), for failure documents.
enum CommandPath {
    /// Found by walking the command tree, so it is spelled as ArgumentParser parses it.
    static func of(_ command: any ParsableCommand.Type) -> String {
        func search(_ node: any ParsableCommand.Type, _ path: [String]) -> [String]? {
            if ObjectIdentifier(node) == ObjectIdentifier(command) { return path }
            for child in node.configuration.subcommands {
                if let found = search(child, path + [child._commandName]) { return found }
            }
            return nil
        }
        return (search(PgMend.self, []) ?? [command._commandName]).joined(separator: " ")
    }

    /// The subcommand named by the leading words of `arguments` (`pgmend` itself excluded):
    /// for an argument error, where no command was parsed.
    static func named(by arguments: some Sequence<String>) -> String {
        var node: any ParsableCommand.Type = PgMend.self
        var path: [String] = []
        for argument in arguments {
            guard let child = node.configuration.subcommands.first(where: { $0._commandName == argument }) else { break }
            path.append(argument)
            node = child
        }
        return path.joined(separator: " ")
    }

    /// True when `arguments` ask for `--format json` (`--format json` or `--format=json`,
    /// before any `--`).
    static func asksForJSON(_ arguments: [String]) -> Bool {
        for (index, argument) in arguments.enumerated() {
            if argument == "--" { return false }
            if argument == "--format=json" { return true }
            if argument == "--format", index + 1 < arguments.count, arguments[index + 1] == "json" { return true }
        }
        return false
    }
}
