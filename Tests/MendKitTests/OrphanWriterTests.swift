import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `fix_foreign_keys` while the application writes, in the manner of `ConcurrentWriterTests`:
///
///     app:    BEGIN; INSERT a parent; INSERT an orphan; DELETE a parent   (holds ROW EXCLUSIVE)
///     pgmend: run the step                                                (waits for its lock)
///     app:    COMMIT                                                      (the lock is granted)
///     pgmend: decides which rows are orphans, archives or journals them, deletes or clears them,
///             adds the constraint
///
/// and a steady stream of writing transactions around a whole run. After each trial every
/// committed row is in the table or in the verified archive, never in both, and what is in the
/// table has its parent.
@Suite("fix_foreign_keys' orphans while the application writes")
struct OrphanWriterTests {
    static let trials = 20

    /// users 1...100; items 1...1000 owned by users 1...100; items 2001...2010 owned by
    /// users 501...510, who do not exist.
    static func create(_ trial: Int, _ connection: Connection) throws -> (users: String, items: String) {
        let users = "users_\(trial)"
        let items = "items_\(trial)"
        try connection.execute(
            """
            CREATE TABLE \(raw: users) (id int PRIMARY KEY);
            CREATE TABLE \(raw: items) (id int PRIMARY KEY, user_id int, v text);
            INSERT INTO \(raw: users) SELECT g FROM generate_series(1, 100) g;
            INSERT INTO \(raw: items) SELECT g, g % 100 + 1, 'v' || g FROM generate_series(1, 1000) g;
            INSERT INTO \(raw: items) SELECT g, g - 1500, 'orphan' || g FROM generate_series(2001, 2010) g;
            """)
        return (users, items)
    }

    /// Every row of `items` as id -> "user_id v" (user_id "-" for NULL).
    static func items(_ table: String, _ connection: Connection) throws -> [Int: String] {
        var rows: [Int: String] = [:]
        for row in try connection.query("SELECT id, coalesce(user_id::text, '-') || ' ' || v FROM \(SQLIdentifier(table))") {
            rows[try row.get(0, as: Int.self)] = try row.get(1, as: String.self)
        }
        return rows
    }

    /// The one orphan archive of `table` in `folder`, restored beside it (checked against its
    /// manifest by the restore): its rows. No archive at all is an empty result.
    static func archivedOrphans(of table: String, in folder: String, database: TestDatabase, _ connection: Connection) throws -> [Int: String] {
        let entries = ArchiveStore(directory: folder).rowArchives(of: ObjectName(parsing: table), database: database.name)
        #expect(entries.count <= 1, "at most one orphan archive of \(table), not \(entries.count)")
        guard let entry = entries.first else { return [:] }
        let manifest = try ArchiveVerifier.verify(directory: entry.path)
        try ArchiveVerifier.verifyFingerprint(directory: entry.path, against: manifest, on: connection)
        _ = try ArchiveRestorer(connection: connection).restore(directory: entry.path, as: "\(table)_orphans")
        return try items("\(table)_orphans", connection)
    }

    static func constraintIsValid(_ table: String, _ connection: Connection) throws -> Bool {
        try connection.scalar(
            "SELECT bool_and(convalidated) AND count(*) = 1 FROM pg_constraint WHERE conrelid = to_regclass(\(bind: table)) AND contype = 'f'", as: Bool.self)
            ?? false
    }

    static func initialItems() -> [Int: String] {
        var rows = Dictionary(uniqueKeysWithValues: (1...1000).map { ($0, "\($0 % 100 + 1) v\($0)") })
        for id in 2001...2010 { rows[id] = "\(id - 1500) orphan\(id)" }
        return rows
    }

    /// Rows committed by the end of the interleaving above: the initial ones, 3001 (a new
    /// orphan) and 3002 (a new item with a parent).
    static func committedByTheApplication() -> [Int: String] {
        var committed = initialItems()
        committed[3001] = "999 late orphan"
        committed[3002] = "1 late child"
        return committed
    }

