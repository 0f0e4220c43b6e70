import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import Testing

/// The backfill's proof reads only the rows its own batches did not write (a row a batch wrote
/// holds what the batch computed from that very version), and a batch converts the rows the
/// assessment read without the checks. Both rest on xmin: a row the application writes during
/// the run, behind the cursor or ahead of it, has a new one, and is checked as if nothing were
/// known about it.
@Suite("extract_json_fields: the proof and the unchecked conversions see what the application wrote")
struct ExtractJSONFieldsProofTests {
    static let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-extract-json-proof").path

    /// `workers`: the first pass on that many connections at once (`batch_workers`).
    static func plan(workers: Int) -> String {
        """
        settings: {batch_size: 10, batch_workers: \(workers)}
        steps:
          - extract_json_fields:
              table: users
              column: metadata
              fields:
                - {name: phone_number, type: "varchar(20)", unique: true, trim: true}
                - {name: phone_verification_attempts, type: integer, default: 0}
                - {name: phone_verified_at, type: timestamptz}
        """
    }

    /// The unique phone number alone, with `option` (how conflicts or differing columns resolve).
    static func phoneOnlyPlan(workers: Int, trim: Bool, _ option: String) -> String {
        """
        settings: {batch_size: 10, batch_workers: \(workers)}
        steps:
          - extract_json_fields:
              table: users
              column: metadata
              fields:
                - {name: phone_number, type: "varchar(20)", unique: true\(trim ? ", trim: true" : "")}
              \(option)
        """
    }

    /// 200 clean users: every value converts, so nothing blocks and `on_invalid: fail` holds.
    static func load(_ connection: Connection) throws {
        try connection.execute("""
            CREATE TABLE public.users (id bigint PRIMARY KEY, metadata jsonb NOT NULL);
            INSERT INTO public.users
            SELECT i, jsonb_build_object('phone_number', '+1555' || lpad(i::text, 7, '0'), 'phone_verification_attempts', i % 4,
                                         'phone_verified_at', '2025-01-02T03:04:05Z')
            FROM generate_series(1, 200) i;
            """)
    }

