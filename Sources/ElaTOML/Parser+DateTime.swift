/// RFC 3339 dates and times as TOML allows them: `1979-05-27`, `07:32:00.5`, `1979-05-27T07:32:00Z`,
/// `1979-05-27 07:32:00-07:00` (space or `t` as separator, `z` as UTC).
extension Parser {
    /// The cursor is on the first digit of a `YYYY-` year.
    mutating func parseDateOrDateTime() throws(TOMLError) -> TOMLValue {
        let start = index
        let year = try fixedDigits(4, "year")
        try expect(Char.minus, "'-' after the year")
        let month = try fixedDigits(2, "month")
        try expect(Char.minus, "'-' after the month")
        let day = try fixedDigits(2, "day")
        guard let date = TOMLDate(year: year, month: month, day: day) else {
            throw error("invalid date \(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)): no such day", at: start)
        }
        let separator = peek
        let hasTime =
            separator == Char.ascii("T") || separator == Char.ascii("t")
            || (separator == Char.space && Char.isDigit(at(index + 1)))
        guard hasTime else { return .localDate(date) }
        index += 1
        let time = try parseTime()
        guard let offset = try parseOffset() else {
            guard let local = TOMLDateTime(date: date, time: time) else { throw error("invalid date-time", at: start) }
            return .localDateTime(local)
        }
        guard let dateTime = TOMLDateTime(date: date, time: time, offsetMinutes: offset) else {
            throw error("invalid time zone offset", at: start)
        }
        return .offsetDateTime(dateTime)
    }

    /// `HH:MM:SS` with optional fraction (seconds are required in TOML 1.0).
    mutating func parseTime() throws(TOMLError) -> TOMLTime {
        let start = index
        let hour = try fixedDigits(2, "hour")
        try expect(Char.colon, "':' after the hour")
        let minute = try fixedDigits(2, "minute")
        try expect(Char.colon, "':' after the minute (seconds are required)")
        let second = try fixedDigits(2, "second")
        var nanosecond = 0
        if peek == Char.dot {
            index += 1
            guard Char.isDigit(peek) else { throw error("expected digits after the decimal point of the seconds") }
            var digits = 0
            while Char.isDigit(peek) {
                // Keep nanosecond precision; further digits are truncated.
                if digits < 9 { nanosecond = nanosecond * 10 + Int(peek - Char.zero) }
                digits += 1
                index += 1
            }
            for _ in digits..<max(digits, 9) { nanosecond *= 10 }
        }
        guard let time = TOMLTime(hour: hour, minute: minute, second: second, nanosecond: nanosecond) else {
            throw error("invalid time \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)): field out of range", at: start)
        }
        return time
    }

    /// `Z`, `z` or `±HH:MM` as minutes, or nil when there is no offset.
    private mutating func parseOffset() throws(TOMLError) -> Int? {
        switch peek {
        case Char.ascii("Z"), Char.ascii("z"):
            index += 1
            return 0
        case Char.plus, Char.minus:
            let start = index
            let negative = peek == Char.minus
            index += 1
            let hours = try fixedDigits(2, "offset hour")
            try expect(Char.colon, "':' in the time zone offset")
            let minutes = try fixedDigits(2, "offset minute")
            guard hours <= 23, minutes <= 59 else {
                throw error("invalid time zone offset: hour must be 00-23 and minute 00-59", at: start)
            }
            let total = hours * 60 + minutes
            return negative ? -total : total
        default:
            return nil
        }
    }

    /// Exactly `count` decimal digits.
    private mutating func fixedDigits(_ count: Int, _ field: String) throws(TOMLError) -> Int {
        var value = 0
        for _ in 0..<count {
            guard Char.isDigit(peek) else { throw error("expected a \(count)-digit \(field), found \(Char.describe(peek))") }
            value = value * 10 + Int(peek - Char.zero)
            index += 1
        }
        return value
    }

    private mutating func expect(_ scalar: UInt32, _ what: String) throws(TOMLError) {
        guard peek == scalar else { throw error("expected \(what), found \(Char.describe(peek))") }
        index += 1
    }
}
