import Foundation
import MendTestSupport
import PostgresClient
import Testing

@Suite("Queries and values")
struct QueryTests {
    @Test func textWithQuotesAndControlCharactersRoundTripsThroughAParameter() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let controls = String(decoding: (1...31).map { UInt8($0) }, as: UTF8.self)
            let values = [
                "O'Reilly \"quoted\" \\backslash\\ $1 %s ; DROP TABLE x; --",
                "tab\tnewline\nreturn\r" + controls,
                "ünïcødé ✓ 🐘 日本語",
                "'); DELETE FROM pg_class; --",
                "",
            ]
            for value in values {
                #expect(try connection.scalar("SELECT \(bind: value)::text", as: String.self) == value)
                #expect(try connection.scalar("SELECT length(\(bind: value)::text)", as: Int.self) == value.count)
            }
            try connection.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
            try connection.query("INSERT INTO notes VALUES (\(bind: 1), \(bind: values[0]))")
            #expect(try connection.scalar("SELECT count(*) FROM notes WHERE body = \(bind: values[0])", as: Int.self) == 1)
        }
    }

    @Test func aNULByteIsRefusedBeforeReachingTheServer() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let error = try #require(throws: PostgresError.self) {
                try connection.query("SELECT \(bind: "a\u{0}b")::text")
            }
            #expect(error.kind == .usage)
            #expect(error.description.contains("NUL"))
        }
    }

    @Test func everyByteValueRoundTripsAsBytea() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let bytes = PostgresBytes((0...255).map { UInt8($0) } + [0, 0, 92, 39])
            #expect(try connection.scalar("SELECT \(bind: bytes)::bytea", as: PostgresBytes.self) == bytes)
            #expect(try connection.scalar("SELECT length(\(bind: bytes)::bytea)", as: Int.self) == 260)
        }
    }

    @Test func typedValuesRoundTrip() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            for value in [0, 1, -1, Int.max, Int.min] {
                #expect(try connection.scalar("SELECT \(bind: value)", as: Int.self) == value)
            }
            #expect(try connection.scalar("SELECT \(bind: Int32.min)::int4", as: Int32.self) == Int32.min)
            #expect(try connection.scalar("SELECT \(bind: Int16.max)::int2", as: Int16.self) == Int16.max)
            for value in [0.1, -2.5e-300, 1.7976931348623157e308, Double.infinity, -Double.infinity] {
                #expect(try connection.scalar("SELECT \(bind: value)", as: Double.self) == value)
            }
            #expect(try connection.scalar("SELECT \(bind: Double.nan)", as: Double.self)?.isNaN == true)
            #expect(try connection.scalar("SELECT \(bind: Decimal(string: "12345678901234567890.125")!)::numeric * 2", as: Decimal.self)
                == Decimal(string: "24691357802469135780.25"))
            #expect(try connection.scalar("SELECT \(bind: true)", as: Bool.self) == true)
            #expect(try connection.scalar("SELECT NOT \(bind: true)", as: Bool.self) == false)
            let uuid = UUID()
            #expect(try connection.scalar("SELECT \(bind: uuid)", as: UUID.self) == uuid)
            // A string parameter takes the type of the uuid it is compared with.
            #expect(try connection.scalar("SELECT \(bind: uuid)::uuid = \(bind: uuid.uuidString)", as: Bool.self) == true)
            #expect(try connection.scalar("SELECT \(bind: #"{"a": "x'y"}"#)::jsonb ->> 'a'", as: String.self) == "x'y")
            let nothing: Int? = nil
            #expect(try connection.scalar("SELECT \(bind: nothing)::int", as: Int.self) == nil)
        }
    }

    @Test func timestampsReadInAnyTimeZone() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let instant = Date(timeIntervalSince1970: 1_764_000_000.123456)
            for zone in ["UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham"] {
                try connection.setSession("TimeZone", zone)
                let back = try #require(try connection.scalar("SELECT \(bind: instant)", as: Date.self))
                #expect(abs(back.timeIntervalSince(instant)) < 0.000_002, "in \(zone)")
            }
            let row = try #require(try connection.query(
                "SELECT timestamp '2026-02-02 10:11:12.5', date '1999-12-31', timestamptz '1900-01-01 00:00:00+00', timestamp '12345-06-07 00:00:00'").first)
            #expect(try row.get(0, as: Date.self) == Date(timeIntervalSince1970: 1_770_027_072.5))
            #expect(try row.get(1, as: Date.self) == Date(timeIntervalSince1970: 946_598_400))
            #expect(try row.get(2, as: Date.self) == Date(timeIntervalSince1970: -2_208_988_800))
            #expect(try row.get(3, as: Date.self) == Date(timeIntervalSince1970: 327_416_947_200))
        }
    }

    @Test func rowsAreReadByPositionOrNameWithClearErrors() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let result = try connection.query("SELECT 1 AS id, NULL::text AS note, 'abc' AS word")
            #expect(result.columnNames == ["id", "note", "word"])
            #expect(result.columnTypes == [.int4, .text, .text])
            let row = try #require(result.first)
            #expect(try row.get("id", as: Int.self) == 1)
            #expect(try row.get("note", as: String?.self) == nil)
            #expect(try row.isNull("note"))
            let notNull = try #require(throws: PostgresError.self) { try row.get("note", as: String.self) }
            #expect(notNull.description.contains("\"note\" is NULL"))
            let notInt = try #require(throws: PostgresError.self) { try row.get("word", as: Int.self) }
            #expect(notInt.kind == .decoding)
            #expect(notInt.description.contains("\"word\"") && notInt.description.contains("'abc'"))
            let missing = try #require(throws: PostgresError.self) { try row.get("nope", as: Int.self) }
            #expect(missing.description.contains("no column named \"nope\""))
        }
    }

    @Test func commandTagsAndAffectedRows() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let create = try connection.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
            #expect(create.commandTag == "CREATE TABLE")
            #expect(create.affectedRows == nil)
            let insert = try connection.query("INSERT INTO t SELECT g, 'x' FROM generate_series(1, \(bind: 5)::int) g")
            #expect(insert.commandTag == "INSERT 0 5")
            #expect(insert.affectedRows == 5)
            #expect(try connection.query("UPDATE t SET v = 'y' WHERE id > \(bind: 3)").affectedRows == 2)
            #expect(try connection.query("DELETE FROM t WHERE id = \(bind: 1)").affectedRows == 1)
            let select = try connection.query("SELECT id FROM t ORDER BY id")
            #expect(select.affectedRows == 4)
            #expect(try select.map { try $0.get(0, as: Int.self) } == [2, 3, 4, 5])
        }
    }

    @Test func aScriptRunsEveryStatementAndReturnsTheLast() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let last = try connection.execute("CREATE TABLE a (x int); INSERT INTO a VALUES (1), (2); SELECT sum(x) FROM a")
            #expect(try last.first?.get(0, as: Int.self) == 3)
        }
    }

    @Test func aFailingStatementCarriesSQLStateAndDetail() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let missing = try #require(throws: PostgresError.self) { try connection.query("SELECT * FROM no_such_table") }
            #expect(missing.kind == .server)
            #expect(missing.sqlState == .undefinedTable)
            #expect(missing.description == "ERROR 42P01: relation \"no_such_table\" does not exist")
            #expect(missing.position == 15)
            #expect(missing.debugDescription.contains("STATEMENT: SELECT * FROM no_such_table"))

            try connection.execute("CREATE TABLE u (id int CONSTRAINT u_pkey PRIMARY KEY)")
            try connection.query("INSERT INTO u VALUES (\(bind: 1))")
            let duplicate = try #require(throws: PostgresError.self) { try connection.query("INSERT INTO u VALUES (\(bind: 1))") }
            #expect(duplicate.sqlState == .uniqueViolation)
            #expect(duplicate.detail == "Key (id)=(1) already exists.")
            #expect(duplicate.constraintName == "u_pkey")
            #expect(duplicate.tableName == "u")
            #expect(duplicate.schemaName == "public")
            #expect(try connection.scalar("SELECT count(*) FROM u", as: Int.self) == 1)  // still usable
        }
    }
}

