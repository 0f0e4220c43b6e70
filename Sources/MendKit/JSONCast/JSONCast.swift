import PostgresClient

/// Which JSON values convert losslessly to a type, and what they convert to, as SQL: PostgreSQL
/// 15 has no `pg_input_is_valid`, and a failed cast would abort the whole statement, so every
/// cast is guarded by a test of the value's JSON type and, for strings, of its form.
///
/// `value` is the one expression the step builds on: the JSON value as the column's type, NULL
/// when the key is absent, holds JSON null, or does not convert. "Converts" is therefore
/// `value IS NOT NULL`, and the counts, the backfill and the assertion cannot disagree about it.
///
/// `value` is evaluated for every row the step reads (several times per run), so its cost is the
/// step's: the forms applications actually write take a short path that reads the value out of
/// the document once or twice (a JSON boolean, plain digits for an integer, one pattern and the
/// cast for `2025-01-01T10:00:00Z`), and everything else
/// falls through to `generalValue`, the reference, which accepts exactly the same values and
/// gives the same result for them (`JSONCastTests` compares the two on generated values).
struct JSONCast {
    enum Family: Equatable {
        case boolean
        case integer(min: Int64, max: Int64)
        case numeric(Numeric)
        case text(limit: Int?)
        case timestamptz
        case timestamp
        case date
        case uuid

        init?(printedType: String) {
            switch printedType {
            case "boolean": self = .boolean
            case "smallint": self = .integer(min: Int64(Int16.min), max: Int64(Int16.max))
            case "integer": self = .integer(min: Int64(Int32.min), max: Int64(Int32.max))
            case "bigint": self = .integer(min: Int64.min, max: Int64.max)
            case "numeric": self = .numeric(.exact)
            case "double precision": self = .numeric(.double)
            case "real": self = .numeric(.real)
            case "text", "character varying": self = .text(limit: nil)
            case "timestamp with time zone": self = .timestamptz
            case "timestamp without time zone": self = .timestamp
            case "date": self = .date
            case "uuid": self = .uuid
            default:
                if let decimal = Numeric(printedType: printedType) {
                    self = .numeric(decimal)
                    return
                }
                for prefix in ["character varying(", "character("] where printedType.hasPrefix(prefix) && printedType.hasSuffix(")") {
                    guard let limit = Int(printedType.dropFirst(prefix.count).dropLast()) else { return nil }
                    self = .text(limit: limit)
                    return
                }
                return nil
            }
        }
    }

    /// The types of the numeric family: which numbers they hold without an error, and whether
    /// they hold every one exactly.
    enum Numeric: Equatable {
        /// `numeric` without a precision: every decimal number a JSON document can hold.
        case exact
        /// `numeric(p, s)`: rounded to `s` digits after the point; an error at `p - s` digits
        /// or more before it.
        case decimal(precision: Int, scale: Int)
        /// `real` (float4): about 7 significant digits.
        case real
        /// `double precision` (float8): about 16 significant digits.
        case double

        /// `numeric(10,2)`, `numeric(8)` as `format_type` prints them.
        init?(printedType: String) {
            guard printedType.hasPrefix("numeric("), printedType.hasSuffix(")") else { return nil }
            let parts = printedType.dropFirst("numeric(".count).dropLast().split(separator: ",").map { Int($0) }
            guard let first = parts.first, let precision = first, parts.count <= 2 else { return nil }
            guard parts.count == 2 else {
                self = .decimal(precision: precision, scale: 0)
                return
            }
            guard let scale = parts[1] else { return nil }
            self = .decimal(precision: precision, scale: scale)
        }

        /// The conversion can round: a value is accepted, but the column may not give the
        /// JSON's number back.
        var rounds: Bool { self != .exact }

        /// SQL true when `number` (a numeric) converts without an error: within the type's
        /// range, and for a float not so small that it would round to zero (PostgreSQL then
        /// refuses it, `is out of range for type real`). nil: every number does.
        func fits(_ number: SQL) -> SQL? {
            switch self {
            case .exact:
                return nil
            case .decimal(let precision, let scale):
                // numeric(p, s) refuses a value whose rounded form has p - s digits before the point.
                return "abs(round(\(number), \(literal: scale))) < \(bind: "1e\(precision - scale)")::numeric"
            case .real:
                // Largest float4, and a bound above half the smallest subnormal (which is 1.4e-45):
                // what lies between rounds to a subnormal, what lies below to zero.
                return "(abs(\(number)) <= 3.4028234663852886e38 AND (\(number) = 0 OR abs(\(number)) >= 1e-45))"
            case .double:
                return "(abs(\(number)) <= 1.7976931348623157e308 AND (\(number) = 0 OR abs(\(number)) >= 3e-324))"
            }
        }
    }

