import ElaTestSupport
import ElaChain
import ElaWire
import Testing

/// Single-byte changes inside real runs fail at the changed height with the rule that byte belongs to, and
/// random mutations never crash.
@Suite(.ownThread) struct TamperTests {
    static let early: [UInt8] = TestData.read(BitcoinRunTests.early) ?? []
    static let modern: [UInt8] = TestData.read(BitcoinRunTests.modern) ?? []

    func verify(_ bytes: [UInt8], anchor: UInt32) -> HeaderRuleError? {
        HeaderRunVerifier.verify(bytes: bytes, chain: .bitcoin, anchorHeight: anchor, parameters: .bitcoinMainnet).error
    }

    /// (byte offset inside the header, xor mask, expected rule)
    static let cases: [(String, Int, UInt8, HeaderRuleError.Rule)] = [
        ("version", 0, 0x01, .proofOfWork),
        ("previous hash", 4, 0x01, .linkage),
        ("previous hash high byte", 35, 0x80, .linkage),
        ("merkle root", 40, 0x10, .proofOfWork),
        ("timestamp", 68, 0x01, .proofOfWork),
        ("bits mantissa", 72, 0x01, .proofOfWork),
        ("bits exponent", 75, 0x3D, .targetRange),  // 0x1d or 0x17 -> 0x20 or 0x2a: above powLimit
        ("bits exponent down", 75, 0x01, .proofOfWork),
        ("bits sign", 74, 0x80, .targetRange),
        ("nonce", 76, 0x01, .proofOfWork),
        ("nonce high byte", 79, 0x80, .proofOfWork),
    ]

    @Test(arguments: [(UInt32(0), 5000), (UInt32(0), 2016), (UInt32(822_528), 2016), (UInt32(822_528), 7000)])
    func singleByteChangeFailsAtThatHeight(_ anchor: UInt32, _ index: Int) throws {
        let original = anchor == 0 ? Self.early : Self.modern
        try #require(!original.isEmpty)
        for (field, offset, mask, rule) in Self.cases {
            var bytes = original
            bytes[index * 80 + offset] ^= mask
            let error = try #require(verify(bytes, anchor: anchor), "\(field) change accepted")
            #expect(error.height == anchor + UInt32(index), "\(field)")
            #expect(error.rule == rule, "\(field): \(error)")
        }
    }

    @Test func headerChainReportsTheSameHeightAndRule() throws {
        let original = Array(Self.early.prefix(2100 * 80))
        try #require(original.count == 2100 * 80)
        for (field, offset, mask, rule) in Self.cases {
            var bytes = original
            bytes[2016 * 80 + offset] ^= mask
            var chain = HeaderChain(
                parameters: .bitcoinMainnet, anchor: BitcoinHeader.bitcoinMainnetGenesis, anchorHeight: 0,
                anchorChainWork: ProofOfWork.work(bits: 0x1D00_FFFF))
            var failure: HeaderRuleError?
            for i in 1..<2100 {
                do {
                    try chain.add(try BitcoinHeader(bytes: Array(bytes[(i * 80)..<(i * 80 + 80)])), now: 1_300_000_000)
                } catch let e as HeaderRuleError {
                    failure = e
                    break
                }
            }
            // A changed previous hash makes the header an orphan in a tree (no stored parent has that hash).
            let expected: HeaderRuleError.Rule = rule == .linkage ? .unknownParent : rule
            #expect(failure?.rule == expected, "\(field)")
            if expected != .unknownParent { #expect(failure?.height == 2016, "\(field)") }
            #expect(chain.tip.height == 2015)
        }
    }

    @Test func swappedAndMissingHeadersBreakLinkage() throws {
        var swapped = Self.early
        try #require(!swapped.isEmpty)
        let a = Array(swapped[(100 * 80)..<(101 * 80)])
        swapped.replaceSubrange((100 * 80)..<(101 * 80), with: swapped[(101 * 80)..<(102 * 80)])
        swapped.replaceSubrange((101 * 80)..<(102 * 80), with: a)
        #expect(
            verify(swapped, anchor: 0)
                == HeaderRuleError(height: 100, rule: .linkage, message: verify(swapped, anchor: 0)?.message ?? ""))
        var missing = Self.early
        missing.removeSubrange((300 * 80)..<(301 * 80))
        #expect(verify(missing, anchor: 0)?.height == 300)
        #expect(verify(missing, anchor: 0)?.rule == .linkage)
    }

    @Test func truncatedAndEmptyInputIsMalformed() {
        #expect(verify([], anchor: 0)?.rule == .malformed)
        #expect(
            verify(Array(Self.early.prefix(10 * 80 + 79)), anchor: 0)
                == HeaderRuleError(
                    height: 10, rule: .malformed,
                    message: verify(Array(Self.early.prefix(10 * 80 + 79)), anchor: 0)?.message ?? ""))
        #expect(throws: WireError.self) { try BitcoinHeader(bytes: Array(Self.early.prefix(79))) }
        #expect(throws: WireError.self) { try BitcoinHeader(bytes: Array(Self.early.prefix(81))) }
        #expect(
            HeaderRunVerifier.verify(
                bytes: [UInt8](repeating: 0, count: 80), chain: .bitcoin, anchorHeight: UInt32.max,
                parameters: .bitcoinMainnet
            ).error == nil)
        #expect(verify([UInt8](repeating: 0, count: 160), anchor: UInt32.max)?.rule == .malformed)
    }

    /// Every random mutation of a 60-header run is refused (every byte is covered: the anchor's through the
    /// next header's link), and nothing crashes.
    @Test func randomMutationsAreAlwaysRefused() throws {
        let original = Array(Self.early.prefix(60 * 80))
        try #require(original.count == 4800)
        var rng = SplitMix64(seed: 0x5EED_0001)
        for round in 0..<3000 {
            var bytes = original
            let changes = 1 + Int(rng.next() % 4)
            for _ in 0..<changes {
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] ^= UInt8(truncatingIfNeeded: 1 + rng.next() % 255)
            }
            if round % 10 == 0 { bytes.removeLast(Int(rng.next() % 200)) }
            if bytes == original { continue }
            #expect(verify(bytes, anchor: 0) != nil, "mutation \(round) accepted")
        }
    }
}
