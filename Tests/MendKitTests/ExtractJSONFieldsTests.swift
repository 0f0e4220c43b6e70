import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

@Suite("extract_json_fields: metadata to typed columns on the demo database")
struct ExtractJSONFieldsTests {
    static let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-extract-json-snapshots").path

    /// The seed's five fields; `resolutions` adds the options that settle the planted rows.
    static func plan(_ resolutions: String = "", batchSize: Int = 7) -> String {
        """
        settings: {batch_size: \(batchSize)}
        steps:
          - extract_json_fields:
              table: users
              column: metadata
              fields:
                - {name: phone_number, type: "varchar(20)", unique: true, trim: true}
                - {name: phone_verified, type: boolean, default: false}
                - {name: phone_verification_attempts, type: integer, default: 0}
                - {name: phone_verified_at, type: timestamptz, assume_time_zone: UTC}
                - {name: sms_enabled, type: boolean, default: true}
        \(resolutions)
        """
    }

    static let resolved = """
              on_conflict: {keep_first_by: created_at}
              on_invalid: "null"
              prefer: json
        """

    static func key(_ connection: Connection, _ i: Int) throws -> String {
        try connection.scalar("SELECT md5('user-' || \(bind: i)::int)::uuid::text", as: String.self) ?? ""
    }

