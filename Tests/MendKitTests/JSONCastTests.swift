@testable import MendKit
import MendTestSupport
import PostgresClient
import Testing

/// `JSONCast.value` takes fast paths for the forms applications write; `generalValue` is the
/// reference. On the server, over generated values (every combination of the parts of a
/// timestamp, valid and not; numbers in and out of range; booleans in every spelling), the two
/// must agree on every value, and neither may raise an error (an error would abort a batch).
@Suite("JSON casts: the fast paths equal the general one")
struct JSONCastTests {
    /// Timestamps and dates built from parts, each list holding valid and invalid pieces.
    static let datedValues = """
        SELECT to_jsonb(y || '-' || m || '-' || d || sep || t || f || o) AS v
        FROM unnest(ARRAY['0999', '1999', '2024', '2025', '0000']) y,
             unnest(ARRAY['00', '01', '02', '12', '13']) m,
             unnest(ARRAY['00', '01', '28', '29', '30', '31', '32']) d,
             unnest(ARRAY['T', ' ', 't']) sep,
             unnest(ARRAY['00:00:00', '23:59:59', '24:00:00', '12:60:00', '12:00:60', '12:00', '1:00:00']) t,
             unnest(ARRAY['', '.1', '.000', '.123456', '.1234567']) f,
             unnest(ARRAY['', 'Z', 'z', '+00:00', '+0000', '+00', '+05:30', '-03:00', '+15:59', '+16:00', '-00:00', '+05:3']) o
        UNION ALL
        SELECT to_jsonb(y || '-' || m || '-' || d || x)
        FROM unnest(ARRAY['0999', '2024', '2025']) y, unnest(ARRAY['00', '01', '02', '13']) m,
             unnest(ARRAY['00', '01', '28', '29', '31', '32']) d, unnest(ARRAY['', ' ', 'T', 'x']) x
        UNION ALL
        SELECT v::jsonb FROM unnest(ARRAY['null', 'true', '3', '{}', '[]', '"last tuesday"', '""', '" 2025-01-01T10:00:00Z "']) v
        """

    static let numberValues = """
        SELECT v::jsonb FROM unnest(ARRAY['3', '-3', '3.0', '3.5', '1e2', '1e20', '1e-2', '0.0', '-0', '32767', '32768',
            '-32768', '-32769', '2147483647', '2147483648', '-2147483648', '-2147483649', '9223372036854775807',
            '9223372036854775808', '12345678901234567890', '"3"', '"3.0"', '" 3 "', '"3x"', '"1e2"', '""', 'null', 'true',
            '{}', '[]', '"+4"', '"-0.0"', '1e39', '-1e39', '"1e39"', '3.4028234e38', '1e308', '-1e309', '1e400', '"9e999"', '1e-40',
            '1e-50', '1e-320', '1e-400', '"1e-999"', '999999.994', '999999.995', '0.125', '16777217']) v
        """

    static let booleanValues = """
        SELECT v::jsonb FROM unnest(ARRAY['true', 'false', '"true"', '"false"', '" true "', '"True"', '"yes"', '1', '0',
            'null', '{}', '"t"']) v
        """

    static let cases: [(type: String, zone: String?, values: String)] = [
        ("timestamptz", nil, datedValues), ("timestamptz", "UTC", datedValues), ("timestamptz", "America/New_York", datedValues),
        ("timestamp", nil, datedValues), ("timestamp", "UTC", datedValues), ("date", nil, datedValues),
        ("smallint", nil, numberValues), ("integer", nil, numberValues), ("bigint", nil, numberValues),
        ("boolean", nil, booleanValues),
    ]

