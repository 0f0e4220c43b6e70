import SchemaModel

extension SchemaDocs {
    /// The anchors a GitHub-style renderer gives headings (lowercase, punctuation dropped, spaces to
    /// hyphens, `-1`, `-2` for repeats), so table-of-contents links land where they should.
    struct HeadingAnchors {
        private var occurrences: [String: Int] = [:]

        /// Records a heading, in document order, and returns its anchor.
        @discardableResult
        mutating func register(_ heading: String) -> String {
            let base = Self.slug(heading)
            var anchor = base
            while occurrences[anchor] != nil {
                let repeatCount = (occurrences[base] ?? 0) + 1
                occurrences[base] = repeatCount
                anchor = "\(base)-\(repeatCount)"
            }
            occurrences[anchor] = 0
            return anchor
        }

        static func slug(_ heading: String) -> String {
            var slug = ""
            for scalar in heading.lowercased().unicodeScalars {
                if scalar == " " || scalar == "-" {
                    slug.append("-")
                    continue
                }
                switch scalar.properties.generalCategory {
                case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                     .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber,
                     .connectorPunctuation:
                    slug.unicodeScalars.append(scalar)
                default:
                    break
                }
            }
            return slug
        }
    }

    /// Escaping for text that comes from the database (names, comments, expressions) and must not
    /// break the Markdown around it.
    enum MarkdownText {
        /// Newlines become spaces: a line break ends a table row or a list item.
        static func singleLine(_ text: String) -> String {
            String(text.map { $0.isNewline ? " " : $0 })
        }

        /// A table cell: on one line, with `|` escaped so it does not start a new cell. GitHub reads
        /// `\|` as a pipe even inside a code span, so this is applied after `code`.
        static func cell(_ text: String) -> String {
            singleLine(text).replacingPipes()
        }

        /// An inline code span whose fence is longer than any run of backticks inside it.
        static func code(_ text: String) -> String {
            let flat = singleLine(text)
            guard !flat.isEmpty else { return "" }
            let fence = String(repeating: "`", count: longestBacktickRun(flat) + 1)
            let padding = flat.hasPrefix("`") || flat.hasSuffix("`") ? " " : ""
            return fence + padding + flat + padding + fence
        }

        /// A fenced block, with a fence no line of the text can close early.
        static func fencedCode(_ text: String, language: String) -> String {
            var body = text
            while let last = body.last, last.isNewline { body.removeLast() }
            let fence = String(repeating: "`", count: max(3, longestBacktickRun(body) + 1))
            return "\(fence)\(language)\n\(body)\n\(fence)"
        }

        /// A comment as a quotation, line breaks kept, or nil when there is nothing to show.
        static func blockquote(_ text: String) -> String? {
            guard text.contains(where: { !$0.isWhitespace }) else { return nil }
            return text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                .map { line in
                    // Trailing spaces would turn into a Markdown hard line break.
                    let trimmed = line.reversed().drop(while: \.isWhitespace).reversed()
                    return trimmed.isEmpty ? ">" : "> " + String(trimmed)
                }
                .joined(separator: "\n")
        }

        /// Text inside `[...]` of a link, where a bracket would end the link early.
        static func linkText(_ text: String) -> String {
            var escaped = ""
            for character in singleLine(text) {
                if character == "\\" || character == "[" || character == "]" { escaped.append("\\") }
                escaped.append(character)
            }
            return escaped
        }

        private static func longestBacktickRun(_ text: String) -> Int {
            var longest = 0
            var run = 0
            for character in text {
                run = character == "`" ? run + 1 : 0
                longest = max(longest, run)
            }
            return longest
        }
    }
}