    /// After the fifth batch (users 1 to 50 written), the application commits `writes`.
    final class WritesAfterFiveBatches: ProgressReporter, @unchecked Sendable {
        let connection: Connection
        let writes: [SQL]
        var batches = 0
        var wrote = false
        init(_ connection: Connection, _ writes: [SQL]) {
            self.connection = connection
            self.writes = writes
        }
        func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
            guard task.hasPrefix("backfill") else { return }
            batches += 1
            guard batches == 5, !wrote else { return }
            wrote = true
            for write in writes { try! connection.execute(write) }
        }
        func finish(task: String) {}
    }

    static func patch(_ id: Int, _ json: String) -> SQL {
        "UPDATE public.users SET metadata = metadata || \(literal: json)::jsonb WHERE id = \(literal: id)"
    }

    /// The 200 users loaded, then the plan run on `workers` connections while the application
    /// commits `writes` after the fifth batch: the run's connection, its plan, its report, and
    /// whether the application wrote.
    static func runWhileWriting(
        _ database: TestDatabase, workers: Int, _ writes: [SQL]
    ) throws -> (connection: Connection, plan: Plan, report: RunReport, wrote: Bool) {
        let connection = try database.connect()
        try load(connection)
        try connection.execute("ANALYZE public.users")
        let writer = WritesAfterFiveBatches(try database.connect(), writes)
        let plan = try writePlan(plan(workers: workers))
        let report = try Runner(connection: connection, plan: plan, progress: writer).apply(snapshotDirectory: snapshots)
        return (connection, plan, report, writer.wrote)
    }

    @Test(arguments: [1, 2])
    func valuesWrittenBehindAndAheadOfTheCursorEndInTheirColumns(workers: Int) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let (connection, plan, report, wrote) = try Self.runWhileWriting(database, workers: workers, [
                // Behind the cursor: rows a batch already wrote. Ahead: rows the assessment read.
                Self.patch(7, #"{"phone_verification_attempts": 42}"#),
                Self.patch(8, #"{"phone_verified_at": "2024-02-29T23:59:59+05:30"}"#),
                Self.patch(150, #"{"phone_verification_attempts": "5"}"#),
                Self.patch(151, #"{"phone_verification_attempts": 3.0, "phone_number": " +19990000151 "}"#),
                "INSERT INTO public.users VALUES (1000, '{\"phone_verification_attempts\": \"1e1\", \"phone_number\": \"+1777\"}')",
            ])
            #expect(wrote, "the application wrote during the backfill")
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            let rows = try connection.query(
                "SELECT id, phone_verification_attempts, phone_number, phone_verified_at AT TIME ZONE 'UTC' FROM public.users WHERE id IN (7, 8, 150, 151, 1000) ORDER BY id"
            ).map { try "\($0.get(0, as: Int.self)) \($0.get(1, as: Int.self)) \($0.get(2, as: String.self)) \($0.get(3, as: String?.self) ?? "-")" }
            #expect(rows == [
                "7 42 +15550000007 2025-01-02 03:04:05", "8 0 +15550000008 2024-02-29 18:29:59", "150 5 +15550000150 2025-01-02 03:04:05",
                "151 3 +19990000151 2025-01-02 03:04:05", "1000 10 +1777 -",
            ])
            let wrong = try connection.scalar(
                """
                SELECT count(*) FROM public.users WHERE phone_number IS DISTINCT FROM btrim(metadata->>'phone_number')
                   OR phone_verification_attempts IS DISTINCT FROM coalesce((metadata->>'phone_verification_attempts')::numeric::int, 0)
                   OR phone_verified_at IS DISTINCT FROM (metadata->>'phone_verified_at')::timestamptz
                """, as: Int.self)
            #expect(wrong == 0)
            #expect(try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots).statementsExecuted == 0)
        }
    }

    /// A value that does not convert, written during the run into a row a batch already wrote
    /// (the proof must not skip it for that) and into a row the assessment read as clean (the
    /// batch must not convert it unchecked): the step fails naming both, and writes neither.
    @Test(arguments: [1, 2])
    func aValueThatDoesNotConvertWrittenDuringTheRunFailsTheStepNamingItsRow(workers: Int) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let (connection, _, report, wrote) = try Self.runWhileWriting(database, workers: workers, [
                Self.patch(3, #"{"phone_verification_attempts": "3x"}"#),
                Self.patch(150, #"{"phone_verified_at": "2025-02-30T00:00:00Z", "phone_verification_attempts": 9}"#),
            ])
            #expect(wrote)
            #expect(report.outcome != .ok)
            let message = report.message ?? ""
            #expect(message.contains("do not convert") && message.contains("2 rows"), "\(message)")
            // In key order, not text order.
            #expect(message.contains("(primary keys: 3, 150)"), "\(message)")
            // Row 150's other values were not written either: the batch left the row alone.
            #expect(try connection.scalar("SELECT phone_verification_attempts FROM public.users WHERE id = 150", as: Int.self) == 0)
            #expect(try connection.scalar("SELECT phone_verification_attempts FROM public.users WHERE id = 3", as: Int.self) == 3)
        }
    }
}

