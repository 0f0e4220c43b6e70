import Foundation
import CLibPQ

/// The secrets a connection string carries, so that no message pgmend prints can echo them.
///
/// libpq's own messages can quote parts of a malformed conninfo or URI (an invalid
/// percent-escape, an unknown option), and a URI's password may sit in any of them, so every
/// message that has seen the connection string passes through `redact` before it leaves this
/// module.
struct ConnectionSecrets: Sendable {
    private(set) var values: [String] = []

    init(conninfo: String) {
        var found: [String] = []
        // What libpq itself understands the password to be, when the string parses.
        conninfo.withCString { cString in
            var errorMessage: UnsafeMutablePointer<CChar>?
            if let options = PQconninfoParse(cString, &errorMessage) {
                var option = options
                while let keyword = option.pointee.keyword {
                    if String(cString: keyword) == "password", let value = option.pointee.val {
                        found.append(String(cString: value))
                    }
                    option += 1
                }
                PQconninfoFree(options)
            }
            if let errorMessage { PQfreemem(errorMessage) }
        }
        // And what a malformed string would have meant, read the way a person reads it.
        found += Self.uriPasswords(in: conninfo)
        found += Self.keywordPasswords(in: conninfo)
        var seen = Set<String>()
        values = found.filter { !$0.isEmpty && seen.insert($0).inserted }
            .sorted { $0.count > $1.count }  // longest first, so a prefix never leaves a tail
    }

    func redact(_ text: String) -> String {
        var result = text
        for secret in values {
            result = result.replacingAll(secret, with: "********")
        }
        return result
    }

    /// `scheme://user:password@host...`: the raw and the percent-decoded password.
    private static func uriPasswords(in conninfo: String) -> [String] {
        guard let schemeEnd = conninfo.range(of: "://") else { return [] }
        let rest = conninfo[schemeEnd.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return [] }
        let authority = rest[..<at]
        guard let colon = authority.firstIndex(of: ":") else { return [] }
        let raw = String(authority[authority.index(after: colon)...])
        return [raw, percentDecoded(raw)].compactMap { $0 }
    }

    /// `password=secret` or `password = 'se cret'` in a keyword/value string.
    private static func keywordPasswords(in conninfo: String) -> [String] {
        var results: [String] = []
        var search = conninfo[...]
        while let range = search.range(of: "password") {
            var index = range.upperBound
            let skipSpaces = { (i: inout Substring.Index) in
                while i < search.endIndex, search[i] == " " || search[i] == "\t" { i = search.index(after: i) }
            }
            skipSpaces(&index)
            guard index < search.endIndex, search[index] == "=" else {
                search = search[range.upperBound...]
                continue
            }
            index = search.index(after: index)
            skipSpaces(&index)
            var value = ""
            if index < search.endIndex, search[index] == "'" {
                index = search.index(after: index)
                while index < search.endIndex, search[index] != "'" {
                    if search[index] == "\\", search.index(after: index) < search.endIndex {
                        index = search.index(after: index)
                    }
                    value.append(search[index])
                    index = search.index(after: index)
                }
            } else {
                while index < search.endIndex, search[index] != " " {
                    value.append(search[index])
                    index = search.index(after: index)
                }
            }
            results.append(value)
            search = search[index...]
        }
        return results
    }

    private static func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard utf8.count >= 2,
                    let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Connection {
    /// Whether a conninfo string or URI carries a password (`password=...`, `user:pass@`).
    public static func holdsPassword(_ conninfo: String) -> Bool {
        !ConnectionSecrets(conninfo: conninfo).values.isEmpty
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
