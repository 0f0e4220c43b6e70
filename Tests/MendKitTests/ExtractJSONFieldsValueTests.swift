import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import Testing

/// What `extract_json_fields` writes for the values that are not plain: a number the column's
/// type rounds or cannot hold, a value that does not convert in a field with a default, a JSON
/// null, and the rows of a unique group. None of them may lose what the JSON said.
@Suite("extract_json_fields: rounded numbers, defaults, nulls and unique groups lose nothing")
struct ExtractJSONFieldsValueTests {
    static let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-extract-json-values").path

    static func plan(table: String = "readings", column: String = "doc", fields: [String], options: String = "") throws -> Plan {
        try writePlan("""
            settings: {batch_size: 2}
            steps:
              - extract_json_fields:
                  table: \(table)
                  column: \(column)
                  fields:
            \(fields.map { "          - \($0)" }.joined(separator: "\n"))
            \(options.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
            """)
    }

    static func summaries(_ report: RunReport) -> String {
        report.steps.flatMap(\.actions).map(\.summary).joined(separator: "\n")
    }

    static func rows(_ connection: Connection, _ query: SQL) throws -> [String] {
        try connection.query(query).map { try $0.get(0, as: String.self) }
    }

    static let numericFields = ["{name: r, type: real}", "{name: d, type: double precision}", "{name: n, type: \"numeric(8,2)\"}"]

    // MARK: Item 2: a rounded number keeps its key

