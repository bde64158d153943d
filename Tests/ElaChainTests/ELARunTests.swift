import ElaTestSupport
import ElaChain
import ElaWire
import Testing

/// `HeaderRunVerifier` over serialized ELA headers (regnet-mined, some with AuxPoW), tampering and garbage.
@Suite(.ownThread) struct ELARunTests {
    /// Genesis + 40 headers; every 5th carries an AuxPoW.
    static let run: [ELAHeader] = {
        var out = [RegnetMiner.genesis]
        for i in 1...40 {
            let parent = out[out.count - 1]
            out.append(i % 5 == 0 ? RegnetMiner.mineWithAuxPow(on: parent) : RegnetMiner.mine(on: parent))
        }
        return out
    }()

    static func serialize(_ headers: [ELAHeader]) -> [UInt8] {
        var w = WireWriter()
        for h in headers { h.write(to: &w) }
        return w.bytes
    }

    /// Byte offset of each header in the serialized run.
    static let offsets: [Int] = {
        var out: [Int] = []
        var total = 0
        for h in run {
            out.append(total)
            total += h.serialized().count
        }
        return out
    }()

    func verify(_ bytes: [UInt8], _ p: ChainParameters = .elaRegnet) -> Result<RunSummary, HeaderRuleError> {
        HeaderRunVerifier.verify(bytes: bytes, chain: .ela, anchorHeight: 0, parameters: p, now: RegnetMiner.now)
    }

    @Test func minedRunVerifies() throws {
        let summary = try verify(Self.serialize(Self.run)).get()
        #expect(summary.count == 41 && summary.tipHeight == 40)
        #expect(summary.tipHash == Self.run[40].hash && summary.anchorHash == ChainParameters.elaRegnet.genesisHash)
        #expect(summary.totalWork == ProofOfWork.work(bits: 0x1D03_FFFF) + ProofOfWork.work(bits: 0x207F_FFFF) * 40)
        // The same headers through HeaderChain agree.
        var chain = RegnetMiner.newChain()
        for h in Self.run.dropFirst() { try chain.add(h, now: RegnetMiner.now) }
        #expect(chain.tip.chainWork == summary.totalWork && chain.tip.hash == summary.tipHash)
        // A run anchored mid-chain.
        let tail = try HeaderRunVerifier.verify(
            bytes: Self.serialize(Array(Self.run[20...])), chain: .ela, anchorHeight: 20, parameters: .elaRegnet
        ).get()
        #expect(tail.count == 21 && tail.tipHash == summary.tipHash)
    }

    @Test func wrongNetworkOrAnchorIsRefused() {
        // Mainnet checks the anchor against its genesis checkpoint.
        #expect(verify(Self.serialize(Self.run), .elaMainnet).error?.rule == .checkpoint)
        #expect(verify(Self.serialize([ELAHeader.mainnetGenesis]), .elaMainnet).error == nil)
        // A strict variant without header-only PoW refuses the plain regnet headers at height 1.
        var strict = ChainParameters.elaRegnet
        strict.allowsHeaderPoWWithoutAuxPow = false
        #expect(
            verify(Self.serialize(Self.run), strict).error.map { [$0.height] + [$0.rule == .auxPow ? 1 : 0] } == [1, 1])
        // Anchor height must match the height field.
        let r = HeaderRunVerifier.verify(
            bytes: Self.serialize(Self.run), chain: .ela, anchorHeight: 1, parameters: .elaRegnet)
        #expect(r.error?.rule == .linkage && r.error?.height == 1)
    }

    @Test func tamperingFailsAtThatHeight() throws {
        let original = Self.serialize(Self.run)
        func fail(_ index: Int, _ offset: Int, _ mask: UInt8) -> HeaderRuleError? {
            var bytes = original
            bytes[Self.offsets[index] + offset] ^= mask
            return verify(bytes).error
        }
        // previous hash, height field, trailer byte, AuxPoW coinbase (header 15 has one), parent Merkle root.
        #expect(fail(12, 4, 0x01).map { "\($0.height) \($0.rule)" } == "12 linkage")
        #expect(fail(12, 80, 0x01).map { "\($0.height) \($0.rule)" } == "12 linkage")
        let size15 = Self.run[15].serialized().count
        #expect(fail(15, size15 - 1, 0x01).map { "\($0.height) \($0.rule)" } == "15 malformed")
        #expect(fail(15, 84 + 50, 0x01).map { "\($0.height) \($0.rule)" } == "15 auxPow")
        #expect(fail(15, size15 - 1 - 80 + 40, 0x01).map { "\($0.height) \($0.rule)" } == "15 auxPow")
        // A changed nonce or timestamp changes the hash, so the next header no longer links.
        let nonceChange = try #require(fail(12, 76, 0x01))
        #expect([12, 13].contains(nonceChange.height))
        // Cutting the buffer anywhere is malformed at the header that is cut.
        for cut in [1, 83, 84, 200, Self.run[40].serialized().count - 1] {
            let e = verify(Array(original.prefix(Self.offsets[40] + cut))).error
            #expect(e?.rule == .malformed && e?.height == 40, "cut \(cut)")
        }
        #expect(verify([]).error?.rule == .malformed)
    }

    @Test func randomMutationsAndGarbageNeverCrash() {
        let original = Self.serialize(Array(Self.run.prefix(12)))
        var rng = SplitMix64(seed: 0xE1A0_0003)
        var refused = 0
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 5 == 0 {
                bytes = (0..<Int(rng.next() % 600)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = original
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: 1 + rng.next() % 255)
                }
            }
            if verify(bytes).error != nil { refused += 1 }
            // Decoding a single header from the same bytes throws WireError or succeeds, never traps.
            _ = try? ELAHeader(bytes: bytes)
        }
        // Garbage is refused. A mutation can survive where nothing covers it: an AuxPoW's legacy parent-hash
        // field, or a change to the last header (or to an AuxPoW parent header) whose new hash still meets
        // regnet's ~2^255 target.
        #expect(refused > 2800)
    }
}