    /// The orphans once the application committed: 2002...2010 (2001 gained user 501), 3001,
    /// and the ten items of user 100, whom it deleted.
    static let orphansAfterTheApplication = Set((2002...2010) + [3001] + (1...1000).filter { $0 % 100 + 1 == 100 })

    /// One trial of the interleaving above with `orphans` (and its options): the app session
    /// holds its writes while the run waits for its lock, then commits. Returns the items table.
    static func runWhileTheApplicationCommits(
        _ trial: Int, orphans: String, _ database: TestDatabase, _ observer: Connection, snapshots: String
    ) throws -> String {
        let (users, items) = try create(trial, observer)
        let app = try ConcurrentWriterTests.session(database)
        try app.execute(
            """
            BEGIN; INSERT INTO \(raw: users) VALUES (501); INSERT INTO \(raw: items) VALUES (3001, 999, 'late orphan'), (3002, 1, 'late child');
            DELETE FROM \(raw: users) WHERE id = 100
            """)
        let plan = try writePlan(
            "settings: {lock_timeout: 30s}\nsteps:\n  - fix_foreign_keys: {references: [{from: \(items).user_id, to: \(users).id}], \(orphans)}\n")
        let run = ConcurrentWriterTests.apply(plan, on: database, snapshots: snapshots)
        try observer.waitForLockWaiter(on: items)
        try app.execute("COMMIT")
        let report = try run.value()
        #expect(report.outcome == .ok, "trial \(trial): \(report.message ?? "")")
        #expect(try constraintIsValid(items, observer), "trial \(trial)")
        return items
    }

