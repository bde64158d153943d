/// RFC 4648 §5 base64url without padding and without line breaks: the text form of Elastos signatures.
public enum Base64URL {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static let sextetValues: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 128)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()

    /// Encodes bytes with no "=" padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var text: [UInt8] = []
        text.reserveCapacity((input.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= input.count {
            let group = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            for shift in [18, 12, 6, 0] { text.append(alphabet[Int((group >> UInt32(shift)) & 0x3F)]) }
            index += 3
        }
        switch input.count - index {
        case 1:
            let group = UInt32(input[index]) << 16
            for shift in [18, 12] { text.append(alphabet[Int((group >> UInt32(shift)) & 0x3F)]) }
        case 2:
            let group = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            for shift in [18, 12, 6] { text.append(alphabet[Int((group >> UInt32(shift)) & 0x3F)]) }
        default:
            break
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Decodes unpadded base64url. Rejects "=", characters outside the url-safe alphabet (including "+", "/" and
    /// whitespace), a length of 4k+1, and non-zero unused bits in the last character (so decoding is canonical).
    public static func decode(_ text: String) throws(Base64URLError) -> [UInt8] {
        var sextets: [UInt8] = []
        sextets.reserveCapacity(text.utf8.count)
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            guard scalar.isASCII, case let value = sextetValues[Int(scalar.value)], value != 0xFF else {
                if scalar == "=" { throw Base64URLError(.paddingNotAllowed(offset: offset)) }
                throw Base64URLError(.invalidCharacter(Character(scalar), offset: offset))
            }
            sextets.append(value)
        }
        guard sextets.count % 4 != 1 else { throw Base64URLError(.impossibleLength(sextets.count)) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(sextets.count * 3 / 4)
        var index = 0
        while index + 4 <= sextets.count {
            let group = UInt32(sextets[index]) << 18 | UInt32(sextets[index + 1]) << 12
                | UInt32(sextets[index + 2]) << 6 | UInt32(sextets[index + 3])
            bytes += [UInt8(truncatingIfNeeded: group >> 16), UInt8(truncatingIfNeeded: group >> 8), UInt8(truncatingIfNeeded: group)]
            index += 4
        }
        switch sextets.count - index {
        case 2:
            guard sextets[index + 1] & 0x0F == 0 else { throw Base64URLError(.nonCanonicalTrailingBits) }
            bytes.append(sextets[index] << 2 | sextets[index + 1] >> 4)
        case 3:
            guard sextets[index + 2] & 0x03 == 0 else { throw Base64URLError(.nonCanonicalTrailingBits) }
            bytes.append(sextets[index] << 2 | sextets[index + 1] >> 4)
            bytes.append(sextets[index + 1] << 4 | sextets[index + 2] >> 2)
        default:
            break
        }
        return bytes
    }
}

/// A base64url decoding failure.
public struct Base64URLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A character outside A-Z a-z 0-9 - _ at a Unicode-scalar offset.
        case invalidCharacter(Character, offset: Int)
        /// An "=" pad character: the Elastos text form is unpadded.
        case paddingNotAllowed(offset: Int)
        /// A character count of 4k+1, which no byte string encodes to.
        case impossibleLength(Int)
        /// The last character carries non-zero bits beyond the encoded bytes.
        case nonCanonicalTrailingBits
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .invalidCharacter(let character, let offset):
            return "invalid base64url character \(character.debugDescription) at offset \(offset); "
                + "expected A-Z a-z 0-9 - _ (standard base64 '+' and '/' are not accepted)"
        case .paddingNotAllowed(let offset):
            return "base64url padding '=' at offset \(offset) is not allowed: remove the trailing '=' characters"
        case .impossibleLength(let count):
            return "base64url text of \(count) characters is impossible (4k+1): the text is truncated or has an extra character"
        case .nonCanonicalTrailingBits:
            return "base64url last character has non-zero unused bits: the text was not produced by an encoder"
        }
    }
}
