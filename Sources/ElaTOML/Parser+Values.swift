/// Values: dispatch on the first character, arrays and inline tables.
extension Parser {
    /// Reads one value; `depth` is its nesting level (used to bound arrays and inline tables).
    mutating func parseValue(depth: Int) throws(TOMLError) -> TOMLValue {
        let scalar = peek
        switch scalar {
        case Char.quote:
            if at(index + 1) == Char.quote, at(index + 2) == Char.quote {
                return .string(try parseMultilineBasicString())
            }
            return .string(try parseBasicString())
        case Char.apostrophe:
            if at(index + 1) == Char.apostrophe, at(index + 2) == Char.apostrophe {
                return .string(try parseMultilineLiteralString())
            }
            return .string(try parseLiteralString())
        case Char.openBracket:
            return try parseArray(depth: depth)
        case Char.openBrace:
            return try parseInlineTable(depth: depth)
        case Char.ascii("t"):
            return try parseKeyword("true", .bool(true))
        case Char.ascii("f"):
            return try parseKeyword("false", .bool(false))
        case Char.ascii("i"):
            return try parseKeyword("inf", .float(.infinity))
        case Char.ascii("n"):
            return try parseKeyword("nan", .float(.nan))
        case Char.plus, Char.minus, 0x30...0x39:
            return try parseNumberOrDateTime()
        case Char.end, Char.lf, Char.cr, Char.hash:
            throw error("expected a value, found \(Char.describe(scalar))")
        default:
            if Char.isBareKey(scalar) { throw invalidWord() }
            throw error("expected a value, found \(Char.describe(scalar))")
        }
    }

    /// `true`, `false`, `inf` or `nan` spelled exactly (lower case) and not followed by more letters.
    private mutating func parseKeyword(_ word: String, _ value: TOMLValue) throws(TOMLError) -> TOMLValue {
        var position = index
        for scalar in word.unicodeScalars {
            guard at(position) == scalar.value else { throw invalidWord() }
            position += 1
        }
        guard !Char.isBareKey(at(position)) else { throw invalidWord() }
        index = position
        return value
    }

    /// Error for an unquoted word where a value was expected (`answer = yes`).
    func invalidWord() -> TOMLError {
        var end = index
        while Char.isBareKey(at(end)) || at(end) == Char.dot { end += 1 }
        var word = String.UnicodeScalarView()
        for position in index..<end {
            if let scalar = Unicode.Scalar(at(position)) { word.append(scalar) }
        }
        return error("invalid value '\(String(word))' (strings must be quoted; booleans are lower-case true/false)")
    }

    /// `[ v, v, ... ]` spanning lines, comments allowed, trailing comma allowed.
    private mutating func parseArray(depth: Int) throws(TOMLError) -> TOMLValue {
        try checkDepth(depth)
        let open = index
        index += 1
        var elements: [TOMLValue] = []
        while true {
            try skipWhitespaceCommentsAndNewlines()
            if peek == Char.closeBracket {
                index += 1
                return .array(elements)
            }
            if peek == Char.end { throw error("unterminated array (opened at \(position(of: open)))") }
            elements.append(try parseValue(depth: depth + 1))
            try skipWhitespaceCommentsAndNewlines()
            switch peek {
            case Char.comma:
                index += 1
            case Char.closeBracket:
                index += 1
                return .array(elements)
            case Char.end:
                throw error("unterminated array (opened at \(position(of: open)))")
            default:
                throw error("expected ',' or ']' after an array element, found \(Char.describe(peek))")
            }
        }
    }

    /// `{ k = v, ... }` on one line, no trailing comma (TOML 1.0). The table is complete when closed.
    private mutating func parseInlineTable(depth: Int) throws(TOMLError) -> TOMLValue {
        try checkDepth(depth)
        index += 1
        let table = TableNode(origin: .inline, depth: depth)
        skipWhitespace()
        if peek == Char.closeBrace {
            index += 1
            return .table(table.freeze())
        }
        while true {
            skipWhitespace()
            // All dotted keys of one inline table form a single section (-1: never a document section).
            try parseKeyValue(into: table, section: -1)
            skipWhitespace()
            switch peek {
            case Char.comma:
                index += 1
                skipWhitespace()
                if peek == Char.closeBrace { throw error("trailing comma is not allowed in an inline table") }
            case Char.closeBrace:
                index += 1
                return .table(table.freeze())
            case Char.lf, Char.cr:
                throw error("newline inside an inline table; inline tables must be on one line")
            default:
                throw error("expected ',' or '}' in an inline table, found \(Char.describe(peek))")
            }
        }
    }

    private func checkDepth(_ depth: Int) throws(TOMLError) {
        guard depth <= maximumDepth else {
            throw error("arrays and tables nested deeper than \(maximumDepth) levels")
        }
    }
}
