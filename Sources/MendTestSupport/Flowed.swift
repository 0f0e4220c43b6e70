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
