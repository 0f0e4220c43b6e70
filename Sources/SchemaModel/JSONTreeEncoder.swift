/// Encodes an `Encodable` value straight into a `JSONValue` tree, for `CanonicalJSON`.
///
/// Going through `JSONEncoder` and parsing its bytes back cost more than reading the catalog
/// for a large schema (a 2,000-table snapshot: over a second); building the tree directly is
/// a single pass with no text in between.
struct JSONTreeEncoder {
    var userInfo: [CodingUserInfoKey: Any] = [:]

    func encode<T: Encodable>(_ value: T) throws -> TreeNode {
        let encoder = TreeEncoder(codingPath: [], userInfo: userInfo)
        try value.encode(to: encoder)
        return encoder.storage
    }
}

/// A member of an object or an item of an array: scalars are stored inline, so most values
/// of a large document never allocate a node of their own.
enum TreeChild {
    case scalar(JSONValue)
    case node(TreeNode)
    /// Text rendered beforehand (at the right indent), copied into the output as it is.
    case rendered([UInt8])
}

/// A node under construction: containers are reference types so nested containers handed
/// out by the Encoder API can keep writing into their parent, and members live in stored
/// properties (not enum payloads) so adding one never copies the others.
final class TreeNode {
    enum Kind { case empty, scalar, object, array }
    private(set) var kind = Kind.empty
    private(set) var scalar = JSONValue.null
    private(set) var members: [String: TreeChild] = [:]
    private(set) var items: [TreeChild] = []

    func set(_ value: JSONValue) {
        kind = .scalar
        scalar = value
    }

    func makeObject() { if kind == .empty { kind = .object } }
    func makeArray() { if kind == .empty { kind = .array } }

    func setMember(_ key: String, _ value: JSONValue) {
        kind = .object
        members[key] = .scalar(value)
    }

    func setRenderedMember(_ key: String, _ bytes: [UInt8]) {
        kind = .object
        members[key] = .rendered(bytes)
    }

    func member(_ key: String) -> TreeNode {
        kind = .object
        if case .node(let existing)? = members[key] { return existing }
        let node = TreeNode()
        members[key] = .node(node)
        return node
    }

    func append(_ value: JSONValue) {
        kind = .array
        items.append(.scalar(value))
    }

    func appended() -> TreeNode {
        kind = .array
        let node = TreeNode()
        items.append(.node(node))
        return node
    }
}

/// The scalar a value encodes to, when it is one of the scalar types; nil otherwise.
private func scalarValue<T: Encodable>(_ value: T) -> JSONValue? {
    switch value {
    case let string as String: return .string(string)
    case let bool as Bool: return .bool(bool)
    case let integer as Int: return .integer(Int64(integer))
    case let integer as Int64: return .integer(integer)
    case let double as Double: return .double(double)
    // Other widths, which would otherwise come back here through their own encode(to:).
    case let integer as any BinaryInteger: return .integer(Int64(integer))
    case let float as any BinaryFloatingPoint: return .double(Double(float))
    default: return nil
    }
}

final class TreeEncoder: Encoder {
    let storage: TreeNode
    let codingPath: [CodingKey]
    let userInfo: [CodingUserInfoKey: Any]

    init(codingPath: [CodingKey], storage: TreeNode = TreeNode(), userInfo: [CodingUserInfoKey: Any] = [:]) {
        self.codingPath = codingPath
        self.storage = storage
        self.userInfo = userInfo
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        storage.makeObject()
        return KeyedEncodingContainer(KeyedTreeContainer<Key>(node: storage, codingPath: codingPath, userInfo: userInfo))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        storage.makeArray()
        return UnkeyedTreeContainer(node: storage, codingPath: codingPath, userInfo: userInfo)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        SingleTreeContainer(node: storage, codingPath: codingPath, userInfo: userInfo)
    }
}

/// Encodes a nested value into `node`: scalars directly, anything else through its `encode(to:)`.
private func encodeValue<T: Encodable>(
    _ value: T, into node: TreeNode, codingPath: [CodingKey], userInfo: [CodingUserInfoKey: Any]
) throws {
    if let scalar = scalarValue(value) {
        node.set(scalar)
    } else {
        try value.encode(to: TreeEncoder(codingPath: codingPath, storage: node, userInfo: userInfo))
    }
}

