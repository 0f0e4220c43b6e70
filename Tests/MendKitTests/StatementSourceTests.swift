import Foundation
import Testing

/// Statements are built one way: as `SQL`, by interpolation that says what each piece is. The
/// type keeps a `String` out of `Connection`; these checks keep the doors the type must leave
/// open (a public `init(stringLiteral:)`, `unsafeRaw`, a script file) used only where they are
/// meant to be, and catch SQL assembled as text before it becomes `SQL`.
@Suite("Statements are built as SQL")
struct StatementSourceTests {
    struct Line: CustomStringConvertible {
        let path: String
        let number: Int
        let text: String
        var description: String { "\(path):\(number): \(text.trimmingCharacters(in: .whitespaces))" }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every line of every Swift file under `Sources/`, comments removed.
    static func sourceLines() throws -> [Line] {
        let sources = root.appendingPathComponent("Sources")
        guard let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil) else { return [] }
        var lines: [Line] = []
        for case let url as URL in files where url.pathExtension == "swift" {
            let path = String(url.path.dropFirst(root.path.count + 1))
            let text = try String(contentsOf: url, encoding: .utf8)
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                lines.append(Line(path: path, number: index + 1, text: String(line)))
            }
        }
        return lines
    }

    static func uses(_ pattern: String, in lines: [Line]) throws -> [Line] {
        let expression = try NSRegularExpression(pattern: pattern)
        return lines.filter { line in
            expression.firstMatch(in: line.text, range: NSRange(line.text.startIndex..., in: line.text)) != nil
        }
    }

    @Test func theSourcesAreFound() throws {
        let lines = try Self.sourceLines()
        #expect(lines.count > 10_000, "found only \(lines.count) lines under \(Self.root.path)/Sources")
        #expect(lines.contains { $0.path == "Sources/PostgresClient/SQL.swift" })
    }

    @Test func rawPlanSQLIsSentInOnePlaceOnly() throws {
        let raw = try Self.uses(#"unsafeRaw\("#, in: Self.sourceLines())
            .filter { $0.path != "Sources/PostgresClient/SQL.swift" }
        #expect(Set(raw.map(\.path)) == ["Sources/MendKit/Steps/SQLStep.swift"], "unsafeRaw outside the sql step:\n\(raw.map(\.description).joined(separator: "\n"))")
    }

    @Test func noTextBecomesSQLThroughTheLiteralInitialiser() throws {
        let calls = try Self.uses(#"(SQL|\.init)\(stringLiteral:"#, in: Self.sourceLines())
            .filter { !$0.path.hasPrefix("Sources/PostgresClient/") }
        #expect(calls.isEmpty, "text made SQL by calling init(stringLiteral:):\n\(calls.map(\.description).joined(separator: "\n"))")
    }

    /// `catalogText` carries what the server printed; a literal there would be text pgmend wrote.
    @Test func catalogTextComesFromTheCatalog() throws {
        let literals = try Self.uses(#"catalogText\(\s*""#, in: Self.sourceLines())
        #expect(literals.isEmpty, "\(literals.map(\.description).joined(separator: "\n"))")
    }

    /// Another way to put text into a statement (an interpolation of one's own) is for tests only.
    @Test func onlyTheClientAndTheTestSupportExtendTheInterpolation() throws {
        let extensions = try Self.uses(#"extension SQL\.StringInterpolation|appendLiteral\("#, in: Self.sourceLines())
            .filter { !$0.path.hasPrefix("Sources/PostgresClient/") && !$0.path.hasPrefix("Sources/MendTestSupport/") }
        #expect(extensions.isEmpty, "\(extensions.map(\.description).joined(separator: "\n"))")
    }

    @Test func aScriptFileIsSentOnlyByTheArchive() throws {
        let calls = try Self.uses(#"scriptFile\("#, in: Self.sourceLines())
            .filter { !$0.path.hasPrefix("Sources/PostgresClient/") && !$0.path.hasPrefix("Sources/MendKit/Archive/") }
        #expect(calls.isEmpty, "\(calls.map(\.description).joined(separator: "\n"))")
    }

    @Test func theClientTakesNoStringStatements() throws {
        let entryPoints = try Self.uses(
            #"func (query|execute|scalar|describe|copyIn|copyOut)(<[^>]*>)?\(\s*_ \w+: String"#, in: Self.sourceLines())
        #expect(entryPoints.isEmpty, "a String entry point:\n\(entryPoints.map(\.description).joined(separator: "\n"))")
        let transitional = try Self.uses(#"\blegacy\("#, in: Self.sourceLines())
        #expect(transitional.isEmpty, "\(transitional.map(\.description).joined(separator: "\n"))")
    }

    /// A string that starts like a statement and splices quoted names or literals into itself
    /// is SQL built as text (`+` is not looked for: `SQL` values are joined with it too). Code generators write Python and Markdown, and the archive
    /// writes `schema.sql` for psql: files, not statements, built with the same quoting.
    static let statementStart = #""\s*(SELECT|INSERT|UPDATE|DELETE|ALTER|CREATE|DROP|LOCK|COPY|SET|SAVEPOINT|ANALYZE|COMMENT|TRUNCATE|WITH|GRANT|REVOKE|BEGIN|VACUUM|REINDEX)\b"#
    /// A quoted name or literal pasted in as text; a value bound as its text (`\(bind: name.quoted)`,
    /// a table name for `to_regclass`) is a value, not a splice.
    static let splicing = #"(\.quoted\)|SQLLiteral\.quoted)"#
    static let boundText = try! NSRegularExpression(pattern: #"bind: [\w.()\\]*?\.quoted\)+"#)

    static func assembledAsText(_ lines: [Line]) throws -> [Line] {
        let unbound = try uses(statementStart, in: lines).map { line in
            Line(path: line.path, number: line.number, text: boundText.stringByReplacingMatches(
                in: line.text, range: NSRange(line.text.startIndex..., in: line.text), withTemplate: "bound"))
        }
        return try uses(splicing, in: unbound)
    }

    @Test func noStatementIsAssembledAsText() throws {
        let assembled = try Self.assembledAsText(Self.sourceLines()).filter { line in
            !line.path.hasPrefix("Sources/PostgresClient/") && !line.path.hasPrefix("Sources/MendKit/Codegen/")
                && line.path != "Sources/MendKit/Archive/TableScript.swift"
        }
        #expect(assembled.isEmpty, "statements assembled as text:\n\(assembled.map(\.description).joined(separator: "\n"))")
    }

    /// A file a newcomer can read through: issue 20 split the longer ones along their seams.
    @Test func noSourceFileIsLongerThan400Lines() throws {
        let lengths = Dictionary(grouping: try Self.sourceLines(), by: \.path).mapValues { $0.map(\.number).max() ?? 0 }
        let long = lengths.filter { $0.value > 400 }.sorted { $0.key < $1.key }
        #expect(long.isEmpty, "\(long.map { "\($0.key): \($0.value) lines" }.joined(separator: "\n"))")
    }

    /// The check above is not blind: it finds the pattern it looks for.
    @Test func theTextCheckFindsWhatItLooksFor() throws {
        let sample = [
            Line(path: "x.swift", number: 1, text: #"let sql = "DROP TABLE \(name.quoted)""#),
            Line(path: "x.swift", number: 2, text: #"let sql = "SELECT * FROM t WHERE x = \(SQLLiteral.quoted(value))""#),
            Line(path: "x.swift", number: 3, text: #"let sql: SQL = "DROP TABLE \(name)""#),
            Line(path: "x.swift", number: 4, text: #"let sql: SQL = "SELECT to_regclass(\(bind: name.quoted))""#),
        ]
        #expect(try Self.assembledAsText(sample).map(\.number) == [1, 2])
    }
}
