/// The parts of a Markdown document a schema reader looks at: headings, and under each heading
/// its pipe tables and lists. Fenced code, HTML comments and paragraphs are passed over, so a
/// column named in a code sample or a comment is not mistaken for a documented one.
struct MarkdownSections {
    struct Heading: Hashable {
        var level: Int
        var text: String
        var line: Int
    }

    /// A pipe table (header row, then body rows; the delimiter row left out) or a list (its
    /// items at the list's own level; nested items and continuation lines left out).
    enum Block: Hashable {
        case table(header: [String], rows: [Row], line: Int)
        case list(items: [Row])
        /// `No columns.`, as pgmend writes it for a table without any.
        case noColumns
    }

    /// A row's cells, or an item's text, with its line.
    struct Row: Hashable {
        var cells: [String]
        var line: Int
        var text: String { cells.first ?? "" }
    }

    struct Section: Hashable {
        var heading: Heading?
        var blocks: [Block] = []
    }

    private(set) var sections: [Section] = []

    init(_ text: String) {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { String($0).trimmingTrailingCarriageReturn() }
        sections = [Section(heading: nil)]
        var index = 0
        var fence: (character: Character, length: Int)?
        var inComment = false
        while index < lines.count {
            let line = lines[index]
            let trimmed = line.trimmingWhitespace()
            if inComment {
                if trimmed.contains("-->") { inComment = false }
                index += 1
                continue
            }
            if let open = fence {
                if let close = Self.fenceMarker(line), close.character == open.character, close.length >= open.length,
                   line.trimmingWhitespace().allSatisfy({ $0 == open.character }) {
                    fence = nil
                }
                index += 1
                continue
            }
            if let marker = Self.fenceMarker(line) {
                fence = marker
                index += 1
                continue
            }
            if trimmed.hasPrefix("<!--") {
                if let end = trimmed.range(of: "-->"), end.lowerBound >= trimmed.index(trimmed.startIndex, offsetBy: 4) {
                    index += 1
                    continue
                }
                inComment = true
                index += 1
                continue
            }
            if let heading = Self.heading(line, number: index + 1) {
                sections.append(Section(heading: heading))
                index += 1
                continue
            }
            if index + 1 < lines.count, line.contains("|"), Self.isDelimiterRow(lines[index + 1]) {
                index = readTable(lines, from: index)
                continue
            }
            if Self.listItem(line) != nil {
                index = readList(lines, from: index)
                continue
            }
            if trimmed == "No columns." { append(.noColumns) }
            index += 1
        }
    }

    private mutating func append(_ block: Block) {
        sections[sections.count - 1].blocks.append(block)
    }

    /// Reads a table starting at its header row; returns the index of the first line after it.
    private mutating func readTable(_ lines: [String], from start: Int) -> Int {
        let header = Self.cells(lines[start])
        var rows: [Row] = []
        var index = start + 2
        while index < lines.count {
            let line = lines[index]
            if line.trimmingWhitespace().isEmpty || !line.contains("|") || Self.heading(line, number: 0) != nil { break }
            rows.append(Row(cells: Self.cells(line), line: index + 1))
            index += 1
        }
        append(.table(header: header, rows: rows, line: start + 1))
        return index
    }

    /// Reads a list starting at its first item; returns the index of the first line after it.
    private mutating func readList(_ lines: [String], from start: Int) -> Int {
        guard let first = Self.listItem(lines[start]) else { return start + 1 }
        var items = [Row(cells: [first.text], line: start + 1)]
        var index = start + 1
        while index < lines.count {
            let line = lines[index]
            if line.trimmingWhitespace().isEmpty {
                // A blank line inside a loose list: the list goes on if an item of its level follows.
                var next = index + 1
                while next < lines.count, lines[next].trimmingWhitespace().isEmpty { next += 1 }
                guard next < lines.count, let item = Self.listItem(lines[next]), item.indent <= first.indent + 1 else { break }
                index = next
                continue
            }
            if let item = Self.listItem(line), item.indent <= first.indent + 1 {
                items.append(Row(cells: [item.text], line: index + 1))
            } else if Self.indentation(line) <= first.indent || Self.heading(line, number: 0) != nil {
                break
            }
            index += 1
        }
        append(.list(items: items))
        return index
    }

