import Foundation
@testable import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// doctor's data checks: `backup_table`, `uuid_as_text`, `naive_timestamp`,
/// `missing_foreign_key` and `orphan_rows`, on the demo and on small purpose-built tables.
@Suite("doctor: backup tables, UUIDs as text, naive timestamps, foreign keys from data")
struct DoctorDataATests {
    static let mine: Set<FindingClass> = [.backupTable, .uuidAsText, .naiveTimestamp, .missingForeignKey, .orphanRows]

    static func examine(_ connection: Connection, exact: Bool = false, sampleAbove: Int64 = 64 << 20) throws -> DoctorReport {
        var options = DoctorOptions()
        options.only = mine
        options.exact = exact
        options.sampleAboveBytes = sampleAbove
        return try Doctor(connection: connection, options: options).examine()
    }

    @Test func demoDump() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let report = try Self.examine(try database.connect())
            for finding in report.findings {
                print("F", finding.classID.rawValue, finding.severity.rawValue, finding.objects, finding.table ?? "-")
                print("  ", finding.summary)
                for item in finding.evidence { print("    ", item.label, "=", item.value.description) }
                print("    rows", finding.rows)
            }
            print(PlanWriter.text(report, path: "/tmp/demo.yaml"))
        }
    }
}
