import Foundation
import SchemaModel

/// How enum types are written: as `Enum(PythonClass, ...)` in models, as `ENUM("label", ...)`
/// in a migration, which must not depend on the models' classes.
enum EnumStyle {
    /// The Python enum class of each enum type, by qualified name.
    case classes([String: String])
    case labels
}

/// A column type as SQLAlchemy code: the type expression (`String(20)`, `UUID(as_uuid=True)`),
/// the Python type a `Mapped[...]` annotation names, and what both import.
struct SQLAlchemyType {
    /// The type object's source: `Numeric(10, 2)`.
    var expression: String
    /// The Python value type: `Decimal`, `uuid.UUID`, `list[str]`.
    var python: String
    /// The enum type it is (or is an array of), when it is one.
    var enumType: EnumType?
    /// True for a type SQLAlchemy has no class for, written as its PostgreSQL spelling.
    var isVerbatim = false

    /// Maps a type as `format_type` prints it (with `search_path` set to `pg_catalog`, so
    /// user types are schema-qualified) onto SQLAlchemy's PostgreSQL types.
    static func of(_ spelling: String, in schema: Schema, enums: EnumStyle, imports: inout PythonImports) -> SQLAlchemyType {
        let core = "sqlalchemy"
        let dialect = "sqlalchemy.dialects.postgresql"
        func named(_ module: String, _ name: String, _ arguments: String = "", python: String) -> SQLAlchemyType {
            imports.from(module, name)
            return SQLAlchemyType(expression: "\(name)(\(arguments))", python: python)
        }
        func pythonType(_ module: String, _ name: String) -> String {
            imports.annotation(from: module, name)
            return name
        }

        if spelling.hasSuffix("[]") {
            // format_type writes one [] whatever the number of dimensions.
            let element = of(String(spelling.dropLast(2)), in: schema, enums: enums, imports: &imports)
            if element.isVerbatim { return verbatim(spelling, imports: &imports) }
            imports.from(dialect, "ARRAY")
            return SQLAlchemyType(expression: "ARRAY(\(element.expression))", python: "list[\(element.python)]", enumType: element.enumType)
        }
        let (base, modifiers) = splitModifiers(spelling)
        switch base {
        case "smallint": return named(core, "SmallInteger", python: "int")
        case "integer": return named(core, "Integer", python: "int")
        case "bigint": return named(core, "BigInteger", python: "int")
        case "real": return named(dialect, "REAL", python: "float")
        case "double precision": return named(dialect, "DOUBLE_PRECISION", python: "float")
        case "numeric":
            return named(core, "Numeric", modifiers.joined(separator: ", "), python: pythonType("decimal", "Decimal"))
        case "money": return named(dialect, "MONEY", python: "str")
        case "boolean": return named(core, "Boolean", python: "bool")
        case "text": return named(core, "Text", python: "str")
        case "character varying": return named(core, "String", modifiers.first ?? "", python: "str")
        case "character": return named(core, "CHAR", modifiers.first ?? "", python: "str")
        case "bytea": return named(core, "LargeBinary", python: "bytes")
        case "date":
            imports.annotation(module: "datetime")
            return named(core, "Date", python: "datetime.date")
        case "timestamp without time zone", "timestamp with time zone":
            imports.annotation(module: "datetime")
            let zoned = base.hasSuffix("with time zone") && !base.hasSuffix("without time zone")
            if let precision = modifiers.first {
                return named(dialect, "TIMESTAMP", "timezone=\(zoned ? "True" : "False"), precision=\(precision)", python: "datetime.datetime")
            }
            return named(core, "DateTime", zoned ? "timezone=True" : "", python: "datetime.datetime")
        case "time without time zone", "time with time zone":
            imports.annotation(module: "datetime")
            let zoned = !base.hasSuffix("without time zone")
            if let precision = modifiers.first {
                return named(dialect, "TIME", "timezone=\(zoned ? "True" : "False"), precision=\(precision)", python: "datetime.time")
            }
            return named(core, "Time", zoned ? "timezone=True" : "", python: "datetime.time")
        case "interval" where modifiers.isEmpty:
            imports.annotation(module: "datetime")
            return named(dialect, "INTERVAL", python: "datetime.timedelta")
        case "uuid":
            imports.annotation(module: "uuid")
            return named(dialect, "UUID", "as_uuid=True", python: "uuid.UUID")
        case "json": return named(dialect, "JSON", python: pythonType("typing", "Any"))
        case "jsonb": return named(dialect, "JSONB", python: pythonType("typing", "Any"))
        case "inet": return named(dialect, "INET", python: "str")
        case "cidr": return named(dialect, "CIDR", python: "str")
        case "macaddr": return named(dialect, "MACADDR", python: "str")
        case "tsvector": return named(dialect, "TSVECTOR", python: "str")
        default:
            break
        }
        if let found = enumType(spelling, in: schema) {
            let key = ObjectName(schema: found.schema, name: found.name).key
            var naming = ["name=\(PythonSource.literal(found.name))"]
            if found.schema != "public" { naming.append("schema=\(PythonSource.literal(found.schema))") }
            switch enums {
            case .classes(let classes):
                guard let className = classes[key] else { break }
                imports.from(core, "Enum")
                let arguments = [className] + naming + ["create_constraint=False", "native_enum=True", "values_callable=enum_values"]
                return SQLAlchemyType(expression: "Enum(\(arguments.joined(separator: ", ")))", python: className, enumType: found)
            case .labels:
                imports.from(dialect, "ENUM")
                let arguments = found.labels.map(PythonSource.literal) + naming + ["create_type=False"]
                return SQLAlchemyType(expression: "ENUM(\(arguments.joined(separator: ", ")))", python: "str", enumType: found)
            }
        }
        if let domain = domainType(spelling, in: schema) {
            // A reference to the domain, which the migration creates (`AlembicMigration`):
            // SQLAlchemy reflects a domain column as DOMAIN, so Alembic compares it by name.
            let base = of(domain.baseType, in: schema, enums: enums, imports: &imports)
            if base.isVerbatim { return verbatim(spelling, imports: &imports) }
            imports.from(dialect, "DOMAIN")
            var arguments = [PythonSource.literal(domain.name), base.expression]
            if domain.schema != "public" { arguments.append("schema=\(PythonSource.literal(domain.schema))") }
            arguments.append("create_type=False")
            return SQLAlchemyType(expression: "DOMAIN(\(arguments.joined(separator: ", ")))", python: base.python, enumType: base.enumType)
        }
        return verbatim(spelling, imports: &imports)
    }