@Suite("Text arrays")
struct ArrayTests {
    @Test func textArraysRoundTrip() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let samples: [[String]] = [
                [], ["a"], ["plain", "with space", "comma,inside", "quote\"inside", "back\\slash", "{braces}", "NULL", ""],
            ]
            for sample in samples {
                #expect(try connection.scalar("SELECT \(bind: sample)::text[]", as: [String].self) == sample)
                #expect(try connection.scalar("SELECT cardinality(\(bind: sample)::text[])", as: Int.self) == sample.count)
            }
            #expect(try connection.scalar("SELECT 'x' = ANY(\(bind: ["x", "y"]))", as: Bool.self) == true)
            let withNull = try #require(throws: PostgresError.self) {
                try connection.scalar("SELECT ARRAY['a', NULL]", as: [String].self)
            }
            #expect(withNull.kind == .decoding)
        }
    }
}

@Suite("Prepared statements")
struct PreparedStatementTests {
    /// Prepared once per session and text, executed with new values each time; a statement
    /// deallocated behind pgmend's back (a plan's `DEALLOCATE ALL`) is prepared again once it
    /// is forgotten, instead of failing with "prepared statement does not exist".
    @Test func preparedOnceAndAgainAfterADeallocate() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let preparedCount: SQL = "SELECT count(*) FROM pg_prepared_statements"
            for value in [1, 2, 3] {
                #expect(try connection.queryPrepared("SELECT \(bind: value) + 1").first?.get(0, as: Int.self) == value + 1)
            }
            #expect(try connection.scalar(preparedCount, as: Int.self) == 1)
            // The same text with a parameter of another type is another statement.
            #expect(try connection.queryPrepared("SELECT \(bind: "x") || 'y'").first?.get(0, as: String.self) == "xy")
            #expect(try connection.scalar(preparedCount, as: Int.self) == 2)

            try connection.execute("DEALLOCATE ALL")
            let gone = try #require(throws: PostgresError.self) { try connection.queryPrepared("SELECT \(bind: 4) + 1") }
            #expect(gone.sqlState?.rawValue == "26000")
            try connection.forgetDeallocatedStatements()
            #expect(try connection.queryPrepared("SELECT \(bind: 4) + 1").first?.get(0, as: Int.self) == 5)
            #expect(try connection.scalar(preparedCount, as: Int.self) == 1)
            // A session that still has them keeps them.
            try connection.forgetDeallocatedStatements()
            #expect(try connection.queryPrepared("SELECT \(bind: 5) + 1").first?.get(0, as: Int.self) == 6)
            #expect(try connection.scalar(preparedCount, as: Int.self) == 1)
        }
    }
}
