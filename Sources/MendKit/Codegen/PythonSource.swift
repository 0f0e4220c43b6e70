import Foundation

/// Pieces of Python source text: string literals, identifiers, and the import lines a generated
/// file needs, collected while it is written so it imports exactly what it uses.
enum PythonSource {
    /// A double-quoted Python string literal that means exactly `text`.
    static func literal(_ text: String) -> String { DoubleQuoted.literal(text) }

    /// A list of string literals: `["a", "b"]`.
    static func list(_ items: [String]) -> String {
        "[" + items.map(literal).joined(separator: ", ") + "]"
    }

    static let keywords: Set<String> = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
        "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "match", "case", "type", "_",
    ]

    /// Whether `text` is a plain ASCII identifier that is no keyword.
    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first == "_" || isASCIILetter(first) else { return false }
        return text.unicodeScalars.allSatisfy { $0 == "_" || isASCIILetter($0) || ("0"..."9").contains($0) }
            && !keywords.contains(text)
    }

    private static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    /// An identifier made from `text`: other characters become `_`, a leading digit gets a `_`
    /// before it, and a keyword or a name in `reserved` gets one after it.
    static func identifier(_ text: String, reserved: Set<String> = []) -> String {
        var out = String(String.UnicodeScalarView(text.unicodeScalars.map {
            $0 == "_" || isASCIILetter($0) || ("0"..."9").contains($0) ? $0 : "_"
        }))
        if out.isEmpty { out = "_" }
        if let first = out.unicodeScalars.first, ("0"..."9").contains(first) { out = "_" + out }
        while keywords.contains(out) || reserved.contains(out) { out += "_" }
        return out
    }

    /// `claude_code_sessions` -> `ClaudeCodeSessions`.
    static func camelCase(_ text: String) -> String {
        let words = text.split(whereSeparator: { !($0.isASCII && ($0.isLetter || $0.isNumber)) })
        let joined = words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        return identifier(joined.isEmpty ? "Table" : joined)
    }

    /// The singular of an English plural table name's last word: `sessions` -> `session`,
    /// `categories` -> `category`, `status` and `address` stay.
    static func singular(_ name: String) -> String {
        let lower = name.lowercased()
        if lower.hasSuffix("ies"), name.count > 4 { return String(name.dropLast(3)) + "y" }
        for ending in ["sses", "shes", "ches", "xes"] where lower.hasSuffix(ending) { return String(name.dropLast(2)) }
        if lower.hasSuffix("s"), !["ss", "us", "is"].contains(where: lower.hasSuffix), name.count > 2 {
            return String(name.dropLast())
        }
        return name
    }
}

extension PythonSource {
    /// `item` (a call such as `Index("x", "a", unique=True)`) on one line at `indent` with
    /// `suffix`, or, when that is longer than `width`, one argument a line.
    static func wrapped(_ item: String, indent: String, suffix: String = ",", width: Int = 100) -> String {
        let single = indent + item + suffix
        guard single.count > width, let open = item.firstIndex(of: "("), item.hasSuffix(")") else { return single }
        let inner = item[item.index(after: open)..<item.index(before: item.endIndex)]
        let arguments = topLevelArguments(String(inner))
        guard arguments.count > 1 else { return single }
        return indent + item[...open] + "\n"
            + arguments.map { indent + "    " + $0 + ",\n" }.joined()
            + indent + ")" + suffix
    }

    /// Splits a Python argument list at the commas outside brackets and string literals.
    static func topLevelArguments(_ text: String) -> [String] {
        var arguments: [String] = []
        var current = ""
        var depth = 0
        var quote: Character?
        var escaped = false
        for character in text {
            if let open = quote {
                current.append(character)
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == open { quote = nil }
                continue
            }
            switch character {
            case "\"", "'": quote = character; current.append(character)
            case "(", "[", "{": depth += 1; current.append(character)
            case ")", "]", "}": depth -= 1; current.append(character)
            case "," where depth == 0:
                arguments.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            default: current.append(character)
            }
        }
        let last = current.trimmingCharacters(in: .whitespaces)
        if !last.isEmpty { arguments.append(last) }
        return arguments
    }
}

/// The names a generated file imports, gathered while its body is written.
struct PythonImports {
    private var modules: [String: Set<String>] = [:]
    private var plain: Set<String> = []
    /// False in a file without annotations (a migration): the Python value types a column
    /// maps to are not imported.
    var annotations = true

    /// A name used only in annotations (`Decimal`, `Any`).
    mutating func annotation(from module: String, _ name: String) {
        if annotations { from(module, name) }
    }

    /// A module used only in annotations (`datetime`, `uuid`).
    mutating func annotation(module name: String) {
        if annotations { module(name) }
    }

    /// `from module import name`.
    mutating func from(_ module: String, _ name: String) {
        modules[module, default: []].insert(name)
    }

    /// `import module`.
    mutating func module(_ name: String) {
        plain.insert(name)
    }

    /// Adds `other`'s imports to these.
    mutating func merge(_ other: PythonImports) {
        for (module, names) in other.modules { modules[module, default: []].formUnion(names) }
        plain.formUnion(other.plain)
    }

    /// The import block: standard library first, then third-party, then the rest, each sorted,
    /// as isort would order it.
    func lines(firstParty: Set<String> = []) -> [String] {
        let standard: Set<String> = ["datetime", "decimal", "enum", "typing", "uuid", "__future__"]
        func group(_ module: String) -> Int {
            if module == "__future__" { return 0 }
            let root = String(module.split(separator: ".").first ?? "")
            if standard.contains(root) { return 1 }
            if firstParty.contains(module) { return 3 }
            return 2
        }
        // isort's defaults: in each section, `import x` lines before `from x import y` lines;
        // a line longer than 100 characters is wrapped in parentheses, one name a line.
        var entries: [(group: Int, from: Bool, key: String, line: String)] = []
        for name in plain { entries.append((group(name), false, name, "import \(name)")) }
        for (module, names) in modules {
            let sorted = names.sorted(by: Self.isortOrder)
            var line = "from \(module) import \(sorted.joined(separator: ", "))"
            if line.count > 100 {
                line = "from \(module) import (\n" + sorted.map { "    \($0),\n" }.joined() + ")"
            }
            entries.append((group(module), true, module, line))
        }
        entries.sort { ($0.group, $0.from ? 1 : 0, $0.key) < ($1.group, $1.from ? 1 : 0, $1.key) }
        var out: [String] = []
        var last: Int?
        for entry in entries {
            if let last, last != entry.group { out.append("") }
            out.append(entry.line)
            last = entry.group
        }
        return out
    }

    /// Constants (ALL_CAPS) first, then classes, then functions, as isort's force_sort_within_sections off does.
    private static func isortOrder(_ a: String, _ b: String) -> Bool {
        func rank(_ name: String) -> Int {
            if name == name.uppercased() && name.count > 1 { return 0 }
            if name.first?.isUppercase == true { return 1 }
            return 2
        }
        return (rank(a), a) < (rank(b), b)
    }
}
