import Foundation
import Testing

/// Golden files: a test's whole output compared byte for byte with a file committed beside it,
/// re-recorded only on purpose and only where named.
///
/// `PGMEND_RECORD` names what to re-record, a comma-separated list of golden files and suites:
///
///     PGMEND_RECORD=dry-run.txt swift test --filter Conformance          every kind's dry-run.txt
///     PGMEND_RECORD=rename_table/dry-run.txt swift test --filter Conformance
///     PGMEND_RECORD=SchemaDocsTests swift test --filter SchemaDocs       every golden of that suite
///     PGMEND_RECORD=bad-indent.expected,CatalogReaderTests swift test
///
/// A file is named by its name or by the end of its path (`rename_table/dry-run.txt`); a suite
/// by its type's name. `PGMEND_RECORD=1` (which once re-recorded every golden file at once) is
/// refused: each golden test fails saying so, and nothing is written. A golden that is named
/// is written and the test passes; review the diff like code before committing it.
public enum Golden {
    /// The names in `PGMEND_RECORD`, empty when it is unset or empty.
    public static var named: [String] {
        (ProcessInfo.processInfo.environment["PGMEND_RECORD"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// True when `PGMEND_RECORD` names anything: a test that checks that every golden file
    /// exists leaves that to the run that records them.
    public static var isRecordingAnything: Bool { !named.isEmpty }

    /// Whether the golden file at `url` of the suite `suite` is to be written rather than
    /// checked. Throws when `PGMEND_RECORD` says `1` (or `true`, `yes`): that names nothing.
    public static func shouldRecord(_ url: URL, suite: Any.Type) throws -> Bool {
        let names = named
        if let everything = names.first(where: { ["1", "true", "yes", "all"].contains($0.lowercased()) }) {
            throw RecordEverythingRefused(value: everything)
        }
        let suiteName = String(describing: suite)
        let path = url.standardizedFileURL.path
        return names.contains { $0 == suiteName || $0 == url.lastPathComponent || path.hasSuffix("/" + $0) }
    }

    /// Compares `text` with the golden file at `url`, byte for byte, or writes it there when
    /// `PGMEND_RECORD` names the file or `suite`. A difference is recorded as an issue at the
    /// caller, with the first line that differs; a missing file says how to record it.
    public static func check(
        _ text: String, against url: URL, suite: Any.Type, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        if try shouldRecord(url, suite: suite) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url, options: .atomic)
            return
        }
        let hint = "PGMEND_RECORD=\(url.lastPathComponent) (or =\(String(describing: suite))) re-records it if the change is intended"
        guard let data = FileManager.default.contents(atPath: url.path) else {
            Issue.record("missing golden file \(url.path): \(hint)", sourceLocation: sourceLocation)
            return
        }
        let golden = String(decoding: data, as: UTF8.self)
        if golden != text {
            Issue.record(
                "differs from \(url.lastPathComponent) (\(hint))\n\(firstDifference(golden, text))", sourceLocation: sourceLocation)
        }
    }

    /// The first line where two texts part, for a failure message people can read.
    public static func firstDifference(_ expected: String, _ actual: String) -> String {
        let old = expected.components(separatedBy: "\n")
        let new = actual.components(separatedBy: "\n")
        for index in 0..<max(old.count, new.count) {
            let a = index < old.count ? old[index] : "<end>"
            let b = index < new.count ? new[index] : "<end>"
            if a != b { return "line \(index + 1):\n  expected: \(a)\n  actual:   \(b)" }
        }
        return "no line differs"
    }
}

/// `PGMEND_RECORD=1`: every golden file at once, which is refused.
public struct RecordEverythingRefused: Error, CustomStringConvertible {
    public var value: String
    public var description: String {
        "PGMEND_RECORD=\(value) would re-record every golden file at once and is refused: "
            + "name the golden files or suites to re-record, comma-separated "
            + "(PGMEND_RECORD=dry-run.txt, PGMEND_RECORD=SchemaDocsTests); see docs/testing.md"
    }
}
