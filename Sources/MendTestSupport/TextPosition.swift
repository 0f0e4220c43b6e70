import Foundation

/// Where a marker stands in a fixture's text, as pgmend's messages locate it (`LINE:COLUMN`,
/// both from 1; the column counts characters), so that a test expecting `plan.yaml:3:17` reads
/// the place from the fixture instead of hard-coding it: editing the fixture moves the
/// expectation with it.
public enum TextPosition {
    /// `LINE:COLUMN` of the first occurrence of `marker` in `text`; nil when it is not there.
    /// Lines end at `\n`, `\r\n` or `\r`, as the plan reader counts them.
    public static func of(_ marker: String, in text: String) -> String? {
        guard let found = text.range(of: marker) else { return nil }
        var line = 1, column = 1
        var previous: Character?
        for character in text.unicodeScalars[..<found.lowerBound].map(Character.init) {
            if character == "\n" && previous == "\r" {
                // the second half of a CRLF
            } else if character == "\n" || character == "\r" {
                line += 1
                column = 1
            } else {
                column += 1
            }
            previous = character
        }
        return "\(line):\(column)"
    }

    /// `LINE:COLUMN` of `marker` in the file at `path`; nil when the file cannot be read or
    /// does not hold the marker.
    public static func of(_ marker: String, inFile path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return of(marker, in: text)
    }
}
