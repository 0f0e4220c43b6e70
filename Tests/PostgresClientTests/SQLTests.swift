import MendTestSupport
import PostgresClient
import Testing

/// The SQL type: each interpolation writes its piece one way, bound values are numbered in the
/// order they appear (nested statements included), and the server reads what was meant.
@Suite("SQL built by interpolation")
struct SQLTests {
    @Test func eachPieceIsWrittenTheWayItsKindSays() {
        let table = QualifiedName(schema: "my schema", "Memories")
        let column = SQLIdentifier("weird\"name")
        let sql: SQL = "UPDATE \(table) SET \(column) = \(bind: "it's") WHERE \(ident: "id") = \(bind: 42) -- \(literal: "a'b") \(literal: 7)"
        #expect(sql.text == "UPDATE \"my schema\".\"Memories\" SET \"weird\"\"name\" = $1 WHERE \"id\" = $2 -- 'a''b' 7")
        #expect(sql.bindings.map(\.text) == ["it's", "42"])
        #expect(sql.hasBindings)
        #expect(sql.description == "UPDATE \"my schema\".\"Memories\" SET \"weird\"\"name\" = 'it''s' WHERE \"id\" = '42' -- 'a''b' 7")
    }

    @Test func nestedStatementsKeepTheirValuesInOrder() {
        let condition: SQL = "a = \(bind: 1) AND b = \(bind: "two")"
        let outer: SQL = "SELECT \(bind: "zero") FROM t WHERE \(condition) OR c = \(bind: 3)"
        #expect(outer.text == "SELECT $1 FROM t WHERE a = $2 AND b = $3 OR c = $4")
        #expect(outer.bindings.map(\.text) == ["zero", "1", "two", "3"])
        let joined = [condition, "d = \(bind: 4)"].joined(separator: " OR ")
        #expect(joined.text == "a = $1 AND b = $2 OR d = $3")
        var built: SQL = "SELECT 1"
        built += " WHERE \(condition)"
        #expect((built + " LIMIT \(literal: 5)").text == "SELECT 1 WHERE a = $1 AND b = $2 LIMIT 5")
    }

    @Test func aNilValueIsBoundAsNull() {
        let nothing: String? = nil
        let sql: SQL = "SELECT \(bind: nothing)"
        #expect(sql.text == "SELECT $1")
        #expect(sql.bindings.map(\.text) == [nil])
        #expect(sql.description == "SELECT NULL")
    }

    @Test func identifierListsAreQuotedAndCommaSeparated() {
        let columns = ["id", "Name"].map(SQLIdentifier.init)
        let sql: SQL = "SELECT \(columns) FROM t"
        #expect(sql.text == "SELECT \"id\", \"Name\" FROM t")
    }

    @Test func aPlanExpressionIsCheckedAndParenthesised() throws {
        let expression = try PlanExpression(checking: "status IN ('a', 'b') -- trailing comment")
        let sql: SQL = "SELECT count(*) FROM t WHERE \(expression)"
        #expect(sql.text == "SELECT count(*) FROM t WHERE (status IN ('a', 'b') -- trailing comment\n)")
        #expect(throws: PlanExpression.Problem.self) { try PlanExpression(checking: "true); DROP TABLE t; --") }
        do {
            _ = try PlanExpression(checking: "a) OR (b")
            Issue.record("an expression closing a parenthesis it did not open was accepted")
        } catch {
            #expect(error.offset == 1)
        }
    }

    @Test func valuesReachTheServerAsValuesNeverAsText() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (id int PRIMARY KEY, note text)")
            let hostile = "x'); DROP TABLE t; --"
            try connection.query("INSERT INTO \(ident: "t") (id, note) VALUES (\(bind: 1), \(bind: hostile))")
            #expect(try connection.scalar("SELECT note FROM t WHERE id = \(bind: 1)", as: String.self) == hostile)
            let keys = ["1", "2", "3"]
            #expect(try connection.scalar("SELECT count(*) FROM t WHERE id = ANY(\(bind: keys)::int[])", as: Int.self) == 1)
        }
    }

    @Test func aScriptRefusesBoundValues() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            #expect(throws: PostgresError.self) { try connection.execute("SELECT \(bind: 1); SELECT 2") }
            #expect(try connection.execute("CREATE TABLE a (x int); CREATE TABLE b (y int)").commandTag == "CREATE TABLE")
        }
    }
}
