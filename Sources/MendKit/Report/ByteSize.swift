import Foundation

/// Sizes as the command line takes them (`500MB`, `2GB`: binary units, as PostgreSQL's
/// `pg_size_pretty` counts) and as messages print them.
public enum ByteSize {
    /// The largest size an option may give: more than any table pgmend should hold in one
    /// transaction, and far from where a product of Int64s could overflow.
    public static let limit: Int64 = 1 << 40

    public enum Parsed: Equatable, Sendable {
        case bytes(Int64)
        /// Well written, but over `limit` (or too large to count).
        case tooLarge
        case malformed
    }

    static let units: [(suffix: String, factor: Int64)] = [("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10), ("B", 1)]

    public static func parse(_ text: String) -> Parsed {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let (number, factor) = units.first { trimmed.hasSuffix($0.suffix) }
            .map { (trimmed.dropLast($0.suffix.count).trimmingCharacters(in: .whitespaces), $0.factor) } ?? (trimmed, 1)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }) else { return .malformed }
        guard let amount = Int64(number) else { return .tooLarge }
        let (bytes, overflow) = amount.multipliedReportingOverflow(by: factor)
        guard !overflow, bytes <= limit else { return .tooLarge }
        return .bytes(bytes)
    }

    /// `1.3 MiB`, `812 bytes`: one decimal in the largest unit that is at least 1.
    public static func text(_ bytes: Int64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit: String?
        for next in units where value >= 1024 {
            value /= 1024
            unit = next
        }
        guard let unit else { return "\(bytes) byte\(bytes == 1 ? "" : "s")" }
        return String(format: "%.1f", value) + " " + unit
    }

    /// Two sizes to be compared in one message: exact bytes as well when the short forms
    /// would read the same (1 MiB and a few bytes is over a limit of 1 MiB).
    public static func texts(_ a: Int64, _ b: Int64) -> (String, String) {
        let (short, shortB) = (text(a), text(b))
        guard short == shortB, a != b else { return (short, shortB) }
        return ("\(short) (\(a) bytes)", "\(shortB) (\(b) bytes)")
    }
}