private struct KeyedTreeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: TreeNode
    let codingPath: [CodingKey]
    let userInfo: [CodingUserInfoKey: Any]

    mutating func encodeNil(forKey key: Key) throws { node.setMember(key.stringValue, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { node.setMember(key.stringValue, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { node.setMember(key.stringValue, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { node.setMember(key.stringValue, .double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { node.setMember(key.stringValue, .integer(Int64(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { node.setMember(key.stringValue, .integer(value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if let scalar = scalarValue(value) {
            node.setMember(key.stringValue, scalar)
        } else {
            try value.encode(to: TreeEncoder(codingPath: codingPath + [key], storage: node.member(key.stringValue), userInfo: userInfo))
        }
    }
    // Optionals that are nil are left out, as JSONEncoder does.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = node.member(key.stringValue)
        child.makeObject()
        return KeyedEncodingContainer(KeyedTreeContainer<NestedKey>(node: child, codingPath: codingPath + [key], userInfo: userInfo))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let child = node.member(key.stringValue)
        child.makeArray()
        return UnkeyedTreeContainer(node: child, codingPath: codingPath + [key], userInfo: userInfo)
    }

    mutating func superEncoder() -> Encoder { TreeEncoder(codingPath: codingPath, storage: node.member("super"), userInfo: userInfo) }
    mutating func superEncoder(forKey key: Key) -> Encoder {
        TreeEncoder(codingPath: codingPath + [key], storage: node.member(key.stringValue), userInfo: userInfo)
    }
}

private struct UnkeyedTreeContainer: UnkeyedEncodingContainer {
    let node: TreeNode
    let codingPath: [CodingKey]
    let userInfo: [CodingUserInfoKey: Any]
    var count: Int { node.items.count }

    mutating func encodeNil() throws { node.append(.null) }
    mutating func encode(_ value: String) throws { node.append(.string(value)) }
    mutating func encode(_ value: Bool) throws { node.append(.bool(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        if let scalar = scalarValue(value) {
            node.append(scalar)
        } else {
            try value.encode(to: TreeEncoder(codingPath: codingPath, storage: node.appended(), userInfo: userInfo))
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = node.appended()
        child.makeObject()
        return KeyedEncodingContainer(KeyedTreeContainer<NestedKey>(node: child, codingPath: codingPath, userInfo: userInfo))
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let child = node.appended()
        child.makeArray()
        return UnkeyedTreeContainer(node: child, codingPath: codingPath, userInfo: userInfo)
    }

    mutating func superEncoder() -> Encoder { TreeEncoder(codingPath: codingPath, storage: node.appended(), userInfo: userInfo) }
}

private struct SingleTreeContainer: SingleValueEncodingContainer {
    let node: TreeNode
    let codingPath: [CodingKey]
    let userInfo: [CodingUserInfoKey: Any]

    mutating func encodeNil() throws { node.set(.null) }
    mutating func encode(_ value: Bool) throws { node.set(.bool(value)) }
    mutating func encode(_ value: String) throws { node.set(.string(value)) }
    mutating func encode(_ value: Double) throws { node.set(.double(value)) }
    mutating func encode(_ value: Int) throws { node.set(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) throws { node.set(.integer(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try encodeValue(value, into: node, codingPath: codingPath, userInfo: userInfo)
    }
}

/// An object whose members were rendered beforehand (in parallel, by `CanonicalJSON`): the
/// tree encoder splices the bytes in; no other encoder can use it.
struct RenderedMembers: Encodable {
    let members: [String: [UInt8]]

    func encode(to encoder: Encoder) throws {
        guard let tree = encoder as? TreeEncoder else {
            throw EncodingError.invalidValue(members, .init(codingPath: encoder.codingPath, debugDescription: "pre-rendered JSON needs CanonicalJSON"))
        }
        tree.storage.makeObject()
        for (key, bytes) in members { tree.storage.setRenderedMember(key, bytes) }
    }
}
