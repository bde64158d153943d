import ElaJSON
import ElaTestSupport
import Testing

@Suite(.ownThread) struct JSONParserTests {
    @Test func parsesAllValueKinds() throws {
        let v = try JSONParser.parse(#"{"a":[1,-2.5e3,true,false,null],"b":"x\u00e9\n","c":{}}"#)
        let o = try #require(v.objectValue)
        #expect(o.keys == ["a", "b", "c"])
        #expect(o["a"] == .array([1, .number(try #require(JSONParser.parse("-2.5e3").numberValue)), true, false, nil]))
        #expect(o["b"] == .string("x\u{e9}\n"))
        #expect(o["c"] == .object(JSONObject()))
    }

    @Test func keepsMemberOrderAndNumberLexemes() throws {
        let text = #"{"z":1,"a":12345678901234567890,"m":9.50}"#
        let v = try JSONParser.parse(text)
        #expect(v.objectValue?.keys == ["z", "a", "m"])
        #expect(v["a"]?.numberValue?.text == "12345678901234567890")
        #expect(JSONWriter.compact(v) == text)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "\"abc", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"",
        "[1 2]", "{\"a\" 1}", "tru", "nul", "{\"a\":1}x", "\"\u{01}\"", "{\"a\":1,\"a\":2}", "NaN", "Infinity", "+1",
    ])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xE2, 0x82]] {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes: bytes) }
        }
    }

    @Test func errorsCarryLineAndColumn() {
        do {
            _ = try JSONParser.parse("{\n  \"a\": 1,\n  \"b\": ?\n}")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 8)
        }
    }

    @Test func boundsNestingDepth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONParser.parse(ok)) != nil)
    }

    @Test func surrogatePairsDecode() throws {
        let v = try JSONParser.parse(#""\ud83d\ude00""#)
        #expect(v == .string("\u{1F600}"))
    }
}

@Suite(.ownThread) struct JSONWriterTests {
    @Test func escapesLikeJackson() {
        let s: JSONValue = .string("a/b\"c\\d\u{08}\u{0C}\n\r\t\u{01}\u{1F}é😀")
        #expect(JSONWriter.compact(s) == "\"a/b\\\"c\\\\d\\b\\f\\n\\r\\t\\u0001\\u001Fé😀\"")
    }

    @Test func roundTripsThroughPretty() throws {
        let v = try JSONParser.parse(#"{"a":[1,{"b":null}],"c":"d","e":[],"f":{}}"#)
        #expect(try JSONParser.parse(JSONWriter.pretty(v)) == v)
    }

    @Test func doublesFollowJavaDoubleToString() {
        let cases: [(Double, String)] = [
            (9.5, "9.5"), (1.0, "1.0"), (100.0, "100.0"), (0.001, "0.001"), (0.0001, "1.0E-4"), (1e7, "1.0E7"),
            (1234567.0, "1234567.0"), (12345678.9, "1.23456789E7"), (-0.5, "-0.5"), (0.0, "0.0"), (1.0e-10, "1.0E-10"),
            (123.456, "123.456"), (1.0e21, "1.0E21"),
        ]
        for (d, expected) in cases { #expect(JSONNumber(d)?.text == expected, "\(d)") }
        #expect(JSONNumber(Double.nan) == nil)
    }

    @Test func sortsKeysInJavaOrderRecursively() throws {
        let v = try JSONParser.parse(#"{"b":1,"B":2,"a":{"z":[{"y":1,"x":2}],"A":3}}"#)
        #expect(JSONWriter.compact(v.sortedRecursively()) == #"{"B":2,"a":{"A":3,"z":[{"x":2,"y":1}]},"b":1}"#)
        // UTF-16 order puts U+FF5E (fullwidth tilde) after U+1F600 is false: astral sorts before U+E000..U+FFFF.
        #expect("\u{1F600}".javaPrecedes("\u{FF5E}"))
        #expect(!"\u{FF5E}".javaPrecedes("\u{1F600}"))
        // An object already in order keeps its members and still has its nested values sorted.
        let sortedOutside = try JSONParser.parse(#"{"a":{"d":1,"c":2},"b":[{"y":1,"x":2}],"c":3}"#)
        #expect(JSONWriter.compact(sortedOutside.sortedRecursively()) == #"{"a":{"c":2,"d":1},"b":[{"x":2,"y":1}],"c":3}"#)
    }

    /// The buffer-based comparison agrees with Java's UTF-16 order (compared here by `utf16`) on every pair of a set
    /// mixing ASCII, prefixes, BMP characters on both sides of U+E000 and astral ones, in native and small strings.
    @Test func javaOrderMatchesUTF16OrderOnAllPairs() {
        let pieces = ["", "a", "ab", "abc", "b", "B", "a\u{E9}", "\u{E9}", "\u{D7FF}", "\u{E000}", "\u{FF5E}", "\u{1F600}", "x\u{1F600}y", "x\u{FF5E}y"]
        var strings = pieces
        for p in pieces { strings.append("did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y#" + p) }
        for a in strings {
            for b in strings {
                #expect(a.javaPrecedes(b) == a.utf16.lexicographicallyPrecedes(b.utf16), "\(a) < \(b)")
            }
        }
    }
}
