/// Base58 (Bitcoin alphabet) as the Elastos SDKs use it: public keys are plain Base58, DID ids and extended keys
/// are Base58Check (payload followed by the first 4 bytes of SHA-256(SHA-256(payload))).
public enum Base58 {
    static let alphabet: [UInt8] = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    /// ASCII byte -> digit value, 0xFF for characters outside the alphabet.
    static let digitValues: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 128)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()

    /// Encodes bytes; each leading 0x00 byte becomes a leading "1".
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        let leadingZeros = input.prefix { $0 == 0 }.count
        // Base-58 digits, least significant first. log(256)/log(58) < 1.37.
        var digits: [UInt8] = []
        digits.reserveCapacity(input.count * 137 / 100 + 1)
        for byte in input[leadingZeros...] {
            var carry = Int(byte)
            for index in digits.indices {
                carry += Int(digits[index]) << 8
                digits[index] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        var text = [UInt8](repeating: alphabet[0], count: leadingZeros)
        text.append(contentsOf: digits.reversed().map { alphabet[Int($0)] })
        return String(decoding: text, as: UTF8.self)
    }

    /// The longest text ``decode(_:maxLength:)`` takes unless told otherwise: decoding is quadratic in the length
    /// (1024 characters take about a millisecond), and the longest Base58 the Elastos formats use (an extended
    /// private key, 111 characters) is well below it.
    public static let maxTextLength = 1024

    /// Decodes Base58 text; each leading "1" becomes a leading 0x00 byte. Whitespace is not skipped: it is an error.
    /// Text longer than `maxLength` bytes is refused before any work (a caller that knows the size it expects says so).
    public static func decode(_ text: String, maxLength: Int = maxTextLength) throws(Base58Error) -> [UInt8] {
        guard text.utf8.count <= maxLength else { throw Base58Error(.tooLong(length: text.utf8.count, limit: maxLength)) }
        var leadingOnes = 0
        var sawOtherDigit = false
        // Base-256 bytes, least significant first.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count * 733 / 1000 + 1)
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            guard scalar.isASCII, case let value = digitValues[Int(scalar.value)], value != 0xFF else {
                throw Base58Error(.invalidCharacter(Character(scalar), offset: offset))
            }
            if value == 0 && !sawOtherDigit {
                leadingOnes += 1
                continue
            }
            sawOtherDigit = true
            var carry = Int(value)
            for index in bytes.indices {
                carry += Int(bytes[index]) * 58
                bytes[index] = UInt8(truncatingIfNeeded: carry)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(truncatingIfNeeded: carry))
                carry >>= 8
            }
        }
        return [UInt8](repeating: 0, count: leadingOnes) + bytes.reversed()
    }

    /// Encodes `payload || SHA-256(SHA-256(payload))[0..<4]`.
    public static func encodeCheck(_ payload: [UInt8]) -> String {
        encode(payload + Digest.sha256d(payload).prefix(4))
    }

    /// Decodes Base58Check text, verifies the 4-byte checksum and returns the payload without it.
    public static func decodeCheck(_ text: String) throws(Base58Error) -> [UInt8] {
        let bytes = try decode(text)
        guard bytes.count >= 4 else { throw Base58Error(.tooShort(byteCount: bytes.count)) }
        let payload = Array(bytes.dropLast(4))
        guard Digest.sha256d(payload).prefix(4).elementsEqual(bytes.suffix(4)) else {
            throw Base58Error(.badChecksum)
        }
        return payload
    }
}

/// A Base58 or Base58Check decoding failure.
public struct Base58Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// A character outside the Bitcoin Base58 alphabet (0, O, I, l, whitespace, ...), at a Unicode-scalar offset.
        case invalidCharacter(Character, offset: Int)
        /// The Base58Check checksum does not match the payload (a typo, or a truncated string).
        case badChecksum
        /// Base58Check text that decodes to fewer than the 4 checksum bytes.
        case tooShort(byteCount: Int)
        /// Longer than the caller's limit (by default ``Base58/maxTextLength`` bytes): no key or id is that long.
        case tooLong(length: Int, limit: Int)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .invalidCharacter(let character, let offset):
            let shown = character.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined()
            return "invalid Base58 character \(character.debugDescription) (\(shown)) at offset \(offset); "
                + "Base58 excludes 0, O, I, l, whitespace and punctuation"
        case .badChecksum:
            return "Base58Check checksum mismatch: the text is mistyped or truncated"
        case .tooShort(let byteCount):
            return "Base58Check text decodes to \(byteCount) bytes, fewer than the 4-byte checksum"
        case .tooLong(let length, let limit):
            return "Base58 text of \(length) bytes is longer than expected (at most \(limit))"
        }
    }
}
