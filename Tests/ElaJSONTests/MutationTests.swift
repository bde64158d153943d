import ElaJSON
import ElaTestSupport
import Testing

/// Mutated real documents: the parser returns a value or a `JSONParseError`, never traps; whatever it accepts
/// writes back (compact and pretty) to text that parses to the same value, and sorts in Java order.
@Suite(.ownThread) struct JSONMutationTests {
    static let tokens = [
        "\"", "\\", "\\u", "\\uD800", "\\uDC00\\uD800", "\\u00", "1e999999999", "-0", "-", "0.", ".5", "1E+", "123456789012345678901234567890",
        "[[[[[[[[", "{\"a\":", "}", "]", ",", ":", "null", "tru", "\u{0}", "\u{7F}", "\u{FEFF}", "\u{10FFFF}", "\t", "\r\n",
    ]

    @Test func mutatedDocumentsParseOrFailWithAnError() throws {
        let seeds = TestData.elastosJSONSeeds + [Array(#"{"n":[0,-1,1.5e-7,12345678901234567890,-0.0],"s":"a\"\u00e9\ud83d\ude00"}"#.utf8)]
        #expect(seeds.count > 5, "the shared SDK vectors are missing (\(TestData.root))")
        for seed in seeds { _ = try JSONParser.parse(bytes: seed) }
        var mutator = ByteMutator(seed: 1, tokens: Self.tokens)
        var accepted = 0, rejected = 0
        for round in 0..<ByteMutator.rounds(default: 6000) {
            let input = mutator.mutate(seeds[round % seeds.count], splicing: seeds)
            let value: JSONValue
            do { value = try JSONParser.parse(bytes: input) } catch {
                rejected += 1
                #expect(error.offset >= 0 && error.offset <= input.count && error.line >= 1)
                continue
            }
            accepted += 1
            let compact = JSONWriter.compactBytes(value)
            #expect(try JSONParser.parse(bytes: compact) == value, "compact round trip of input \(round)")
            #expect(try JSONParser.parse(JSONWriter.pretty(value)) == value, "pretty round trip of input \(round)")
            let sorted = value.sortedRecursively()
            #expect(JSONWriter.compactBytes(sorted.sortedRecursively()) == JSONWriter.compactBytes(sorted), "sorting is idempotent")
            for case .number(let n) in Self.leaves(value) { _ = (n.int64Value, n.doubleValue) }
        }
        // Both outcomes occur: the mutations are neither all harmless nor all fatal.
        #expect(accepted > 50 && rejected > 50)
    }

    /// Depth is bounded, so a deep input costs an error, not the stack.
    @Test func deepNestingIsRefused() {
        for opener in ["[", "{\"a\":"] {
            let text = String(repeating: opener, count: 100_000)
            #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        }
    }

    static func leaves(_ value: JSONValue) -> [JSONValue] {
        switch value {
        case .array(let items): return items.flatMap(leaves)
        case .object(let members): return members.flatMap { leaves($0.value) }
        default: return [value]
        }
    }
}
