/// A capability pattern in a grant, a credential or a plugin's `consumes`: `gpio.write` matches exactly that
/// capability, `gpio.*` matches `gpio.` followed by anything (not `gpio` itself), `*` matches every capability.
///
/// Syntax: `*`, or dot-separated segments of `a-z 0-9 _ -`, optionally ending in `.*`. At most 128 characters.
public struct CapabilityPattern: Sendable, Hashable, CustomStringConvertible {
    public static let maxLength = 128

    /// The pattern as written, e.g. `gpio.*`.
    public let text: String

    public var description: String { text }

    /// Parses and validates a pattern.
    public init(_ text: String) throws(CapabilityPatternError) {
        func fail(_ kind: CapabilityPatternError.Kind) -> CapabilityPatternError {
            CapabilityPatternError(pattern: text, kind: kind)
        }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw fail(.empty) }
        guard bytes.count <= Self.maxLength else { throw fail(.tooLong(bytes.count)) }
        if bytes == [UInt8(ascii: "*")] {
            self.text = text
            return
        }
        var segmentStart = 0
        for (offset, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "."):
                guard offset > segmentStart else { throw fail(.emptySegment(offset: offset)) }
                segmentStart = offset + 1
            case UInt8(ascii: "*"):
                // Only as the whole last segment, after at least one named segment.
                guard offset == bytes.count - 1, offset == segmentStart, offset > 0 else {
                    throw fail(.misplacedWildcard(offset: offset))
                }
            default:
                guard Self.isNameByte(byte) else {
                    throw fail(.invalidCharacter(Self.character(in: text, atByte: offset), offset: offset))
                }
            }
        }
        guard segmentStart < bytes.count else { throw fail(.emptySegment(offset: bytes.count)) }
        self.text = text
    }

    /// True for `*`.
    public var isWildcard: Bool { text == "*" }

    /// Whether this pattern covers `capability` (a plain name such as `gpio.write`).
    public func matches(_ capability: String) -> Bool {
        if isWildcard { return true }
        if text.hasSuffix(".*") {
            let prefix = text.dropLast()  // keeps the dot: "gpio."
            return capability.utf8.count > prefix.utf8.count && capability.hasPrefix(prefix)
        }
        return capability == text
    }

    /// Whether `name` is a plain capability or method name: segments of `a-z 0-9 _ -` separated by dots, no
    /// wildcard, at most 128 characters.
    public static func isValidName(_ name: String) -> Bool {
        guard let pattern = try? CapabilityPattern(name) else { return false }
        return !pattern.text.contains("*")
    }

    /// The character whose UTF-8 encoding covers byte `offset` of `text`.
    static func character(in text: String, atByte offset: Int) -> Character {
        var position = 0
        for scalar in text.unicodeScalars {
            position += String(scalar).utf8.count
            if offset < position { return Character(scalar) }
        }
        return "?"
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
            || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }
}

/// Why a capability pattern was rejected.
public struct CapabilityPatternError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case empty
        /// Longer than ``CapabilityPattern/maxLength`` bytes.
        case tooLong(Int)
        /// A character other than `a-z 0-9 _ - . *` at a UTF-8 byte offset.
        case invalidCharacter(Character, offset: Int)
        /// `*` anywhere but as the whole pattern or the whole last segment (`gp*`, `*.write`, `gpio.*.x`).
        case misplacedWildcard(offset: Int)
        /// Two dots in a row, or a leading or trailing dot.
        case emptySegment(offset: Int)
    }

    public let pattern: String
    public let kind: Kind

    public init(pattern: String, kind: Kind) {
        self.pattern = pattern
        self.kind = kind
    }

    public var description: String {
        let what = "capability pattern '\(pattern)'"
        switch kind {
        case .empty:
            return "empty capability pattern; use a name like gpio.write, gpio.* or *"
        case .tooLong(let n):
            return "\(what) is \(n) bytes long; at most \(CapabilityPattern.maxLength) are allowed"
        case .invalidCharacter(let c, let offset):
            return "\(what): invalid character \(c.debugDescription) at offset \(offset); use a-z 0-9 _ - and dots"
        case .misplacedWildcard(let offset):
            return "\(what): '*' at offset \(offset) must be the whole pattern or the whole last segment (gpio.*)"
        case .emptySegment(let offset):
            return "\(what): empty segment at offset \(offset) (leading, trailing or double dot)"
        }
    }
}
