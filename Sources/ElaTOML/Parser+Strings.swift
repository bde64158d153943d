/// The four string forms: basic `"..."`, multi-line basic `"""..."""`, literal `'...'`, multi-line literal `'''...'''`.
/// Newlines inside multi-line strings are returned as LF (CRLF is normalised).
extension Parser {
    /// `"..."` with escapes; the cursor is on the opening quote.
    mutating func parseBasicString() throws(TOMLError) -> String {
        let open = index
        index += 1
        var content = String.UnicodeScalarView()
        while true {
            let scalar = peek
            switch scalar {
            case Char.end:
                throw error("unterminated string (opened at column \(position(of: open).column))")
            case Char.lf, Char.cr:
                throw error("newline inside a single-line string; use \"\"\" for a multi-line string")
            case Char.quote:
                index += 1
                return String(content)
            case Char.backslash:
                content.append(try parseEscape())
            default:
                try appendContent(scalar, to: &content, in: "a string")
            }
        }
    }

    /// `"""..."""`; the cursor is on the first of the three opening quotes.
    mutating func parseMultilineBasicString() throws(TOMLError) -> String {
        let open = index
        index += 3
        _ = try consumeNewline()  // a newline right after the delimiter is not part of the string
        var content = String.UnicodeScalarView()
        while true {
            let scalar = peek
            switch scalar {
            case Char.end:
                throw error("unterminated multi-line string (opened at \(position(of: open)))")
            case Char.quote:
                if try closeMultiline(Char.quote, content: &content) { return String(content) }
            case Char.backslash:
                let next = at(index + 1)
                if Char.isWhitespace(next) || next == Char.lf || next == Char.cr {
                    try skipLineEndingBackslash()
                } else {
                    content.append(try parseEscape())
                }
            case Char.lf, Char.cr:
                _ = try consumeNewline()
                content.append("\n")
            default:
                try appendContent(scalar, to: &content, in: "a string")
            }
        }
    }

    /// `'...'` with no escapes; the cursor is on the opening apostrophe.
    mutating func parseLiteralString() throws(TOMLError) -> String {
        let open = index
        index += 1
        var content = String.UnicodeScalarView()
        while true {
            let scalar = peek
            switch scalar {
            case Char.end:
                throw error("unterminated literal string (opened at column \(position(of: open).column))")
            case Char.lf, Char.cr:
                throw error("newline inside a single-line literal string; use ''' for a multi-line string")
            case Char.apostrophe:
                index += 1
                return String(content)
            default:
                try appendContent(scalar, to: &content, in: "a literal string")
            }
        }
    }

    /// `'''...'''`; the cursor is on the first of the three opening apostrophes.
    mutating func parseMultilineLiteralString() throws(TOMLError) -> String {
        let open = index
        index += 3
        _ = try consumeNewline()
        var content = String.UnicodeScalarView()
        while true {
            let scalar = peek
            switch scalar {
            case Char.end:
                throw error("unterminated multi-line literal string (opened at \(position(of: open)))")
            case Char.apostrophe:
                if try closeMultiline(Char.apostrophe, content: &content) { return String(content) }
            case Char.lf, Char.cr:
                _ = try consumeNewline()
                content.append("\n")
            default:
                try appendContent(scalar, to: &content, in: "a literal string")
            }
        }
    }

    /// Handles a run of delimiter quotes in a multi-line string. Three close it; up to two more before
    /// them belong to the content (`""""` ends with one quote in the string). Returns true when closed.
    private mutating func closeMultiline(_ delimiter: UInt32, content: inout String.UnicodeScalarView) throws(TOMLError) -> Bool {
        var run = 0
        while at(index + run) == delimiter { run += 1 }
        guard run >= 3 else {
            for _ in 0..<run { content.append(delimiter == Char.quote ? "\"" : "'") }
            index += run
            return false
        }
        guard run <= 5 else {
            throw error("too many quotes: at most two may directly precede the closing delimiter", at: index + 5)
        }
        for _ in 0..<(run - 3) { content.append(delimiter == Char.quote ? "\"" : "'") }
        index += run
        return true
    }

    /// A backslash at the end of a line in a multi-line basic string: skips it and all whitespace and
    /// newlines after it.
    private mutating func skipLineEndingBackslash() throws(TOMLError) {
        let backslash = index
        index += 1
        skipWhitespace()
        guard try consumeNewline() else {
            throw error("invalid escape: a backslash followed by whitespace must end the line", at: backslash)
        }
        while true {
            skipWhitespace()
            if try !consumeNewline() { return }
        }
    }

    /// One escape sequence; the cursor is on the backslash.
    private mutating func parseEscape() throws(TOMLError) -> Unicode.Scalar {
        let start = index
        let code = at(index + 1)
        index += 2
        switch code {
        case Char.ascii("b"): return "\u{08}"
        case Char.ascii("t"): return "\t"
        case Char.ascii("n"): return "\n"
        case Char.ascii("f"): return "\u{0C}"
        case Char.ascii("r"): return "\r"
        case Char.quote: return "\""
        case Char.backslash: return "\\"
        case Char.ascii("u"): return try parseUnicodeEscape(digits: 4, start: start)
        case Char.ascii("U"): return try parseUnicodeEscape(digits: 8, start: start)
        case Char.end:
            throw error("unterminated escape sequence", at: start)
        default:
            let described = Char.describe(code)
            if described.hasPrefix("'") { throw error("invalid escape sequence '\\\(described.trimmingQuotes)'", at: start) }
            throw error("invalid escape sequence: backslash followed by \(described)", at: start)
        }
    }

    /// `\uXXXX` or `\UXXXXXXXX`: exactly that many hex digits naming a Unicode scalar value (no surrogates).
    private mutating func parseUnicodeEscape(digits: Int, start: Int) throws(TOMLError) -> Unicode.Scalar {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let digit = Char.hexValue(peek) else {
                throw error("invalid Unicode escape: expected \(digits) hex digits", at: start)
            }
            value = value &* 16 &+ digit
            index += 1
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error("invalid Unicode escape: \(Char.codePoint(value)) is not a Unicode scalar value", at: start)
        }
        return scalar
    }

    /// Appends a content scalar after rejecting control characters.
    private mutating func appendContent(
        _ scalar: UInt32, to content: inout String.UnicodeScalarView, in what: String
    ) throws(TOMLError) {
        guard !Char.isControl(scalar), let unicode = Unicode.Scalar(scalar) else {
            throw error("control character \(Char.describe(scalar)) is not allowed in \(what)")
        }
        content.append(unicode)
        index += 1
    }
}

extension String {
    /// `'x'` -> `x` (for quoting a described character inside another quote).
    var trimmingQuotes: String {
        hasPrefix("'") && hasSuffix("'") && count >= 2 ? String(dropFirst().dropLast()) : self
    }
}