extension ExtractJSONFieldsProofTests {
    /// A unique field whose column is missing is counted from its value's text alone: keys,
    /// values accepted in another form (trimmed), values that do not convert, and repeats.
    @Test func aMissingUniqueColumnIsCountedFromItsValue() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.users (id bigint PRIMARY KEY, metadata jsonb NOT NULL);
                INSERT INTO public.users VALUES
                  (1, '{"phone_number": "+1"}'), (2, '{"phone_number": " +2 "}'), (3, '{"phone_number": "+1 (555) 000-0038 ext. 4411"}'),
                  (4, '{"phone_number": "+1"}'), (5, '{"phone_number": null}'), (6, '{}'), (7, '{"phone_number": {"a": 1}}');
                """)
            let plan = try writePlan("""
                steps:
                  - extract_json_fields:
                      table: users
                      column: metadata
                      fields:
                        - {name: phone_number, type: "varchar(20)", unique: true, trim: true}
                      on_invalid: "null"
                      on_conflict: {keep_first_by: id}
                """)
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            let summaries = dry.steps.flatMap(\.actions).map(\.summary).joined(separator: "\n")
            #expect(summaries.contains("phone_number: 5 with the key, 1 accepted in another form, 2 not convertible: NULL instead of their value (kept in the JSON), 1 set aside by keep_first_by ('+1' held by 1 (id 1) keeps it, 4 (id 4))"), "\(summaries)")
            #expect(summaries.contains("update 5 rows of users"), "\(summaries)")
        }
    }
}

/// Decisions made when assessed that the application's writes during the run overturn: a row
/// set aside by `keep_first_by` that the application gives a fresh number, and (`prefer: json`)
/// a number the application removes from the JSON.
extension ExtractJSONFieldsProofTests {
    /// 200 users, each with a phone number in metadata and a creation time in key order.
    static func loadPhones(_ connection: Connection, extra: SQL) throws {
        try connection.execute("""
            CREATE TABLE public.users (id bigint PRIMARY KEY, created_at timestamp NOT NULL, metadata jsonb NOT NULL, phone_number varchar(20));
            INSERT INTO public.users
            SELECT i, timestamp '2026-01-01' + i * interval '1 hour', jsonb_build_object('phone_number', '+1555' || lpad(i::text, 7, '0'))
            FROM generate_series(1, 200) i;
            \(extra)
            ANALYZE public.users;
            """)
    }

    static func phones(_ connection: Connection, _ ids: [Int]) throws -> [String] {
        try connection.query("SELECT id || ' ' || coalesce(phone_number, 'NULL') FROM public.users WHERE id = ANY(\(bind: ids.map(String.init))::bigint[]) ORDER BY id")
            .map { try $0.get(0, as: String.self) }
    }

    /// Users 20, 150 and 180 share the numbers of users 3, 4 and 5, and 160 and 170 both hold
    /// `""`: keep_first_by sets 20, 150, 170 and 180 aside. During the backfill the application
    /// gives 20 (behind the cursor), 150 and 170 (ahead) fresh numbers: they end with them,
    /// 180 still loses its group and keeps NULL, and a dry run right after has nothing to do.
    @Test(arguments: [1, 2])
    func aSetAsideRowTheApplicationGivesAFreshNumberEndsWithIt(workers: Int) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.loadPhones(connection, extra: """
                UPDATE public.users u SET metadata = jsonb_build_object('phone_number', '+1555' || lpad(d.original::text, 7, '0'))
                FROM (VALUES (20, 3), (150, 4), (180, 5)) d(id, original) WHERE u.id = d.id;
                UPDATE public.users SET metadata = '{"phone_number": ""}' WHERE id IN (160, 170);
                """)
            let plan = try writePlan(Self.phoneOnlyPlan(workers: workers, trim: true, "on_conflict: {keep_first_by: created_at}"))
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.steps.flatMap(\.actions).map(\.summary).joined().contains("4 set aside by keep_first_by"))
            let writer = WritesAfterFiveBatches(try database.connect(), [
                Self.patch(20, #"{"phone_number": "+19990000020"}"#),
                Self.patch(150, #"{"phone_number": "+19990000150"}"#),
                Self.patch(170, #"{"phone_number": " +19990000170 "}"#),
            ])
            let report = try Runner(connection: connection, plan: plan, progress: writer).apply(snapshotDirectory: Self.snapshots)
            #expect(writer.wrote, "the application wrote during the backfill")
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try Self.phones(connection, [3, 4, 5, 20, 150, 160, 170, 180]) == [
                "3 +15550000003", "4 +15550000004", "5 +15550000005", "20 +19990000020", "150 +19990000150", "160 ", "170 +19990000170", "180 NULL",
            ])
            let after = try Runner(connection: connection, plan: plan).dryRun()
            #expect(after.steps.first?.status == .satisfied, "\(after.steps.flatMap(\.actions).map(\.summary))")
        }
    }

    /// `prefer: json`, the column already set for even users: during the backfill the
    /// application removes user 8's number (behind the cursor) and 150's (ahead) from the JSON and
    /// writes null as 152's: their columns are cleared, and a dry run right after has nothing to do.
    @Test(arguments: [1, 2])
    func withPreferJSONANumberTheApplicationRemovesDuringTheRunLeavesTheColumn(workers: Int) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.loadPhones(connection, extra: "UPDATE public.users SET phone_number = metadata ->> 'phone_number' WHERE id % 2 = 0;")
            let plan = try writePlan(Self.phoneOnlyPlan(workers: workers, trim: false, "prefer: json"))
            let writer = WritesAfterFiveBatches(try database.connect(), [
                "UPDATE public.users SET metadata = metadata - 'phone_number' WHERE id IN (8, 150, 151)",
                Self.patch(152, #"{"phone_number": null}"#),
            ])
            let report = try Runner(connection: connection, plan: plan, progress: writer).apply(snapshotDirectory: Self.snapshots)
            #expect(writer.wrote, "the application wrote during the backfill")
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try Self.phones(connection, [7, 8, 150, 151, 152, 154]) == ["7 +15550000007", "8 NULL", "150 NULL", "151 NULL", "152 NULL", "154 +15550000154"])
            let after = try Runner(connection: connection, plan: plan).dryRun()
            #expect(after.steps.first?.status == .satisfied, "\(after.steps.flatMap(\.actions).map(\.summary))")
        }
    }
}
