import Foundation
import MendTestSupport
import Testing

/// `make install` and `make uninstall` into a temporary prefix, with the debug binary the tests
/// already run (`PGMEND_BIN`, so no release build here): the installed `pgmend`, its completions
/// and its man page work from a folder that is not the project's, and uninstall takes them away.
@Suite("Installed like a tool", .serialized)
struct InstallCommandTests {
    /// Every file `make install` writes, relative to the prefix.
    static let installedFiles = [
        "bin/pgmend",
        "share/man/man1/pgmend.1",
        "share/bash-completion/completions/pgmend",
        "share/zsh/site-functions/_pgmend",
        "share/fish/vendor_completions.d/pgmend.fish",
    ]

    /// `make <target>` in the package folder with `variables` (PREFIX=..., DESTDIR=...).
    static func make(_ target: String, _ variables: [String]) throws -> ProcessOutcome {
        try ProcessRunner.run(
            "/usr/bin/env", ["make", "-C", RunCommandTests.root.path, target, "PGMEND_BIN=\(try PgMendBinary.path())"] + variables)
    }

    /// `program` run from `folder`.
    static func run(_ program: String, in folder: String, _ arguments: [String]) throws -> ProcessOutcome {
        try ProcessRunner.run("/bin/sh", ["-c", "cd \"$1\" && shift && exec \"$@\"", "sh", folder, program] + arguments)
    }

    /// A new empty folder outside the package, removed by `defer` in the caller.
    static func temporaryFolder(_ name: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
    }

