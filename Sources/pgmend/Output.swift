import ArgumentParser
import Foundation
import MendKit
import SchemaModel

/// How a command prints its result: for people, or one JSON document for scripts.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// The `--format` option of commands that can answer in JSON.
struct FormatOption: ParsableArguments {
    @Option(help: "Output for people (text) or one JSON document on stdout (json).")
    var format: OutputFormat = .text
}

/// Writes to standard error: progress, warnings, failures. Standard output is for results.
enum StandardError {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}

extension Snapshot {
    /// Reads a snapshot named on the command line; an unusable file is bad input (exit 2).
    static func load(commandLinePath path: String) throws -> Snapshot {
        try badInput { try Snapshot.read(path: path) }
    }

    /// Reads a snapshot named on the command line from its bytes, already read.
    static func load(commandLinePath path: String, contents: Data) throws -> Snapshot {
        try badInput { try Snapshot.read(from: contents, source: path) }
    }

    /// The bytes of a snapshot file named on the command line; an unreadable one is bad input.
    static func contents(commandLinePath path: String) throws -> Data {
        try badInput { try Snapshot.contents(path: path) }
    }

    private static func badInput<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SnapshotFileError {
            throw CommandFailure(.badInput, error.description)
        }
    }
}

/// The JSON answer of `snapshot diff` and `verify`.
struct ComparisonReport: Encodable {
    var equal: Bool
    var expected: String
    var actual: String
    var changes: [SchemaChange]
}

/// Prints a comparison's changes for people: one line each, or a one-line verdict, in 100 columns.
func printChanges(_ changes: [SchemaChange], equalMessage: String, differentHeader: String) {
    if changes.isEmpty {
        print(TextLayout.lines(equalMessage).joined(separator: "\n"))
        return
    }
    print(TextLayout.lines(differentHeader).joined(separator: "\n"))
    for change in changes { print(TextLayout.lines(change.description, first: "  ", rest: "      ").joined(separator: "\n")) }
}

/// Prints `text` for people in lines of at most 100 columns (TextLayout): the first after
/// `first`, the others after `rest`.
func say(_ text: String, first: String = "", rest: String = "    ") {
    print(TextLayout.lines(text, first: first, rest: rest).joined(separator: "\n"))
}
