/// Writes canonical JSON (the layout `CanonicalJSON` documents) straight into bytes, for the
/// types a large snapshot is made of.
///
/// Going through `Encodable` builds a tree of nodes and a dictionary per object, casts every
/// value to find its kind and sorts every object's keys as it writes; for a snapshot of
/// thousands of tables that was most of the client's CPU. A type that writes itself here
/// writes its members in sorted key order by hand, so the tree, the casts and the sorting go.
/// `CanonicalJSONWriterTests` checks that both ways give the same bytes.
///
/// Members and items go through `key(_:)` and `item()`, which put the comma and line break
/// that separate them; an object or array that got none closes as `{}` or `[]`.
struct CanonicalJSONWriter {
    private(set) var bytes: [UInt8] = []
    /// The current container depth: what `key` and `item` indent by.
    private var depth: Int
    /// For each open container: whether it has a member yet.
    private var opened: [Bool] = []

    /// A writer for a value that sits `indent` levels deep in its document.
    init(indent: Int = 0) {
        depth = indent
        bytes.reserveCapacity(1 << 12)
    }

    mutating func beginObject() { open(UInt8(ascii: "{")) }
    mutating func endObject() { close(UInt8(ascii: "}")) }
    mutating func beginArray() { open(UInt8(ascii: "[")) }
    mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Starts an object member; its value is written next.
    mutating func key(_ key: String) {
        separate()
        string(key)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(UInt8(ascii: " "))
    }

    /// Starts an array item; its value is written next.
    mutating func item() { separate() }

    mutating func string(_ value: String) { CanonicalJSON.writeString(value, into: &bytes) }
    mutating func bool(_ value: Bool) { bytes.append(contentsOf: (value ? "true" : "false").utf8) }

    // MARK: Members as the Codable conformances write them

    /// A member that is always written.
    mutating func member(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    /// A member left out when nil, as `encodeIfPresent` does.
    mutating func member(_ name: String, _ value: String?) {
        if let value { member(name, value) }
    }

    /// A member left out when it holds the usual value (`encode(_:forKey:unless:)`).
    mutating func member(_ name: String, _ value: String, unless usual: String) {
        if value != usual { member(name, value) }
    }

    mutating func member(_ name: String, _ value: Bool, unless usual: Bool) {
        guard value != usual else { return }
        key(name)
        bool(value)
    }

    mutating func member(_ name: String, _ value: Bool) {
        key(name)
        bool(value)
    }

    /// An array of strings.
    mutating func member(_ name: String, _ values: [String]) {
        key(name)
        beginArray()
        for value in values {
            item()
            string(value)
        }
        endArray()
    }

    /// An array of values that write themselves.
    mutating func member<Value: CanonicalJSONWritable>(_ name: String, _ values: [Value]) {
        key(name)
        beginArray()
        for value in values {
            item()
            value.write(to: &self)
        }
        endArray()
    }

    /// A dictionary, keys sorted as `CanonicalJSON` sorts them; left out when empty and
    /// `omittedWhenEmpty` (`encode(_:forKey:unless: [:])`).
    mutating func member<Value: CanonicalJSONWritable>(_ name: String, _ values: [String: Value], omittedWhenEmpty: Bool) {
        guard !(values.isEmpty && omittedWhenEmpty) else { return }
        key(name)
        beginObject()
        for name in values.keys.sorted() {
            key(name)
            values[name]?.write(to: &self)
        }
        endObject()
    }

    // MARK: Layout

    private mutating func open(_ bracket: UInt8) {
        bytes.append(bracket)
        opened.append(false)
        depth += 1
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        if opened.removeLast() {
            bytes.append(UInt8(ascii: "\n"))
            pad()
        }
        bytes.append(bracket)
    }

    private mutating func separate() {
        if opened[opened.count - 1] {
            bytes.append(UInt8(ascii: ","))
        } else {
            opened[opened.count - 1] = true
        }
        bytes.append(UInt8(ascii: "\n"))
        pad()
    }

    private mutating func pad() {
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
    }
}

/// A value that writes its own canonical JSON, the bytes its `Encodable` conformance gives
/// through `CanonicalJSON`.
protocol CanonicalJSONWritable {
    func write(to writer: inout CanonicalJSONWriter)
}
