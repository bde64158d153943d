/// Integers (decimal, 0x, 0o, 0b, with underscores between digits), floats, signed inf/nan,
/// and the hand-off to dates and times.
extension Parser {
    /// The cursor is on a digit, `+` or `-`.
    mutating func parseNumberOrDateTime() throws(TOMLError) -> TOMLValue {
        let start = index
        if Char.isDigit(at(start)), Char.isDigit(at(start + 1)) {
            if Char.isDigit(at(start + 2)), Char.isDigit(at(start + 3)), at(start + 4) == Char.minus {
                return try parseDateOrDateTime()
            }
            if at(start + 2) == Char.colon { return .localTime(try parseTime()) }
        }
        let signed = peek == Char.plus || peek == Char.minus
        if signed, at(start + 1) == Char.ascii("i") || at(start + 1) == Char.ascii("n") {
            let negative = peek == Char.minus
            index += 1
            guard case .float(let value) = try parseValue(depth: 0) else { throw error("invalid number", at: start) }
            return .float(negative ? -value : value)
        }
        // The token: every character a number can contain; the grammar below decides if it is one.
        var token: [UInt32] = []
        while Char.isBareKey(peek) || peek == Char.dot || peek == Char.plus {
            token.append(peek)
            index += 1
        }
        var literal = NumberLiteral(token: token)
        return try literal.value(reportingAt: { message in error(message, at: start) })
    }
}

/// Checks and converts the text of one number token.
struct NumberLiteral {
    let token: [UInt32]
    private var cursor = 0

    init(token: [UInt32]) { self.token = token }

    private var text: String {
        String(String.UnicodeScalarView(token.compactMap { Unicode.Scalar($0) }))
    }

    private func at(_ position: Int) -> UInt32 { position < token.count ? token[position] : Char.end }

    mutating func value(reportingAt fail: (String) -> TOMLError) throws(TOMLError) -> TOMLValue {
        let invalid = fail("invalid number '\(text)'")
        var negative = false
        var signed = false
        if at(0) == Char.plus || at(0) == Char.minus {
            negative = at(0) == Char.minus
            signed = true
            cursor = 1
        }
        if at(cursor) == Char.zero, let radix = Self.radix(of: at(cursor + 1)) {
            if signed { throw fail("'\(text)': hexadecimal, octal and binary integers cannot have a sign") }
            cursor += 2
            guard let digits = try digitRun(radix: radix, fail), cursor == token.count else { throw invalid }
            return .integer(try integer(digits, radix: radix, negative: false, fail))
        }
        guard let whole = try digitRun(radix: 10, fail) else { throw invalid }
        if whole.count > 1, whole.first == Char.zero {
            throw fail("'\(text)': leading zeros are not allowed")
        }
        var isFloat = false
        if at(cursor) == Char.dot {
            cursor += 1
            guard try digitRun(radix: 10, fail) != nil else {
                throw fail("'\(text)': a decimal point must be followed by digits")
            }
            isFloat = true
        }
        if at(cursor) == Char.ascii("e") || at(cursor) == Char.ascii("E") {
            cursor += 1
            if at(cursor) == Char.plus || at(cursor) == Char.minus { cursor += 1 }
            guard try digitRun(radix: 10, fail) != nil else { throw fail("'\(text)': exponent without digits") }
            isFloat = true
        }
        guard cursor == token.count else { throw invalid }
        guard isFloat else { return .integer(try integer(whole, radix: 10, negative: negative, fail)) }
        let plain = String(String.UnicodeScalarView(token.filter { $0 != Char.underscore }.compactMap { Unicode.Scalar($0) }))
        guard let float = Double(plain) else { throw invalid }
        guard float.isFinite else { throw fail("'\(text)': float out of range") }
        return .float(float)
    }

    private static func radix(of scalar: UInt32) -> UInt64? {
        switch scalar {
        case Char.ascii("x"): 16
        case Char.ascii("o"): 8
        case Char.ascii("b"): 2
        default: nil
        }
    }

    /// Digits with single underscores between them; nil when there is no digit at the cursor.
    private mutating func digitRun(radix: UInt64, _ fail: (String) -> TOMLError) throws(TOMLError) -> [UInt32]? {
        func digit(_ scalar: UInt32) -> Bool {
            guard let value = Char.hexValue(scalar) else { return false }
            return UInt64(value) < radix
        }
        if at(cursor) == Char.underscore { throw fail("'\(text)': an underscore must be between digits") }
        guard digit(at(cursor)) else { return nil }
        var digits: [UInt32] = []
        while true {
            if digit(at(cursor)) {
                digits.append(at(cursor))
                cursor += 1
            } else if at(cursor) == Char.underscore {
                guard digit(at(cursor + 1)) else { throw fail("'\(text)': an underscore must be between digits") }
                cursor += 1
            } else {
                return digits
            }
        }
    }

    /// The integer value, rejecting anything outside Int64.
    private func integer(
        _ digits: [UInt32], radix: UInt64, negative: Bool, _ fail: (String) -> TOMLError
    ) throws(TOMLError) -> Int64 {
        var magnitude: UInt64 = 0
        let outOfRange = fail("'\(text)': integer out of range (64-bit signed)")
        for scalar in digits {
            guard let digit = Char.hexValue(scalar) else { throw outOfRange }
            let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: radix)
            let (sum, overflow2) = shifted.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { throw outOfRange }
            magnitude = sum
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw outOfRange }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw outOfRange }
        return Int64(magnitude)
    }
}
