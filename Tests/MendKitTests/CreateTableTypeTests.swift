import Foundation
import MendTestSupport
import PostgresClient
import Testing

@testable import MendKit

/// Issue 20, bug 2: `create_table` must write the type as the server prints it and refuse
/// what is not a type (a `COLLATE`, a query) before any change, naming the plan's file:line:col.
@Suite(.serialized)
struct CreateTableTypeTests {
    @Test func aTypeWithACollationIsRefusedBeforeAnyChange() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let folder = NSTemporaryDirectory() + "pgmend-create-table-type-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let plan = try writePlan("steps:\n  - create_table:\n      name: goals\n      columns:\n        - {name: id, type: int}\n        - {name: title, type: \"text COLLATE \\\"C\\\"\"}\n")
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder)
            #expect(report.outcome == .badInput, "\(report.outcome): \(report.steps.map(\.status))")
            let message = report.steps.first?.problems.first?.message ?? report.message ?? ""
            #expect(message.contains("is not a type name"), "\(message)")
            // file:line:col of the step's columns option.
            #expect(message.range(of: #"t\.yaml:\d+:\d+"#, options: .regularExpression) != nil, "\(message)")
            #expect(try connection.scalar("SELECT to_regclass('public.goals') IS NULL", as: Bool.self) == true)
        }
    }

    @Test func theStatementHoldsTheServersSpelling() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            let plan = try writePlan("steps:\n  - create_table: {name: goals, columns: [{name: id, type: INT4, primary_key: true}, {name: n, type: \"VARCHAR (20)\", default: \"'x'\"}]}\n")
            let report = try Runner(connection: connection, plan: plan).dryRun()
            #expect(report.steps.first?.status == .needed)
            let sql = report.steps.first?.actions.first?.sql ?? ""
            #expect(sql.contains("\"id\" integer") && sql.contains("\"n\" character varying(20) DEFAULT ('x')"), "\(sql)")
        }
    }
}
