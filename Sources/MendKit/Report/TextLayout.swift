/// Splits `text` into lines of at most `width` characters at spaces (a longer word stands alone).
func wrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ", omittingEmptySubsequences: true) {
        if line.isEmpty {
            line = String(word)
        } else if line.count + 1 + word.count <= width {
            line += " " + word
        } else {
            lines.append(line)
            line = String(word)
        }
    }
    if !line.isEmpty || lines.isEmpty { lines.append(line) }
    return lines
}

/// `text` wrapped to `width` columns, the first line after `first`, the others after `rest`
/// (both counted in the width), its own line breaks kept. A word longer than a line (a path,
/// a long name) stands alone on its line, whole, so it can still be copied.
func wrap(_ text: String, width: Int, first: String, rest: String) -> [String] {
    let room = max(width - rest.count, 20)
    var lines: [String] = []
    for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let lead = lines.isEmpty ? max(first.count - rest.count, 0) : 0
        for line in wrap(String(paragraph), width: room - lead) {
            lines.append((lines.isEmpty ? first : rest) + line)
        }
    }
    return lines
}

/// SQL laid out for people in lines of at most a given width: a longer line is broken at
/// spaces outside quoted literals and names, its continuations indented; a word still too
/// long (a literal array of a thousand keys) is cut. For reading only: the exact text is in
/// `--format json` and the journal.
public enum SQLLayout {
    /// The lines of `sql` (one statement or several, one per line as the effect wrote them),
    /// each at most `width` columns.
    public static func lines(_ sql: String, width: Int) -> [String] {
        sql.split(separator: "\n", omittingEmptySubsequences: false).flatMap { line -> [String] in
            let line = String(line)
            guard line.count > width else { return [line] }
            let indent = String(line.prefix { $0 == " " })
            let continuation = indent + "    "
            let room = max(width - continuation.count, 20)
            var lines: [String] = []
            var current = indent
            for word in words(line.dropFirst(indent.count)) {
                let pieces = cut(word, to: room)
                for piece in pieces {
                    let head = lines.isEmpty ? indent : continuation
                    if current == head || current.isEmpty {
                        current = head + piece
                    } else if current.count + 1 + piece.count <= width {
                        current += " " + piece
                    } else {
                        lines.append(current)
                        current = continuation + piece
                    }
                }
            }
            lines.append(current)
            return lines
        }
    }

    /// `text` in pieces of at most `width` characters.
    static func cut(_ text: String, to width: Int) -> [String] {
        guard text.count > width, width > 0 else { return [text] }
        var pieces: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            pieces.append(String(rest.prefix(width)))
            rest = rest.dropFirst(width)
        }
        return pieces
    }

    /// The words of `line`: split at spaces, except inside '...' literals and "..." names.
    static func words(_ line: Substring) -> [String] {
        var words: [String] = []
        var word = ""
        var quote: Character?
        for character in line {
            if let open = quote {
                word.append(character)
                if character == open { quote = nil }  // '' inside a literal closes and reopens: same result
            } else if character == "'" || character == "\"" {
                quote = character
                word.append(character)
            } else if character == " " {
                if !word.isEmpty { words.append(word) }
                word = ""
            } else {
                word.append(character)
            }
        }
        if !word.isEmpty { words.append(word) }
        return words
    }
}

/// Text for people at most 100 columns wide, for the command line's own lines.
public enum TextLayout {
    public static let width = 100

    /// `text` in lines of at most `width` columns, the first after `first`, the others after
    /// `rest`; a word longer than a line stands alone, whole.
    public static func lines(_ text: String, width: Int = width, first: String = "", rest: String = "  ") -> [String] {
        wrap(text, width: width, first: first, rest: rest)
    }

    /// "1 way", "2 ways", "12,345 rows", "2 batches": `noun` after `count` (grouped), plural
    /// unless it is one.
    public static func count(_ count: Int, _ noun: String) -> String {
        let plural = noun.hasSuffix("ch") ? noun + "es" : noun + "s"
        return "\(ProgressMeter.grouped(count)) \(count == 1 ? noun : plural)"
    }
}
