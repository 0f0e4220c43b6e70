import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import Testing

/// Doctor on an application it was not written for: a studio-booking service whose tables
/// SQLAlchemy creates from its own models (Fixtures/python/bookings_app.py), with rows and a
/// few pieces of drift planted by hand (Fixtures/bookings-drift.sql, each marked DRIFT). Doctor
/// must name exactly that drift: what the models made is right and gives no finding.
@Suite("doctor on an application's own schema")
struct DoctorApplicationTests {
    static let models = GenerateModelsTests.root.appendingPathComponent("Tests/MendKitTests/Fixtures/python/bookings_app.py").path

    static func bookingDatabase(_ database: TestDatabase) throws {
        let created = try ProcessRunner.run(try GenerateModelsTests.python(), [models, GenerateModelsTests.sqlalchemyURL(database)])
        guard created.status == 0 else { throw ClusterFailure("create_all failed: \(created.stderr)") }
        try loadSQL("Tests/MendKitTests/Fixtures/bookings-drift.sql", into: database)
    }

    @Test func theDriftPlantedInTheBookingApplicationIsFoundAndNothingElse() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try Self.bookingDatabase(database)
            let report = try Doctor(connection: try database.connect(), options: DoctorOptions()).examine()
            let found = report.findings.map(\.id).sorted()
            #expect(found == Self.expected, "\(DoctorText.lines(report).joined(separator: "\n"))")
            #expect(report.skipped.isEmpty)
        }
    }

    static let expected = [
        "backup_table bookings_bak",
        "duplicate_index members_org_idx",
        "free_text_enum members.role",
        "json_fields organizations.settings",
        "missing_foreign_key invoices.booking_id",
        "naive_timestamp audit_events",
        "uuid_as_text invoices.booking_id",
    ]
}
