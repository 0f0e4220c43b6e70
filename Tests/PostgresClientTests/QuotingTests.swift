import MendTestSupport
import PostgresClient
import Testing

@Suite("Identifier and literal quoting")
struct QuotingTests {
    @Test(arguments: [
        ("users", "\"users\""),
        ("Mixed Case", "\"Mixed Case\""),
        ("weird\"name; drop table x", "\"weird\"\"name; drop table x\""),
        ("\"\"", "\"\"\"\"\"\""),
    ])
    func identifiersAreAlwaysQuoted(name: String, sql: String) {
        #expect(SQLIdentifier(name).quoted == sql)
    }

    @Test func qualifiedNamesQuoteEachPart() {
        #expect(QualifiedName(schema: "my schema", "t\"1").quoted == "\"my schema\".\"t\"\"1\"")
        #expect(QualifiedName("plain").quoted == "\"plain\"")
    }

    @Test(arguments: [
        ("plain", "'plain'"),
        ("it's", "'it''s'"),
        ("back\\slash", " E'back\\\\slash'"),
        ("both ' and \\", " E'both '' and \\\\'"),
    ])
    func literalsAreEscapedLikePQescapeLiteral(value: String, sql: String) {
        #expect(SQLLiteral.quoted(value) == sql)
    }

    @Test func aHostileIdentifierIsOneHarmlessName() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE x (id int)")
            let table = SQLIdentifier("weird\"name; drop table x")
            let column = SQLIdentifier("Select \"From\"")
            try connection.execute("CREATE TABLE \(table) (\(column) text)")
            try connection.query("INSERT INTO \(table) (\(column)) VALUES (\(bind: "kept"))")
            #expect(try connection.scalar("SELECT \(column) FROM \(table)", as: String.self) == "kept")
            let names = try connection.query("SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY relname")
            #expect(try names.map { try $0.get(0, as: String.self) } == ["weird\"name; drop table x", "x"])
        }
    }

    @Test func literalsMeanTheirValueWhateverTheStringSetting() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let value = "a 'quoted' \\ back\\\\slash"
            for setting in ["on", "off"] {
                try connection.setSession("standard_conforming_strings", setting)
                #expect(try connection.scalar("SELECT \(literal: value)", as: String.self) == value)
            }
        }
    }

    /// Text the server reads as one fragment passes; text that could reach outside the
    /// parentheses around it does not, wherever the parenthesis or `;` hides.
    @Test(arguments: [
        "status IN ('active', 'paused')", "'it''s (' || \"we(ird\"", "E'\\' )' = x", "$$ ) ; $$ <> body",
        "$tag$ $$ ) $tag$ IS NOT NULL", "length(x) > 0 -- a comment ) ;", "/* (nested /* ; */ ) */ true",
        "$1 > a$b", "varchar(20)", "numeric(10, 2)[]",
    ])
    func oneFragment(_ text: String) {
        #expect(SQLFragment.problem(in: text) == nil, "\(SQLFragment.problem(in: text)?.message ?? "")")
    }

    @Test(arguments: [
        ("true) NOT VALID; COMMIT; DROP TABLE users; --", "closes a parenthesis it did not open"),
        ("1; DROP TABLE users", "contains ';'"), ("(a", "opens a parenthesis it does not close"),
        ("'open", "string literal that is never closed"), ("E'\\'", "string literal that is never closed"),
        ("\"open", "quoted identifier that is never closed"), ("$$ open", "dollar-quoted string ($$) that is never closed"),
        ("/* /* */ true", "comment that is never closed"), ("  ", "is empty"),
    ])
    func notOneFragment(_ text: String, _ problem: String) {
        #expect(SQLFragment.problem(in: text)?.message.contains(problem) == true, "\(text): \(SQLFragment.problem(in: text)?.message ?? "nil")")
    }

    @Test func parenthesizedKeepsACommentInside() {
        #expect(SQLFragment.parenthesized("x > 0") == "(x > 0)")
        #expect(SQLFragment.parenthesized("x > 0 -- why") == "(x > 0 -- why\n)")
    }
}
