import Crypto
import Foundation

/// The fingerprint `DataStatistics.fingerprint` asks the server for — the sum of the first
/// 64 bits of `md5(t::text)` over the rows, as a signed number — computed here from the COPY
/// text an archive reads anyway, so the table is read once, not a second time for its md5s.
///
/// A row's text form (`record_out`) is rebuilt from its COPY text (`CopyAttributeOutText`):
/// each field is unescaped, then written as `record_out` writes it — nothing for NULL, in
/// double quotes when empty or holding `"`, `\`, `(`, `)`, `,` or white space, with `"` and
/// `\` doubled inside quotes — between parentheses, separated by commas. Both use the
/// columns' output functions under the same settings, so the bytes agree when every column
/// of the row is in the COPY (no generated column) and both sides speak UTF-8 (`usable` says
/// when).
struct CopyFingerprint {
    private(set) var rows: Int64 = 0
    private var sum: Int128 = 0
    /// The start of a row whose end has not arrived yet.
    private var pending: [UInt8] = []
    private var record: [UInt8] = []
    private var field: [UInt8] = []

    /// Whether the COPY of a table gives its rows' text form: no generated columns (the COPY
    /// leaves them out, the row's text has them), and UTF-8 on both sides: no conversion
    /// between the server, where md5 runs, and this client, and no byte above 0x7F that
    /// `record_out`'s `isspace` could take for a space (a single-byte locale's no-break
    /// space; in a UTF-8 or C locale only ASCII white space is).
    static func usable(generatedColumns: Int, serverEncoding: String?, clientEncoding: String?) -> Bool {
        generatedColumns == 0 && serverEncoding == "UTF8" && clientEncoding == "UTF8"
    }

    init() {
        record.reserveCapacity(4096)
        field.reserveCapacity(1024)
    }

    /// Adds COPY text; a row may end in a later chunk.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var cursor = bytes.baseAddress else { return }
        let end = cursor + bytes.count
        while cursor < end {
            guard let found = memchr(cursor, 0x0A, end - cursor) else {
                pending.append(contentsOf: UnsafeRawBufferPointer(start: cursor, count: end - cursor))
                return
            }
            let newline = UnsafeRawPointer(found)
            if pending.isEmpty {
                addRow(UnsafeRawBufferPointer(start: cursor, count: newline - cursor))
            } else {
                pending.append(contentsOf: UnsafeRawBufferPointer(start: cursor, count: newline - cursor))
                let row = pending
                row.withUnsafeBytes { addRow($0) }
                pending.removeAll(keepingCapacity: true)
            }
            cursor = newline + 1
        }
    }

    /// The fingerprint as the server prints it (`numeric` text); nil when COPY text was left
    /// without its final newline (never the case for a complete COPY).
    var fingerprint: String? { pending.isEmpty ? String(sum) : nil }

    private mutating func addRow(_ line: UnsafeRawBufferPointer) {
        record.removeAll(keepingCapacity: true)
        record.append(UInt8(ascii: "("))
        // A table without columns: COPY writes an empty line, the row's text is `()`.
        if line.count > 0, let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            // One pass over the line: where each field ends, and whether it has a backslash
            // (to unescape) or a byte `record_out` quotes for. Most fields have neither and
            // are copied whole. Raw pointers and the table's own storage: this loop sees every
            // byte of the table, and bounds checks were a third of its time.
            Self.kinds.withUnsafeBufferPointer { kinds in
                var start = 0
                var escaped = false
                var special = false
                for index in 0...line.count {
                    let kind = index < line.count ? kinds[Int(base[index])] : .tab
                    switch kind {
                    case .plain: continue
                    case .backslash: escaped = true
                    case .quoted: special = true
                    case .tab:
                        if start > 0 { record.append(UInt8(ascii: ",")) }
                        let field = UnsafeRawBufferPointer(start: base + start, count: index - start)
                        if escaped {
                            appendField(field)
                        } else if special || field.isEmpty {
                            appendQuoted(field)
                        } else {
                            record.append(contentsOf: field)
                        }
                        start = index + 1
                        escaped = false
                        special = false
                    }
                }
            }
        }
        record.append(UInt8(ascii: ")"))
        let digest = record.withUnsafeBytes { Insecure.MD5.hash(data: $0) }
        var high: UInt64 = 0
        digest.withUnsafeBytes { bytes in
            for index in 0..<8 { high = high << 8 | UInt64(bytes[index]) }
        }
        sum += Int128(Int64(bitPattern: high))
        rows += 1
    }

    /// How `addRow` treats a byte of COPY text.
    private enum Kind { case plain, tab, backslash, quoted }

    private static let kinds: [Kind] = (0...255).map { byte in
        if byte == 0x09 { return .tab }
        if byte == 0x5C { return .backslash }
        return needsQuotes(UInt8(byte)) ? .quoted : .plain
    }

    /// A field without backslashes, in double quotes: only its `"` are doubled.
    private mutating func appendQuoted(_ text: UnsafeRawBufferPointer) {
        record.append(UInt8(ascii: "\""))
        if var cursor = text.baseAddress {
            let end = cursor + text.count
            while cursor < end {
                guard let found = memchr(cursor, 0x22, end - cursor) else {
                    record.append(contentsOf: UnsafeRawBufferPointer(start: cursor, count: end - cursor))
                    break
                }
                let quote = UnsafeRawPointer(found)
                record.append(contentsOf: UnsafeRawBufferPointer(start: cursor, count: quote + 1 - cursor))
                record.append(UInt8(ascii: "\""))
                cursor = quote + 1
            }
        }
        record.append(UInt8(ascii: "\""))
    }

    /// One field, unescaped from COPY text and written as `record_out` writes it.
    private mutating func appendField(_ text: UnsafeRawBufferPointer) {
        // `\N` alone is NULL: nothing between the commas.
        if text.count == 2 && text[0] == UInt8(ascii: "\\") && text[1] == UInt8(ascii: "N") { return }
        field.removeAll(keepingCapacity: true)
        var index = 0
        while index < text.count {
            let byte = text[index]
            index += 1
            guard byte == UInt8(ascii: "\\"), index < text.count else {
                field.append(byte)
                continue
            }
            let escaped = text[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "b"): field.append(0x08)
            case UInt8(ascii: "f"): field.append(0x0C)
            case UInt8(ascii: "n"): field.append(0x0A)
            case UInt8(ascii: "r"): field.append(0x0D)
            case UInt8(ascii: "t"): field.append(0x09)
            case UInt8(ascii: "v"): field.append(0x0B)
            default: field.append(escaped)  // `\\`, and a delimiter escaped as itself
            }
        }
        let quoted = field.isEmpty || field.contains(where: Self.needsQuotes)
        if quoted { record.append(UInt8(ascii: "\"")) }
        for byte in field {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { record.append(byte) }
            record.append(byte)
        }
        if quoted { record.append(UInt8(ascii: "\"")) }
    }

    /// `record_out`'s test: `"`, `\`, `(`, `)`, `,` or C's `isspace`.
    private static func needsQuotes(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ","),
             UInt8(ascii: " "), 0x09, 0x0A, 0x0B, 0x0C, 0x0D:
            return true
        default:
            return false
        }
    }
}
