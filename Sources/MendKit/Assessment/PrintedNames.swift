import SchemaModel

/// Names as PostgreSQL prints them in definitions (`quote_ident`): bare when they are plain
/// lower-case identifiers, double-quoted otherwise. Catalog text is read with
/// `search_path = pg_catalog`, so user objects always appear schema-qualified.
enum PrintedNames {
    /// Reserved words that `quote_ident` always quotes (the ones a table or column is likely to be called).
    static let reserved: Set<String> = [
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "both", "case", "cast", "check",
        "collate", "column", "constraint", "create", "default", "desc", "distinct", "do", "else", "end",
        "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially",
        "intersect", "into", "lateral", "leading", "limit", "not", "null", "offset", "on", "only", "or",
        "order", "placing", "primary", "references", "returning", "select", "some", "symmetric", "table",
        "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "when", "where",
        "window", "with",
    ]

    static func identifier(_ name: String) -> String {
        let plain = name.first.map { $0 == "_" || ($0.isASCII && $0.isLowercase) } ?? false
            && name.allSatisfy { $0 == "_" || $0 == "$" || ($0.isASCII && ($0.isLowercase || $0.isNumber)) }
        if plain && !reserved.contains(name) { return name }
        return "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func qualified(_ name: ObjectName) -> String {
        identifier(name.schema) + "." + identifier(name.name)
    }

    /// Replaces `old` with `new` where it stands as a whole name (not inside a longer one).
    /// With `qualifier`, `old` is a column qualifier (`calendar.id`): only the left side must
    /// stand alone, and the dot that follows is part of the match.
    static func replacingName(_ old: String, with new: String, in text: String, qualifier: Bool = false) -> String {
        if qualifier { return replacing(old + ".", with: new + ".", in: text, checkRight: false) }
        return replacing(old, with: new, in: text, checkRight: true)
    }

    private static func replacing(_ old: String, with new: String, in text: String, checkRight: Bool) -> String {
        guard text.contains(old) else { return text }
        var result = ""
        var rest = text[...]
        while let range = rest.range(of: old) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound < text.endIndex ? text[range.upperBound] : nil
            let leftAlone = !(before.map(isNameCharacter) ?? false) && before != "." && before != "\""
            let rightAlone = !checkRight || (!(after.map(isNameCharacter) ?? false) && after != "\"")
            let standsAlone = leftAlone && rightAlone
            result += rest[..<range.lowerBound]
            result += standsAlone ? new : String(rest[range])
            rest = rest[range.upperBound...]
        }
        return result + rest
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character == "_" || character == "$" || character.isLetter || character.isNumber
    }
}
