import Foundation
import MendTestSupport
import PostgresClient
import Testing

@Suite("Connecting")
struct ConnectionTests {
    @Test func connectsWithConninfoAndReportsTheServer() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            #expect(connection.isOpen)
            #expect(connection.database == database.name)
            #expect(connection.user == ThrowawayCluster.superuser)
            #expect(connection.serverVersionNumber >= 100_000)
            let version = try connection.scalar("SHOW server_version", as: String.self)
            #expect(connection.serverVersion == version)
            #expect(try connection.scalar("SELECT current_setting('application_name')", as: String.self) == "pgmend")
        }
    }

    @Test func connectsWithAURIOverTCP() throws {
        let cluster = try ThrowawayCluster.shared()
        try cluster.withFreshDatabase { database in
            let connection = try Connection(cluster.uri(database: database.name))
            #expect(connection.database == database.name)
            #expect(connection.host == "127.0.0.1")
            #expect(try connection.scalar("SELECT inet_server_port()", as: Int.self) == cluster.port)
        }
    }

    @Test func unknownDatabaseIsAConnectionErrorOnOneLine() throws {
        let cluster = try ThrowawayCluster.shared()
        let error = try #require(throws: PostgresError.self) {
            try Connection(cluster.conninfo(database: "no_such_database"))
        }
        #expect(error.kind == .connection)
        #expect(error.description.contains("database \"no_such_database\" does not exist"))
        #expect(!error.description.contains("\n"))
    }

    @Test func serverDownIsAConnectionError() throws {
        let cluster = try ThrowawayCluster.shared()
        let error = try #require(throws: PostgresError.self) {
            try Connection("host=\(cluster.socketDirectory) port=1 dbname=postgres connect_timeout=3")
        }
        #expect(error.kind == .connection)
        #expect(error.description.contains("No such file or directory"))
    }

    @Test func aFailedPasswordNeverAppearsInTheError() throws {
        let cluster = try ThrowawayCluster.shared()
        try cluster.withFreshDatabase { database in
            let admin = try database.connect()
            let role = "pw_\(database.name)"
            try admin.execute("CREATE ROLE \(SQLIdentifier(role)) LOGIN PASSWORD 'right-password-1' IN ROLE \(ident: ThrowawayCluster.passwordLoginRole)")
            defer { _ = try? admin.execute("DROP ROLE \(SQLIdentifier(role))") }

            // The right password works, so the failures below are about the password alone.
            let good = try Connection(cluster.uri(database: database.name, user: role, password: "right-password-1"))
            #expect(good.user == role)

            let secret = "Wr0ng-S3cret-Value"
            let attempts = [
                cluster.uri(database: database.name, user: role, password: secret),
                "host=127.0.0.1 port=\(cluster.port) dbname=\(database.name) user=\(role) password=\(secret)",
                "host=\(cluster.socketDirectory) port=\(cluster.port) dbname=\(database.name) user=\(role) password='\(secret)'",
            ]
            for conninfo in attempts {
                let error = try #require(throws: PostgresError.self) { try Connection(conninfo) }
                #expect(error.kind == .connection)
                #expect(error.sqlState == .invalidPassword)
                #expect(error.description.contains("password authentication failed"))
                for text in [error.description, error.debugDescription, String(describing: error)] {
                    #expect(!text.contains(secret), "password leaked in: \(text)")
                }
            }
        }
    }

    @Test func aMalformedURIDoesNotLeakItsPassword() throws {
        // libpq quotes the offending token of a bad URI; the password is redacted from it.
        let secret = "s3cret%zzvalue"
        let error = try #require(throws: PostgresError.self) {
            try Connection("postgresql://someone:\(secret)@127.0.0.1:1/db")
        }
        #expect(error.kind == .connection)
        #expect(!error.debugDescription.contains("s3cret"))
    }

    @Test func terminatedBackendIsAConnectionLost() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let victim = try database.connect()
            let killer = try database.connect()
            #expect(try killer.scalar("SELECT pg_terminate_backend(\(bind: victim.backendPID))", as: Bool.self) == true)
            let error = try #require(throws: PostgresError.self) { try victim.query("SELECT 1") }
            #expect(error.kind == .connectionLost)
            #expect(!victim.isOpen)
        }
    }

    @Test func noticesReachTheHandler() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            var notices: [PostgresNotice] = []
            connection.onNotice = { notices.append($0) }
            try connection.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful'; END $$")
            #expect(notices.map(\.message) == ["hello 42", "careful"])
            #expect(notices.map(\.severity) == ["NOTICE", "WARNING"])
            #expect(notices.first?.sqlState == SQLState("00000"))
        }
    }

    @Test func aRunningStatementCanBeCancelledFromAnotherThread() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let token = try connection.cancelToken()
            let started = Date()
            let pid = connection.backendPID
            let conninfo = database.conninfo
            Thread.detachNewThread {
                // Cancelled once the server runs it: a cancel that came first would be lost.
                if let observer = try? Connection(conninfo) {
                    try? observer.waitForStatement(of: pid, startingWith: "SELECT pg_sleep(30)")
                }
                try? token.cancel()
            }
            let error = try #require(throws: PostgresError.self) { try connection.query("SELECT pg_sleep(30)") }
            #expect(error.sqlState == .queryCanceled)
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(try connection.scalar("SELECT 1", as: Int.self) == 1)  // still usable
        }
    }
}

@Suite("Connect timeout")
struct ConnectTimeoutTests {
    /// Without a connect_timeout, a host that accepts TCP and never answers hangs libpq for good.
    @Test func aDefaultConnectTimeoutIsAppliedUnlessTheConninfoSaysOtherwise() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let plain = try database.connect()
            let keyword = try Connection(database.conninfo + " connect_timeout=3")
            let uri = try Connection(database.cluster.uri(database: database.name) + "?connect_timeout=4")
            #expect(plain.option("connect_timeout") == "10")
            #expect(keyword.option("connect_timeout") == "3")
            #expect(uri.option("connect_timeout") == "4")
            #expect(plain.option("password") == nil)
        }
    }

    @Test func aHostThatNeverAnswersTimesOutNamingTheHost() throws {
        let server = try SilentServer()
        let started = Date()
        // Released after 8 s whatever happens, so a hang fails the test instead of stopping it.
        DispatchQueue.global().asyncAfter(deadline: .now() + 8) { server.stop() }
        let error = try #require(throws: PostgresError.self) {
            try Connection("host=127.0.0.1 port=\(server.port) dbname=nothing user=nobody connect_timeout=2")
        }
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(error.kind == .connection)
        #expect(error.description.contains("127.0.0.1"), "\(error.description)")
        #expect(error.description.contains("timeout"), "\(error.description)")
    }
}
