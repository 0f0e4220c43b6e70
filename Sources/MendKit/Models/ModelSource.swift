import Foundation

/// Where a model declares a table, column, index or constraint: the Python class and attribute,
/// the file and the line, found by reading the models' source (not by running it).
public struct ModelDeclaration: Encodable, Sendable, Hashable, CustomStringConvertible {
    /// The class whose `__tablename__` is the table.
    public var className: String
    /// The attribute (`user_id`, `metadata_`), or `__table_args__` for an `Index(...)` or a
    /// named constraint there; nil for the class itself.
    public var attribute: String?
    public var file: String
    public var line: Int

    public init(className: String, attribute: String?, file: String, line: Int) {
        (self.className, self.attribute, self.file, self.line) = (className, attribute, file, line)
    }

    /// `ApiKey.user_id (app/models/core.py:55)`.
    public var description: String {
        "\(className)\(attribute.map { ".\($0)" } ?? "") (\(file):\(line))"
    }

    enum CodingKeys: String, CodingKey { case className = "class", attribute, file, line }
}

/// The model classes of an application's source, by table: a plain line scan of its Python
/// files for `class X(...)`, `__tablename__ = "t"`, the attributes of the class body and the
/// names given to `Index("name", ...)` and `name="..."`. It finds what models written in the
/// usual declarative style say; what a metaclass or a loop makes, it does not, and a warning
/// then names the table without a line.
public struct ModelSource: Sendable {
    struct Attribute: Sendable {
        var name: String
        var line: Int
        /// The statement's last line (a call over several lines).
        var lastLine: Int
        /// The statement's text, continuation lines joined.
        var text: String
    }

    struct ModelClass: Sendable {
        var name: String
        var file: String
        var line: Int
        var table: String?
        var attributes: [Attribute] = []
        /// Names given in the class body (`Index("ix", ...)`, `name="uq"`), with their line.
        var namedObjects: [String: Int] = [:]
    }

    var classes: [String: ModelClass] = [:]

    /// The Python files of `module` (`app.models`, the part before `:` of `MODULE:ATTR`) under
    /// `path` (default: the current directory): the package's folder, every `.py` file in it,
    /// or the module's one file. Files that cannot be read are skipped.
    public static func scan(module: String, path: String?) -> ModelSource {
        let root = URL(fileURLWithPath: path ?? ".")
        let relative = module.split(separator: ".").joined(separator: "/")
        let folder = root.appendingPathComponent(relative)
        var files: [URL] = []
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue {
            let found = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? []
            files = found.filter { $0.pathExtension == "py" }.sorted { $0.path < $1.path }
        } else {
            files = [root.appendingPathComponent(relative + ".py")]
        }
        var source = ModelSource()
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            let shown = path.map { ($0 as NSString).appendingPathComponent(String(file.path.dropFirst(root.path.count + 1))) } ?? file.path
            for model in parse(text, file: shown) {
                guard let table = model.table else { continue }
                source.classes[table] = source.classes[table] ?? model
            }
        }
        return source
    }

    /// The classes of one file.
    static func parse(_ text: String, file: String) -> [ModelClass] {
        let lines = text.components(separatedBy: "\n")
        var classes: [ModelClass] = []
        var current: ModelClass?
        var bodyIndent: Int?
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let number = index + 1
            // One statement: the line and, while its brackets are open, the lines after it.
            var statement = line
            var depth = bracketDepth(line)
            while depth > 0 && index + 1 < lines.count {
                index += 1
                statement += "\n" + lines[index]
                depth += bracketDepth(lines[index])
            }
            let lastLine = index + 1
            index += 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let indent = line.prefix { $0 == " " }.count
            if indent == 0 {
                if let done = current { classes.append(done) }
                current = nil
                bodyIndent = nil
                if let name = firstMatch(#"^class\s+([A-Za-z_][A-Za-z0-9_]*)"#, in: line) {
                    current = ModelClass(name: name, file: file, line: number)
                }
                continue
            }
            guard var model = current else { continue }
            for name in allMatches(#"Index\(\s*["']([^"']+)["']"#, in: statement) + allMatches(#"\bname\s*=\s*["']([^"']+)["']"#, in: statement) {
                model.namedObjects[name] = model.namedObjects[name] ?? number
            }
            if bodyIndent == nil { bodyIndent = indent }
            if indent == bodyIndent, let name = firstMatch(#"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=[^=]"#, in: line) {
                if name == "__tablename__" {
                    model.table = firstMatch(#"=\s*["']([^"']+)["']"#, in: line)
                } else if !name.hasPrefix("__") {
                    model.attributes.append(Attribute(name: name, line: number, lastLine: lastLine, text: statement))
                }
            }
            current = model
        }
        if let done = current { classes.append(done) }
        return classes
    }

    /// The declaration of `table`'s class.
    func table(_ table: String) -> ModelDeclaration? {
        classes[table].map { ModelDeclaration(className: $0.name, attribute: nil, file: $0.file, line: $0.line) }
    }

    /// The attribute that maps `column` of `table`, and its statement's text: the attribute of
    /// that name, or the one whose `Column("column", ...)` names it.
    func column(_ column: String, of table: String) -> (declaration: ModelDeclaration, text: String)? {
        guard let model = classes[table] else { return nil }
        let named = model.attributes.first { Self.firstMatch(#"(?:Column|mapped_column)\(\s*["']([^"']+)["']"#, in: $0.text) == column }
        let plain = model.attributes.first { $0.name == column && Self.firstMatch(#"(?:Column|mapped_column)\(\s*["']([^"']+)["']"#, in: $0.text) == nil }
        guard let attribute = named ?? plain else { return nil }
        return (ModelDeclaration(className: model.name, attribute: attribute.name, file: model.file, line: attribute.line), attribute.text)
    }

    /// Where an index or constraint called `name` is written in `table`'s class body.
    func namedObject(_ name: String, of table: String) -> ModelDeclaration? {
        guard let model = classes[table], let line = model.namedObjects[name] else { return nil }
        let attribute = model.attributes.first { $0.line <= line && line <= $0.lastLine }
        return ModelDeclaration(className: model.name, attribute: attribute?.name ?? "__table_args__", file: model.file, line: line)
    }

    private static func bracketDepth(_ line: String) -> Int {
        var depth = 0
        var quote: Character?
        for character in line {
            if let open = quote {
                if character == open { quote = nil }
                continue
            }
            switch character {
            case "\"", "'": quote = character
            case "#": return depth
            case "(", "[", "{": depth += 1
            case ")", "]", "}": depth -= 1
            default: break
            }
        }
        return depth
    }

    static func firstMatch(_ pattern: String, in text: String) -> String? {
        allMatches(pattern, in: text).first
    }

    static func allMatches(_ pattern: String, in text: String) -> [String] {
        guard let expression = try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) else { return [] }
        let range = NSRange(text.startIndex..., in: text)
        return expression.matches(in: text, range: range).compactMap { match in
            guard match.numberOfRanges > 1, let captured = Range(match.range(at: 1), in: text) else { return nil }
            return String(text[captured])
        }
    }
}
