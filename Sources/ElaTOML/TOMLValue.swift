/// One TOML value.
public indirect enum TOMLValue: Sendable, Equatable {
    /// A string (all four TOML string forms).
    case string(String)
    /// A 64-bit signed integer (decimal, hex, octal or binary in the source).
    case integer(Int64)
    /// A 64-bit float, including `inf` and `nan`.
    case float(Double)
    /// `true` or `false`.
    case bool(Bool)
    /// A date-time with a UTC offset (`offsetMinutes` is non-nil).
    case offsetDateTime(TOMLDateTime)
    /// A date-time without offset (`offsetMinutes` is nil).
    case localDateTime(TOMLDateTime)
    /// A date without time.
    case localDate(TOMLDate)
    /// A time of day without date.
    case localTime(TOMLTime)
    /// An array; arrays of tables (`[[name]]`) are arrays of `.table`.
    case array([TOMLValue])
    /// A table (standard, inline, or implicit).
    case table(TOMLTable)

    /// Type name for messages, with an article: "a string", "an integer", ...
    public var typeDescription: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .offsetDateTime: "an offset date-time"
        case .localDateTime: "a local date-time"
        case .localDate: "a local date"
        case .localTime: "a local time"
        case .array: "an array"
        case .table: "a table"
        }
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, if this is an integer.
    public var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The float, if this is a float.
    public var floatValue: Double? {
        if case .float(let value) = self { return value }
        return nil
    }

    /// The boolean, if this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, if this is an array (including an array of tables).
    public var arrayValue: [TOMLValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The table, if this is a table (including an inline table).
    public var tableValue: TOMLTable? {
        if case .table(let value) = self { return value }
        return nil
    }
}
