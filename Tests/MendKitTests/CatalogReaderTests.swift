import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Loads a SQL file from Fixtures/ or Plans/ into a test database with psql.
func loadSQL(_ path: String, into database: TestDatabase, variables: [String: String] = [:]) throws {
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database.conninfo, "-f", packageRoot.appendingPathComponent(path).path]
    for (name, value) in variables { arguments += ["-v", "\(name)=\(value)"] }
    let outcome = try ProcessRunner.run("\(database.cluster.binDirectory)/psql", arguments)
    guard outcome.status == 0 else { throw ClusterFailure("psql \(path) failed: \(outcome.stderr)") }
}

@Suite("Catalog introspection")
struct CatalogReaderTests {
    static let fixture = "Tests/MendKitTests/Fixtures/catalog-features.sql"
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/catalog-features.golden.json")

    @Test func readsEveryKindOfObject() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL(Self.fixture, into: database)
            let schema = try CatalogReader(connection: try database.connect()).readSchema()
            #expect(schema.namespaces == ["audit", "public"])

            let users = try #require(schema.table("users"))
            #expect(users.comment == "people | who log in")
            #expect(users.columns.map(\.name) == ["id", "email", "nickname", "serial_no", "email_lower", "current_mood", "score", "created_at"])
            #expect(users.column("email")?.collation == "pg_catalog.\"C\"")
            #expect(users.column("email")?.comment == "login name")
            #expect(users.column("nickname")?.type == "character varying(40)")
            #expect(users.column("nickname")?.defaultExpression == "'anon'::character varying")
            #expect(users.column("serial_no")?.identity == .byDefault)
            #expect(users.column("email_lower")?.generatedExpression == "lower(email)")
            #expect(users.column("email_lower")?.defaultExpression == nil)
            #expect(users.column("current_mood")?.type == "public.mood")
            #expect(users.column("created_at")?.type == "timestamp without time zone")
            #expect(users.primaryKey?.columns == ["id"])
            #expect(users.primaryKey?.index == "users_pkey")
            #expect(users.constraints["users_nickname_check"]?.validated == false)
            #expect(users.constraints["users_nickname_check"]?.checkExpression == "nickname::text <> ''::text")

            let posts = try #require(schema.table("posts"))
            let foreignKey = try #require(posts.constraints.values.first { $0.kind == .foreignKey })
            #expect(foreignKey.foreignKey == ForeignKey(referencedTable: "public.users", referencedColumns: ["id"], onDelete: .cascade))
            #expect(foreignKey.deferrable && foreignKey.initiallyDeferred)
            #expect(posts.constraints.values.contains { $0.kind == .exclusion })
            let partial = try #require(posts.indexes["posts_user_published_idx"])
            #expect(partial.keys == [IndexKey(expression: "user_id"), IndexKey(expression: "published", descending: true)])
            #expect(partial.include == ["title"])
            #expect(partial.predicate == "published")
            let expression = try #require(posts.indexes["posts_title_lower_idx"])
            #expect(expression.keys == [IndexKey(expression: "lower(title)", isColumn: false, operatorClass: "text_pattern_ops")])
            #expect(posts.indexes["posts_title_c_idx"]?.keys.first?.collation == "C")
            #expect(posts.triggers["posts_note"]?.definition.contains("EXECUTE FUNCTION audit.note()") == true)
            #expect(posts.column("id")?.defaultExpression == "nextval('public.posts_id_seq'::regclass)")

            #expect(schema.table("audit.log")?.persistence == .unlogged)
            #expect(schema.table("measurements")?.kind == .partitioned)
            #expect(schema.table("measurements")?.partitionKey == "RANGE (taken_on)")
            #expect(schema.table("measurements_2026")?.partitionOf == "public.measurements")

            let view = try #require(schema.views["public.published_posts"])
            #expect(view.dependsOn.contains("public.posts.published"))
            #expect(view.dependsOn.contains("public.users.email"))
            #expect(view.columns.map(\.name) == ["id", "title", "email"])
            #expect(schema.views["public.post_counts"]?.materialized == true)
            #expect(schema.views["public.post_counts"]?.indexes["post_counts_user_idx"]?.unique == true)

