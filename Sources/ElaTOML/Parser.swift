/// Recursive-descent reader over the document's scalars. Split over several files by grammar area.
struct Parser {
    let source: ScalarSource
    /// The scalars being read (same as `source.scalars`).
    let text: [UInt32]
    /// Index of the next unread scalar.
    var index = 0
    /// The document's root table.
    let root = TableNode(origin: .header, depth: 0)
    /// The table that key/value lines currently go into (root, or the last header's table).
    var current: TableNode
    /// Number of the current section (0 before the first header); dotted-key tables belong to one section.
    var section = 0
    /// Deepest accepted nesting.
    let maximumDepth = TOML.maximumNestingDepth

    init(source: ScalarSource) {
        self.source = source
        text = source.scalars
        current = root
    }

    /// The scalar at `position`, or `Char.end` past the end.
    func at(_ position: Int) -> UInt32 {
        position < text.count ? text[position] : Char.end
    }

    /// The next unread scalar, or `Char.end`.
    var peek: UInt32 { at(index) }

    /// An error located at scalar index `position` (default: the next unread scalar).
    func error(_ message: String, at position: Int? = nil) -> TOMLError {
        TOMLError(position: source.position(of: position ?? index), message: message)
    }

    func position(of scalarIndex: Int) -> TOMLPosition {
        source.position(of: scalarIndex)
    }

    /// Skips spaces and tabs.
    mutating func skipWhitespace() {
        while Char.isWhitespace(peek) { index += 1 }
    }

    /// Consumes LF or CRLF; returns false when the next scalar is no newline. A lone CR is an error.
    mutating func consumeNewline() throws(TOMLError) -> Bool {
        switch peek {
        case Char.lf:
            index += 1
            return true
        case Char.cr:
            guard at(index + 1) == Char.lf else { throw error("carriage return must be followed by a line feed") }
            index += 2
            return true
        default:
            return false
        }
    }

    /// Skips a `#` comment up to (not including) the end of the line.
    mutating func skipComment() throws(TOMLError) {
        guard peek == Char.hash else { return }
        index += 1
        while true {
            let scalar = peek
            if scalar == Char.end || scalar == Char.lf { return }
            if scalar == Char.cr {
                guard at(index + 1) == Char.lf else { throw error("carriage return must be followed by a line feed") }
                return
            }
            if Char.isControl(scalar) {
                throw error("control character \(Char.describe(scalar)) is not allowed in a comment")
            }
            index += 1
        }
    }

    /// Skips whitespace, comments and newlines (between array elements).
    mutating func skipWhitespaceCommentsAndNewlines() throws(TOMLError) {
        while true {
            skipWhitespace()
            try skipComment()
            if try !consumeNewline() { return }
        }
    }

    /// Requires the rest of the line to be empty or a comment, then consumes the newline.
    mutating func expectEndOfLine(after what: String) throws(TOMLError) {
        skipWhitespace()
        try skipComment()
        if peek == Char.end { return }
        if try consumeNewline() { return }
        throw error("expected a new line after \(what), found \(Char.describe(peek))")
    }
}
