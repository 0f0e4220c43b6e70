import Foundation

/// JSON that diffs cleanly in git: keys sorted (except a few named first), two-space indent,
/// one value per line, `"key": value`, non-ASCII kept as UTF-8, a final newline. The same value
/// always gives the same bytes.
public enum CanonicalJSON {
    /// Encodes `value`; top-level keys in `leadingKeys` come first, in that order.
    public static func encode<T: Encodable>(_ value: T, leadingKeys: [String] = []) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let tree = try JSONDecoder().decode(JSONValue.self, from: encoder.encode(value))
        var output = ""
        write(tree, indent: 0, leadingKeys: leadingKeys, into: &output)
        output += "\n"
        return output
    }

    private static func write(_ value: JSONValue, indent: Int, leadingKeys: [String] = [], into output: inout String) {
        let padding = String(repeating: "  ", count: indent + 1)
        switch value {
        case .null: output += "null"
        case .bool(let bool): output += bool ? "true" : "false"
        case .integer(let integer): output += String(integer)
        case .double(let double): output += String(double)
        case .string(let string): writeString(string, into: &output)
        case .array(let items):
            guard !items.isEmpty else { output += "[]"; return }
            output += "[\n"
            for (position, item) in items.enumerated() {
                output += padding
                write(item, indent: indent + 1, into: &output)
                output += position == items.count - 1 ? "\n" : ",\n"
            }
            output += String(repeating: "  ", count: indent) + "]"
        case .object(let members):
            guard !members.isEmpty else { output += "{}"; return }
            let leading = leadingKeys.filter { members[$0] != nil }
            let keys = leading + members.keys.filter { !leading.contains($0) }.sorted()
            output += "{\n"
            for (position, key) in keys.enumerated() {
                output += padding
                writeString(key, into: &output)
                output += ": "
                if let member = members[key] { write(member, indent: indent + 1, into: &output) }
                output += position == keys.count - 1 ? "\n" : ",\n"
            }
            output += String(repeating: "  ", count: indent) + "}"
        }
    }

    private static func writeString(_ string: String, into output: inout String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

/// Any JSON value, read back from JSONEncoder's output to be printed canonically.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}