    /// `real` and `double precision` round some numbers: the column holds the rounded value,
    /// and `remove_keys` removes a key only where the column gives the JSON's number back, so
    /// the original stays in the JSON. The dry run counts the rounded rows.
    @Test func aRoundedNumberStaysInTheJSONAndTheDryRunCountsIt() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.readings (id bigint PRIMARY KEY, doc jsonb NOT NULL);
                INSERT INTO public.readings VALUES
                  (1, '{"r": 16777217, "d": 12345678901234567890}'), (2, '{"r": 0.5, "d": 1.5}'),
                  (3, '{"r": "0.123456789012", "d": "2.5"}'), (4, '{"r": 0.1, "d": 0.1}');
                """)
            let plan = try Self.plan(fields: Array(Self.numericFields.prefix(2)), options: "remove_keys: true")
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            let summaries = Self.summaries(dry)
            #expect(summaries.contains("r: 4 with the key, accepted, rounded: 2 rows, kept in the JSON;"), "\(summaries)")
            #expect(summaries.contains("d: 4 with the key, 1 accepted in another form, accepted, rounded: 1 row, kept in the JSON"), "\(summaries)")

            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try Self.rows(connection, "SELECT id || ' ' || r || ' ' || d || ' ' || doc::text FROM public.readings ORDER BY id") == [
                #"1 1.6777216e+07 1.2345678901234567e+19 {"d": 12345678901234567890, "r": 16777217}"#,
                "2 0.5 1.5 {}",
                #"3 0.12345679 2.5 {"r": "0.123456789012"}"#,
                "4 0.1 0.1 {}",
            ])
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(second.statementsExecuted == 0, "\(second.steps.map { $0.actions.map(\.summary) })")
        }
    }

    /// `numeric(p, s)` is taken (it was "not supported"), rounds to its scale, and keeps the
    /// key of a number it rounded.
    @Test func aNumericWithAScaleRoundsAndKeepsTheKeyOfARoundedNumber() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.readings (id bigint PRIMARY KEY, doc jsonb NOT NULL);
                INSERT INTO public.readings VALUES (1, '{"n": 0.125}'), (2, '{"n": 1.5}'), (3, '{"n": "7"}'), (4, '{"n": 0.10}');
                """)
            let plan = try Self.plan(fields: [Self.numericFields[2]], options: "remove_keys: true")
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.outcome == .ok, "\(dry.message ?? "") \(dry.steps.flatMap(\.problems).map(\.message))")
            #expect(Self.summaries(dry).contains("n: 4 with the key, 1 accepted in another form, accepted, rounded: 1 row, kept in the JSON"), "\(Self.summaries(dry))")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try Self.rows(connection, "SELECT id || ' ' || n || ' ' || doc::text FROM public.readings ORDER BY id") == [
                #"1 0.13 {"n": 0.125}"#, "2 1.50 {}", "3 7.00 {}", "4 0.10 {}",
            ])
        }
    }

    /// A number the type cannot hold (`1e39` in a `real`, `1e400` in a `double precision`, a
    /// number so small a float would round it to zero) is a value that does not convert, never
    /// a failed statement (`ERROR 22003`, no row named): named by key, and `on_invalid` decides.
    @Test func aNumberOutOfTheTypesRangeDoesNotConvertAndIsNamedByKey() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.readings (id bigint PRIMARY KEY, doc jsonb NOT NULL);
                INSERT INTO public.readings VALUES
                  (1, '{"r": 1e39}'), (2, '{"r": 1, "d": 1e308}'), (3, '{"r": "-1e39"}'), (4, '{"d": 1e400}'),
                  (6, '{"r": 1e-50, "d": 1e-400}'), (7, '{"r": 1e-40, "d": 1e-320}');
                """)
            let fields = Array(Self.numericFields.prefix(2))
            let blocked = try Runner(connection: connection, plan: try Self.plan(fields: fields)).dryRun()
            #expect(blocked.outcome == .blocked, "\(blocked.message ?? "")")
            let problems = blocked.steps.flatMap(\.problems)
            #expect(problems.first { $0.message.hasPrefix("r: values that do not convert to real") }?.sample == ["1", "3", "6"], "\(problems)")
            #expect(problems.first { $0.message.hasPrefix("d: values that do not convert to double precision") }?.sample == ["4", "6"], "\(problems)")
            #expect(problems.count == 2, "\(problems.map(\.message))")

            let plan = try Self.plan(fields: fields, options: "on_invalid: \"null\"\nremove_keys: true")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            // Each value that did not convert is NULL in its column and still in the JSON (as
            // jsonb prints a number: every digit written out); the others moved.
            func zeros(_ count: Int) -> String { String(repeating: "0", count: count) }
            #expect(try Self.rows(connection, "SELECT concat_ws(' ', id, coalesce(r::text, '-'), coalesce(d::text, '-'), doc::text) FROM public.readings ORDER BY id") == [
                "1 - - {\"r\": 1\(zeros(39))}",
                "2 1 1e+308 {}",
                #"3 - - {"r": "-1e39"}"#,
                "4 - - {\"d\": 1\(zeros(400))}",
                "6 - - {\"d\": 0.\(zeros(399))1, \"r\": 0.\(zeros(49))1}",
                "7 1e-40 1e-320 {}",
            ])
        }
    }

    /// `numeric(8,2)` refuses a number that has more than six digits before the point once
    /// rounded to two places: it does not convert.
    @Test func aNumberTooLargeForANumericWithAScaleDoesNotConvert() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.readings (id bigint PRIMARY KEY, doc jsonb NOT NULL);
                INSERT INTO public.readings VALUES (1, '{"n": 999999.994}'), (2, '{"n": 999999.995}'), (3, '{"n": "-1234567"}');
                """)
            let blocked = try Runner(connection: connection, plan: try Self.plan(fields: [Self.numericFields[2]])).dryRun()
            let problems = blocked.steps.flatMap(\.problems)
            #expect(problems.first { $0.message.hasPrefix("n: values that do not convert to numeric(8,2)") }?.sample == ["2", "3"], "\(problems)")
            #expect(problems.count == 1, "\(problems.map(\.message))")
        }
    }

    // MARK: Item 3: on_invalid null writes NULL, never the default

    @Test func onInvalidNullWritesNullNotTheFieldsDefault() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.users (id bigint PRIMARY KEY, metadata jsonb NOT NULL);
                INSERT INTO public.users VALUES
                  (1, '{"sms_enabled": "True", "verified": "yes"}'), (2, '{"sms_enabled": 1, "verified": true}'),
                  (3, '{"sms_enabled": 0}'), (4, '{"sms_enabled": false}'), (5, '{}');
                """)
            let plan = try Self.plan(
                table: "users", column: "metadata", fields: ["{name: sms_enabled, type: boolean, default: true}", "{name: verified, type: boolean, default: false}"],
                options: "on_invalid: null")
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            let summaries = Self.summaries(dry)
            #expect(summaries.contains("sms_enabled: 4 with the key, 3 not convertible: NULL instead of their value (kept in the JSON);"), "\(summaries)")
            #expect(summaries.contains("verified: 2 with the key, 1 not convertible: NULL instead of their value (kept in the JSON)"), "\(summaries)")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try Self.rows(connection, "SELECT concat_ws(' ', id, coalesce(sms_enabled::text, 'NULL'), coalesce(verified::text, 'NULL')) FROM public.users ORDER BY id") == [
                "1 NULL NULL", "2 NULL true", "3 NULL false", "4 false false", "5 true false",
            ])
            let second = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(second.statementsExecuted == 0, "\(second.steps.map { $0.actions.map(\.summary) })")
        }
    }

    /// A column that does not allow NULL cannot take what `on_invalid: null` writes: the step is
    /// blocked, naming the rows, and nothing changes.
    @Test func aNotNullColumnThatWouldGetNullBlocksTheStepBeforeAnyChange() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.users (id bigint PRIMARY KEY, metadata jsonb NOT NULL, sms_enabled boolean NOT NULL DEFAULT true);
                INSERT INTO public.users (id, metadata) VALUES (1, '{"sms_enabled": "True", "verified": true}'), (2, '{"sms_enabled": false}'), (3, '{}');
                """)
            let before = try Self.rows(connection, "SELECT string_agg(u::text, ' ' ORDER BY id) FROM public.users u")
            let plan = try Self.plan(
                table: "users", column: "metadata", fields: ["{name: sms_enabled, type: boolean, default: true}", "{name: verified, type: boolean}"],
                options: "on_invalid: null")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .blocked, "\(report.message ?? "")")
            let problem = report.steps.flatMap(\.problems).first { $0.message.hasPrefix("sms_enabled: rows whose column would get NULL") }
            #expect(problem?.message.contains("users.sms_enabled is NOT NULL") == true, "\(report.steps.flatMap(\.problems).map(\.message))")
            #expect(problem?.sample == ["1"])
            #expect(try Self.rows(connection, "SELECT string_agg(u::text, ' ' ORDER BY id) FROM public.users u") == before)
            #expect(try connection.scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'verified'", as: Int.self) == 0)
        }
    }

    // MARK: Item 5: JSON null and prefer

    static func loadPhones(_ connection: Connection) throws {
        try connection.execute("""
            CREATE TABLE public.users (id bigint PRIMARY KEY, metadata jsonb NOT NULL, phone_number varchar(20));
            INSERT INTO public.users VALUES
              (1, '{"phone_number": null}', '+1001'), (2, '{"phone_number": "+1002"}', '+1002'), (3, '{}', '+1003'),
              (4, '{"phone_number": "+1004"}', NULL), (5, '{"phone_number": null}', NULL);
            """)
    }

    static let phoneField = ["{name: phone_number, type: \"varchar(20)\", unique: true}"]

    /// `prefer: json`: the application removed the number by writing null, so the column is
    /// cleared (its old value journaled); a row without the key keeps its column.
    @Test func withPreferJSONAJSONNullClearsTheColumn() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.loadPhones(connection)
            let plan = try Self.plan(table: "users", column: "metadata", fields: Self.phoneField, options: "prefer: json")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try Self.rows(connection, "SELECT id || ' ' || coalesce(phone_number, 'NULL') FROM public.users ORDER BY id") == [
                "1 NULL", "2 +1002", "3 +1003", "4 +1004", "5 NULL",
            ])
            #expect(try Self.rows(connection, "SELECT concat_ws(' ', key, reason, json_value::text, column_value) FROM pgmend.set_aside") == ["1 prefer: json null +1001"])
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            #expect(dry.steps.first?.status == .satisfied, "\(Self.summaries(dry))")
        }
    }

    /// `prefer: column` keeps a set column whatever the JSON says, null too; without `prefer`, a
    /// JSON null against a set column blocks, as another value does.
    @Test func withPreferColumnAJSONNullKeepsTheColumnAndWithoutPreferItBlocks() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try Self.loadPhones(connection)
            let blocked = try Runner(connection: connection, plan: try Self.plan(table: "users", column: "metadata", fields: Self.phoneField)).dryRun()
            #expect(blocked.outcome == .blocked)
            let problem = blocked.steps.flatMap(\.problems).first { $0.message.hasPrefix("phone_number: the column is already set and the JSON says otherwise") }
            #expect(problem?.sample == ["1"], "\(blocked.steps.flatMap(\.problems).map(\.message))")

            let plan = try Self.plan(table: "users", column: "metadata", fields: Self.phoneField, options: "prefer: column")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: Self.snapshots)
            #expect(report.outcome == .ok, "\(report.message ?? "")")
            #expect(try Self.rows(connection, "SELECT id || ' ' || coalesce(phone_number, 'NULL') FROM public.users ORDER BY id") == [
                "1 +1001", "2 +1002", "3 +1003", "4 +1004", "5 NULL",
            ])
        }
    }

    // MARK: A unique field's conflict names every row of each group

    @Test func aUniqueConflictNamesEveryRowOfEachGroupWithItsValue() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.users (id bigint PRIMARY KEY, created_at timestamp NOT NULL, metadata jsonb NOT NULL);
                INSERT INTO public.users SELECT i, timestamp '2026-01-01' + i * interval '1 hour', jsonb_build_object('phone_number', '+1' || i) FROM generate_series(1, 30) i;
                UPDATE public.users SET metadata = '{"phone_number": "+13"}', created_at = timestamp '2025-12-31' WHERE id = 20;
                UPDATE public.users SET metadata = '{"phone_number": " "}' WHERE id IN (16, 17, 27);
                """)
            let fields = ["{name: phone_number, type: \"varchar(20)\", unique: true, trim: true}"]
            let blocked = try Runner(connection: connection, plan: try Self.plan(table: "users", column: "metadata", fields: fields)).dryRun()
            let problem = try #require(blocked.steps.flatMap(\.problems).first { $0.message.hasPrefix("phone_number: 2 values are held by more than one row") })
            #expect(problem.message.hasSuffix(": '' held by 16, 17, 27; '+13' held by 3, 20"), "\(problem.message)")
            #expect(problem.count == 5)
            #expect(problem.sample == ["16", "17", "27", "3", "20"])

            let plan = try Self.plan(table: "users", column: "metadata", fields: fields, options: "on_conflict: {keep_first_by: created_at}")
            let dry = try Runner(connection: connection, plan: plan).dryRun()
            let summaries = Self.summaries(dry)
            #expect(summaries.contains(
                "phone_number: 30 with the key, 3 accepted in another form, 3 set aside by keep_first_by ("
                    + "'' held by 16 (created_at 2026-01-01 16:00:00) keeps it, 17 (created_at 2026-01-01 17:00:00), 27 (created_at 2026-01-02 03:00:00)"
                    + " / '+13' held by 20 (created_at 2025-12-31 00:00:00) keeps it, 3 (created_at 2026-01-01 03:00:00))"), "\(summaries)")
        }
    }
}