    var family: Family
    /// The jsonb value.
    var json: SQL
    /// The same value as text (a string without its quotes), read from the document directly
    /// (`doc ->> 'key'` costs far less than `(doc -> 'key') #>> '{}'`).
    var text: SQL
    /// The type as the server prints it (`format_type`).
    var type: String
    var trim: Bool
    var timeZone: String?

    var kind: SQL { "jsonb_typeof(\(json))" }
    /// The type, as the server printed it.
    var typeSQL: SQL { .catalogText(type) }

    init(family: Family, json: SQL, text: SQL? = nil, type: String, trim: Bool, timeZone: String?) {
        self.family = family
        self.json = json
        self.text = text ?? "(\(json) #>> '{}')"
        self.type = type
        self.trim = trim
        self.timeZone = timeZone
    }
    /// The scalar as text (a string without its quotes).
    var scalar: SQL { trim ? "btrim(\(text))" : text }

    static let numberPattern = #"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$"#
    static let datePattern = #"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"#
    static let timePattern = #"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"#
    /// PostgreSQL takes offsets up to ±15:59; a larger one is an error, not a value.
    static let offsetPattern = #"(Z|z|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)"#

    /// True when the value is present and converts without loss.
    var valid: SQL { "(\(value) IS NOT NULL)" }

    /// The value as the column's type; NULL when absent, JSON null, or not convertible.
    ///
    /// What a fast path costs is mostly how often it reads the value out of the document
    /// (each `doc ->> 'key'` finds the key again): the paths below read it once or twice.
    var value: SQL {
        switch family {
        case .boolean:
            // A JSON boolean's text and an accepted string's are the same two words; a number,
            // object or array never reads as either.
            return "(CASE \(scalar) WHEN 'true' THEN true WHEN 'false' THEN false END)"
        case .integer(_, let max):
            // Plain digits that fit the type whatever they are (one digit fewer than its
            // maximum has): the text casts directly. A JSON number or a string, as the general
            // path accepts both.
            let digits = String(max).count - 1
            return "(CASE WHEN \(scalar) ~ \(bind: "^-?[0-9]{1,\(digits)}$") THEN (\(scalar))::\(typeSQL) ELSE \(generalValue) END)"
        case .timestamptz, .timestamp, .date:
            // A match converts as the general path's does, without its checks.
            guard let fast = fastDated else { return generalValue }
            return "(CASE WHEN \(scalar) ~ \(bind: fast) THEN \(datedConversion) ELSE \(generalValue) END)"
        case .numeric, .text, .uuid:
            return generalValue
        }
    }

    /// The conversion alone, without the tests of the value's form: equal to `value` wherever
    /// `value` is not NULL (`JSONCastTests`), and only for values known to convert (on any other
    /// it may raise an error, or take `"yes"` for true). The backfill uses it for rows the
    /// assessment read and found convertible; the tests are most of a conversion's cost.
    var unchecked: SQL {
        switch family {
        case .boolean:
            // The checked form is one CASE already.
            return value
        case .integer:
            // A JSON number or a string of one, as `3`, `3.0` or `1e2`: through numeric.
            return "((\(scalar))::numeric)::\(typeSQL)"
        case .timestamptz, .timestamp:
            return datedConversion
        case .numeric, .text, .date, .uuid:
            return "(\(scalar))::\(typeSQL)"
        }
    }

    /// For a type whose conversion can round (`real`, `double precision`, `numeric(p, s)`): SQL
    /// true when `column` (of the type) does not give the JSON's number back exactly, compared
    /// as numbers (`1.5` and `1.50` are the same number; `16777217` and real's `1.6777216e+07`
    /// are not). nil for every other type: what converts, converts exactly.
    func rounded(_ column: SQL) -> SQL? {
        guard case .numeric(let numeric) = family, numeric.rounds else { return nil }
        // The column's text is what a reader gets back (float output is the shortest text that
        // reads as the same float).
        return "((\(column))::text::numeric <> (\(scalar))::numeric)"
    }

