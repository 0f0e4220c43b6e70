import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Issue 20, bug 3: one row of a table with a composite primary key was named `(7,abc)` by one
/// report (an assessment's sample) and `7, abc` by another (a backfill's proof). Every report
/// names it as `RowKey` does.
@Suite("Row keys: one name for a row in every report")
struct RowKeyReportTests {
    static let table = ObjectName(schema: "public", name: "readings")
    static let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-rowkey-snapshots").path

    static func setUp(_ connection: Connection) throws {
        try connection.execute("""
            SET search_path = public;
            CREATE TABLE public.readings (site integer, code text, payload jsonb, level integer, PRIMARY KEY (site, code));
            INSERT INTO public.readings VALUES (7, 'abc', '{"level": "high"}', NULL), (10, 'x y', '{"level": 3}', NULL), (9, 'b', '{"level": "low"}', NULL);
            """)
    }

    /// The backfill's proof, read after its batches: rows that break its rule.
    static func backfillSample(_ connection: Connection) throws -> [String] {
        var backfill = Backfill(
            table: table, key: [("site", "integer"), ("code", "text")], assignments: [("level", "0")],
            condition: "level IS DISTINCT FROM 0", matching: 3, sizing: .fixed(10))
        backfill.verify = ("every level is a number", "jsonb_typeof(payload -> 'level') <> 'number'")
        do {
            _ = try backfill.apply(.standalone(connection))
        } catch let partly as PartlyCommitted {
            if let failed = partly.error as? AssertionFailed { return failed.sample }
            throw partly
        }
        Issue.record("the backfill's proof found nothing")
        return []
    }

    /// Two writers of `pgmend.set_aside` for one row of one table: extract_json_fields (a value
    /// that does not convert) and fix_foreign_keys (an orphan set to NULL). On main the first
    /// wrote `(7,abc)` and the second `7, abc`.
    @Test func theJournalNamesARowAlikeWhicheverStepSetItAside() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setUp(connection)
            try connection.execute("""
                CREATE TABLE public.sensors (id integer PRIMARY KEY);
                ALTER TABLE public.readings ADD COLUMN sensor_id integer;
                UPDATE public.readings SET sensor_id = 99 WHERE site = 7;
                """)
            let plan = try writePlan("""
                steps:
                  - extract_json_fields:
                      table: readings
                      column: payload
                      fields:
                        - {name: level, type: integer}
                      on_invalid: "null"
                  - fix_foreign_keys:
                      references:
                        - {from: readings.sensor_id, to: sensors.id}
                      orphans: "null"
                """)
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            let keys = try connection.query("SELECT field, key FROM pgmend.set_aside WHERE key LIKE '%7%' ORDER BY field")
                .map { "\(try $0.get(0, as: String.self)): \(try $0.get(1, as: String.self))" }
            #expect(keys == ["level: (7,abc)", "sensor_id: (7,abc)"])
        }
    }

    /// A backfill's proof names the rows that break its rule as the journal does, in key order
    /// (9 before 10).
    @Test func aBackfillProofNamesRowsByRowKey() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setUp(connection)
            #expect(try Self.backfillSample(connection) == ["(7,abc)", "(9,b)"])
        }
    }

    /// An assertion built over one table lists its sample in key order, not text order: 9
    /// before 10.
    @Test func anAssertionSampleIsInKeyOrder() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setUp(connection)
            try connection.execute("UPDATE public.readings SET code = 'k'")
            let assertion = Assertion(
                "no reading without a level", table: Self.table, key: RowKey(["site", "code"]), where: "level IS NULL")
            #expect(assertion.sql == "SELECT ROW(\"site\", \"code\")::text AS key FROM \"public\".\"readings\" WHERE level IS NULL")
            do {
                _ = try assertion.apply(.standalone(connection))
                Issue.record("the assertion found nothing")
            } catch let failed as AssertionFailed {
                #expect(failed.count == 3)
                #expect(failed.sample == ["(7,k)", "(9,k)", "(10,k)"])
            }
        }
    }
}
