import ElaCrypto
import Testing

/// Arbitrary input must produce a typed error or a value, never a crash (checked with a fixed-seed generator).
struct RobustnessTests {
    /// SplitMix64: deterministic, so a failure is reproducible.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0OIl-_=+/ \u{00E9}\u{0301}\u{3000}")

    @Test func decodersNeverCrash() {
        var generator = SeededGenerator(state: 42)
        var accepted = 0
        for _ in 0..<3000 {
            let length = Int.random(in: 0...120, using: &generator)
            let text = String((0..<length).map { _ in Self.alphabet.randomElement(using: &generator) ?? "1" })
            if (try? Base58.decode(text)) != nil { accepted += 1 }
            _ = try? Base58.decodeCheck(text)
            _ = try? Base64URL.decode(text)
            _ = try? Hex.decode(text)
            _ = try? ElaPublicKey(base58: text)
            _ = try? HDKey(xprv: text)
            _ = try? Mnemonic(phrase: text)
            _ = ElaAddress.isValidIdentifier(text)
        }
        #expect(accepted > 0)
    }

    @Test func byteInputsOfEveryLengthAreHandled() {
        let key = ElaPrivateKey.generate().publicKey
        for length in 0...100 {
            let bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: length), count: length)
            #expect(!key.isValidSignature(bytes, over: [bytes]))
            _ = try? ElaPublicKey(compressed: bytes)
            _ = try? ElaPrivateKey(rawRepresentation: bytes)
            _ = try? Mnemonic(entropy: bytes)
            _ = try? HDKey.master(seed: bytes)
        }
    }
}
