extension String {
    /// The text with every run of spaces and line breaks made one space: what a test of
    /// wording compares, since pgmend wraps its output to 100 columns wherever a line ends.
    public var flowed: String {
        split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
    }

    /// Whether the text holds `words`, however either is wrapped.
    public func containsFlowed(_ words: String) -> Bool {
        flowed.contains(words.flowed)
    }
}

extension String {
    /// The text's lines with each continuation (a line indented four spaces or more, as
    /// pgmend wraps a long one) joined to the line before it by one space.
    public var unwrappedLines: [String] {
        var lines: [String] = []
        for line in split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("    "), let last = lines.popLast() {
                lines.append(last + " " + line.drop { $0 == " " })
            } else {
                lines.append(String(line))
            }
        }
        return lines
    }
}
