import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Partitioned tables and inheritance parents (issue 19, item 9): `archive_table` and
/// `drop_table` handle one ordinary table; a table whose rows are (partly) in other tables is
/// blocked in the dry run with the reason, never archived or dropped as a subset.
@Suite("archive_table and drop_table on partitioned tables and inheritance parents")
struct TableHierarchyTests {
    static let tables: SQL = """
        CREATE TABLE public.events (id int NOT NULL, body text) PARTITION BY RANGE (id);
        CREATE TABLE public.events_low PARTITION OF public.events FOR VALUES FROM (0) TO (500);
        CREATE TABLE public.events_high PARTITION OF public.events FOR VALUES FROM (500) TO (1000);
        INSERT INTO public.events SELECT g, 'event ' || g FROM generate_series(1, 999) g;
        CREATE TABLE public.unused (id int NOT NULL) PARTITION BY LIST (id);
        CREATE TABLE public.animals (id int PRIMARY KEY, name text);
        CREATE TABLE public.dogs (breed text) INHERITS (public.animals);
        INSERT INTO public.dogs SELECT g, 'dog ' || g, 'mixed' FROM generate_series(1, 300) g;
        """

    /// Every row, counted as the superuser sees it through the table (children included).
    static func rows(_ connection: Connection, _ table: String) throws -> Int {
        try connection.scalar("SELECT count(*) FROM \(raw: table)", as: Int.self) ?? -1
    }

    @Test(arguments: [
        ("archive_table: {table: events, to: FOLDER}", "events is a partitioned table: its rows are in its partitions (events_high, events_low)"),
        ("drop_table: {table: events}", "events is a partitioned table: its rows are in its partitions (events_high, events_low)"),
        ("drop_table: {table: events, require_archive: false}", "events is a partitioned table"),
        ("archive_table: {table: animals, to: FOLDER}", "animals has inheritance children (dogs)"),
        ("drop_table: {table: animals}", "animals has inheritance children (dogs)"),
        ("archive_table: {table: unused, to: FOLDER}", "unused is a partitioned table without partitions"),
    ])
    func blockedInTheDryRunAndNothingHappens(step: String, reason: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase(label: "hierarchy") { database in
            let connection = try database.connect()
            try connection.execute(Self.tables)
            let folder = ArchiveTests.scratch("hierarchy")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try writePlan("steps:\n  - \(step.replacingOccurrences(of: "FOLDER", with: folder))\n")

            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.outcome == .blocked, "\(RunReportText(dry).text)")
            #expect(dry.steps.first?.problems.first?.message.contains(reason) == true, "\(RunReportText(dry).text)")

            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder + "/snapshots")
            #expect(report.outcome == .blocked, "\(RunReportText(report).text)")
            #expect(report.statementsExecuted == 0)
            #expect(try Self.rows(connection, "events") == 999)
            #expect(try Self.rows(connection, "events_low") == 499)
            #expect(try Self.rows(connection, "animals") == 300)
            #expect(try Self.rows(connection, "dogs") == 300)
            #expect(try ArchiveTests.exists("unused", connection))
            #expect(ArchiveStore(directory: folder).entries().isEmpty)
        }
    }

    /// What the operator is told to do works: each partition is an ordinary table, archived
    /// with all its rows, and the emptied partitioned table is then dropped; the child of an
    /// inheritance parent likewise, then the parent (empty of its own rows).
    @Test func partitionsAndChildrenOneByOneThenTheParent() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.tables)
            let folder = ArchiveTests.scratch("hierarchy-parts")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try writePlan(
                """
                steps:
                  - archive_table: {tables: [events_low, events_high, dogs], to: \(folder)}
                  - drop_table: {table: events}
                  - drop_table: {table: animals}
                  - drop_table: {table: unused}

                """)
            // The partitioned table is judged once its partitions are archived; an inheritance
            // parent's children are not in pgmend's model, so its step is blocked until then.
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.steps.map(\.status) == [.needed, .waiting, .blocked, .needed], "\(RunReportText(dry).text)")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder + "/snapshots")
            #expect(report.outcome == .ok, "\(RunReportText(report).text)")
            for table in ["events", "events_low", "events_high", "animals", "dogs", "unused"] {
                #expect(try !ArchiveTests.exists(table, connection), "\(table)")
            }
            let archived = ArchiveStore(directory: folder).entries(database: database.name)
            let counts = Dictionary(uniqueKeysWithValues: archived.compactMap { $0.manifest.map { ($0.table, $0.rows) } })
            #expect(counts == ["events_low": 499, "events_high": 500, "dogs": 300])
            // A partition comes back as an ordinary table with all its rows.
            let low = try #require(archived.first { $0.manifest?.table == "events_low" })
            let restored = try ArchiveRestorer(connection: connection).restore(directory: low.path)
            #expect(restored.rows == 499)
            #expect(try Self.rows(connection, "events_low") == 499)
        }
    }

    /// A partition attached between the assessment and the lock: the empty partitioned table
    /// is not dropped, and the rows of the new partition with it.
    @Test func aPartitionAttachedAfterTheAssessmentKeepsTheTable() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.tables)
            let context = EffectContext.standalone(connection)
            try connection.execute("CREATE TABLE public.unused_one PARTITION OF public.unused FOR VALUES IN (1); INSERT INTO public.unused VALUES (1)")
            let error = try #require(throws: ChangedUnderLock.self) {
                try DropIfEmpty(ObjectName(schema: "public", name: "unused")).apply(context)
            }
            #expect(error.description.contains("1 partition or inheritance child now"), "\(error)")
            #expect(try Self.rows(connection, "unused") == 1)
        }
    }
}
