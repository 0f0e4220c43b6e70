import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `extract_json_fields` on the demo database while the application writes `users.metadata`,
/// in the isolation tester's terms: sessions `app` (the application), `observer` and pgmend.
///
/// What the application committed is known exactly: `public.before` holds each row's metadata
/// when the test starts, and each write logs its patch in `public.app_log` in its own
/// transaction. The rule every run is held to (`lostValues`): each committed value of a field is
/// still in the row's metadata, or the key is gone and the column holds that value (cast);
/// every other key holds its last committed value; no row is lost or invented.
@Suite("extract_json_fields while the application writes")
struct ExtractJSONFieldsWriterTests {
    static let snapshots = ExtractJSONFieldsTests.snapshots
    static let fields = ["phone_number", "phone_verified", "phone_verification_attempts", "phone_verified_at", "sms_enabled"]

    static func plan(removeKeys: Bool, batchSize: Int) throws -> Plan {
        try writePlan(ExtractJSONFieldsTests.plan(ExtractJSONFieldsTests.resolved + (removeKeys ? "\n      remove_keys: true" : ""), batchSize: batchSize))
    }

    /// The demo database with `users` users, and the ledger of what the application commits.
    /// `clean`: without the planted values that do not convert (D4 to D7), so every field's
    /// values convert when assessed, and the batches take the plain UPDATE with unchecked
    /// conversions for the rows the assessment read.
    static func load(_ database: TestDatabase, users: Int, clean: Bool = false) throws {
        try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "\(users)"])
        if clean {
            try database.connect().execute("""
                UPDATE public.users SET metadata = metadata - 'phone_verified' WHERE id IN (md5('user-46')::uuid, md5('user-47')::uuid);
                UPDATE public.users SET metadata = metadata - 'phone_verification_attempts' WHERE id = md5('user-48')::uuid;
                UPDATE public.users SET metadata = metadata - 'phone_verified_at' WHERE id = md5('user-49')::uuid;
                UPDATE public.users SET metadata = metadata - 'phone_number' WHERE id = md5('user-38')::uuid;
                """)
        }
        try database.connect().execute("""
            CREATE TABLE public.before AS SELECT id, metadata FROM public.users;
            CREATE TABLE public.app_log (seq bigserial PRIMARY KEY, id uuid NOT NULL, patch jsonb NOT NULL);
            """)
    }

    /// Each committed value that is neither in its row's metadata nor (for the five fields,
    /// key removed) in its column; keys nobody wrote; rows lost or invented. Empty when no
    /// committed value is lost.
    static func lost(_ connection: Connection) throws -> [String] {
        try connection.query(lostValues).map { try $0.get(0, as: String.self) }
    }

    static func expectNothingLost(_ connection: Connection, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let lost = try lost(connection)
        #expect(lost.isEmpty, "committed values lost: \(lost)", sourceLocation: sourceLocation)
    }

    static let lostValues: SQL = """
        WITH patched AS (
          SELECT DISTINCT ON (l.id, e.key) l.id, e.key, e.value
          FROM public.app_log l, jsonb_each(l.patch) e ORDER BY l.id, e.key, l.seq DESC),
        expected AS (
          SELECT id, key, value FROM patched
          UNION ALL
          SELECT b.id, e.key, e.value FROM public.before b, jsonb_each(b.metadata) e
          WHERE NOT EXISTS (SELECT FROM patched p WHERE p.id = b.id AND p.key = e.key))
        SELECT x.id::text || ' ' || x.key || ': committed ' || x.value::text || ', metadata has '
            || coalesce((u.metadata -> x.key)::text, 'no key') || ', column ' || coalesce(CASE x.key
                 WHEN 'phone_number' THEN u.phone_number::text WHEN 'phone_verified' THEN u.phone_verified::text
                 WHEN 'phone_verification_attempts' THEN u.phone_verification_attempts::text
                 WHEN 'phone_verified_at' THEN u.phone_verified_at::text WHEN 'sms_enabled' THEN u.sms_enabled::text END, 'NULL')
        FROM expected x JOIN public.users u USING (id)
        WHERE CASE
          WHEN u.metadata ? x.key THEN u.metadata -> x.key <> x.value
          WHEN x.key <> ALL (ARRAY['phone_number', 'phone_verified', 'phone_verification_attempts', 'phone_verified_at', 'sms_enabled']) THEN true
          WHEN x.value = 'null'::jsonb THEN false
          ELSE NOT coalesce(CASE x.key
            WHEN 'phone_number' THEN u.phone_number = btrim(x.value #>> '{}')
            WHEN 'phone_verified' THEN u.phone_verified::text = x.value #>> '{}'
            WHEN 'phone_verification_attempts' THEN u.phone_verification_attempts::text = x.value #>> '{}'
            WHEN 'phone_verified_at' THEN CASE WHEN x.value #>> '{}' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$'
              THEN u.phone_verified_at = (x.value #>> '{}')::timestamptz ELSE false END
            WHEN 'sms_enabled' THEN u.sms_enabled::text = x.value #>> '{}'
          END, false)
        END
        UNION ALL
        SELECT u.id::text || ' ' || k || ': in metadata, never committed' FROM public.users u, jsonb_object_keys(u.metadata) k
        WHERE NOT EXISTS (SELECT FROM expected x WHERE x.id = u.id AND x.key = k)
        UNION ALL
        SELECT b.id::text || ': row lost' FROM (SELECT id FROM public.before UNION SELECT id FROM public.app_log) b
        WHERE NOT EXISTS (SELECT FROM public.users u WHERE u.id = b.id)
        UNION ALL
        SELECT u.id::text || ': row nobody committed' FROM public.users u
        WHERE NOT EXISTS (SELECT FROM public.before b WHERE b.id = u.id) AND NOT EXISTS (SELECT FROM public.app_log l WHERE l.id = u.id)
        ORDER BY 1 LIMIT 20
        """

    /// The five fields' keys still in metadata, by user ("U38:phone_number"; new users by id).
    static func keysLeft(_ connection: Connection) throws -> [String] {
        try connection.query(keysLeftQuery).map { try $0.get(0, as: String.self) }
    }

    static func expectOnlySetAsideKeysLeft(_ connection: Connection, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let left = try keysLeft(connection)
        #expect(left == plantedKeysLeft, "keys left: \(left)", sourceLocation: sourceLocation)
    }

    static let keysLeftQuery: SQL = """
        SELECT coalesce((SELECT 'U' || i FROM generate_series(1, 60) i WHERE md5('user-' || i)::uuid = u.id), u.id::text) || ':' || k
        FROM public.users u, jsonb_object_keys(u.metadata) k
        WHERE k = ANY(ARRAY['phone_number', 'phone_verified', 'phone_verification_attempts', 'phone_verified_at', 'sms_enabled'])
        ORDER BY 1
        """
    /// What remove_keys leaves of the planted rows: the values set aside (invalid, or a
    /// duplicate kept out by keep_first_by).
    static let plantedKeysLeft = [
        "U38:phone_number", "U44:phone_number", "U45:phone_number", "U46:phone_verified", "U47:phone_verified",
        "U48:phone_verification_attempts", "U49:phone_verified_at",
    ]

    /// The application's session. Each write is one transaction that also logs its patch in
    /// `app_log`, so the log holds exactly what committed. A user is named by the text whose
    /// md5 is its id (`user-17`, `new-3`).
    final class App: @unchecked Sendable {
        let session: NamedSession
        /// Also writes the phone_number column, as code halfway through the migration does.
        let dual: Bool
        private let lock = NSLock()
        private var count = 0

        init(_ database: TestDatabase, name: String = "app", dual: Bool = false) throws {
            session = try NamedSession(name, conninfo: database.conninfo)
            self.dual = dual
        }

        /// Writes committed so far.
        var committed: Int { lock.withLock { count } }

        /// BEGIN, then the update and its log entry; the transaction stays open.
        func begin(updating user: String, with patch: String) throws {
            let column: SQL = dual ? ", phone_number = coalesce(\(bind: patch)::jsonb ->> 'phone_number', phone_number)" : ""
            try session.run { connection in
                try connection.execute("BEGIN")
                let updated = try connection.query("UPDATE public.users SET metadata = metadata || \(bind: patch)::jsonb\(column) WHERE id = md5(\(bind: user))::uuid")
                guard updated.affectedRows == 1 else { throw PostgresError(kind: .usage, message: "app: no user \(user)") }
                try connection.query("INSERT INTO public.app_log (id, patch) VALUES (md5(\(bind: user))::uuid, \(bind: patch)::jsonb)")
            }
        }

        func commit() throws {
            try session.execute("COMMIT")
            lock.withLock { count += 1 }
        }

        func update(_ user: String, with patch: String) throws {
            do {
                try begin(updating: user, with: patch)
                try commit()
            } catch {
                session.rollbackIfOpen()
                throw error
            }
        }

        func insert(_ user: String, metadata: String) throws {
            let column: SQL = dual ? "\(bind: metadata)::jsonb ->> 'phone_number'" : "NULL"
            do {
                try session.run { connection in
                    try connection.execute("BEGIN")
                    try connection.query(
                        "INSERT INTO public.users (id, email, metadata, created_at, phone_number) VALUES (md5(\(bind: user))::uuid, \(bind: user) || '@example.com', \(bind: metadata)::jsonb, now(), \(column))")
                    try connection.query("INSERT INTO public.app_log (id, patch) VALUES (md5(\(bind: user))::uuid, \(bind: metadata)::jsonb)")
                }
                try commit()
            } catch {
                session.rollbackIfOpen()
                throw error
            }
        }

        /// The application's n-th write: a new user with phone keys, or phone keys of an
        /// existing user U50...U`users` (U1...U49 hold the planted rows and their partners).
        /// Every phone number is new. A dual writer writes only phone_number among the five,
        /// with its column, so every row stays as the step's assertion wants it.
        func write(_ n: Int, users: Int) throws {
            let user = "user-\(Int.random(in: 50...users))"
            let phone = String(format: "%07d", n)
            switch (n % 4, dual) {
            case (0, false):
                try insert("new-\(n)", metadata: """
                    {"phone_number": "+1777\(phone)", "phone_verified": "true", "phone_verification_attempts": \(n % 5),
                     "phone_verified_at": "2025-06-01T10:00:00Z", "sms_enabled": \(n % 2 == 0), "app_note": \(n)}
                    """)
            case (0, true):
                try insert("new-\(n)", metadata: #"{"phone_number": "+1777\#(phone)", "theme": "light", "app_note": \#(n)}"#)
            case (1, _):
                try update(user, with: #"{"phone_number": "+1888\#(phone)", "app_note": \#(n)}"#)
            case (2, false):
                try update(user, with: """
                    {"phone_verified": \(n % 3 == 0), "phone_verification_attempts": "\(n % 9)", "phone_verified_at": "2025-07-\(String(format: "%02d", 1 + n % 28))T08:30:00+02:00"}
                    """)
            case (3, false):
                try update(user, with: #"{"sms_enabled": \#(n % 2 == 0), "app_note": "n\#(n)"}"#)
            default:
                try update(user, with: #"{"app_note": "n\#(n)", "theme": "dark"}"#)
            }
        }
    }

    /// The application writing in a loop on a thread of its own, from `start` until `stop`.
    final class AppLoop: @unchecked Sendable {
        let app: App
        let start = DispatchSemaphore(value: 0)
        private let stopped = NSLock()
        private var stopping = false
        private var loop: Background<Int>?

        init(_ app: App, users: Int) {
            self.app = app
            loop = Background { [self] in
                guard start.wait(timeout: .now() + 300) == .success else { return 0 }
                var n = 0
                while !stopped.withLock({ stopping }) {
                    n += 1
                    try app.write(n, users: users)
                    // An application's pace, not a benchmark's: the table grows by a few
                    // hundred users a second, not thousands.
                    Thread.sleep(forTimeInterval: 0.002)
                }
                return n
            }
        }

        /// Stops the loop and returns how many writes it committed (or its error).
        func stop() throws -> Int {
            start.signal()
            stopped.withLock { stopping = true }
            return try loop?.value() ?? 0
        }
    }

    /// pgmend's progress, used as the moment the application acts: after every batch of the
    /// key removal (the second backfill of the run) pgmend waits until the application has
    /// committed again, so writes land between the batches as well as during them.
    final class RemovalBatches: ProgressReporter, @unchecked Sendable {
        let loop: AppLoop
        private let lock = NSLock()
        private var backfillsFinished = 0
        private(set) var batches = 0
        private(set) var writesBetween = 0
        private var seen = 0

        init(_ loop: AppLoop) { self.loop = loop }

        func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
            guard task.hasPrefix("backfill"), lock.withLock({ backfillsFinished == 1 }) else { return }
            batches += 1
            if batches == 1 {
                seen = loop.app.committed
                loop.start.signal()
            }
            let deadline = Date().addingTimeInterval(10)
            while loop.app.committed <= seen && Date() < deadline { Thread.sleep(forTimeInterval: 0.0005) }
            if loop.app.committed > seen { writesBetween += 1 }
            seen = loop.app.committed
        }

        func finish(task: String) {
            if task.hasPrefix("backfill") { lock.withLock { backfillsFinished += 1 } }
        }
    }

    // MARK: 1. remove_keys under a stream of writes

    @Test func removeKeysWhileTheApplicationWritesLosesNoCommittedValue() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let users = 2000
            try Self.load(database, users: users)
            let connection = try database.connect()
            let plan = try Self.plan(removeKeys: true, batchSize: 20)
            let loop = AppLoop(try App(database), users: users)
            let batches = RemovalBatches(loop)
            let first = try Runner(connection: connection, plan: plan, progress: batches).apply(snapshotDirectory: Self.snapshots)
            let writes = try loop.stop()
            #expect(first.outcome == .ok, "\(first.message ?? "")")
            // The removal ran in many batches and the application committed between each two.
            #expect(batches.batches >= 50, "\(batches.batches) removal batches")
            #expect(batches.writesBetween == batches.batches, "\(batches.writesBetween) of \(batches.batches) batches followed by a write")
            #expect(writes >= batches.batches)

            try Self.expectNothingLost(connection)
            // Phone numbers the application changed after the backfill stay in metadata: the
            // column holds the old one.
            let changedAfter = try connection.scalar(
                "SELECT count(*) FROM public.users WHERE metadata ->> 'phone_number' LIKE '+1888%' AND phone_number IS DISTINCT FROM metadata ->> 'phone_number'",
                as: Int.self) ?? 0
            #expect(changedAfter > 0)

            // Without the application, a second run moves what it wrote and converges.
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(second.outcome == .ok, "\(second.message ?? "")")
            try Self.expectNothingLost(connection)
            try Self.expectOnlySetAsideKeysLeft(connection)
            let third = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(third.statementsExecuted == 0, "\(third.steps.map { $0.actions.map(\.summary) })")
        }
    }

    // MARK: 2. A write committed while pgmend waits for its lock

    enum Phase: String, CaseIterable, Sendable {
        /// The backfill of the columns.
        case backfill
        /// The removal of the keys (`remove_keys: true`).
        case removal
    }

    enum Position: String, CaseIterable, Sendable {
        /// Rows the pass has done: one committed, which leaves a row for the final pass, and
        /// one whose transaction is open when that pass locks the table (EXCLUSIVE).
        case behind
        /// A row the pass has yet to reach, its transaction open when the pass gets there:
        /// pgmend's batch waits for the row.
        case ahead
    }

    /// At the first batch of `phase`, the application writes rows around pgmend's cursor and
    /// leaves one transaction open; the test commits it once pgmend waits for it.
    final class WriteAroundCursor: ProgressReporter, @unchecked Sendable {
        let app: App
        let observer: NamedSession
        let phase: Phase
        let position: Position
        let batchSize: Int
        private let lock = NSLock()
        private var backfillsFinished = 0
        private var acted = false
        /// The row whose transaction is left open, and what it wrote.
        private(set) var held: (user: String, patch: String)?
        private(set) var committed: (user: String, patch: String)?
        private(set) var failure: String?
        let opened = DispatchSemaphore(value: 0)

        init(app: App, observer: NamedSession, phase: Phase, position: Position, batchSize: Int) {
            self.app = app
            self.observer = observer
            self.phase = phase
            self.position = position
            self.batchSize = batchSize
        }

        func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
            guard task.hasPrefix("backfill"), lock.withLock({ backfillsFinished == (phase == .backfill ? 0 : 1) && !acted }) else { return }
            acted = true
            do { try act() } catch { failure = String(describing: error) }
            opened.signal()
        }

        func finish(task: String) {
            if task.hasPrefix("backfill") { lock.withLock { backfillsFinished += 1 } }
        }

        /// Users U50... with every phone key, in primary key order: the first batch's (done)
        /// or the last keys of the table (ahead).
        func users(_ count: Int) throws -> [String] {
            let order: SQL = position == .behind ? "" : " DESC"
            let scope: SQL = position == .behind ? "(SELECT id FROM public.users ORDER BY id LIMIT \(literal: batchSize))" : "(SELECT id FROM public.users)"
            return try observer.column(
                """
                SELECT 'user-' || i FROM generate_series(50, 100000) i
                WHERE i % 10 >= 2 AND md5('user-' || i)::uuid IN \(scope) ORDER BY md5('user-' || i)::uuid\(order) LIMIT \(literal: count)
                """)
        }

        func act() throws {
            // The key removal only takes a key whose value equals the column: a patch that
            // writes the column's own value makes the row removable again.
            func own(_ column: String, of user: String) throws -> String {
                try observer.scalar("SELECT to_jsonb(\(ident: column))::text FROM public.users WHERE id = md5(\(bind: user))::uuid", as: String.self) ?? "null"
            }
            switch position {
            case .behind:
                let rows = try users(2)
                guard rows.count == 2 else { throw PostgresError(kind: .usage, message: "no two users behind the cursor") }
                let first = phase == .backfill
                    ? #"{"phone_number": "+18880000001", "sms_enabled": false}"#
                    : #"{"phone_number": "+18880000001", "sms_enabled": \#(try own("sms_enabled", of: rows[0]))}"#
                try app.update(rows[0], with: first)
                committed = (rows[0], first)
                let second = phase == .backfill
                    ? #"{"phone_number": "+18880000002", "phone_verification_attempts": 7}"#
                    : #"{"phone_number": "+18880000002", "phone_verification_attempts": \#(try own("phone_verification_attempts", of: rows[1])), "app_note": "b"}"#
                try app.begin(updating: rows[1], with: second)
                held = (rows[1], second)
            case .ahead:
                let rows = try users(1)
                guard let row = rows.first else { throw PostgresError(kind: .usage, message: "no user ahead of the cursor") }
                let patch = #"{"phone_number": "+18880000003", "phone_verified": false, "app_note": "c"}"#
                try app.begin(updating: row, with: patch)
                held = (row, patch)
            }
        }
    }

    /// Each phase and position on the demo's data; the backfill also on clean data, where its
    /// batches are plain UPDATEs (the others join a subquery).
    static let waitCases: [(Phase, Position, Bool)] =
        Phase.allCases.flatMap { phase in Position.allCases.map { (phase, $0, false) } } + Position.allCases.map { (.backfill, $0, true) }

    @Test(arguments: waitCases)
    func aWriteCommittedWhilePgmendWaitsEndsRight(phase: Phase, position: Position, clean: Bool) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: "wait_\(phase)_\(position)\(clean ? "_clean" : "")") { database in
            try Self.load(database, users: 200, clean: clean)
            let batchSize = 20
            let plan = try Self.plan(removeKeys: phase == .removal, batchSize: batchSize)
            if phase == .backfill {
                let sql = try Runner(connection: database.connect(), plan: plan).dryRun().steps.flatMap(\.actions).map(\.sql).joined()
                #expect(sql.contains("AS v\nWHERE") == !clean, "the batch's form: \(clean ? "plain UPDATE" : "joined subquery")")
            }
            let app = try App(database)
            let observer = try NamedSession("observer", conninfo: database.conninfo)
            defer { app.session.rollbackIfOpen() }
            let moment = WriteAroundCursor(app: app, observer: observer, phase: phase, position: position, batchSize: batchSize)
            let conninfo = database.conninfo
            let run = Background { try Runner(connection: Connection(conninfo), plan: plan, progress: moment).apply(snapshotDirectory: Self.snapshots) }
            #expect(moment.opened.wait(timeout: .now() + 60) == .success, "pgmend reached no batch of the \(phase)")
            #expect(moment.failure == nil, "\(moment.failure ?? "")")
            let held = try #require(moment.held)
            // pgmend waits: for the table, to run the final pass under EXCLUSIVE; for the row, in a batch.
            let waited = try observer.run { try $0.waitForLockWait(by: "pgmend") }
            #expect(waited == (position == .behind ? "relation ExclusiveLock" : "transactionid ShareLock"))
            try app.commit()
            let report = try run.value()
            #expect(report.outcome == .ok, "\(report.message ?? "")")

            let connection = try database.connect()
            try Self.expectNothingLost(connection)
            let heldPhone = try #require(held.patch.firstMatch(of: #/\+1888[0-9]{7}/#).map { String($0.output) })
            switch phase {
            case .backfill:
                // Every row's columns are its JSON's, the rows written around the cursor too.
                #expect(try connection.scalar(.unsafeRaw(ExtractJSONFieldsTests.expected), as: Int.self) == 0)
                #expect(try connection.scalar("SELECT phone_number FROM public.users WHERE id = md5(\(bind: held.user))::uuid", as: String.self) == heldPhone)
                if let committed = moment.committed {
                    #expect(try connection.scalar("SELECT sms_enabled FROM public.users WHERE id = md5(\(bind: committed.user))::uuid", as: Bool.self) == false)
                    #expect(try connection.scalar("SELECT phone_verification_attempts FROM public.users WHERE id = md5(\(bind: held.user))::uuid", as: Int.self) == 7)
                }
            case .removal:
                // The new number stays in metadata (its column holds the old one); the keys
                // written with their column's value are gone.
                #expect(try connection.scalar("SELECT metadata ->> 'phone_number' FROM public.users WHERE id = md5(\(bind: held.user))::uuid", as: String.self) == heldPhone)
                if let committed = moment.committed {
                    #expect(try connection.scalar("SELECT metadata ? 'sms_enabled' FROM public.users WHERE id = md5(\(bind: committed.user))::uuid", as: Bool.self) == false)
                    #expect(try connection.scalar("SELECT metadata ? 'phone_verification_attempts' FROM public.users WHERE id = md5(\(bind: held.user))::uuid", as: Bool.self) == false)
                }
                let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
                #expect(second.outcome == .ok, "\(second.message ?? "")")
                try Self.expectNothingLost(connection)
                #expect(try connection.scalar("SELECT phone_number FROM public.users WHERE id = md5(\(bind: held.user))::uuid", as: String.self) == heldPhone)
                try Self.expectOnlySetAsideKeysLeft(connection)
                let third = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
                #expect(third.statementsExecuted == 0)
            }
        }
    }

    /// The application changed a value after a run with remove_keys: the next run moves it
    /// to the column and, in the same run, removes its key. When assessed, no key is
    /// removable (the column still holds the old value); after the backfill this one is.
    @Test func aRunThatMovesAChangedValueAlsoRemovesItsKey() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.load(database, users: 60)
            let connection = try database.connect()
            let plan = try Self.plan(removeKeys: true, batchSize: 7)
            let first = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(first.outcome == .ok, "\(first.message ?? "")")
            try Self.expectOnlySetAsideKeysLeft(connection)
            let app = try App(database)
            try app.update("user-50", with: #"{"phone_number": "+18880000050", "sms_enabled": false}"#)
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(second.outcome == .ok, "\(second.message ?? "")")
            #expect(try connection.scalar("SELECT phone_number || ' ' || sms_enabled FROM public.users WHERE id = md5('user-50')::uuid", as: String.self) == "+18880000050 false")
            try Self.expectNothingLost(connection)
            // The same run removed the keys it moved: a third run has nothing left to do.
            try Self.expectOnlySetAsideKeysLeft(connection)
            let third = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(third.statementsExecuted == 0, "\(third.steps.map { $0.actions.map(\.summary) })")
        }
    }

    // MARK: 3. Killed during the key removal while the application writes

    /// Every row of users that the application never wrote, as text, by id.
    static func rowsNobodyWrote(_ connection: Connection) throws -> [String: String] {
        var rows: [String: String] = [:]
        for row in try connection.query(
            """
            SELECT id::text, concat(metadata::text, ' | ', coalesce(phone_number, 'NULL'), ' | ', coalesce(phone_verified::text, 'NULL'), ' | ',
              coalesce(phone_verification_attempts::text, 'NULL'), ' | ', coalesce(phone_verified_at::text, 'NULL'), ' | ', coalesce(sms_enabled::text, 'NULL'))
            FROM public.users u WHERE NOT EXISTS (SELECT FROM public.app_log l WHERE l.id = u.id)
            """)
        {
            rows[try row.get(0, as: String.self)] = try row.get(1, as: String.self)
        }
        return rows
    }

    /// The journal of set-aside values, one line each, run numbers left out.
    static func setAside(_ connection: Connection) throws -> [String] {
        try connection.query(
            "SELECT concat_ws(' ', key, field, reason, coalesce(json_value::text, '-'), coalesce(column_value, '-')) FROM pgmend.set_aside ORDER BY 1"
        ).map { try $0.get(0, as: String.self) }
    }

    /// Effects of the first run: add columns, journal, backfill (whose last read is the proof),
    /// index, removal (5).
    @Test(arguments: ["inside:5", "after:5"])
    func killedDuringTheKeyRemovalWhileTheApplicationWritesEndsAsAnUninterruptedRun(fault: String) throws {
        let users = 1500
        let batchSize = 20
        let planText = ExtractJSONFieldsTests.plan(ExtractJSONFieldsTests.resolved + "\n      remove_keys: true", batchSize: batchSize)
        // The uninterrupted run, on a database of its own, without the application.
        let reference = try ThrowawayCluster.shared().withFreshDatabase(label: "kill_reference") { database in
            try Self.load(database, users: users)
            let connection = try database.connect()
            let report = try Runner(connection: connection, plan: try writePlan(planText)).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            return (rows: try Self.rowsNobodyWrote(connection), setAside: try Self.setAside(connection))
        }
        try ThrowawayCluster.shared().withFreshDatabase(label: "kill_\(fault)") { database in
            try Self.load(database, users: users)
            let connection = try database.connect()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-extract-kill-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let planPath = folder.appendingPathComponent("extract.yaml").path
            try "name: extract\n\(planText)".write(toFile: planPath, atomically: true, encoding: .utf8)
            let plan = try PlanLoader.load(path: planPath)
            let actions = try Runner(connection: connection, plan: plan).dryRun().steps.first?.actions.map(\.summary) ?? []
            #expect(actions.count == 5 && actions.last?.contains("remove from metadata the keys") == true, "\(actions)")
            func run(fault: String?) throws -> ProcessOutcome {
                try PgMendBinary.run(
                    ["run", "extract", "--plans", folder.path, "--db", database.conninfo, "--yes", "--snapshots", folder.appendingPathComponent("runs").path],
                    environment: fault.map { ["PGMEND_FAULT": $0] } ?? [:])
            }

            // The application writes the whole time, as code halfway through the migration
            // does: phone_number with its column, other keys, new users.
            let loop = AppLoop(try App(database, dual: true), users: users)
            loop.start.signal()
            let warmUp = Date().addingTimeInterval(30)
            while loop.app.committed < 20 && Date() < warmUp { Thread.sleep(forTimeInterval: 0.001) }
            let first = try run(fault: fault)
            let duringFirst = loop.app.committed
            #expect(first.status == 128 + 9, "the first run was killed: \(first.stdout)\(first.stderr)")
            #expect(first.stderr.contains("PGMEND_FAULT=\(fault)"), "\(first.stderr)")
            if fault.hasPrefix("inside") {
                // Killed halfway: some rows lost their keys, some still have them.
                let (gone, kept) = try #require(try connection.query(
                    """
                    SELECT count(*) FILTER (WHERE NOT u.metadata ?| \(bind: Self.fields)::text[]), count(*) FILTER (WHERE u.metadata ?| \(bind: Self.fields)::text[])
                    FROM public.users u JOIN public.before b USING (id)
                    WHERE b.metadata ?| \(bind: Self.fields)::text[] AND NOT EXISTS (SELECT FROM public.app_log l WHERE l.id = u.id)
                    """
                ).first.map { (try $0.get(0, as: Int.self), try $0.get(1, as: Int.self)) })
                #expect(gone > 0 && kept > 0, "\(gone) rows without their keys, \(kept) with")
            }
            let second = try run(fault: nil)
            let writes = try loop.stop()
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            #expect(writes > duringFirst, "the application wrote during the second run too")
            try Self.expectNothingLost(connection)

            // Without the application: what it wrote last is moved too, then nothing is left.
            let third = try run(fault: nil)
            #expect(third.status == 0, "\(third.stdout)\(third.stderr)")
            try Self.expectNothingLost(connection)
            try Self.expectOnlySetAsideKeysLeft(connection)
            let untouched = try Self.rowsNobodyWrote(connection)
            let written = try connection.scalar("SELECT count(DISTINCT id) FROM public.app_log WHERE id IN (SELECT id FROM public.before)", as: Int.self) ?? 0
            #expect(untouched.count + written == reference.rows.count)
            let differing = untouched.filter { reference.rows[$0.key] != $0.value }.map(\.key).sorted()
            #expect(differing.isEmpty, "\(differing.count) rows differ from the uninterrupted run's: \(differing.prefix(5).map { "\($0): \(untouched[$0] ?? "") vs \(reference.rows[$0] ?? "")" })")
            #expect(try Self.setAside(connection) == reference.setAside)
            let fourth = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(fourth.statementsExecuted == 0, "\(fourth.steps.map { $0.actions.map(\.summary) })")
        }
    }

    // MARK: 4. The acceptance's remove_keys, on every row

    /// After `remove_keys`, on the demo database without a writer: every column equals the
    /// value its key held (cast), on every row; the keys left are exactly those of values set
    /// aside; the journal holds exactly the set-aside rows, each with its JSON and old column value.
    @Test func afterRemoveKeysEveryColumnEqualsWhatItsKeyHeldAndTheJournalHoldsExactlyTheSetAsideRows() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.load(database, users: 60)
            let connection = try database.connect()
            let report = try Runner(connection: connection, plan: try Self.plan(removeKeys: true, batchSize: 7)).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            // ExtractJSONFieldsTests.expected, each row judged by the metadata it had before.
            let againstBefore = ExtractJSONFieldsTests.expected
                .replacingOccurrences(of: "u.metadata", with: "b.metadata")
                .replacingOccurrences(of: "FROM public.users u WHERE", with: "FROM public.users u JOIN public.before b USING (id) WHERE")
            #expect(againstBefore.contains("JOIN public.before b") && !againstBefore.contains("u.metadata"))
            #expect(try connection.scalar("SELECT count(*) FROM public.users", as: Int.self) == 60)
            #expect(try connection.scalar(.unsafeRaw(againstBefore), as: Int.self) == 0)
            try Self.expectNothingLost(connection)
            try Self.expectOnlySetAsideKeysLeft(connection)
            let journaled = try connection.query(
                """
                SELECT (SELECT i FROM generate_series(1, 60) i WHERE md5('user-' || i)::uuid::text = s.key) || ' ' || field || ' ' || reason || ' '
                  || (json_value #>> '{}') || ' ' || coalesce(column_value, '-')
                FROM pgmend.set_aside s ORDER BY (SELECT i FROM generate_series(1, 60) i WHERE md5('user-' || i)::uuid::text = s.key), field
                """
            ).map { try $0.get(0, as: String.self) }
            #expect(journaled == [
                "23 phone_number prefer: json +15550000023 +15559990023",
                "27 phone_number prefer: json +15550000027 +15559990027",
                "31 phone_number prefer: json +15550000031 +15559990031",
                "38 phone_number on_invalid: null +1 (555) 000-0038 ext. 4411 -",
                "44 phone_number on_conflict: keep_first_by +15550000004 -",
                "45 phone_number on_conflict: keep_first_by +15550000005 -",
                "46 phone_verified on_invalid: null yes-ish -",
                "47 phone_verified on_invalid: null maybe -",
                "48 phone_verification_attempts on_invalid: null three -",
                "49 phone_verified_at on_invalid: null last tuesday -",
            ])
            // Each journaled JSON value is what the row's key held before the run.
            #expect(try connection.scalar(
                "SELECT count(*) FROM pgmend.set_aside s LEFT JOIN public.before b ON b.id::text = s.key WHERE b.metadata -> s.field IS DISTINCT FROM s.json_value",
                as: Int.self) == 0)
            let second = try Runner(connection: connection, plan: try Self.plan(removeKeys: true, batchSize: 7)).apply(snapshotDirectory: Self.snapshots)
            #expect(second.statementsExecuted == 0)
            #expect(try connection.scalar("SELECT count(*) FROM pgmend.set_aside", as: Int.self) == 10)
        }
    }
}
