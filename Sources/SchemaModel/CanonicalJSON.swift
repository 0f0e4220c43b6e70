import Foundation

/// JSON that diffs cleanly in git: keys sorted (except a few named first), two-space indent,
/// one value per line, `"key": value`, non-ASCII kept as UTF-8, a final newline. The same value
/// always gives the same bytes.
public enum CanonicalJSON {
    /// Encodes `value`; top-level keys in `leadingKeys` come first, in that order.
    public static func encode<T: Encodable>(
        _ value: T, leadingKeys: [String] = [], userInfo: [CodingUserInfoKey: Any] = [:]
    ) throws -> String {
        String(decoding: try render(value, leadingKeys: leadingKeys, userInfo: userInfo), as: UTF8.self) + "\n"
    }

    /// The canonical bytes of `value` as it would appear at `indent` levels deep, no final newline.
    static func render<T: Encodable>(
        _ value: T, indent: Int = 0, leadingKeys: [String] = [], userInfo: [CodingUserInfoKey: Any] = [:]
    ) throws -> [UInt8] {
        let tree = try JSONTreeEncoder(userInfo: userInfo).encode(value)
        var output: [UInt8] = []
        output.reserveCapacity(1 << 12)
        write(tree, indent: indent, leadingKeys: leadingKeys, into: &output)
        return output
    }

    /// Renders the values of a large dictionary on all cores, each at `indent`, for splicing
    /// into a document with `RenderedMembers`. A 2,000-table snapshot spends most of its time
    /// turning tables into text; tables do not depend on one another.
    static func renderInParallel<Value: Encodable & Sendable>(_ values: [String: Value], indent: Int) throws -> [String: [UInt8]] {
        let entries = Array(values)
        let slices = max(1, min(ProcessInfo.processInfo.activeProcessorCount, entries.count / 64))
        let results = RenderedSlices(count: slices)
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            var rendered: [String: [UInt8]] = [:]
            let outcome = Result {
                for position in stride(from: slice, to: entries.count, by: slices) {
                    rendered[entries[position].key] = try render(entries[position].value, indent: indent)
                }
                return rendered
            }
            results.store(outcome, at: slice)
        }
        return try results.merged()
    }

    private static func write(_ node: TreeNode, indent: Int, leadingKeys: [String] = [], into output: inout [UInt8]) {
        switch node.kind {
        case .empty:
            output.append(contentsOf: emptyObject)
        case .scalar:
            writeScalar(node.scalar, into: &output)
        case .array:
            guard !node.items.isEmpty else { output.append(contentsOf: emptyArray); return }
            output.append(contentsOf: openArray)
            for (position, item) in node.items.enumerated() {
                pad(indent + 1, &output)
                write(item, indent: indent + 1, into: &output)
                if position < node.items.count - 1 { output.append(comma) }
                output.append(newline)
            }
            pad(indent, &output)
            output.append(UInt8(ascii: "]"))
        case .object:
            let members = node.members
            guard !members.isEmpty else { output.append(contentsOf: emptyObject); return }
            let leading = leadingKeys.filter { members[$0] != nil }
            let keys = leading + members.keys.filter { !leading.contains($0) }.sorted()
            output.append(contentsOf: openObject)
            for (position, key) in keys.enumerated() {
                pad(indent + 1, &output)
                writeString(key, into: &output)
                output.append(contentsOf: colon)
                if let member = members[key] { write(member, indent: indent + 1, into: &output) }
                if position < keys.count - 1 { output.append(comma) }
                output.append(newline)
            }
            pad(indent, &output)
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func write(_ child: TreeChild, indent: Int, into output: inout [UInt8]) {
        switch child {
        case .scalar(let value): writeScalar(value, into: &output)
        case .node(let node): write(node, indent: indent, into: &output)
        case .rendered(let bytes): output.append(contentsOf: bytes)
        }
    }

    private static let emptyObject = Array("{}".utf8)
    private static let emptyArray = Array("[]".utf8)
    private static let openObject = Array("{\n".utf8)
    private static let openArray = Array("[\n".utf8)
    private static let colon = Array(": ".utf8)
    private static let comma = UInt8(ascii: ",")
    private static let newline = UInt8(ascii: "\n")

    private static func pad(_ indent: Int, _ output: inout [UInt8]) {
        for _ in 0..<(indent * 2) { output.append(UInt8(ascii: " ")) }
    }

    private static func writeScalar(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let bool): output.append(contentsOf: (bool ? "true" : "false").utf8)
        case .integer(let integer): output.append(contentsOf: String(integer).utf8)
        case .double(let double): output.append(contentsOf: String(double).utf8)
        case .string(let string): writeString(string, into: &output)
        }
    }

    private static func writeString(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default:
                output.append(byte)  // UTF-8 passes through unchanged
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

/// A JSON scalar, as `JSONTreeEncoder` records it.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
}

/// Per-slice results of `renderInParallel`, each written by one worker.
private final class RenderedSlices: @unchecked Sendable {
    private let lock = NSLock()
    private var slices: [Result<[String: [UInt8]], Error>?]

    init(count: Int) { slices = Array(repeating: nil, count: count) }

    func store(_ result: Result<[String: [UInt8]], Error>, at index: Int) {
        lock.withLock { slices[index] = result }
    }

    func merged() throws -> [String: [UInt8]] {
        try lock.withLock {
            try slices.reduce(into: [:]) { all, slice in
                if let slice { all.merge(try slice.get()) { first, _ in first } }
            }
        }
    }
}
