/// Entry points of the TOML 1.0.0 decoder.
///
/// Strict: everything the specification forbids is rejected with a `TOMLError` naming the line and column
/// (bad UTF-8, control characters, bad escapes, redefined keys and tables, integer overflow, impossible dates, ...).
public enum TOML {
    /// Deepest nesting of tables and arrays accepted; deeper documents are rejected instead of exhausting the stack.
    public static let maximumNestingDepth = 128

    /// Parses a TOML document from a string.
    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var parser = Parser(source: ScalarSource(text: text))
        return try parser.parseDocument()
    }

    /// `text` as a TOML basic string (`"..."`, escaped), which parses back to `text`.
    public static func basicString(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            default:
                if Char.isControl(scalar.value) {
                    quoted += "\\u" + String(Char.codePoint(scalar.value).dropFirst(2))
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }

    /// Parses a TOML document from bytes, which must be valid UTF-8 (a leading byte order mark is skipped).
    public static func parse(bytes: [UInt8]) throws(TOMLError) -> TOMLTable {
        var parser = Parser(source: try ScalarSource(bytes: bytes))
        return try parser.parseDocument()
    }
}
