import MendKit
import MendTestSupport
import PostgresClient
import Testing

/// `assume_time_zone` takes a name or an abbreviation PostgreSQL knows, nothing else: a typo
/// or a POSIX offset (`UTC+3` means three hours west of UTC) blocks the step before any change.
@Suite("assume_time_zone: only zones PostgreSQL knows by name")
struct TimeZoneNameTests {
    static let setup: SQL = """
        CREATE TABLE public.users (id int PRIMARY KEY, seen_at timestamp, metadata jsonb);
        INSERT INTO public.users VALUES (1, '2025-01-15 12:00:00', '{"at": "2025-01-15T12:00:00"}');
        """

    @Test(arguments: ["Mars/Olympus_Mons", "UTC+3", "utc "])
    func anUnknownZoneBlocksBothSteps(zone: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.setup)
            let schema = try CatalogReader(connection: connection).readSchema()
            let steps = [
                try makeStep("normalize_timestamps: {columns: [users.seen_at], assume_time_zone: \"\(zone)\"}"),
                try makeStep("extract_json_fields: {table: users, column: metadata, fields: [{name: at, type: timestamptz, assume_time_zone: \"\(zone)\"}]}"),
            ]
            for step in steps {
                guard case .blocked(let problems) = try step.assess(schema, Probe(connection: connection)) else {
                    Issue.record("\(type(of: step).kind) with zone '\(zone)' is not blocked")
                    continue
                }
                #expect(problems.contains { $0.message.contains("'\(zone)'") && $0.message.contains("not a time zone PostgreSQL knows") }, "\(problems)")
            }
        }
    }

    @Test(arguments: ["UTC", "Europe/Berlin", "CET", "EST"])
    func aKnownNameOrAbbreviationIsAccepted(zone: String) throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.setup)
            let schema = try CatalogReader(connection: connection).readSchema()
            let step = try makeStep("normalize_timestamps: {columns: [users.seen_at], assume_time_zone: \"\(zone)\"}")
            // Needed, exactly: not blocked, and not waiting or satisfied either (either would
            // say nothing about the zone).
            let assessment = try step.assess(schema, Probe(connection: connection))
            guard case .needed = assessment else {
                Issue.record("\(zone): expected needed, not \(assessment)")
                return
            }
        }
    }
}