    /// The reference: a test of the value's form, then the cast.
    var generalValue: SQL {
        switch family {
        case .boolean:
            return "(CASE WHEN \(kind) = 'boolean' OR (\(kind) = 'string' AND \(scalar) IN ('true', 'false')) THEN (\(scalar))::boolean END)"
        case .integer(let min, let max):
            return "(CASE WHEN \(kind) = 'number' OR (\(kind) = 'string' AND \(scalar) ~ \(bind: Self.numberPattern))"
                + " THEN CASE WHEN \(scalar)::numeric = trunc(\(scalar)::numeric) AND \(scalar)::numeric BETWEEN \(literal: min) AND \(literal: max)"
                + " THEN (\(scalar)::numeric)::\(typeSQL) END END)"
        case .numeric(let numeric):
            // The range is tested on the number as numeric, which holds any a JSON document or
            // the pattern allows: a cast out of the type's range would abort the statement.
            let number: SQL = "(\(scalar))::numeric"
            let cast: SQL = numeric.fits(number).map { "CASE WHEN \($0) THEN (\(scalar))::\(typeSQL) END" } ?? "(\(scalar))::\(typeSQL)"
            return "(CASE WHEN \(kind) = 'number' OR (\(kind) = 'string' AND \(scalar) ~ \(bind: Self.numberPattern)) THEN \(cast) END)"
        case .text(let limit):
            let fits: SQL = limit.map { " AND char_length(\(scalar)) <= \(literal: $0)" } ?? ""
            return "(CASE WHEN \(kind) IN ('string', 'number', 'boolean')\(fits) THEN (\(scalar))::\(typeSQL) END)"
        case .timestamptz:
            let offset = timeZone == nil ? Self.offsetPattern : Self.offsetPattern + "?"
            return "(CASE WHEN \(dated("([T ]" + Self.timePattern + ")?" + offset)) THEN \(datedConversion) END)"
        case .timestamp:
            let offset = timeZone == nil ? "" : Self.offsetPattern + "?"
            return "(CASE WHEN \(dated("([T ]" + Self.timePattern + ")?" + offset)) THEN \(datedConversion) END)"
        case .date:
            return "(CASE WHEN \(dated("")) THEN (\(scalar))::\(typeSQL) END)"
        case .uuid:
            return "(CASE WHEN \(kind) = 'string' AND \(scalar) ~ '^\\{?[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}\\}?$' THEN (\(scalar))::uuid END)"
        }
    }

    /// A string that starts with a date of the calendar (the pattern allows 2025-02-31; the day
    /// is then compared with the month's last, computed from parts the pattern made safe).
    func dated(_ rest: String) -> SQL {
        let pattern = "^" + Self.datePattern + rest + "$"
        let lastDay: SQL = "extract(day from make_date(substr(\(scalar), 1, 4)::int, substr(\(scalar), 6, 2)::int, 1) + interval '1 month - 1 day')"
        return "(CASE WHEN \(kind) = 'string' AND \(scalar) ~ \(bind: pattern) THEN substr(\(scalar), 9, 2)::int <= \(lastDay) ELSE false END)"
    }

    /// Whether a string the date pattern accepted ends in an offset: after the date (ten
    /// characters) the pattern allows a sign only there.
    var hasOffset: SQL {
        "(right(\(scalar), 1) IN ('Z', 'z') OR strpos(substr(\(scalar), 11), '+') > 0 OR strpos(substr(\(scalar), 11), '-') > 0)"
    }

    /// A dated string's value (only where its pattern matched).
    var datedConversion: SQL {
        switch family {
        case .timestamptz:
            guard let zone = timeZone else { return "(\(scalar))::timestamptz" }
            // No offset written: the time is read in the zone the plan names.
            return "(CASE WHEN \(hasOffset) THEN (\(scalar))::timestamptz ELSE (\(scalar))::timestamp AT TIME ZONE \(bind: zone) END)"
        case .timestamp:
            guard let zone = timeZone else { return "(\(scalar))::\(typeSQL)" }
            return "(CASE WHEN \(hasOffset) THEN (\(scalar))::timestamptz AT TIME ZONE \(bind: zone) ELSE (\(scalar))::timestamp END)"
        default:
            return "(\(scalar))::\(typeSQL)"
        }
    }

    /// The common dated forms, in one pattern whose every match converts without the checks of
    /// the general path: days up to the 28th (later ones depend on the month), seconds written,
    /// and for an offset only UTC's (`Z`, `+00:00`). No JSON number, object or array reads as
    /// one, so the JSON type needs no test. nil: no fast form for this family and zone.
    var fastDated: String? {
        let date = #"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"#
        let time = #"[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"#
        switch family {
        case .timestamptz:
            // With UTC's offset, or (read in the plan's zone) none when a zone is given.
            return "^" + date + time + (timeZone == nil ? #"(Z|\+00:00)$"# : #"(Z|\+00:00)?$"#)
        case .timestamp:
            return timeZone == nil ? "^" + date + time + "$" : nil
        case .date:
            return "^" + date + "$"
        default:
            return nil
        }
    }

    /// `{"a","b"}`: a text array literal, each element quoted (quotes and backslashes escaped).
    static func arrayLiteral(_ items: [String]) -> String {
        "{" + items.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
    }
}
