import Foundation
import SchemaModel
import Testing

@Suite("Snapshot files")
struct SnapshotFileTests {
    func snapshot() -> Snapshot {
        Snapshot(
            pgmendVersion: "0.1.0", takenAt: "2026-11-21T09:00:00Z", durationMilliseconds: 12,
            serverVersion: "15.18", database: "demo", schema: sampleSchema(),
            data: ["public.users": TableData(rows: 3, fingerprint: "-42")])
    }

    @Test func roundTripsExactly() throws {
        let text = try snapshot().jsonText()
        let read = try Snapshot.read(from: Data(text.utf8), source: "test")
        #expect(read == snapshot())
        #expect(try read.jsonText() == text)
    }

    /// A live database's snapshot has no `source` key at all, so files written before the field
    /// existed read and rewrite byte for byte; a snapshot from models keeps its source.
    @Test func sourceIsWrittenOnlyWhenSet() throws {
        let live = try snapshot().jsonText()
        #expect(!live.contains("\"source\""))
        var fromModels = snapshot()
        fromModels.source = .models("app.models:Base")
        let text = try fromModels.jsonText()
        #expect(text.contains("\"source\": {\n    \"kind\": \"models\",\n    \"path\": \"app.models:Base\"\n  }"))
        let read = try Snapshot.read(from: Data(text.utf8), source: "test")
        #expect(read.source == .models("app.models:Base"))
        #expect(try read.jsonText() == text)
        let unknown = text.replacingOccurrences(of: "\"kind\": \"models\"", with: "\"kind\": \"wiki\"")
        #expect(throws: SnapshotFileError.self) { try Snapshot.read(from: Data(unknown.utf8), source: "test") }
    }

    @Test func isCanonicalJSON() throws {
        let text = try snapshot().jsonText()
        #expect(text.hasPrefix("{\n  \"format_version\": 1,\n  \"data\": {"))
        #expect(text.hasSuffix("}\n"))
        #expect(!text.contains("\" : "))
        // Keys sorted within an object: columns' fields appear alphabetically.
        let column = try #require(text.range(of: "\"name\": \"id\""))
        let notNull = try #require(text.range(of: "\"not_null\": true"))
        #expect(column.lowerBound < notNull.lowerBound)
    }

    /// Where each of `keys` first appears as an object's key in the schema's tables, in the order given.
    func positions(of keys: [String], in text: String) throws -> [String.Index] {
        let tables = try #require(text.range(of: "\"tables\": {"), "no tables in the JSON")
        return try keys.map { key in
            try #require(text.range(of: "\"\(key)\": {", range: tables.upperBound..<text.endIndex), "\(key) is not a key in the JSON").lowerBound
        }
    }

    /// The file is written in key order, whatever order the dictionaries were filled in. Two
    /// equal schemas compare equal as values whatever their order (Dictionary equality ignores
    /// it), so the text itself is checked: its keys appear sorted, and both fillings write the
    /// same bytes. Thirty tables and constraints make an unsorted order that happens to come
    /// out sorted (or the same twice) practically impossible.
    @Test func orderOfInsertionDoesNotMatter() throws {
        let names = (0..<30).map { String(format: "public.t%02d", $0) }
        func schema(_ order: [String]) -> Schema {
            var schema = sampleSchema()
            for name in order {
                let table = Table(
                    schema: "public", name: String(name.dropFirst("public.".count)),
                    columns: [Column(name: "id", type: "int", notNull: true)],
                    constraints: Dictionary(uniqueKeysWithValues: order.map { constraint in
                        let check = "\(name.dropFirst("public.".count))_\(constraint.dropFirst("public.".count))_check"
                        return (check, Constraint(name: check, kind: .check, columns: ["id"], definition: "CHECK (id > 0)", checkExpression: "id > 0"))
                    }))
                schema.tables[name] = table
            }
            return schema
        }
        let forwards = schema(names), backwards = schema(names.reversed())
        var a = snapshot(), b = snapshot()
        a.schema = forwards
        b.schema = backwards
        let text = try a.jsonText()
        #expect(text == (try b.jsonText()))
        let tables = (names + sampleSchema().tables.keys).sorted()
        let seen = try positions(of: tables, in: text)
        #expect(seen == seen.sorted(), "tables are not written in key order")
        let constraints = names.map { "t00_\($0.dropFirst("public.".count))_check" }.sorted()
        let seenConstraints = try positions(of: constraints, in: text)
        #expect(seenConstraints == seenConstraints.sorted(), "constraints are not written in key order")
    }

