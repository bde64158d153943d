/// A calendar date without time zone (TOML local date, `1979-05-27`).
public struct TOMLDate: Sendable, Hashable, CustomStringConvertible {
    /// Year, 0...9999.
    public var year: Int
    /// Month, 1...12.
    public var month: Int
    /// Day of month, 1...28/29/30/31 depending on month and leap year.
    public var day: Int

    /// Creates a date, or nil when the fields do not name a real day (e.g. February 30).
    public init?(year: Int, month: Int, day: Int) {
        guard (0...9999).contains(year), (1...12).contains(month),
            day >= 1, day <= TOMLDate.daysIn(month: month, year: year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// A time of day without time zone (TOML local time, `07:32:00.999`).
public struct TOMLTime: Sendable, Hashable, CustomStringConvertible {
    /// Hour, 0...23.
    public var hour: Int
    /// Minute, 0...59.
    public var minute: Int
    /// Second, 0...60 (60 only for a leap second).
    public var second: Int
    /// Fractional second in nanoseconds, 0...999_999_999 (digits beyond nanoseconds are truncated).
    public var nanosecond: Int

    /// Creates a time, or nil when a field is out of range.
    public init?(hour: Int, minute: Int, second: Int, nanosecond: Int = 0) {
        guard (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
            (0...999_999_999).contains(nanosecond)
        else { return nil }
        self.hour = hour
        self.minute = minute
        self.second = second
        self.nanosecond = nanosecond
    }

    /// `HH:MM:SS`, plus `.fff`, `.ffffff` or `.fffffffff` when there is a fractional part.
    public var description: String {
        var text = "\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        if nanosecond != 0 {
            // Shortest of milli/micro/nano precision that is exact, like RFC 3339 writers do.
            var digits = pad(nanosecond, 9)
            while digits.count > 3, digits.hasSuffix("000") { digits.removeLast(3) }
            text += "." + digits
        }
        return text
    }
}

/// A date and time, either with a UTC offset (TOML offset date-time) or without (local date-time).
///
/// Equality compares the fields as written, not the instant: `12:00Z` and `13:00+01:00` differ.
public struct TOMLDateTime: Sendable, Hashable, CustomStringConvertible {
    /// The calendar date.
    public var date: TOMLDate
    /// The time of day.
    public var time: TOMLTime
    /// Offset from UTC in minutes (`Z` is 0), nil for a local date-time.
    public var offsetMinutes: Int?

    /// Creates a date-time; `offsetMinutes` must be within ±23:59.
    public init?(date: TOMLDate, time: TOMLTime, offsetMinutes: Int? = nil) {
        if let offsetMinutes, abs(offsetMinutes) > 23 * 60 + 59 { return nil }
        self.date = date
        self.time = time
        self.offsetMinutes = offsetMinutes
    }

    // Flat access to the fields of `date` and `time`.
    /// Year of `date`.
    public var year: Int { date.year }
    /// Month of `date`.
    public var month: Int { date.month }
    /// Day of `date`.
    public var day: Int { date.day }
    /// Hour of `time`.
    public var hour: Int { time.hour }
    /// Minute of `time`.
    public var minute: Int { time.minute }
    /// Second of `time`.
    public var second: Int { time.second }
    /// Nanosecond of `time`.
    public var nanosecond: Int { time.nanosecond }

    /// RFC 3339: `YYYY-MM-DDTHH:MM:SS[.fff]` followed by `Z` or `±HH:MM` when there is an offset.
    public var description: String {
        var text = "\(date)T\(time)"
        if let offsetMinutes {
            if offsetMinutes == 0 {
                text += "Z"
            } else {
                let magnitude = abs(offsetMinutes)
                text += (offsetMinutes < 0 ? "-" : "+") + "\(pad(magnitude / 60, 2)):\(pad(magnitude % 60, 2))"
            }
        }
        return text
    }
}

/// Zero-pads a non-negative number to `width` digits.
func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