    @Test("fast and general paths agree, for every generated value", arguments: [false, true])
    func fastEqualsGeneral(trim: Bool) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            // The session's zone must not decide anything; a zone far from UTC would show it.
            try connection.execute("SET TimeZone = 'Asia/Kathmandu'")
            for item in Self.cases {
                let printed = try #require(try connection.scalar("SELECT format_type(\(bind: item.type)::regtype, NULL)", as: String.self))
                let family = try #require(JSONCast.Family(printedType: printed), "\(item.type)")
                let cast = JSONCast(family: family, json: "v", type: printed, trim: trim, timeZone: item.zone)
                let rows = try connection.query(
                    """
                    SELECT count(*), count(*) FILTER (WHERE \(cast.value) IS NOT NULL),
                           count(*) FILTER (WHERE \(cast.value) IS DISTINCT FROM \(cast.generalValue)),
                           (array_agg(v::text) FILTER (WHERE \(cast.value) IS DISTINCT FROM \(cast.generalValue)))[1:5]::text
                    FROM (\(raw: item.values)) generated
                    """)
                let total = try rows[0].get(0, as: Int.self)
                let converted = try rows[0].get(1, as: Int.self)
                let differing = try rows[0].get(2, as: Int.self)
                let examples = try rows[0].get(3, as: String?.self) ?? ""
                #expect(total > 10 && converted > 0 && converted < total, "\(item.type) \(item.zone ?? ""): \(converted) of \(total) convert")
                #expect(differing == 0, "\(item.type) zone \(item.zone ?? "none") trim \(trim): fast and general differ on \(differing) values: \(examples)")
            }
        }
    }

    static let textValues = """
        SELECT v::jsonb FROM unnest(ARRAY['"abc"', '" abc "', '"abcdef"', '"  abcde  "', '""', '3', '3.50', 'true', 'null',
            '{}', '[]', '"é€😀x"', '"é€😀xyz"']) v
        """

    static let uuidValues = """
        SELECT v::jsonb FROM unnest(ARRAY['"8f0e2b4c-1d3a-4e5f-9a7b-6c5d4e3f2a1b"', '"8F0E2B4C-1D3A-4E5F-9A7B-6C5D4E3F2A1B"',
            '"{8f0e2b4c-1d3a-4e5f-9a7b-6c5d4e3f2a1b}"', '"8f0e2b4c1d3a4e5f9a7b6c5d4e3f2a1b"', '"not-a-uuid"', '""', '3', 'null']) v
        """

    /// `unchecked` is what a batch writes for rows the assessment found convertible: on every
    /// value `value` converts it must give the same result (it is evaluated only there: on
    /// other values it may raise an error).
    @Test("the unchecked conversion equals the checked one wherever that converts", arguments: [false, true])
    func uncheckedEqualsValue(trim: Bool) throws {
        let more: [(type: String, zone: String?, values: String)] = [
            ("numeric", nil, Self.numberValues), ("double precision", nil, Self.numberValues), ("real", nil, Self.numberValues),
            ("numeric(8,2)", nil, Self.numberValues), ("numeric(3)", nil, Self.numberValues),
            ("text", nil, Self.textValues), ("varchar(5)", nil, Self.textValues), ("uuid", nil, Self.uuidValues),
        ]
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("SET TimeZone = 'Asia/Kathmandu'")
            for item in Self.cases + more {
                // format_type without a modifier would print `numeric` for `numeric(8,2)`.
                let printed = item.type.hasPrefix("numeric(")
                    ? item.type : try #require(try connection.scalar("SELECT format_type(\(bind: item.type)::regtype, NULL)", as: String.self))
                let family = try #require(JSONCast.Family(printedType: printed), "\(item.type)")
                let cast = JSONCast(family: family, json: "v", type: printed, trim: trim, timeZone: item.zone)
                let rows = try connection.query(
                    """
                    SELECT count(c), count(*) FILTER (WHERE c IS DISTINCT FROM u),
                           (array_agg(v::text) FILTER (WHERE c IS DISTINCT FROM u))[1:5]::text
                    FROM (SELECT v, \(cast.value) AS c, CASE WHEN \(cast.value) IS NOT NULL THEN \(cast.unchecked) END AS u
                          FROM (\(raw: item.values)) generated) t
                    """)
                let converted = try rows[0].get(0, as: Int.self)
                let differing = try rows[0].get(1, as: Int.self)
                let examples = try rows[0].get(2, as: String?.self) ?? ""
                #expect(converted > 0, "\(item.type): nothing converts")
                #expect(differing == 0, "\(item.type) zone \(item.zone ?? "none") trim \(trim): unchecked differs on \(differing) values: \(examples)")
            }
        }
    }

    /// A number out of a type's range (too large, or for a float so small it would round to
    /// zero) is a value that does not convert, never an error that aborts the statement; a
    /// number the type rounds converts, and `rounded` says so.
    @Test func aNumberOutOfRangeIsInvalidNotAnErrorAndARoundedOneIsTold() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let cases: [(type: String, json: String, valid: Bool, rounded: Bool)] = [
                ("real", "1e39", false, false), ("real", "\"-1e39\"", false, false), ("real", "3.4028234e38", true, true), ("real", "1e-50", false, false),
                ("real", "1e-40", true, false), ("real", "0", true, false), ("real", "16777217", true, true), ("real", "16777216", true, false),
                ("real", "0.123456789012", true, true), ("real", "0.1", true, false),
                ("double precision", "1e400", false, false), ("double precision", "1e308", true, false), ("double precision", "1e-400", false, false),
                ("double precision", "1e-320", true, false), ("double precision", "12345678901234567890", true, true), ("double precision", "0.1", true, false),
                ("numeric(8,2)", "999999.994", true, true), ("numeric(8,2)", "999999.995", false, false), ("numeric(8,2)", "-999999.99", true, false),
                ("numeric(8,2)", "1.5", true, false), ("numeric(3)", "999.4", true, true), ("numeric(3)", "999.5", false, false),
                ("numeric", "1e400", true, false), ("numeric", "0.125", true, false),
            ]
            for item in cases {
                // As format_type prints them with their modifier (`numeric(8,2)`).
                let family = try #require(JSONCast.Family(printedType: item.type), "\(item.type)")
                let cast = JSONCast(family: family, json: "\(bind: item.json)::jsonb", type: item.type, trim: false, timeZone: nil)
                #expect(try connection.scalar("SELECT \(cast.valid)", as: Bool.self) == item.valid, "\(item.type) \(item.json)")
                if item.valid {
                    var rounded = false
                    if let test = cast.rounded("(\(cast.value))") { rounded = try connection.scalar("SELECT \(test)", as: Bool.self) ?? false }
                    #expect(rounded == item.rounded, "\(item.type) \(item.json): rounded")
                }
            }
            #expect(JSONCast.Family(printedType: "numeric(10,2)") == .numeric(.decimal(precision: 10, scale: 2)))
            #expect(JSONCast.Family(printedType: "numeric(10)") == .numeric(.decimal(precision: 10, scale: 0)))
        }
    }

    @Test func anOffsetPostgreSQLRefusesIsInvalidNotAnError() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            func valid(_ json: String) throws -> Bool? {
                let cast = JSONCast(family: .timestamptz, json: "\(bind: json)::jsonb", type: "timestamp with time zone", trim: false, timeZone: nil)
                return try connection.scalar("SELECT \(cast.valid)", as: Bool.self)
            }
            #expect(try valid("\"2025-01-01T00:00:00+16:00\"") == false)
            #expect(try valid("\"2025-01-01T00:00:00+15:59\"") == true)
        }
    }
}
