import ElaCrypto
import Testing

struct Base64URLTests {
    /// RFC 4648 §10 vectors (they contain no '+' or '/' so base64url is identical), without the padding.
    @Test(arguments: [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
                      ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(plain: String, encoded: String) throws {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(try Base64URL.decode(encoded) == Array(plain.utf8))
    }

    /// Bytes that use the two url-safe characters: 0xfb 0xff -> "-_8" (standard base64 "+/8=").
    @Test func urlSafeAlphabet() throws {
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(try Base64URL.decode("-_8") == [0xFB, 0xFF])
        #expect(Base64URL.encode([0xFF, 0xFF, 0xFF]) == "____")
        #expect(Base64URL.encode([0xFB, 0xEF, 0xBE]) == "----")
    }

    @Test func roundTripsEveryLengthUpTo100() throws {
        for length in 0...100 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/") && !text.contains("\n"))
            #expect(try Base64URL.decode(text) == bytes)
        }
        // A 64-byte raw signature is 86 characters.
        #expect(Base64URL.encode([UInt8](repeating: 0xA5, count: 64)).count == 86)
    }

    @Test func rejectsPadding() {
        #expect(throws: Base64URLError(.paddingNotAllowed(offset: 2))) { try Base64URL.decode("Zg==") }
        #expect(throws: Base64URLError(.paddingNotAllowed(offset: 3))) { try Base64URL.decode("Zm8=") }
    }

    @Test func rejectsBadCharacters() {
        #expect(throws: Base64URLError(.invalidCharacter("+", offset: 0))) { try Base64URL.decode("+_8") }
        #expect(throws: Base64URLError(.invalidCharacter("/", offset: 1))) { try Base64URL.decode("-/8") }
        #expect(throws: Base64URLError(.invalidCharacter(" ", offset: 4))) { try Base64URL.decode("Zm9v Zm9v") }
        #expect(throws: Base64URLError(.invalidCharacter("\n", offset: 4))) { try Base64URL.decode("Zm9v\nZm9v") }
        #expect(throws: Base64URLError(.invalidCharacter("é", offset: 0))) { try Base64URL.decode("éZm9") }
    }

    @Test func rejectsImpossibleLengthsAndNonCanonicalBits() {
        #expect(throws: Base64URLError(.impossibleLength(1))) { try Base64URL.decode("Z") }
        #expect(throws: Base64URLError(.impossibleLength(5))) { try Base64URL.decode("Zm9vY") }
        // "Zh" would carry bits beyond the single byte "f" (0x66 -> "Zg").
        #expect(throws: Base64URLError(.nonCanonicalTrailingBits)) { try Base64URL.decode("Zh") }
        #expect(throws: Base64URLError(.nonCanonicalTrailingBits)) { try Base64URL.decode("Zm9") }
        #expect(Base64URLError(.impossibleLength(5)).description.contains("5 characters"))
    }
}

struct HexTests {
    @Test func encodesLowerCaseAndDecodesEitherCase() throws {
        #expect(Hex.encode([0x00, 0x01, 0xAB, 0xFF]) == "0001abff")
        #expect(try Hex.decode("0001ABff") == [0x00, 0x01, 0xAB, 0xFF])
        #expect(try Hex.decode("") == [])
    }

    @Test func rejectsBadInput() {
        #expect(throws: HexError(.oddLength(3))) { try Hex.decode("abc") }
        #expect(throws: HexError(.invalidCharacter("g", offset: 1))) { try Hex.decode("0g") }
        #expect(throws: HexError(.invalidCharacter("x", offset: 1))) { try Hex.decode("0x00") }
        #expect(throws: HexError(.invalidCharacter(" ", offset: 2))) { try Hex.decode("00 11") }
    }
}