    /// The regular files under `folder`, relative to it, sorted.
    static func files(under folder: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder)
        var found: [String] = []
        while let path = enumerator?.nextObject() as? String {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(folder)/\(path)", isDirectory: &isFolder), !isFolder.boolValue { found.append(path) }
        }
        return found.sorted()
    }

    @Test func installedPgmendWorksFromAnotherFolderAndUninstallRemovesIt() throws {
        let prefix = try Self.temporaryFolder("prefix")
        let elsewhere = try Self.temporaryFolder("elsewhere")
        defer {
            try? FileManager.default.removeItem(atPath: prefix)
            try? FileManager.default.removeItem(atPath: elsewhere)
        }
        let install = try Self.make("install", ["PREFIX=\(prefix)"])
        try #require(install.status == 0, "\(install.stdout)\(install.stderr)")
        #expect(Self.files(under: prefix) == Self.installedFiles.sorted())
        let pgmend = "\(prefix)/bin/pgmend"

        let help = try Self.run(pgmend, in: elsewhere, ["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        #expect(help.stdout.contains("USAGE: pgmend <subcommand>"), "\(help.stdout)")
        let plans = RunCommandTests.root.appendingPathComponent("Plans").path
        let check = try Self.run(pgmend, in: elsewhere, ["plan", "check", "--plans", plans])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("schema-cleanup.yaml"), "\(check.stdout)")
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try DemoDatabaseTests.load(database, users: 60)
            let dryRun = try Self.run(pgmend, in: elsewhere, ["run", "schema-cleanup", "--dry-run", "--plans", plans, "--db", database.conninfo])
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("\(plans)/schema-cleanup.yaml"), "\(dryRun.stdout)")
            #expect(dryRun.stdout.contains("database \(database.name)"), "\(dryRun.stdout)")
        }
        #expect(Self.files(under: elsewhere).isEmpty, "a dry run wrote \(Self.files(under: elsewhere))")

        try expectBashCompletes(script: "\(prefix)/share/bash-completion/completions/pgmend", from: elsewhere)
        try expectManualListsExitCodes("\(prefix)/share/man/man1/pgmend.1", help: help.stdout)

        let uninstall = try Self.make("uninstall", ["PREFIX=\(prefix)"])
        #expect(uninstall.status == 0, "\(uninstall.stdout)\(uninstall.stderr)")
        #expect(Self.files(under: prefix).isEmpty, "left behind: \(Self.files(under: prefix))")
    }

    /// DESTDIR stages the files under itself, at the PREFIX they will be installed to; nothing
    /// is written to PREFIX itself.
    @Test func destdirStagesUnderItsRoot() throws {
        let staging = try Self.temporaryFolder("destdir")
        // A prefix in the temporary folder, so that an install that ignored DESTDIR writes
        // nowhere it cannot clean.
        let prefix = staging + "-prefix"
        defer {
            try? FileManager.default.removeItem(atPath: staging)
            try? FileManager.default.removeItem(atPath: prefix)
        }
        let install = try Self.make("install", ["PREFIX=\(prefix)", "DESTDIR=\(staging)"])
        try #require(install.status == 0, "\(install.stdout)\(install.stderr)")
        #expect(Self.files(under: staging) == Self.installedFiles.map { "\(prefix.dropFirst())/\($0)" }.sorted())
        #expect(!FileManager.default.fileExists(atPath: prefix))
        let version = try Self.run("\(staging)\(prefix)/bin/pgmend", in: staging, ["--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty, "\(version.stderr)")
        let uninstall = try Self.make("uninstall", ["PREFIX=\(prefix)", "DESTDIR=\(staging)"])
        #expect(uninstall.status == 0, "\(uninstall.stdout)\(uninstall.stderr)")
        #expect(Self.files(under: staging).isEmpty, "left behind: \(Self.files(under: staging))")
    }

    /// The installed bash script defines pgmend's completion, and its function completes a
    /// subcommand and a flag (zsh and fish are not on every machine; they come from the same
    /// generator).
    func expectBashCompletes(script: String, from folder: String) throws {
        let defined = try Self.run("/bin/bash", in: folder, ["-c", "source \"$0\" && complete -p pgmend", script])
        #expect(defined.status == 0, "\(defined.stderr)")
        #expect(defined.stdout.contains("-F _pgmend pgmend"), "\(defined.stdout)")
        // A completion function is called with the command, the word being completed and the
        // word before it, and reads COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT.
        let complete = """
            source "$0"
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            _pgmend pgmend "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        for (words, expected) in [(["pgmend", "pl"], "plan\n"), (["pgmend", "run", "--dry"], "--dry-run\n")] {
            let completed = try Self.run("/bin/bash", in: folder, ["-c", complete, script] + words)
            #expect(completed.status == 0, "\(completed.stderr)")
            #expect(completed.stdout == expected, "\(words.joined(separator: " ")): \(completed.stdout)")
        }
    }

    /// The man page holds the exit-code list of `pgmend --help`, and renders without warnings
    /// where a formatter is installed.
    func expectManualListsExitCodes(_ page: String, help: String) throws {
        let source = try String(contentsOfFile: page, encoding: .utf8)
        let words = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let exitCodes = try #require(words.range(of: "Exit codes: [^.]*\\.", options: .regularExpression).map { String(words[$0]) }, "\(help)")
        #expect(source.contains(exitCodes), "\(page) lacks \(exitCodes)")
        for code in 0...5 { #expect(exitCodes.contains("\(code) "), "\(exitCodes)") }
        #expect(source.contains(".Sh \"EXIT STATUS\""))
        // man (man-db) drops bold and underline in a pipe; groff is told to (-P-cbou).
        let formatters: [(String, [String])] = [("/usr/bin/man", ["-l", page]), ("/usr/bin/groff", ["-mandoc", "-Tutf8", "-P-cbou", page])]
        guard let (formatter, arguments) = formatters.first(where: { FileManager.default.isExecutableFile(atPath: $0.0) }) else { return }
        let rendered = try ProcessRunner.run(formatter, arguments, environment: ["MANPAGER": "cat", "MANWIDTH": "100"])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(!rendered.stderr.contains("warning"), "\(formatter): \(rendered.stderr)")
        #expect(rendered.stdout.contains("EXIT STATUS"), "\(rendered.stdout)")
    }
}