    /// `verify` starts reading the database before the file is parsed, knowing only what
    /// this finds; it must agree with the parse, or say it cannot tell.
    @Test func selectedSchemasAreFoundWithoutParsing() throws {
        for selected in [nil, [], ["audit"], ["a\"b", "public", "z\n"]] as [[String]?] {
            var snapshot = snapshot()
            snapshot.selectedSchemas = selected
            let text = try snapshot.jsonText()
            #expect(Snapshot.selectedSchemas(inCanonical: Data(text.utf8)) == .some(selected))
        }
        let minified = #"{"format_version": 1, "selected_schemas": ["x"]}"#
        #expect(Snapshot.selectedSchemas(inCanonical: Data(minified.utf8)) == nil)
        let future = try snapshot().jsonText().replacingOccurrences(of: "\"format_version\": 1,", with: "\"format_version\": 2,")
        #expect(Snapshot.selectedSchemas(inCanonical: Data(future.utf8)) == nil)
    }

    @Test func aNewerFormatIsAClearError() throws {
        let text = #"{"format_version": 99, "schema": {}}"#
        let error = try #require(throws: SnapshotFileError.self) {
            try Snapshot.read(from: Data(text.utf8), source: "future.json")
        }
        #expect(error.description == "future.json: format_version 99 is newer than this pgmend reads (1); use a newer pgmend")
    }

    @Test func notASnapshotIsAClearError() throws {
        let notJSON = try #require(throws: SnapshotFileError.self) { try Snapshot.read(from: Data("nope".utf8), source: "x.json") }
        #expect(notJSON.description.hasPrefix("x.json: not JSON"))
        let other = try #require(throws: SnapshotFileError.self) { try Snapshot.read(from: Data("{}".utf8), source: "x.json") }
        #expect(other.description == "x.json: not a pgmend snapshot (no format_version)")
        let broken = try #require(throws: SnapshotFileError.self) {
            try Snapshot.read(from: Data(#"{"format_version": 1}"#.utf8), source: "x.json")
        }
        #expect(broken.description.contains("missing \"pgmend_version\""))
    }

    @Test func stringsAreEscaped() throws {
        struct Sample: Encodable { var text: String }
        let json = try CanonicalJSON.encode(Sample(text: "quote \" backslash \\ newline \n tab \t bell \u{07} ünï"))
        #expect(json == "{\n  \"text\": \"quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007 ünï\"\n}\n")
    }
}

@Suite("Snapshot JSON leaves out the usual values")
struct SnapshotDefaultsTests {
    @Test func usualValuesAreLeftOutAndComeBackOnReading() throws {
        let plain = Column(name: "note", type: "text")
        let plainJSON = try CanonicalJSON.encode(plain)
        #expect(plainJSON == "{\n  \"name\": \"note\",\n  \"type\": \"text\"\n}\n")
        let key = IndexKey(expression: "user_id")
        #expect(try CanonicalJSON.encode(key) == "{\n  \"expression\": \"user_id\"\n}\n")
        #expect(try JSONDecoder().decode(Column.self, from: Data(plainJSON.utf8)) == plain)
    }

    @Test func unusualValuesAreKeptAndRoundTrip() throws {
        let unusual = Table(
            schema: "s", name: "t", kind: .partitioned, persistence: .unlogged, comment: "c",
            columns: [Column(name: "a", type: "int", notNull: true, identity: .always, collation: "x")],
            constraints: ["f": Constraint(
                name: "f", kind: .foreignKey, columns: ["a"], definition: "d",
                foreignKey: ForeignKey(referencedTable: "s.u", referencedColumns: ["b"], onDelete: .cascade, onUpdate: .restrict, match: .full),
                deferrable: true, initiallyDeferred: true, validated: false)],
            indexes: ["i": Index(
                name: "i", definition: "d", method: "hash", keys: [IndexKey(expression: "lower(a)", isColumn: false, descending: true, nullsFirst: true)],
                include: ["b"], predicate: "p", unique: true, primary: true, valid: false, constraint: "c")],
            partitionKey: "RANGE (a)")
        let json = try CanonicalJSON.encode(unusual)
        #expect(try JSONDecoder().decode(Table.self, from: Data(json.utf8)) == unusual)
        for key in ["\"validated\": false", "\"valid\": false", "\"is_column\": false", "\"match\": \"FULL\"", "\"method\": \"hash\""] {
            #expect(json.contains(key))
        }
    }
}