    @Test func thePlantedConflictsAndBadValuesAreReportedByPrimaryKey() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let report = try Runner(connection: connection, plan: try writePlan(Self.plan())).dryRun()
            let step = try #require(report.steps.first)
            #expect(step.status == .blocked)
            // Every row of each group, with the value they share.
            let shared = try #require(step.problems.first { $0.message.hasPrefix("phone_number: 2 values are held by more than one row") })
            #expect(Set(shared.sample) == Set([4, 44, 5, 45].map { try! Self.key(connection, $0) }))
            #expect(shared.message.contains("'+15550000004' held by ") && shared.message.contains("'+15550000005' held by "), "\(shared.message)")
            let tooLong = try #require(step.problems.first { $0.message.hasPrefix("phone_number: values that do not convert") })
            #expect(tooLong.sample == [try Self.key(connection, 38)])
            let verified = try #require(step.problems.first { $0.message.hasPrefix("phone_verified: values") })
            #expect(Set(verified.sample) == Set([try Self.key(connection, 46), try Self.key(connection, 47)]))
            let attempts = try #require(step.problems.first { $0.message.hasPrefix("phone_verification_attempts: values") })
            #expect(attempts.sample == [try Self.key(connection, 48)])
            let at = try #require(step.problems.first { $0.message.hasPrefix("phone_verified_at: values") })
            #expect(at.sample == [try Self.key(connection, 49)])
            let differs = try #require(step.problems.first { $0.message.hasPrefix("phone_number: the column is already set") })
            #expect(Set(differs.sample) == Set([23, 27, 31].map { try! Self.key(connection, $0) }))
            #expect(step.problems.count == 6, "\(step.problems.map(\.message))")
        }
    }

    /// What each row's columns must hold, computed independently of the step in plain SQL (a
    /// planted value that does not convert: NULL, not the field's default).
    static let expected = """
        SELECT count(*) FROM public.users u WHERE
          u.phone_number IS DISTINCT FROM CASE
            WHEN u.id IN (md5('user-44')::uuid, md5('user-45')::uuid) THEN NULL
            WHEN u.id = md5('user-38')::uuid THEN NULL
            WHEN u.metadata ? 'phone_number' THEN btrim(u.metadata->>'phone_number')
            ELSE u.phone_number END
          OR u.phone_verified IS DISTINCT FROM CASE
            WHEN u.id IN (md5('user-46')::uuid, md5('user-47')::uuid) AND u.metadata ? 'phone_verified' THEN NULL
            WHEN NOT u.metadata ? 'phone_verified' THEN false
            ELSE (u.metadata->>'phone_verified')::boolean END
          OR u.phone_verification_attempts IS DISTINCT FROM CASE
            WHEN u.id = md5('user-48')::uuid AND u.metadata ? 'phone_verification_attempts' THEN NULL
            WHEN NOT u.metadata ? 'phone_verification_attempts' THEN 0
            ELSE (u.metadata->>'phone_verification_attempts')::integer END
          OR u.phone_verified_at IS DISTINCT FROM CASE
            WHEN u.id = md5('user-49')::uuid THEN NULL
            ELSE (u.metadata->>'phone_verified_at')::timestamptz END
          OR u.sms_enabled IS DISTINCT FROM CASE
            WHEN NOT u.metadata ? 'sms_enabled' THEN true ELSE (u.metadata->>'sms_enabled')::boolean END
        """

    @Test func resolvedByKeepFirstByAndOnInvalidNullEveryValueEqualsItsJSONAndASecondRunDoesNothing() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let plan = try writePlan(Self.plan(Self.resolved))
            let first = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(first.outcome == .ok, "\(first.message ?? "")")
            #expect(try connection.scalar(.unsafeRaw(Self.expected), as: Int.self) == 0)
            #expect(try connection.scalar("SELECT phone_number FROM users WHERE id = md5('user-23')::uuid", as: String.self) == "+15550000023")
            #expect(try connection.scalar("SELECT phone_number FROM users WHERE id = md5('user-30')::uuid", as: String.self) == "+15550000030")
            #expect(try connection.scalar(
                "SELECT indisvalid AND indisunique FROM pg_index WHERE indexrelid = 'public.users_phone_number_key'::regclass", as: Bool.self) == true)
            // The journal holds what was set aside, with what each row held, before the write.
            let journaled = try connection.query(
                "SELECT (SELECT i FROM generate_series(1, 60) i WHERE md5('user-' || i)::uuid::text = s.key), field, reason, json_value #>> '{}', column_value FROM pgmend.set_aside s ORDER BY 1, 2"
            ).map { row in
                "\(try row.get(0, as: Int.self)) \(try row.get(1, as: String.self)) \(try row.get(2, as: String.self)) \(try row.get(3, as: String.self)) \((try row.get(4, as: String?.self)) ?? "-")"
            }
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
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(second.statementsExecuted == 0, "\(second.steps.map { $0.actions.map(\.summary) })")
            #expect(second.steps.first?.status == .satisfied)
        }
    }

    /// A killed concurrent build leaves an INVALID index of the name the step builds: the
    /// step finds it, drops it and builds it again.
    @Test func anInvalidLeftoverIndexIsDroppedAndRebuilt() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            try connection.execute("UPDATE public.users SET phone_number = '+1' WHERE id IN (md5('user-1')::uuid, md5('user-2')::uuid)")
            #expect(throws: PostgresError.self) {
                try connection.execute("CREATE UNIQUE INDEX CONCURRENTLY users_phone_number_key ON public.users (phone_number)")
            }
            try connection.execute("UPDATE public.users SET phone_number = NULL WHERE id IN (md5('user-1')::uuid, md5('user-2')::uuid)")
            #expect(try connection.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.users_phone_number_key'::regclass", as: Bool.self) == false)
            let plan = try writePlan(Self.plan(Self.resolved))
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.steps.first?.actions.contains { $0.summary == "build unique index users_phone_number_key on users (phone_number)" } == true)
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try connection.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.users_phone_number_key'::regclass", as: Bool.self) == true)
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(second.statementsExecuted == 0)
        }
    }

    @Test func removeKeysRemovesExactlyTheKeysWhoseValuesAreInTheirColumns() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            try connection.execute("CREATE TABLE public.before AS SELECT id, metadata FROM public.users")
            let plan = try writePlan(Self.plan(Self.resolved + "\n      remove_keys: true"))
            let first = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(first.outcome == .ok, "\(first.message ?? "")")
            let keys: SQL = "ARRAY['phone_number', 'phone_verified', 'phone_verification_attempts', 'phone_verified_at', 'sms_enabled']"
            // Every other key is untouched; the five are gone except where a value was set aside.
            #expect(try connection.scalar(
                "SELECT count(*) FROM public.users u JOIN public.before b USING (id) WHERE (u.metadata - \(keys)) <> (b.metadata - \(keys))", as: Int.self) == 0)
            let kept = try connection.query(
                "SELECT md5_i, k FROM (SELECT (SELECT i FROM generate_series(1, 60) i WHERE md5('user-' || i)::uuid = u.id) AS md5_i, k FROM public.users u, jsonb_object_keys(u.metadata) k WHERE k = ANY(\(keys))) x ORDER BY 1, 2"
            ).map { "\(try $0.get(0, as: Int.self)):\(try $0.get(1, as: String.self))" }
            #expect(kept == ["38:phone_number", "44:phone_number", "45:phone_number", "46:phone_verified", "47:phone_verified", "48:phone_verification_attempts", "49:phone_verified_at"])
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(second.statementsExecuted == 0)
        }
    }

    /// The application, between two batches of the backfill: it changes phone keys of users
    /// behind and ahead of the cursor and inserts users with phone keys (a boolean as a
    /// string among them), each in its own transaction.
    final class AppWritesBetweenBatches: ProgressReporter, @unchecked Sendable {
        let connection: Connection
        var writes = 0

        init(_ connection: Connection) { self.connection = connection }

        func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
            guard task.hasPrefix("backfill"), writes < 60 else { return }
            writes += 1
            let n = writes
            _ = try? connection.query(
                "UPDATE public.users SET metadata = metadata || jsonb_build_object('phone_verification_attempts', \(bind: n)::int, 'sms_enabled', \(bind: n)::int % 2 = 0) WHERE id = md5('user-' || (1 + (\(bind: n)::int * 37) % 2000))::uuid")
            _ = try? connection.query(
                "INSERT INTO public.users (id, email, metadata, created_at) VALUES (md5('new-' || \(bind: n)::int)::uuid, 'new' || \(bind: n)::int || '@example.com', jsonb_build_object('phone_number', '+1666' || lpad(\(bind: n)::text, 7, '0'), 'phone_verified', 'true'), now())")
        }

        func finish(task: String) {}
    }

    @Test func aConcurrentWriterDuringTheBackfillLeavesNoRowWrong() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "2000"])
            let connection = try database.connect()
            let writer = AppWritesBetweenBatches(try database.connect())
            let plan = try writePlan(Self.plan(Self.resolved, batchSize: 50))
            let report = try Runner(connection: connection, plan: plan, progress: writer).apply(snapshotDirectory: Self.snapshots)
            let writes = writer.writes
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(writes > 5, "the other session wrote during the backfill")
            // The step's own assertion ran after the writes it raced; a second run agrees.
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(second.statementsExecuted == 0, "\(second.steps.flatMap(\.actions).map(\.summary))")
            #expect(try connection.scalar(
                "SELECT count(*) FROM public.users WHERE metadata ? 'phone_verification_attempts' AND phone_verification_attempts IS DISTINCT FROM (metadata->>'phone_verification_attempts')::int AND id <> md5('user-48')::uuid",
                as: Int.self) == 0)
            #expect(try connection.scalar(
                "SELECT count(*) FROM public.users WHERE metadata ? 'sms_enabled' AND sms_enabled IS DISTINCT FROM (metadata->>'sms_enabled')::boolean",
                as: Int.self) == 0)
            #expect(try connection.scalar("SELECT count(*) FROM public.users WHERE email LIKE 'new%'", as: Int.self) == writes)
            #expect(try connection.scalar(
                "SELECT count(*) FROM public.users WHERE email LIKE 'new%' AND (phone_verified IS NOT TRUE OR phone_number IS DISTINCT FROM metadata->>'phone_number')",
                as: Int.self) == 0)
        }
    }

    /// `on_invalid: null` unquoted is YAML's null; it means the null strategy, not "fail".
    @Test func aBareNullOnInvalidMeansNull() throws {
        for written in ["null", "\"null\"", "~"] {
            let step = try makeStep("extract_json_fields: {table: users, column: metadata, fields: [{name: a, type: text}], on_invalid: \(written)}")
            #expect(step.settings.contains { $0.name == "on_invalid" && $0.value == "null" }, "on_invalid: \(written)")
        }
        let absent = try makeStep("extract_json_fields: {table: users, column: metadata, fields: [{name: a, type: text}]}")
        #expect(absent.settings.contains { $0.name == "on_invalid" && $0.value == "fail" })
    }

    @Test func castabilityPerTypeFamily() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let cases: [(type: String, zone: String?, json: String, valid: Bool)] = [
                ("boolean", nil, "true", true), ("boolean", nil, "\"false\"", true), ("boolean", nil, "\"yes\"", false), ("boolean", nil, "1", false),
                ("integer", nil, "3", true), ("integer", nil, "\"3\"", true), ("integer", nil, "3.0", true), ("integer", nil, "3.5", false),
                ("integer", nil, "\"3x\"", false), ("integer", nil, "3000000000", false), ("smallint", nil, "40000", false), ("bigint", nil, "3000000000", true),
                ("numeric", nil, "\"1.5e3\"", true), ("numeric", nil, "{}", false),
                ("varchar(5)", nil, "\"abcde\"", true), ("varchar(5)", nil, "\"abcdef\"", false), ("text", nil, "[1]", false), ("text", nil, "12", true),
                ("timestamptz", nil, "\"2025-01-01T10:00:00Z\"", true), ("timestamptz", nil, "\"2025-01-01T10:00:00\"", false),
                ("timestamptz", "UTC", "\"2025-01-01 10:00:00\"", true), ("timestamptz", nil, "\"last tuesday\"", false),
                ("timestamp", nil, "\"2025-01-01T10:00:00\"", true), ("date", nil, "\"2025-02-31\"", false), ("date", nil, "\"2024-02-29\"", true), ("date", nil, "\"2025-13-01\"", false),
                ("uuid", nil, "\"65aa74dd-0189-23af-1461-5ba8e8a35b0b\"", true), ("uuid", nil, "\"65aa74dd\"", false),
            ]
            for item in cases {
                let printed = try #require(try connection.scalar("SELECT format_type((\(bind: item.type)::regtype)::oid, NULL)", as: String.self))
                let modifier = item.type == "varchar(5)" ? "character varying(5)" : printed
                let family = try #require(JSONCast.Family(printedType: modifier), "\(item.type)")
                let cast = JSONCast(family: family, json: "\(bind: item.json)::jsonb", type: item.type, trim: false, timeZone: item.zone)
                let valid = try connection.scalar("SELECT \(cast.valid)", as: Bool.self)
                #expect(valid == item.valid, "\(item.type) \(item.json)")
                if item.valid {
                    _ = try connection.query("SELECT \(cast.value)")
                }
            }
            #expect(JSONCast.Family(printedType: "inet") == nil)
        }
    }
}


@Suite("Plans/metadata-columns.yaml on the demo database")
struct MetadataColumnsPlanTests {
    @Test func thePlanRunsToTheEndAndASecondRunDoesNothing() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let connection = try database.connect()
            let plan = try PlanLoader.load(path: packagePath("Plans/metadata-columns.yaml"))
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            let backfill = try #require(dry.steps.first?.actions.first { $0.summary.hasPrefix("update") })
            #expect(backfill.summary.contains("phone_number: 54 with the key"), "\(backfill.summary)")
            #expect(backfill.summary.contains("2 set aside by keep_first_by"), "\(backfill.summary)")
            let first = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: ExtractJSONFieldsTests.snapshots)
            #expect(first.outcome == .ok, "\(first.message ?? "")")
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: ExtractJSONFieldsTests.snapshots)
            #expect(second.statementsExecuted == 0)
        }
    }
}
