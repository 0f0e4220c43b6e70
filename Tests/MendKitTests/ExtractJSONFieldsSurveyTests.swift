import PostgresClient
import SchemaModel
import Testing

@testable import MendKit

/// The pure parts of `extract_json_fields`' assessment, without a server: reading the survey
/// row by column name, grouping and describing unique conflicts, the SQL a field builds.
struct ExtractJSONFieldsSurveyTests {
    static func row(fields: Int) -> [String: Int] {
        var row: [String: Int] = ["rows_with_keys": 40, "snapshot_xmin": 1234]
        for index in 0..<fields {
            for (position, name) in FieldSurvey.countNames.enumerated() { row["\(name)_\(index)"] = index * 100 + position }
        }
        return row
    }

    @Test func theSurveyIsReadByColumnName() throws {
        let survey = try FieldSurvey(row: Self.row(fields: 2), fieldCount: 2)
        #expect(survey.rowsWithKeys == 40 && survey.snapshotXmin == 1234)
        #expect(survey.fields[0] == FieldCounts(present: 0, converted: 1, rounded: 2, invalid: 3, jsonNull: 4, differing: 5, differingInvalid: 6, columnOnly: 7, repeated: 8))
        #expect(survey.fields[1].present == 100 && survey.fields[1].invalid == 103 && survey.fields[1].repeated == 108)
    }

    @Test func aMissingColumnIsAnError() {
        var row = Self.row(fields: 2)
        row["invalid_1"] = nil
        #expect(throws: PostgresError.self) { try FieldSurvey(row: row, fieldCount: 2) }
    }

    static func plan(_ name: String, type: String = "integer", unique: Bool = false, exists: Bool = false, defaultValue: String? = nil) throws -> FieldPlan {
        let field = ExtractJSONFieldsStep.Field(
            name: name, path: [name], type: try PlanTypeName(checking: type), unique: unique, trim: false, defaultValue: defaultValue, assumeTimeZone: nil)
        return FieldPlan(
            field: field, printedType: type, family: try #require(JSONCast.Family(printedType: type)), exists: exists, source: "metadata",
            sourceIsJSON: false, preferColumn: false)
    }

    /// Each count is a named column; a field's path and default are bound, not pasted.
    @Test func theSurveyQueryNamesItsColumnsAndBindsPlanValues() throws {
        let plans = [try Self.plan("age", defaultValue: "0"), try Self.plan("o'clock", type: "text", unique: true, exists: true)]
        let query = FieldSurvey.query(plans, from: QualifiedName(schema: "public", "users"))
        for index in 0..<2 {
            for name in FieldSurvey.countNames { #expect(query.text.contains("AS \"\(name)_\(index)\""), "\(name)_\(index)") }
        }
        #expect(query.text.contains("AS rows_with_keys") && query.text.contains("AS snapshot_xmin"))
        #expect(!query.text.contains("'o''clock'") && !query.text.contains("'age'"), "\(query.text)")
        #expect(query.bindings.contains { $0.text == "o'clock" } && query.bindings.contains { $0.text == "age" })
        #expect(query.description.contains("\"metadata\" -> 'o''clock'"), "\(query.description)")
    }

    @Test func uniqueGroupsSplitAtEachFirstRow() {
        let rows = [
            UniqueGroupRow(key: "4", value: "+1555", by: "2026-01-01", rank: 1), UniqueGroupRow(key: "44", value: "+1555", by: nil, rank: 2),
            UniqueGroupRow(key: "(7,abc)", value: "x", by: "b", rank: 1), UniqueGroupRow(key: "8", value: "x", by: "c", rank: 2),
        ]
        let groups = UniqueGroupRow.grouped(rows)
        #expect(groups.map { $0.map(\.key) } == [["4", "44"], ["(7,abc)", "8"]])
        #expect(UniqueGroupRow.describe(groups[0], by: "created_at") == "'+1555' held by 4 (created_at 2026-01-01) keeps it, 44 (created_at NULL)")
        #expect(UniqueGroupRow.describe(groups[1], by: nil) == "'x' held by (7,abc), 8")
    }

    /// The keys a unique group sets aside are one bound array, not one literal per key.
    @Test func setAsideKeysAreBound() throws {
        var plan = try Self.plan("phone", type: "text", unique: true)
        plan.keyText = RowKey(["id"]).text()
        plan.losers = (1...500).map { (key: String($0), value: "+1555") }
        let setAside = try #require(plan.setAside)
        #expect(!setAside.text.contains("499"), "\(setAside.text.prefix(300))")
        #expect(setAside.bindings.contains { $0.text?.contains("\"499\"") == true })
    }
}
