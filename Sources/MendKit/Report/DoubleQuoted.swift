/// A double-quoted string literal with backslash escapes that Python and YAML both read back as
/// exactly the text: `\\`, `\"`, `\n`, `\r`, `\t`, other control characters as `\xNN`,
/// surrogates and the line and paragraph separators as `\uNNNN`. The generated models'
/// strings (`PythonSource`) and the plans doctor writes (`YAMLValue`) use it.
enum DoubleQuoted {
    static func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + hex(scalar.value, width: 2)
                } else if (0xD800...0xDFFF).contains(scalar.value) || scalar.properties.generalCategory == .lineSeparator
                    || scalar.properties.generalCategory == .paragraphSeparator
                {
                    // A reader's editor may split lines there: keep the literal on one line.
                    out += "\\u" + hex(scalar.value, width: 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
