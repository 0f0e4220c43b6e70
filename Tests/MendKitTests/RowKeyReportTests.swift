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
            condition: "level IS DISTINCT FROM 0", matching: 3, batchSize: 10)
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

    @Test func anAssessmentSampleAndABackfillProofNameTheSameRowAlike() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.setUp(connection)
            // The assessment's sample: values of `level` that do not convert to integer.
            let plan = try writePlan("""
                steps:
                  - extract_json_fields:
                      table: readings
                      column: payload
                      fields:
                        - {name: level, type: integer}
                """)
            let report = try Runner(connection: connection, plan: plan).dryRun()
            let step = try #require(report.steps.first)
            let problem = try #require(step.problems.first { $0.sample.contains("(7,abc)") }, "\(step.problems)")
            // The backfill's proof names the same rows the same way, in key order (9 before 10).
            let proof = try Self.backfillSample(connection)
            #expect(proof == ["(7,abc)", "(9,b)"], "assessment: \(problem.sample); backfill: \(proof)")
            #expect(Set(problem.sample) == Set(proof))
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
