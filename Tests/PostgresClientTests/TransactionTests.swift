import MendTestSupport
import PostgresClient
import Testing

@Suite("Transactions")
struct TransactionTests {
    struct Oops: Error {}

    @Test func commitsWhenTheBodyReturnsAndRollsBackWhenItThrows() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (id int)")
            try connection.transaction { try $0.query("INSERT INTO t VALUES (\(bind: 1))") }
            #expect(throws: Oops.self) {
                try connection.transaction { connection in
                    try connection.query("INSERT INTO t VALUES (\(bind: 2))")
                    throw Oops()
                }
            }
            #expect(!connection.isInTransaction)
            #expect(try connection.query("SELECT id FROM t").map { try $0.get(0, as: Int.self) } == [1])
        }
    }

    @Test func aNestedTransactionIsASavepoint() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (id int)")
            try connection.transaction { outer in
                try outer.query("INSERT INTO t VALUES (1)")
                _ = try? outer.transaction { inner in
                    try inner.query("INSERT INTO t VALUES (2)")
                    try inner.query("SELECT 1/0")  // fails; only the savepoint rolls back
                }
                try outer.query("INSERT INTO t VALUES (3)")
            }
            #expect(try connection.query("SELECT id FROM t ORDER BY id").map { try $0.get(0, as: Int.self) } == [1, 3])
        }
    }

    @Test func setLocalLastsForTheTransactionOnly() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.transaction(isolation: .repeatableRead, readOnly: true) { tx in
                try tx.setLocal("lock_timeout", "2s")
                #expect(try tx.scalar("SHOW lock_timeout", as: String.self) == "2s")
                #expect(try tx.scalar("SHOW transaction_isolation", as: String.self) == "repeatable read")
                #expect(try tx.scalar("SHOW transaction_read_only", as: String.self) == "on")
            }
            #expect(try connection.scalar("SHOW lock_timeout", as: String.self) == "0")
            let error = try #require(throws: PostgresError.self) { try connection.setLocal("lock_timeout", "1s") }
            #expect(error.kind == .usage)
        }
    }

    /// The kept second connection is reused while nothing changed, and opened again with the
    /// new value when a pinned setting is pinned again (the list of pins keeps its length).
    @Test func aSiblingIsKeptAndFollowsWhatIsPinned() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.pin("TimeZone", "UTC")
            let first = try connection.sibling()
            #expect(try connection.sibling() === first)
            try connection.pin("TimeZone", "Europe/Berlin")
            let second = try connection.sibling()
            #expect(second !== first)
            #expect(try second.scalar("SELECT current_setting('TimeZone')", as: String.self) == "Europe/Berlin")
        }
    }
}
