import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// `json_fields`, `free_text_enum` and `unused_enum` on the demo and on purpose-built tables.
@Suite("Doctor: JSON fields and free-text enums")
struct DoctorDataBTests {
    static let classes: Set<FindingClass> = [.jsonFields, .freeTextEnum, .unusedEnum]

    static func examine(_ database: TestDatabase, exact: Bool = false, sampleAbove: Int64 = 64 << 20) throws -> DoctorReport {
        var options = DoctorOptions()
        options.only = classes
        options.exact = exact
        options.sampleAboveBytes = sampleAbove
        return try Doctor(connection: try database.connect(), options: options).examine()
    }

    static func ids(_ report: DoctorReport) -> [String] { report.findings.map(\.id) }

    static func evidence(_ finding: Finding, _ label: String) -> EvidenceValue? {
        finding.evidence.first { $0.label == label }?.value
    }

    static func list(_ finding: Finding, _ label: String) -> [String] {
        if case .list(let values)? = evidence(finding, label) { return values }
        return []
    }

    @Test func findsThePlantedProblemsOfTheDemo() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let report = try Self.examine(database)
            for line in DoctorText.lines(report) { print(line) }
            print(PlanWriter.text(report, path: "doctor.yaml"))
        }
    }
}
