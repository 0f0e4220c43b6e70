@testable import SchemaModel
import Testing

/// The direct writer (`CanonicalJSONWriter`) must give the bytes the `Encodable` path gives,
/// which the golden snapshots were recorded with: every optional member present and absent,
/// every usual value and its opposite, empty and full collections, and strings that need
/// escaping (quotes, backslashes, control characters) or pass through (non-ASCII).
@Suite("CanonicalJSON writer")
struct CanonicalJSONWriterTests {
    /// Deterministic pseudo-random choices (SplitMix64), so a failure repeats.
    struct Choices {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func bool() -> Bool { below(2) == 0 }
        mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

        /// Text made of pieces that exercise each branch of string escaping.
        mutating func text() -> String {
            let pieces = ["id", "a b", "\"", "\\", "\n", "\r", "\t", "\u{1}", "\u{1F}", "\u{7F}", "é", "名前", "🙂",
                          "CHECK ((amount >= 0))", "nextval('t_id_seq'::regclass)", "", "{}", "[]", ": ", ","]
            return (0..<below(4)).map { _ in pick(pieces) }.joined()
        }

        mutating func optionalText() -> String? { bool() ? text() : nil }
        mutating func texts() -> [String] { (0..<below(3)).map { _ in text() } }

        mutating func keyed<T>(_ make: (inout Choices) -> T) -> [String: T] {
            var values: [String: T] = [:]
            for _ in 0..<below(4) { values[text()] = make(&self) }
            return values
        }
    }

    func table(_ choices: inout Choices) -> Table {
        Table(
            schema: choices.text(), name: choices.text(), kind: choices.pick([.ordinary, .partitioned, .foreign]),
            persistence: choices.pick([.permanent, .unlogged, .temporary]), comment: choices.optionalText(),
            columns: (0..<choices.below(4)).map { _ in column(&choices) },
            constraints: choices.keyed { constraint(&$0) }, indexes: choices.keyed { index(&$0) },
            triggers: choices.keyed { Trigger(name: $0.text(), definition: $0.text(), enabled: $0.pick(["O", "D", "R", "A"])) },
            partitionOf: choices.optionalText(), partitionBound: choices.optionalText(), partitionKey: choices.optionalText())
    }

    func column(_ choices: inout Choices) -> Column {
        Column(
            name: choices.text(), type: choices.text(), notNull: choices.bool(), defaultExpression: choices.optionalText(),
            identity: choices.pick([nil, .always, .byDefault]), generatedExpression: choices.optionalText(),
            collation: choices.optionalText(), comment: choices.optionalText(), documentedType: choices.optionalText())
    }

    func constraint(_ choices: inout Choices) -> Constraint {
        let foreignKey = ForeignKey(
            referencedTable: choices.text(), referencedColumns: choices.texts(),
            onDelete: choices.pick([.noAction, .restrict, .cascade, .setNull, .setDefault]),
            onUpdate: choices.pick([.noAction, .cascade]), match: choices.pick([.simple, .full, .partial]))
        return Constraint(
            name: choices.text(), kind: choices.pick([.primaryKey, .unique, .foreignKey, .check, .exclusion]),
            columns: choices.texts(), definition: choices.text(), checkExpression: choices.optionalText(),
            foreignKey: choices.bool() ? foreignKey : nil, deferrable: choices.bool(), initiallyDeferred: choices.bool(),
            validated: choices.bool(), index: choices.optionalText())
    }

    func index(_ choices: inout Choices) -> Index {
        let keys = (0..<choices.below(3)).map { _ in
            IndexKey(
                expression: choices.text(), isColumn: choices.bool(), operatorClass: choices.optionalText(),
                collation: choices.optionalText(), descending: choices.bool(), nullsFirst: choices.bool())
        }
        return Index(
            name: choices.text(), definition: choices.text(), method: choices.pick(["btree", "gin", "hash"]), keys: keys,
            include: choices.texts(), predicate: choices.optionalText(), unique: choices.bool(), primary: choices.bool(),
            valid: choices.bool(), constraint: choices.optionalText())
    }

    @Test(arguments: [0, 1, 2, 3])
    func writesTheBytesEncodableGives(indent: Int) throws {
        var choices = Choices(state: UInt64(indent) &* 7919)
        for _ in 0..<500 {
            let table = table(&choices)
            var writer = CanonicalJSONWriter(indent: indent)
            table.write(to: &writer)
            let expected = try CanonicalJSON.render(table, indent: indent)
            // As text, so a failure shows where the two part.
            #expect(String(decoding: writer.bytes, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
            if writer.bytes != expected { return }  // one failure is enough to read
        }
    }

    /// A whole snapshot, tables spliced in from the writer, equals one encoded with no
    /// pre-rendering at all.
    @Test func snapshotTextMatchesTheTreeEncoder() throws {
        var choices = Choices(state: 42)
        var schema = sampleSchema()
        for _ in 0..<200 {
            let table = table(&choices)
            schema.tables[table.objectName.key] = table
        }
        let snapshot = Snapshot(
            pgmendVersion: "0.1.0", takenAt: "2026-11-21T09:00:00Z", durationMilliseconds: 12,
            serverVersion: "15.18", database: "d\"b\\\u{1}é", schema: schema)
        let plain = try CanonicalJSON.encode(snapshot, leadingKeys: ["format_version"])
        #expect(try snapshot.jsonText() == plain)
    }

    @Test func escapesAsBefore() throws {
        var output: [UInt8] = []
        CanonicalJSON.writeString("a\"b\\c\nd\re\tf\u{0}\u{1F}é🙂", into: &output)
        #expect(String(decoding: output, as: UTF8.self) == #""a\"b\\c\nd\re\tf\u0000\u001fé🙂""#)
    }
}