    /// A type with no SQLAlchemy class (an extension's, `xml`, a domain over one of these): `PgType("citext")`,
    /// whose DDL is the spelling itself. Alembic cannot reflect these, so it does not compare them.
    private static func verbatim(_ spelling: String, imports: inout PythonImports) -> SQLAlchemyType {
        imports.annotation(from: "typing", "Any")
        return SQLAlchemyType(expression: "PgType(\(PythonSource.literal(spelling)))", python: "Any", isVerbatim: true)
    }

    /// `character varying(20)` -> ("character varying", ["20"]); `timestamp(3) with time zone`
    /// -> ("timestamp with time zone", ["3"]).
    static func splitModifiers(_ spelling: String) -> (String, [String]) {
        guard let open = spelling.firstIndex(of: "("), let close = spelling[open...].firstIndex(of: ")") else {
            return (spelling, [])
        }
        let inside = spelling[spelling.index(after: open)..<close]
        let modifiers = inside.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let base = (spelling[..<open] + spelling[spelling.index(after: close)...]).trimmingCharacters(in: .whitespaces)
        return (base, modifiers)
    }

    /// The enum type a spelling names: `public.sms_role`, `"Odd"."Mood"`.
    static func enumType(_ spelling: String, in schema: Schema) -> EnumType? {
        let parts = identifierParts(spelling)
        switch parts.count {
        case 1: return schema.enums["public.\(parts[0])"]
        case 2: return schema.enums["\(parts[0]).\(parts[1])"]
        default: return nil
        }
    }

    /// The domain a spelling names: `public.email`.
    static func domainType(_ spelling: String, in schema: Schema) -> Domain? {
        let parts = identifierParts(spelling)
        switch parts.count {
        case 1: return schema.domains["public.\(parts[0])"]
        case 2: return schema.domains["\(parts[0]).\(parts[1])"]
        default: return nil
        }
    }

    /// The identifiers of a dotted name, quotes removed: `"a.b".c` -> ["a.b", "c"].
    static func identifierParts(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var characters = text.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? characters.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    if let next = characters.next() {
                        if next == "\"" { current.append("\"") } else { quoted = false; pending = next }
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "." {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }
}
