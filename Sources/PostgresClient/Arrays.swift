/// One-dimensional text arrays (`text[]`, `name[]`), bound and read in PostgreSQL's array
/// literal form: `{plain,"with \"quotes\" and, commas"}`.
extension Array: PostgresEncodable where Element == String {
    public static var postgresType: PostgresTypeOID { PostgresTypeOID(rawValue: 1009) }  // text[]

    public var postgresText: String {
        let elements = map { element -> String in
            var quoted = "\""
            for character in element {
                if character == "\"" || character == "\\" { quoted.append("\\") }
                quoted.append(character)
            }
            return quoted + "\""
        }
        return "{" + elements.joined(separator: ",") + "}"
    }
}

extension Array: PostgresDecodable where Element == String {
    /// Reads a one-dimensional array of non-NULL elements.
    public init(postgresText text: String, type: PostgresTypeOID) throws {
        var elements: [String] = []
        var characters = text.makeIterator()
        guard characters.next() == "{" else { throw PostgresDecodingFailure("expected an array literal") }
        var current = ""
        var quoted = false
        var wasQuoted = false
        var finished = false
        while let character = characters.next() {
            if quoted {
                switch character {
                case "\\":
                    guard let escaped = characters.next() else { throw PostgresDecodingFailure("unterminated escape") }
                    current.append(escaped)
                case "\"": quoted = false
                default: current.append(character)
                }
                continue
            }
            switch character {
            case "\"":
                quoted = true
                wasQuoted = true
            case "{": throw PostgresDecodingFailure("multi-dimensional arrays are not read here")
            case ",", "}":
                if character == "}" && elements.isEmpty && current.isEmpty && !wasQuoted {
                    finished = true
                    break
                }
                if !wasQuoted && current == "NULL" { throw PostgresDecodingFailure("array has a NULL element") }
                elements.append(current)
                current = ""
                wasQuoted = false
                if character == "}" { finished = true }
            default:
                current.append(character)
            }
            if finished { break }
        }
        guard finished, characters.next() == nil else { throw PostgresDecodingFailure("malformed array literal") }
        self = elements
    }
}
