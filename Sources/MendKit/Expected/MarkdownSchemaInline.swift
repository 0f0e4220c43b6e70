import SchemaModel

/// A name as a document wrote it: double-quoted names are exact, others fold to lower case as
/// PostgreSQL folds an unquoted identifier.
struct Identifier: Hashable {
    var text: String
    var quoted: Bool
    var folded: String { quoted ? text : text.lowercased() }
}

/// What a heading says: the name it gives (in a code span or as its words) and whether it
/// calls itself a table.
struct HeadingTitle {
    /// The name part, before it is read as a (possibly schema-qualified) identifier.
    var candidate: String
    /// `Table: users`, `users table`, ``The `users` table``: a table even without a column list.
    var saysTable: Bool

    init?(_ heading: String) {
        var text = Substring(heading.trimmingWhitespace())
        // `3. Goals`, `2) users`, `1.2 users`: numbering is not part of the name.
        let numbering = text.prefix { $0.isASCII && ($0.isNumber || $0 == "." || $0 == ")") }
        if !numbering.isEmpty, numbering.first?.isNumber == true, text.dropFirst(numbering.count).first?.isWhitespace == true {
            text = text.dropFirst(numbering.count).drop { $0.isWhitespace }
        }
        if let (code, range) = MarkdownInline.firstCodeSpan(String(text)) {
            var name = code
            var rest = String(text)
            var end = range.upperBound
            // `billing`.`invoices`: a schema and a table, each in its own span.
            while rest[end...].hasPrefix(".`"), let (next, nextRange) = MarkdownInline.firstCodeSpan(String(rest[rest.index(after: end)...])) {
                let tail = String(rest[rest.index(after: end)...])
                guard nextRange.lowerBound == tail.startIndex else { break }
                name += "." + next
                end = rest.index(end, offsetBy: 1 + tail.distance(from: tail.startIndex, to: nextRange.upperBound))
            }
            rest.removeSubrange(range.lowerBound..<end)
            candidate = name
            saysTable = MarkdownInline.plain(rest).lowercased().split { !$0.isLetter }.contains("table")
            return
        }
        var plain = MarkdownInline.plain(String(text)).trimmingWhitespace()
        var saysTable = false
        for prefix in ["table:", "table "] where plain.lowercased().hasPrefix(prefix) {
            plain = String(plain.dropFirst(prefix.count)).trimmingWhitespace()
            saysTable = true
            break
        }
        for annotation in [" - ", " — ", " – ", " (", ": "] {
            if let range = plain.range(of: annotation) { plain = String(plain[..<range.lowerBound]) }
        }
        if plain.lowercased().hasSuffix(" table") {
            plain = String(plain.dropLast(" table".count)).trimmingWhitespace()
            saysTable = true
        }
        guard !plain.isEmpty else { return nil }
        self.candidate = plain
        self.saysTable = saysTable
    }

    /// The table's name: in pgmend's own document the heading exactly (`audit.log`, `users`),
    /// elsewhere one or two identifiers (`schema.table`), unquoted ones folded.
    func objectName(exact: Bool) -> ObjectName? {
        if exact { return ObjectName(parsing: candidate) }
        guard let parts = MarkdownInline.qualifiedIdentifier(candidate) else { return nil }
        switch parts.count {
        case 1: return ObjectName(schema: "public", name: parts[0].folded)
        case 2: return ObjectName(schema: parts[0].folded, name: parts[1].folded)
        default: return nil
        }
    }
}

