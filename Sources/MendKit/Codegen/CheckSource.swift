import Foundation
import SchemaModel

/// A check constraint's expression as the generated files write it.
///
/// PostgreSQL prints some expressions in a form that does not read back as itself. The usual
/// one in SQLAlchemy applications: `status IN ('a', 'b')` on a varchar column prints as
/// `(status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])`,
/// and that text, read back, is stored with each element cast (`'a'::character varying::text`),
/// so a table created from the printed form differs from the original. Such an expression, in
/// either form (drift compares checks in the second, `DriftMatrix.reparsed`), is written back as
/// the `IN` list it came from; any other as printed.
enum CheckSource {
    static func expression(_ constraint: Constraint) -> String {
        let printed = constraint.checkExpression ?? SQLAlchemyParts.checkBody(constraint.definition)
        return inList(printed) ?? printed
    }

    private static let anyArray: NSRegularExpression? = try? NSRegularExpression(
        pattern: #"^\(?("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\)?::text = ANY \(\(?ARRAY\[(.*)\]\)?(?:::text\[\])?\)$"#)
    private static let item: NSRegularExpression? = try? NSRegularExpression(pattern: #"^'((?:[^']|'')*)'::character varying(?:::text)?$"#)

    /// `col IN ('a', 'b')` for the printed form of one, else nil.
    static func inList(_ printed: String) -> String? {
        let text = unwrapped(printed)
        let whole = NSRange(text.startIndex..., in: text)
        guard let anyArray, let item, let match = anyArray.firstMatch(in: text, range: whole),
            let column = Range(match.range(at: 1), in: text), let list = Range(match.range(at: 2), in: text)
        else { return nil }
        var literals: [String] = []
        for element in splitLiterals(String(text[list])) {
            let range = NSRange(element.startIndex..., in: element)
            guard let found = item.firstMatch(in: element, range: range), let value = Range(found.range(at: 1), in: element) else { return nil }
            literals.append("'\(element[value])'")
        }
        guard !literals.isEmpty else { return nil }
        return "\(text[column]) IN (\(literals.joined(separator: ", ")))"
    }

    /// Without the parentheses around the whole of it.
    static func unwrapped(_ text: String) -> String {
        var text = text.trimmingCharacters(in: .whitespaces)
        while text.hasPrefix("("), text.hasSuffix(")") {
            var depth = 0
            var closesAtEnd = true
            var quoted = false
            for (offset, character) in text.enumerated() {
                if character == "'" { quoted.toggle() }
                guard !quoted else { continue }
                if character == "(" { depth += 1 }
                if character == ")" { depth -= 1 }
                if depth == 0 && offset < text.count - 1 { closesAtEnd = false; break }
            }
            guard closesAtEnd else { break }
            text = String(text.dropFirst().dropLast())
        }
        return text
    }

    /// `'a'::x, 'b, c'::x` -> the two items (commas inside quotes kept).
    private static func splitLiterals(_ list: String) -> [String] {
        var items: [String] = []
        var current = ""
        var quoted = false
        for character in list {
            if character == "'" { quoted.toggle() }
            if character == ",", !quoted {
                items.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else {
                current.append(character)
            }
        }
        items.append(current.trimmingCharacters(in: .whitespaces))
        return items
    }
}
