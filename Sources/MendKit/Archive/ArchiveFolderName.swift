import Crypto
import Foundation

/// One path component made from a name the database chose (a database or table name), so that
/// no name can leave the folder it is written into: `../../escaped` is `..%2F..%2Fescaped`.
///
/// Percent-encoding of every byte outside `[A-Za-z0-9_.-]` (and of a leading `.`, so that `.`
/// and `..` are never a component), which is reversible and leaves ordinary names as they are
/// (`memories_backup_66d3d5d1`, `audit.log`). Archives are found by their manifests, so the
/// folder name only has to be safe and readable, not parsed back.
public enum SafeFileName {
    /// Longest component written; file systems refuse names over 255 bytes, and an archive
    /// folder adds `-<UTC time>-N.partial` to it.
    static let limit = 200

    public static func encode(_ name: String) -> String {
        var encoded = ""
        for (position, byte) in name.utf8.enumerated() {
            let safe = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x5F || byte == 0x2D || (byte == 0x2E && position > 0)
            encoded += safe ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        guard encoded.utf8.count > limit else { return encoded }
        // A long encoded name (a 63-byte identifier of multibyte characters) is cut and made
        // unique again with a hash of the whole; `~` never occurs in an encoded name.
        let digest = SHA256.hash(data: Data(name.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        var cut = String(encoded.prefix(limit - 17))
        // Never end inside a %XX sequence.
        if let percent = cut.suffix(2).lastIndex(of: "%") { cut = String(cut[..<percent]) }
        return cut + "~" + digest
    }
}
