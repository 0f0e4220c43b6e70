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
    /// turning tables into text; tables do not depend on one another, and each writes itself
    /// (`CanonicalJSONWriter`) rather than going through `Encodable`.
    static func renderInParallel<Value: CanonicalJSONWritable & Sendable>(_ values: [String: Value], indent: Int) -> [String: [UInt8]] {
        let entries = Array(values)
        let slices = max(1, min(ProcessInfo.processInfo.activeProcessorCount, entries.count / 64))
        let results = RenderedSlices(count: slices)
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            var rendered: [String: [UInt8]] = [:]
            rendered.reserveCapacity(entries.count / slices + 1)
            for position in stride(from: slice, to: entries.count, by: slices) {
                var writer = CanonicalJSONWriter(indent: indent)
                entries[position].value.write(to: &writer)
                rendered[entries[position].key] = writer.bytes
            }
            results.store(rendered, at: slice)
        }
        return results.merged()
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

    /// `string` quoted and escaped: `"` and `\` escaped, control characters as `\n`, `\r`,
    /// `\t` or `\u00XX`, everything else (all of UTF-8 above them) as it is.
    static func writeString(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        // Most names and definitions need no escape: copy them whole.
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            output.append(contentsOf: string.utf8)
            output.append(UInt8(ascii: "\""))
            return
        }
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
    private var slices: [[String: [UInt8]]]

    init(count: Int) { slices = Array(repeating: [:], count: count) }

    func store(_ rendered: [String: [UInt8]], at index: Int) {
        lock.withLock { slices[index] = rendered }
    }

    func merged() -> [String: [UInt8]] {
        lock.withLock {
            slices.reduce(into: [:]) { all, slice in all.merge(slice) { first, _ in first } }
        }
    }
}
