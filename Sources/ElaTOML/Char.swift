/// Scalar values the grammar cares about, and character classes.
enum Char {
    /// Marks the end of input (not a Unicode scalar value).
    static let end: UInt32 = 0xFFFF_FFFF
    static let tab: UInt32 = 0x09
    static let lf: UInt32 = 0x0A
    static let cr: UInt32 = 0x0D
    static let space: UInt32 = 0x20
    static let quote: UInt32 = 0x22  // "
    static let hash: UInt32 = 0x23  // #
    static let apostrophe: UInt32 = 0x27  // '
    static let plus: UInt32 = 0x2B
    static let comma: UInt32 = 0x2C
    static let minus: UInt32 = 0x2D
    static let dot: UInt32 = 0x2E
    static let colon: UInt32 = 0x3A
    static let equals: UInt32 = 0x3D
    static let backslash: UInt32 = 0x5C
    static let openBracket: UInt32 = 0x5B
    static let closeBracket: UInt32 = 0x5D
    static let underscore: UInt32 = 0x5F
    static let openBrace: UInt32 = 0x7B
    static let closeBrace: UInt32 = 0x7D
    static let zero: UInt32 = 0x30

    static func ascii(_ character: Unicode.Scalar) -> UInt32 { character.value }

    static func isWhitespace(_ scalar: UInt32) -> Bool { scalar == space || scalar == tab }

    static func isDigit(_ scalar: UInt32) -> Bool { scalar >= 0x30 && scalar <= 0x39 }

    static func hexValue(_ scalar: UInt32) -> UInt32? {
        switch scalar {
        case 0x30...0x39: scalar - 0x30
        case 0x41...0x46: scalar - 0x41 + 10
        case 0x61...0x66: scalar - 0x61 + 10
        default: nil
        }
    }

    static func isLetter(_ scalar: UInt32) -> Bool {
        (scalar >= 0x41 && scalar <= 0x5A) || (scalar >= 0x61 && scalar <= 0x7A)
    }

    /// A-Z a-z 0-9 - _
    static func isBareKey(_ scalar: UInt32) -> Bool {
        isLetter(scalar) || isDigit(scalar) || scalar == minus || scalar == underscore
    }

    /// Control characters TOML forbids in strings and comments: all C0 except tab, and DEL.
    static func isControl(_ scalar: UInt32) -> Bool {
        (scalar < 0x20 && scalar != tab) || scalar == 0x7F
    }

    /// A character for an error message: `'x'`, `U+0000` for invisible ones, or "end of input".
    static func describe(_ scalar: UInt32) -> String {
        if scalar == end { return "end of input" }
        if scalar == lf || scalar == cr { return "end of line" }
        if scalar < 0x21 || (scalar >= 0x7F && scalar < 0xA0) || scalar == 0xFEFF || scalar == 0x3000 {
            return codePoint(scalar)
        }
        guard let unicode = Unicode.Scalar(scalar) else { return codePoint(scalar) }
        return "'\(Character(unicode))'"
    }

    /// `U+XXXX`.
    static func codePoint(_ scalar: UInt32) -> String {
        let hex = String(scalar, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
