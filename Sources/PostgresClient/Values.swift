import Foundation

/// A PostgreSQL type OID, with names for the built-in types pgmend reads and binds.
public struct PostgresTypeOID: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Lets the server infer the parameter's type from where it is used.
    public static let unspecified = PostgresTypeOID(rawValue: 0)
    public static let bool = PostgresTypeOID(rawValue: 16)
    public static let bytea = PostgresTypeOID(rawValue: 17)
    public static let name = PostgresTypeOID(rawValue: 19)
    public static let int8 = PostgresTypeOID(rawValue: 20)
    public static let int2 = PostgresTypeOID(rawValue: 21)
    public static let int4 = PostgresTypeOID(rawValue: 23)
    public static let text = PostgresTypeOID(rawValue: 25)
    public static let oid = PostgresTypeOID(rawValue: 26)
    public static let json = PostgresTypeOID(rawValue: 114)
    public static let float4 = PostgresTypeOID(rawValue: 700)
    public static let float8 = PostgresTypeOID(rawValue: 701)
    public static let varchar = PostgresTypeOID(rawValue: 1043)
    public static let date = PostgresTypeOID(rawValue: 1082)
    public static let timestamp = PostgresTypeOID(rawValue: 1114)
    public static let timestamptz = PostgresTypeOID(rawValue: 1184)
    public static let numeric = PostgresTypeOID(rawValue: 1700)
    public static let uuid = PostgresTypeOID(rawValue: 2950)
    public static let jsonb = PostgresTypeOID(rawValue: 3802)
}

/// A Swift value that can be bound as a query parameter.
public protocol PostgresEncodable {
    /// The value in PostgreSQL's text input form.
    var postgresText: String { get }
    /// The parameter's type; `.unspecified` lets the server infer it from context.
    static var postgresType: PostgresTypeOID { get }
}

/// A Swift value that can be read from a result column in text form.
public protocol PostgresDecodable {
    /// Reads the value from PostgreSQL's text output form; `type` is the column's type.
    /// Throws `PostgresDecodingFailure` when the text is not a value of this Swift type.
    init(postgresText text: String, type: PostgresTypeOID) throws
}

/// Thrown by a decoder; `Row` turns it into a `PostgresError` naming the column and row.
public struct PostgresDecodingFailure: Error, Sendable {
    public var reason: String?
    public init(_ reason: String? = nil) { self.reason = reason }
}

// MARK: Text

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { self }
    // Unspecified, not text: a string parameter compared with a uuid or jsonb column must take
    // that column's type, as a quoted literal would.
    public static var postgresType: PostgresTypeOID { .unspecified }
    public init(postgresText text: String, type: PostgresTypeOID) { self = text }
}

extension Substring: PostgresEncodable {
    public var postgresText: String { String(self) }
    public static var postgresType: PostgresTypeOID { .unspecified }
}

// MARK: Numbers

/// Integers share one text form; each width checks its own range when reading.
public protocol PostgresInteger: FixedWidthInteger, PostgresEncodable, PostgresDecodable {}

extension PostgresInteger {
    public var postgresText: String { String(self) }
    public init(postgresText text: String, type: PostgresTypeOID) throws {
        guard let value = Self(text) else { throw PostgresDecodingFailure() }
        self = value
    }
}

extension Int: PostgresInteger { public static var postgresType: PostgresTypeOID { .int8 } }
extension Int64: PostgresInteger { public static var postgresType: PostgresTypeOID { .int8 } }
extension Int32: PostgresInteger { public static var postgresType: PostgresTypeOID { .int4 } }
extension Int16: PostgresInteger { public static var postgresType: PostgresTypeOID { .int2 } }
extension UInt32: PostgresInteger { public static var postgresType: PostgresTypeOID { .oid } }

extension Double: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { .float8 }
    public var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return String(self)  // shortest text that reads back as the same Double
    }
    public init(postgresText text: String, type: PostgresTypeOID) throws {
        guard let value = Double(text) else { throw PostgresDecodingFailure() }
        self = value
    }
}

extension Decimal: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { .numeric }
    public var postgresText: String { description }
    public init(postgresText text: String, type: PostgresTypeOID) throws {
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
            throw PostgresDecodingFailure()
        }
        self = value
    }
}

// MARK: Booleans, UUIDs, bytes

extension Bool: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { .bool }
    public var postgresText: String { self ? "t" : "f" }
    public init(postgresText text: String, type: PostgresTypeOID) throws {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresDecodingFailure("expected t or f")
        }
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { .uuid }
    public var postgresText: String { uuidString.lowercased() }
    public init(postgresText text: String, type: PostgresTypeOID) throws {
        guard let value = UUID(uuidString: text) else { throw PostgresDecodingFailure() }
        self = value
    }
}

