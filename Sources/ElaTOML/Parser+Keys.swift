/// One part of a (possibly dotted) key, with where it was written.
struct KeyPart {
    var name: String
    var position: TOMLPosition

    /// The key as TOML would write it: `a.b."c d"`.
    static func path(_ parts: some Collection<KeyPart>) -> String {
        parts.map { quotedIfNeeded($0.name) }.joined(separator: ".")
    }

    /// A bare key as is, anything else as a basic string.
    static func quotedIfNeeded(_ name: String) -> String {
        if !name.isEmpty, name.unicodeScalars.allSatisfy({ Char.isBareKey($0.value) }) { return name }
        return TOML.basicString(name)
    }
}

/// Keys: bare (`A-Za-z0-9_-`), basic-string or literal-string parts joined by dots.
extension Parser {
    /// Reads a key and the whitespace after it.
    mutating func parseKey() throws(TOMLError) -> [KeyPart] {
        var parts: [KeyPart] = []
        while true {
            let start = index
            let name: String
            switch peek {
            case Char.quote:
                if at(index + 1) == Char.quote, at(index + 2) == Char.quote {
                    throw error("a multi-line string cannot be used as a key")
                }
                name = try parseBasicString()
            case Char.apostrophe:
                if at(index + 1) == Char.apostrophe, at(index + 2) == Char.apostrophe {
                    throw error("a multi-line string cannot be used as a key")
                }
                name = try parseLiteralString()
            case let scalar where Char.isBareKey(scalar):
                var view = String.UnicodeScalarView()
                while Char.isBareKey(peek), let scalar = Unicode.Scalar(peek) {
                    view.append(scalar)
                    index += 1
                }
                name = String(view)
            default:
                let found = Char.describe(peek)
                throw error(parts.isEmpty ? "expected a key, found \(found)" : "expected a key after '.', found \(found)")
            }
            parts.append(KeyPart(name: name, position: position(of: start)))
            skipWhitespace()
            guard peek == Char.dot else { return parts }
            index += 1
            skipWhitespace()
        }
    }
}
