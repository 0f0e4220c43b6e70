import Crypto
import Foundation

/// A name pgmend makes up for a constraint, an index or a sequence: PostgreSQL's own default
/// spelling (`memories_user_id_fkey`) when it fits the 63 bytes a name may have. A longer one
/// is cut on a character boundary and ended with `_` and 8 hex digits of the SHA-256 of the
/// whole name, then `_` and the suffix (`..._3f2a9c01_fkey`): always the same for the same
/// parts, and two long names that begin alike still differ. PostgreSQL itself would cut such
/// a name differently (and number it on a clash), so pgmend writes it in the statement
/// (`CONSTRAINT name`, `SEQUENCE NAME name`) instead of leaving it to the server.
enum GeneratedName {
    static let maxBytes = PostgresName.maxBytes

    /// `parts` joined with `_`, then `_suffix`, within 63 bytes.
    static func make(_ parts: [String], suffix: String) -> String {
        let base = parts.joined(separator: "_")
        let full = "\(base)_\(suffix)"
        guard full.utf8.count > maxBytes else { return full }
        let hash = SHA256.hash(data: Data(full.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
        let tail = "_\(hash)_\(suffix)"
        var cut = Substring(base)
        while cut.utf8.count + tail.utf8.count > maxBytes { cut.removeLast() }
        return String(cut) + tail
    }

    /// Whether `name` is not what PostgreSQL would choose itself for these parts (it was cut):
    /// then the statement must spell it.
    static func isCut(_ name: String, _ parts: [String], suffix: String) -> Bool {
        name != (parts + [suffix]).joined(separator: "_")
    }
}