/// Small readers of Markdown inline text: code spans, emphasis, names at the start of a line.
enum MarkdownInline {
    /// The text without emphasis markers, code-span backticks and link targets.
    static func plain(_ text: String) -> String {
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "*" || character == "`" {
                index = text.index(after: index)
                continue
            }
            if character == "]", text[text.index(after: index)...].hasPrefix("("),
               let close = text[index...].firstIndex(of: ")") {
                index = text.index(after: close)
                continue
            }
            if character != "[" { result.append(character) }
            index = text.index(after: index)
        }
        return result
    }

    /// The content of the first code span, and where the span is.
    static func firstCodeSpan(_ text: String) -> (String, Range<String.Index>)? {
        guard let open = text.firstIndex(of: "`") else { return nil }
        let fence = text[open...].prefix { $0 == "`" }
        var search = fence.endIndex
        while let close = text[search...].range(of: String(fence)) {
            let after = close.upperBound
            // A longer run of backticks does not close a shorter fence.
            if after < text.endIndex, text[after] == "`" {
                search = text[after...].firstIndex { $0 != "`" } ?? text.endIndex
                continue
            }
            var content = String(text[fence.endIndex..<close.lowerBound])
            if content.count >= 2, content.hasPrefix(" "), content.hasSuffix(" "),
               content.contains(where: { $0 != " " }) {
                content = String(content.dropFirst().dropLast())
            }
            return (content, open..<after)
        }
        return nil
    }

    /// A cell that is one code span (as pgmend writes types): its content.
    static func codeContent(_ text: String) -> String? {
        guard let (content, range) = firstCodeSpan(text), range == text.startIndex..<text.endIndex else { return nil }
        return content
    }

    /// The name at the start of a cell or item (`` `email` ``, `**id**`, `"Users"`, `id (PK)`),
    /// whether it was marked up, and the text after it.
    static func leadingName(_ text: String) -> (name: Identifier, delimited: Bool, rest: String)? {
        var text = Substring(text.trimmingWhitespace())
        var emphasis = ""
        for marker in ["**", "__", "*", "_"] where text.hasPrefix(marker) {
            emphasis = marker
            text = text.dropFirst(marker.count)
            break
        }
        var name: Identifier
        var delimited = !emphasis.isEmpty
        if text.first == "`", let (content, range) = firstCodeSpan(String(text)) {
            let inner = content.trimmingWhitespace()
            if let parts = qualifiedIdentifier(inner), parts.count == 1 {
                name = parts[0]
            } else {
                name = Identifier(text: inner, quoted: false)
            }
            text = String(text)[range.upperBound...]
            delimited = true
        } else if text.first == "\"", let (identifier, rest) = quotedIdentifier(text) {
            name = identifier
            text = rest
            delimited = true
        } else {
            let token = text.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "$" }
            guard let first = token.first, first.isLetter || first == "_" else { return nil }
            name = Identifier(text: String(token), quoted: false)
            text = text.dropFirst(token.count)
        }
        if !emphasis.isEmpty, text.hasPrefix(emphasis) { text = text.dropFirst(emphasis.count) }
        guard !name.text.isEmpty else { return nil }
        return (name, delimited, String(text))
    }

    /// `users`, `audit.log`, `"My Table"`, `app."Users"`: the dot-separated identifiers, or nil
    /// when the text is anything else (prose, punctuation).
    static func qualifiedIdentifier(_ text: String) -> [Identifier]? {
        var parts: [Identifier] = []
        var rest = Substring(text.trimmingWhitespace())
        while true {
            if rest.first == "\"" {
                guard let (identifier, after) = quotedIdentifier(rest) else { return nil }
                parts.append(identifier)
                rest = after
            } else {
                let token = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "$" }
                guard let first = token.first, first.isLetter || first == "_" else { return nil }
                parts.append(Identifier(text: String(token), quoted: false))
                rest = rest.dropFirst(token.count)
            }
            if rest.isEmpty { return parts }
            guard rest.first == "." else { return nil }
            rest = rest.dropFirst()
        }
    }

    /// `"name"` with `""` for a quote inside, and the text after it.
    static func quotedIdentifier(_ text: Substring) -> (Identifier, Substring)? {
        guard text.first == "\"" else { return nil }
        var name = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            index = text.index(after: index)
            if character == "\"" {
                if index < text.endIndex, text[index] == "\"" {
                    name.append("\"")
                    index = text.index(after: index)
                    continue
                }
                return name.isEmpty ? nil : (Identifier(text: name, quoted: true), text[index...])
            }
            name.append(character)
        }
        return nil
    }

    /// The text inside the parentheses that open `text`, nested ones kept: `(numeric(10,2), PK)`.
    static func parenthesised(_ text: Substring) -> String? {
        guard text.first == "(" else { return nil }
        var depth = 0
        for index in text.indices {
            switch text[index] {
            case "(": depth += 1
            case ")":
                depth -= 1
                if depth == 0 { return String(text[text.index(after: text.startIndex)..<index]) }
            default: break
            }
        }
        return nil
    }

    /// Splits at commas outside parentheses: `numeric(10,2), PK` -> [`numeric(10,2)`, `PK`].
    static func splitAtTopLevelCommas(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth = max(0, depth - 1) }
            if character == ",", depth == 0 {
                parts.append(current.trimmingWhitespace())
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current.trimmingWhitespace())
        return parts
    }
}
