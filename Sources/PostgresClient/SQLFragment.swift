/// Plan text that pgmend writes into SQL as one part of a statement: a CHECK expression, a
/// DEFAULT, a type name. Only the `sql` step runs plan text as statements; everything else must
/// be exactly one fragment that cannot reach outside the parentheses pgmend puts around it.
///
/// The check is lexical, as PostgreSQL's scanner reads text: string literals (`'...'` with
/// doubled quotes, `E'...'` with backslash escapes), quoted identifiers, dollar quotes and
/// comments (nested `/* */`, `--` to the end of the line) are skipped, and outside them the
/// parentheses must balance without ever closing one that was not opened, and there may be
/// no `;`. Such a text put between `(` and a newline-`)` is one parenthesised group whatever
/// it holds, so it cannot end the clause, add a clause or start another statement.
public enum SQLFragment {
    /// Why `text` is not one fragment, with the 0-based offset (in characters) of the place
    /// where it goes wrong; nil when it is one.
    public static func problem(in text: String) -> (offset: Int, message: String)? {
        let characters = Array(text)
        if characters.allSatisfy(\.isWhitespace) { return (0, "is empty") }
        var depth = 0
        var opened: [Int] = []
        var index = 0
        func at(_ offset: Int) -> Character? { index + offset < characters.count ? characters[index + offset] : nil }
        func isIdentifierCharacter(_ character: Character?) -> Bool {
            guard let character else { return false }
            return character.isLetter || character.isNumber || character == "_" || character == "$"
        }
        while index < characters.count {
            let character = characters[index]
            let start = index
            switch character {
            case "'":
                // E'...' (or e'...') takes backslash escapes; the E must stand alone as a prefix.
                let escapes = start > 0 && (characters[start - 1] == "E" || characters[start - 1] == "e")
                    && !(start > 1 && isIdentifierCharacter(characters[start - 2]))
                index += 1
                var closed = false
                while index < characters.count {
                    if escapes && characters[index] == "\\" { index += 2; continue }
                    if characters[index] == "'" {
                        if at(1) == "'" { index += 2; continue }
                        closed = true
                        break
                    }
                    index += 1
                }
                if !closed { return (start, "has a string literal that is never closed") }
                index += 1
            case "\"":
                index += 1
                var closed = false
                while index < characters.count {
                    if characters[index] == "\"" {
                        if at(1) == "\"" { index += 2; continue }
                        closed = true
                        break
                    }
                    index += 1
                }
                if !closed { return (start, "has a quoted identifier that is never closed") }
                index += 1
            case "$" where !(start > 0 && isIdentifierCharacter(characters[start - 1])):
                // $tag$ ... $tag$; `$1` (a parameter) and `a$b` (an identifier) are not quotes.
                var end = index + 1
                while end < characters.count, characters[end] != "$", isIdentifierCharacter(characters[end]) { end += 1 }
                let tag = String(characters[index...min(end, characters.count - 1)])
                guard end < characters.count, characters[end] == "$", tag.dropFirst().first?.isNumber != true else {
                    index += 1
                    continue
                }
                let body = characters[(end + 1)...]
                guard let close = String(body).range(of: tag) else {
                    return (start, "has a dollar-quoted string (\(tag)) that is never closed")
                }
                index = end + 1 + String(body)[..<close.lowerBound].count + tag.count
            case "-" where at(1) == "-":
                while index < characters.count, characters[index] != "\n", characters[index] != "\r" { index += 1 }
            case "/" where at(1) == "*":
                var nesting = 0
                while index < characters.count {
                    if characters[index] == "/" && at(1) == "*" {
                        nesting += 1
                        index += 2
                    } else if characters[index] == "*" && at(1) == "/" {
                        nesting -= 1
                        index += 2
                        if nesting == 0 { break }
                    } else {
                        index += 1
                    }
                }
                if nesting > 0 { return (start, "has a comment that is never closed") }
            case "(":
                depth += 1
                opened.append(start)
                index += 1
            case ")":
                depth -= 1
                if depth < 0 { return (start, "closes a parenthesis it did not open") }
                opened.removeLast()
                index += 1
            case ";":
                return (start, "contains ';': it must be one expression, not statements (only an sql step runs statements)")
            default:
                index += 1
            }
        }
        if let unclosed = opened.last { return (unclosed, "opens a parenthesis it does not close") }
        return nil
    }

    /// `(text)`, with the closing parenthesis on a line of its own when the text holds a `--`
    /// comment, which would otherwise swallow it.
    public static func parenthesized(_ text: String) -> String {
        text.contains("--") ? "(\(text)\n)" : "(\(text))"
    }
}
