/// Lower-case hexadecimal encoding; decoding accepts either case.
public enum Hex {
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lower-case hex, two characters per byte.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Decodes hex text (upper or lower case, no "0x" prefix, no separators).
    public static func decode(_ text: String) throws(HexError) -> [UInt8] {
        var nibbles: [UInt8] = []
        nibbles.reserveCapacity(text.utf8.count)
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            guard let value = nibble(scalar) else { throw HexError(.invalidCharacter(Character(scalar), offset: offset)) }
            nibbles.append(value)
        }
        guard nibbles.count % 2 == 0 else { throw HexError(.oddLength(nibbles.count)) }
        return stride(from: 0, to: nibbles.count, by: 2).map { nibbles[$0] << 4 | nibbles[$0 + 1] }
    }

    private static func nibble(_ scalar: Unicode.Scalar) -> UInt8? {
        switch scalar.value {
        case 0x30...0x39: UInt8(scalar.value - 0x30)
        case 0x41...0x46: UInt8(scalar.value - 0x41 + 10)
        case 0x61...0x66: UInt8(scalar.value - 0x61 + 10)
        default: nil
        }
    }
}

/// A hex decoding failure.
public struct HexError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A character other than 0-9 a-f A-F at a Unicode-scalar offset.
        case invalidCharacter(Character, offset: Int)
        /// An odd number of hex digits.
        case oddLength(Int)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .invalidCharacter(let character, let offset):
            return "invalid hex character \(character.debugDescription) at offset \(offset); expected 0-9 a-f A-F"
        case .oddLength(let count):
            return "hex text has \(count) digits; a byte string needs an even number"
        }
    }
}