/// A `bytea` value.
public struct PostgresBytes: Hashable, Sendable, PostgresEncodable, PostgresDecodable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public static var postgresType: PostgresTypeOID { .bytea }
    public var postgresText: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        text.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
    public init(postgresText text: String, type: PostgresTypeOID) throws {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            throw PostgresDecodingFailure("expected bytea hex output (bytea_output = hex)")
        }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw PostgresDecodingFailure("not a hex digit")
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            bytes.append(try nibble(utf8[index]) << 4 | nibble(utf8[index + 1]))
            index += 2
        }
        self.bytes = bytes
    }
}

// MARK: Dates

extension Date: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresTypeOID { .timestamptz }
    public var postgresText: String { PostgresTimestamp.format(self) }
    /// Reads `timestamptz`, `timestamp` (taken as UTC) and `date` (midnight UTC) in ISO style.
    public init(postgresText text: String, type: PostgresTypeOID) throws {
        self = try PostgresTimestamp.parse(text)
    }
}

/// ISO-style timestamp text (`DateStyle = ISO`, which every `Connection` sets) to and from `Date`.
enum PostgresTimestamp {
    static func parse(_ text: String) throws -> Date {
        var scanner = DigitScanner(Array(text.utf8))
        guard let year = scanner.number(minDigits: 4), scanner.skip("-"),
            let month = scanner.number(digits: 2), scanner.skip("-"),
            let day = scanner.number(digits: 2), (1...12).contains(month), (1...31).contains(day)
        else {
            throw PostgresDecodingFailure(text.hasSuffix("infinity") ? "infinite timestamps have no Date" : "expected ISO date")
        }
        var seconds = daysFromCivil(year: year, month: month, day: day) * 86_400
        var micros = 0
        if scanner.skip(" ") || scanner.skip("T") {
            guard let hour = scanner.number(digits: 2), scanner.skip(":"),
                let minute = scanner.number(digits: 2), scanner.skip(":"),
                let second = scanner.number(digits: 2)
            else { throw PostgresDecodingFailure("expected ISO time") }
            seconds += hour * 3600 + minute * 60 + second
            if scanner.skip(".") {
                var digits = 0
                while let digit = scanner.digit() {
                    if digits < 6 { micros = micros * 10 + digit }
                    digits += 1
                }
                for _ in min(digits, 6)..<6 { micros *= 10 }
            }
            if let sign = scanner.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                scanner.advance()
                guard let hours = scanner.number(digits: 2) else { throw PostgresDecodingFailure("bad UTC offset") }
                var offset = hours * 3600
                if scanner.skip(":"), let minutes = scanner.number(digits: 2) { offset += minutes * 60 }
                if scanner.skip(":"), let secs = scanner.number(digits: 2) { offset += secs }
                seconds -= sign == UInt8(ascii: "+") ? offset : -offset
            }
        }
        guard scanner.atEnd else { throw PostgresDecodingFailure(text.hasSuffix(" BC") ? "BC dates have no Date here" : "unexpected trailing text") }
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }

    static func format(_ date: Date) -> String {
        let totalMicros = Int((date.timeIntervalSince1970 * 1_000_000).rounded())
        let (seconds, micros) = totalMicros.quotientAndRemainder(dividingBy: 1_000_000)
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        var micro = micros
        if micro < 0 { micro += 1_000_000; secondOfDay -= 1 }
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        let (year, month, day) = civilFromDays(days)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) "
            + "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
            + ".\(pad(micro, 6))+00"
    }

    // Howard Hinnant's algorithms for the proleptic Gregorian calendar.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// Reads ASCII digits and punctuation from UTF-8 text, one step at a time.
struct DigitScanner {
    private let bytes: [UInt8]
    private var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position == bytes.count }
    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }
    mutating func advance() { position += 1 }

    mutating func skip(_ character: Unicode.Scalar) -> Bool {
        guard peek() == UInt8(ascii: character) else { return false }
        position += 1
        return true
    }

    mutating func digit() -> Int? {
        guard let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        position += 1
        return Int(byte - UInt8(ascii: "0"))
    }

    mutating func number(digits: Int) -> Int? {
        var value = 0
        for _ in 0..<digits {
            guard let digit = digit() else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    mutating func number(minDigits: Int) -> Int? {
        var value = 0
        var count = 0
        while let digit = digit() {
            value = value * 10 + digit
            count += 1
        }
        return count >= minDigits ? value : nil
    }
}