    // MARK: - Lines

    /// An ATX heading (`## users`): up to three spaces, 1-6 `#`, a space, the text without a
    /// closing run of `#`.
    static func heading(_ line: String, number: Int) -> Heading? {
        guard indentation(line) <= 3 else { return nil }
        let text = line.trimmingWhitespace()
        let level = text.prefix { $0 == "#" }.count
        guard (1...6).contains(level) else { return nil }
        let rest = text.dropFirst(level)
        guard rest.isEmpty || rest.first?.isWhitespace == true else { return nil }
        var title = String(rest).trimmingWhitespace()
        if title.hasSuffix("#") {
            let stripped = String(title.reversed().drop { $0 == "#" }.reversed())
            if stripped.isEmpty || stripped.last?.isWhitespace == true { title = stripped.trimmingWhitespace() }
        }
        return Heading(level: level, text: title, line: number)
    }

    /// A list item's marker (`-`, `*`, `+`, `1.`, `1)`) and its text.
    static func listItem(_ line: String) -> (indent: Int, text: String)? {
        let indent = indentation(line)
        let text = line.trimmingWhitespace()
        var rest = Substring(text)
        if let marker = rest.first, "-*+".contains(marker) {
            rest = rest.dropFirst()
        } else {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 9 else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let marker = rest.first, marker == "." || marker == ")" else { return nil }
            rest = rest.dropFirst()
        }
        guard rest.first?.isWhitespace == true else { return nil }
        let item = String(rest).trimmingWhitespace()
        // A thematic break (`- - -`, `* * *`) is not an item.
        if item.allSatisfy({ $0 == "-" || $0 == "*" || $0.isWhitespace }) { return nil }
        return (indent, item)
    }

    /// The delimiter row under a table's header: `| --- | :-: |`.
    static func isDelimiterRow(_ line: String) -> Bool {
        let cells = cells(line)
        guard !cells.isEmpty else { return false }
        return cells.allSatisfy { cell in
            var body = Substring(cell)
            if body.first == ":" { body = body.dropFirst() }
            if body.last == ":" { body = body.dropLast() }
            return !body.isEmpty && body.allSatisfy { $0 == "-" }
        }
    }

    /// A row's cells: split at `|` that are not escaped (`\|`, as pgmend writes a pipe inside
    /// a cell), outer pipes dropped, each cell trimmed, `\|` read back as `|`.
    static func cells(_ line: String) -> [String] {
        var cells: [String] = []
        var current = ""
        var escaped = false
        for character in line.trimmingWhitespace() {
            if escaped {
                current.append(character == "|" ? "|" : "\\")
                if character != "|" { current.append(character) }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "|" {
                cells.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if escaped { current.append("\\") }
        cells.append(current)
        let trimmedLine = line.trimmingWhitespace()
        if trimmedLine.hasPrefix("|") { cells.removeFirst() }
        if trimmedLine.hasSuffix("|") && !trimmedLine.hasSuffix("\\|") && !cells.isEmpty { cells.removeLast() }
        return cells.map { $0.trimmingWhitespace() }
    }

    /// An opening or closing code fence: three or more backticks or tildes.
    static func fenceMarker(_ line: String) -> (character: Character, length: Int)? {
        guard indentation(line) <= 3 else { return nil }
        let text = line.trimmingWhitespace()
        guard let first = text.first, first == "`" || first == "~" else { return nil }
        let length = text.prefix { $0 == first }.count
        return length >= 3 ? (first, length) : nil
    }

    static func indentation(_ line: String) -> Int {
        var count = 0
        for character in line {
            if character == " " { count += 1 } else if character == "\t" { count += 4 } else { break }
        }
        return count
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return start < end ? String(self[start..<end]) : ""
    }

    func trimmingTrailingCarriageReturn() -> String {
        hasSuffix("\r") ? String(dropLast()) : self
    }
}
