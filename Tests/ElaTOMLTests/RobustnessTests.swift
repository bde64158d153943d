import ElaTOML
import ElaTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The corpus comparison itself, and damaged input never crashing the parser.
@Suite(.ownThread) struct RobustnessTests {
    @Test func taggedComparisonDetectsDifferences() throws {
        let table = TOMLValue.table(try TOML.parse("a = 1\nb = 1979-05-27T07:32:00.6Z\nc = nan\nd = [1.5]"))
        func json(_ text: String) throws -> MiniJSON { try MiniJSON.parse(Array(text.utf8)) }
        let expected = #"""
            {"a": {"type": "integer", "value": "1"},
             "b": {"type": "datetime", "value": "1979-05-27T07:32:00.600+00:00"},
             "c": {"type": "float", "value": "nan"},
             "d": [{"type": "float", "value": "1.50"}]}
            """#
        #expect(TaggedJSONComparison.difference(table, try json(expected)) == nil)
        for (original, changed) in [
            (#""value": "1"}"#, #""value": "2"}"#),
            (#""type": "integer""#, #""type": "float""#),
            ("07:32:00.600", "07:32:00.601"),
            ("+00:00", "+01:00"),
            (#""value": "nan""#, #""value": "inf""#),
            (#"[{"type": "float", "value": "1.50"}]"#, "[]"),
        ] {
            let wrong = expected.replacingFirst(original, with: changed)
            #expect(wrong != expected)
            #expect(TaggedJSONComparison.difference(table, try json(wrong)) != nil, "\(changed)")
        }
    }

    /// Every prefix of every valid corpus file either parses or fails with an in-bounds position.
    @Test func truncatedDocumentsFailCleanly() throws {
        let files = try CorpusTests.corpusFiles().filter { $0.hasPrefix("valid/") && $0.hasSuffix(".toml") }
        var checked = 0
        for file in files {
            let bytes = try TestData.bytes("toml-test/" + file)
            let lines = bytes.filter { $0 == 0x0A }.count + 1
            for length in stride(from: 0, through: bytes.count, by: max(1, bytes.count / 64)) {
                checked += 1
                do throws(TOMLError) {
                    _ = try TOML.parse(bytes: Array(bytes[0..<length]))
                } catch {
                    #expect(error.position.line >= 1 && error.position.line <= lines, "\(file) at \(length): \(error)")
                    #expect(error.position.column >= 1, "\(file) at \(length): \(error)")
                }
            }
        }
        #expect(checked > files.count)
    }
}

extension RobustnessTests {
    /// Deterministic pseudo-random bytes (xorshift64) so failures reproduce.
    struct XorShift {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    /// Valid corpus files with random bytes replaced by grammar-relevant characters or random bytes.
    @Test func mutatedDocumentsNeverCrash() throws {
        let files = try CorpusTests.corpusFiles().filter { $0.hasPrefix("valid/") && $0.hasSuffix(".toml") }
        let interesting = Array("[]{}=,.\"'#\n\r\t 0_+-:eTZ".utf8) + [0x00, 0x7F, 0xC3, 0xFF]
        var random = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        // ELA_TOML_FUZZ_ROUNDS raises the number of mutations per file for a longer local run.
        let rounds = getenv("ELA_TOML_FUZZ_ROUNDS").flatMap { Int(String(cString: $0)) } ?? 40
        var rejected = 0
        var total = 0
        for file in files {
            let original = try TestData.bytes("toml-test/" + file)
            guard !original.isEmpty else { continue }
            for _ in 0..<rounds {
                var bytes = original
                for _ in 0..<(1 + Int(random.next() % 3)) {
                    let position = Int(random.next() % UInt64(bytes.count))
                    let choice = random.next()
                    bytes[position] =
                        choice % 4 == 0 ? UInt8(truncatingIfNeeded: choice >> 8) : interesting[Int((choice >> 8) % UInt64(interesting.count))]
                }
                total += 1
                do throws(TOMLError) {
                    _ = try TOML.parse(bytes: bytes)
                } catch {
                    rejected += 1
                    #expect(!error.message.isEmpty)
                }
            }
        }
        // Most random damage must be noticed.
        #expect(rejected > total / 2, "\(rejected) of \(total) rejected")
    }
}

extension String {
    /// `self` with the first occurrence of `target` replaced.
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var result = self
        result.replaceSubrange(range, with: replacement)
        return result
    }

    private func firstRange(of target: String) -> Range<Index>? {
        var start = startIndex
        while start < endIndex {
            if self[start...].hasPrefix(target) { return start..<index(start, offsetBy: target.count) }
            start = index(after: start)
        }
        return nil
    }
}