    @Test func deleteDecidesWhichRowsAreOrphansUnderTheLock() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            let folder = ConcurrentWriterTests.scratch("orphans-delete")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            for trial in 1...Self.trials {
                let items = try Self.runWhileTheApplicationCommits(
                    trial, orphans: "orphans: delete, archive_to: '\(folder)'", database, observer, snapshots: folder + "/runs")
                let committed = Self.committedByTheApplication()
                let orphanIDs = Self.orphansAfterTheApplication
                let table = try Self.items(items, observer)
                let archived = try Self.archivedOrphans(of: items, in: folder, database: database, observer)
                #expect(Set(archived.keys).symmetricDifference(orphanIDs).sorted() == [], "trial \(trial): the archive holds what were orphans after the application committed")
                #expect(Set(table.keys).symmetricDifference(Set(committed.keys).subtracting(orphanIDs)).sorted() == [], "trial \(trial): item 2001, which gained its parent, stays")
                #expect(table.merging(archived) { a, _ in a } == committed, "trial \(trial): every committed row is in the table or the archive, as committed")
            }
        }
    }

    @Test func nullJournalsWhatItClearsIncludingARowCommittedWhileItWaited() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            let snapshots = ConcurrentWriterTests.scratch("orphans-null")
            defer { try? FileManager.default.removeItem(atPath: snapshots) }
            for trial in 1...Self.trials {
                let items = try Self.runWhileTheApplicationCommits(trial, orphans: "orphans: 'null'", database, observer, snapshots: snapshots)
                let committed = Self.committedByTheApplication()
                let orphanIDs = Self.orphansAfterTheApplication
                let table = try Self.items(items, observer)
                #expect(Set(table.keys).symmetricDifference(committed.keys).sorted() == [], "trial \(trial): nothing is deleted")
                let cleared = Set(table.filter { $0.value.hasPrefix("- ") }.keys)
                #expect(cleared == orphanIDs, "trial \(trial)")
                // The journal holds each cleared row's key and old value; nothing else.
                var journaled: [Int: String] = [:]
                for row in try observer.query(
                    "SELECT key, column_value FROM pgmend.set_aside WHERE table_name = \(bind: items) AND field = 'user_id'")
                {
                    journaled[Int(try row.get(0, as: String.self)) ?? -1] = try row.get(1, as: String.self)
                }
                let expected = Dictionary(uniqueKeysWithValues: orphanIDs.map { id in (id, String(committed[id]?.split(separator: " ").first ?? "")) })
                #expect(journaled == expected, "trial \(trial)")
            }
        }
    }

    /// The application inserts items (some owned by users that do not exist), adds users and
    /// deletes users, in short transactions, until 50 transactions after the run (enough for
    /// the constraint to refuse some); what it refuses rolls back and did not commit.
    @Test func deleteUnderAStreamOfWritesLosesNoCommittedRow() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let observer = try ConcurrentWriterTests.session(database)
            let folder = ConcurrentWriterTests.scratch("orphans-stream")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            for trial in 1...10 {
                let (users, items) = try Self.create(trial, observer)
                let conninfo = database.conninfo
                let started = DispatchSemaphore(value: 0)
                let done = Flag()
                let app = Background { () -> (committed: [Int: String], transactions: Int, refused: Int) in
                    let connection = try ConcurrentWriterTests.session(conninfo)
                    var committed: [Int: String] = [:]
                    var transactions = 0
                    var refused = 0
                    var next = 100_000
                    var afterDone = 0
                    let deadline = Date().addingTimeInterval(60)
                    while Date() < deadline, afterDone < 50 {
                        if done.isSet { afterDone += 1 }
                        let id = next
                        next += 1
                        // One in five owned by a user who does not exist (yet): 101...120.
                        let owner = id % 5 == 0 ? Int.random(in: 101...120) : Int.random(in: 1...100)
                        do {
                            try connection.execute("BEGIN")
                            try connection.query("INSERT INTO \(raw: items) VALUES (\(bind: id), \(bind: owner), 'new')")
                            try connection.query("SELECT pg_sleep(0.001)")
                            switch id % 7 {
                            case 0: try connection.query("INSERT INTO \(raw: users) VALUES (\(bind: Int.random(in: 101...120))) ON CONFLICT DO NOTHING")
                            case 3: try connection.query("DELETE FROM \(raw: users) WHERE id = \(bind: Int.random(in: 1...120))")
                            default: break
                            }
                            try connection.execute("COMMIT")
                        } catch let error as PostgresError where error.sqlState?.rawValue == "23503" {
                            // foreign_key_violation: the constraint is there and refused it.
                            _ = try? connection.execute("ROLLBACK")
                            refused += 1
                            continue
                        }
                        committed[id] = "\(owner) new"
                        transactions += 1
                        if transactions == 20 { started.signal() }
                    }
                    return (committed, transactions, refused)
                }
                #expect(started.wait(timeout: .now() + 30) == .success, "trial \(trial): the application did not get going")
                let plan = try writePlan(
                    "settings: {lock_timeout: 30s}\nsteps:\n  - fix_foreign_keys: {references: [{from: \(items).user_id, to: \(users).id}], orphans: delete, archive_to: '\(folder)'}\n")
                let report = try ConcurrentWriterTests.apply(plan, on: database, snapshots: folder + "/runs").value()
                done.set()
                let writes = try app.value()
                #expect(report.outcome == .ok, "trial \(trial): \(report.message ?? "") \(report.steps.map { "\($0.problems) \($0.reason ?? "")" })")

                var committed = Self.initialItems()
                committed.merge(writes.committed) { _, new in new }
                let table = try Self.items(items, observer)
                let archived = try Self.archivedOrphans(of: items, in: folder, database: database, observer)
                #expect(Set(table.keys).isDisjoint(with: archived.keys), "trial \(trial): a row is in the table and in the archive")
                let missing = committed.filter { (table[$0.key] ?? archived[$0.key]) != $0.value }.map(\.key).sorted()
                #expect(missing.isEmpty, "trial \(trial): \(missing.count) committed rows are in neither the table nor the archive: \(missing.prefix(10))")
                #expect(table.count + archived.count == committed.count, "trial \(trial)")
                #expect(archived.count >= 10, "trial \(trial): the ten orphans from the start are archived")
                #expect(try Self.constraintIsValid(items, observer), "trial \(trial)")
                #expect(writes.transactions >= 40 && writes.refused > 0, "trial \(trial): \(writes.transactions) committed, \(writes.refused) refused")
            }
        }
    }
}

/// Set once by the test, read by the application's thread.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