            #expect(schema.enums["public.mood"]?.labels == ["sad", "ok", "happy"])
            #expect(schema.domains["public.rating"]?.checks == ["rating_range": "CHECK (VALUE >= 1 AND VALUE <= 10)"])
            #expect(schema.domains["public.rating"]?.notNull == true)
            #expect(schema.sequences["audit.ticket_seq"]?.increment == 5)
            #expect(schema.sequences["public.posts_id_seq"]?.ownedBy == "public.posts.id")
            #expect(schema.sequences["public.users_serial_no_seq"]?.ownedBy == "public.users.serial_no")
        }
    }

    @Test func choosesSchemasAndRejectsUnknownOnes() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL(Self.fixture, into: database)
            let reader = CatalogReader(connection: try database.connect())
            let audit = try reader.readSchema(.only(["audit"]))
            #expect(audit.namespaces == ["audit"])
            #expect(audit.tables.keys.sorted() == ["audit.log"])
            let error = try #require(throws: CatalogError.self) { try reader.readSchema(.only(["nope"])) }
            #expect(error.description == "no schema named nope (the database has: audit, public)")
        }
    }

    @Test func thePgmendJournalSchemaIsNeverPartOfASnapshot() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE SCHEMA pgmend; CREATE TABLE pgmend.runs (id int); CREATE TABLE public.t (id int)")
            let schema = try CatalogReader(connection: connection).readSchema()
            #expect(schema.namespaces == ["public"])
            #expect(schema.tables.keys.sorted() == ["public.t"])
        }
    }

    @Test func theSameDatabaseReadsTheSameWhateverTheSessionSettings() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL(Self.fixture, into: database)
            let plain = try CatalogReader(connection: try database.connect()).readSchema()
            let other = try database.connect()
            try other.setSession("search_path", "audit, public")
            try other.setSession("TimeZone", "Asia/Tokyo")
            #expect(try CatalogReader(connection: other).readSchema() == plain)
        }
    }

    /// The catalog queries are prepared once per session, one statement for a whole read and
    /// one for a scoped read. Each table of a scoped read is what the whole read says of it, on
    /// the first read of a session and on later ones, and a plan's SQL that deallocates the
    /// session's prepared statements does not break the next read.
    @Test func scopedAndWholeReadsAgreeAndSurviveADeallocate() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL(Self.fixture, into: database)
            let connection = try database.connect()
            let reader = CatalogReader(connection: connection)
            let scope = [ObjectName(schema: "public", name: "posts")]
            let first = try reader.readSchema(tables: scope)
            let whole = try reader.readSchema()
            #expect(first.tables.keys.sorted() == ["public.posts", "public.users"] && first.views.count == 2)
            #expect(first.sequences.keys.sorted() == ["public.posts_id_seq", "public.users_serial_no_seq"])
            for (key, table) in first.tables { #expect(whole.tables[key] == table) }
            for (key, view) in first.views { #expect(whole.views[key] == view) }
            #expect(first.sequences.keys.allSatisfy { whole.sequences[$0] != nil })

            try connection.execute("DEALLOCATE ALL")
            #expect(try reader.readSchema() == whole)
            try connection.execute("DEALLOCATE ALL")
            #expect(try reader.readSchema(tables: scope) == first)
            #expect(try connection.scalar("SELECT count(*) > 0 FROM pg_prepared_statements", as: Bool.self) == true)
        }
    }

    /// A read over two connections opens the second one on the thread that uses it and hands
    /// it back to be kept: the next such read uses the same server process, and reads the same.
    @Test func aParallelReadKeepsTheSecondConnectionItOpened() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL(Self.fixture, into: database)
            let connection = try database.connect()
            let reader = CatalogReader(connection: connection)
            #expect(connection.usableSibling() == nil)
            let first = try reader.readSchema(parallel: true)
            let kept = try #require(connection.usableSibling())
            let pid = kept.backendPID
            #expect(try reader.readSchema(parallel: true) == first)
            #expect(connection.usableSibling()?.backendPID == pid)
            #expect(try reader.readSchema() == first)
        }
    }

    /// The snapshot JSON of the fixture, byte for byte. Re-record on purpose with
    /// `PGMEND_RECORD=<golden file name> swift test --filter CatalogReader` (see `Golden`).
    @Test func goldenSnapshotJSON() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL(Self.fixture, into: database)
            var snapshot = try SnapshotTaker(connection: try database.connect()).take(includeData: true)
            // What varies from run to run is pinned; everything else must match exactly.
            snapshot.takenAt = "2026-01-01T00:00:00Z"
            snapshot.durationMilliseconds = 0
            snapshot.serverVersion = "15"
            snapshot.database = "fixture"
            snapshot.pgmendVersion = "test"
            let text = try snapshot.jsonText()
            try Golden.check(text, against: Self.golden, suite: Self.self)
        }
    }

    @Test func theDemoDatabaseRoundTripsThroughASnapshotFile() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let snapshot = try SnapshotTaker(connection: connection).take(includeData: true)
            let read = try Snapshot.read(from: Data(try snapshot.jsonText().utf8), source: "memory")
            #expect(read == snapshot)
            #expect(read.schema == (try CatalogReader(connection: connection).readSchema()))
            #expect(read.data?["public.users"]?.rows == 60)
            #expect(snapshot.schema.tables.count >= 20)
        }
    }
}

@Suite("Data fingerprints")
struct DataStatisticsTests {
    @Test func fingerprintsIgnoreRowOrderButNotContent() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE a (id int, at timestamptz, x float8, note text);
                CREATE TABLE b (id int, at timestamptz, x float8, note text);
                INSERT INTO a SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour', g / 3.0, 'n' || g
                  FROM generate_series(1, 500) g;
                INSERT INTO b SELECT * FROM a ORDER BY id DESC;
                """)
            let statistics = DataStatistics(connection: connection)
            func fingerprint(_ table: String) throws -> TableData {
                try connection.transaction {
                    try DataStatistics.pinTextSettings($0)
                    return try statistics.fingerprint(QualifiedName(table))
                }
            }
            #expect(try fingerprint("a") == fingerprint("b"))
            #expect(try fingerprint("a").rows == 500)
            try connection.execute("UPDATE b SET note = 'changed' WHERE id = 250")
            #expect(try fingerprint("a") != fingerprint("b"))
            #expect(try fingerprint("a").rows == fingerprint("b").rows)
        }
    }

    @Test func fingerprintsDoNotDependOnTheSessionTimeZone() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try database.connect().execute(
                "CREATE TABLE t AS SELECT timestamptz '2026-03-01 12:00:00+00' + g * interval '1 minute' AS at, g * 0.1::float8 AS x FROM generate_series(1, 100) g")
            let first = try database.connect()
            let second = try database.connect()
            try second.setSession("TimeZone", "America/Los_Angeles")
            try second.setSession("extra_float_digits", "-3")
            let a = try SnapshotTaker(connection: first).take(includeData: true).data
            let b = try SnapshotTaker(connection: second).take(includeData: true).data
            #expect(a == b)
        }
    }
}
