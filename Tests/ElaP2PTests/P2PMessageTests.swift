import ElaP2P
import ElaChain
import ElaMerkle
import ElaWire
import Testing
import ElaTestSupport

@Suite(.ownThread) struct P2PMessageTests {
    static let magic: UInt32 = 2_017_001  // ELA mainnet

    func roundTrip(_ m: P2PMessage) throws -> P2PMessage {
        var decoder = FrameDecoder(magic: Self.magic)
        decoder.append(m.encoded(magic: Self.magic))
        let frame = try #require(try decoder.next())
        #expect(decoder.bufferedBytes == 0)
        return try P2PMessage(frame: frame)
    }

    @Test func messagesRoundTrip() throws {
        let h = Hash256(rawBytes: Array(0..<32))
        let messages: [P2PMessage] = [
            .version(VersionMessage(version: 20000, services: 0, timestamp: 1_700_000_000, port: 0, nonce: 42, height: 7, relay: false)),
            .version(VersionMessage(version: 80000, services: 4, timestamp: 1, port: 20338, nonce: 1, height: 800_000, relay: true, nodeVersion: "v0.9.0")),
            .verack, .ping(nonce: 9), .pong(nonce: 9), .mempool, .filterclear, .getaddr,
            .getblocks(locator: [h, .zero], stop: .zero),
            .inv([InventoryVector(.block, h), InventoryVector(.filteredBlock, .zero)]),
            .getdata([InventoryVector(.filteredBlock, h)]), .notfound([]),
            .tx([1, 2, 3]),
            .reject(RejectMessage(command: "tx", code: 0x10, reason: "invalid", hash: h)),
            .other(command: "daddr", payload: [9, 9]),
        ]
        for m in messages { #expect(try roundTrip(m) == m, "\(m.command)") }
    }

    @Test func theHeaderIsBitcoinsWithELAMagic() {
        let bytes = P2PMessage.verack.encoded(magic: Self.magic)
        #expect(bytes.count == 24)
        #expect(Array(bytes[0..<4]) == [0xE9, 0xC6, 0x1E, 0x00])
        #expect(String(decoding: bytes[4..<10], as: UTF8.self) == "verack")
        #expect(Array(bytes[20..<24]) == [0x5D, 0xF6, 0xE0, 0xE2])  // SHA256d("")[0..4]
    }

    @Test func framesArriveInPieces() throws {
        let a = P2PMessage.ping(nonce: 1).encoded(magic: Self.magic)
        let b = P2PMessage.pong(nonce: 2).encoded(magic: Self.magic)
        var decoder = FrameDecoder(magic: Self.magic)
        var got: [P2PMessage] = []
        for byte in a + b {
            decoder.append([byte])
            while let f = try decoder.next() { got.append(try P2PMessage(frame: f)) }
        }
        #expect(got == [.ping(nonce: 1), .pong(nonce: 2)])
    }

    @Test func badFramesAreTypedErrors() throws {
        var wrongNet = FrameDecoder(magic: 2_018_101)
        wrongNet.append(P2PMessage.verack.encoded(magic: Self.magic))
        #expect(throws: P2PError.self) { try wrongNet.next() }

        var corrupt = P2PMessage.ping(nonce: 5).encoded(magic: Self.magic)
        corrupt[corrupt.count - 1] ^= 1
        var d = FrameDecoder(magic: Self.magic)
        d.append(corrupt)
        #expect(throws: P2PError.self) { try d.next() }

        var huge = FrameDecoder(magic: Self.magic)
        var header = P2PMessage.verack.encoded(magic: Self.magic)
        header.replaceSubrange(16..<20, with: [0xFF, 0xFF, 0xFF, 0x7F])
        huge.append(header)
        #expect(throws: P2PError.self) { try huge.next() }

        var badCommand = P2PMessage.verack.encoded(magic: Self.magic)
        badCommand[4] = 0x01
        var c = FrameDecoder(magic: Self.magic)
        c.append(badCommand)
        #expect(throws: P2PError.self) { try c.next() }
    }

    @Test func malformedPayloadsAreRejected() {
        let cases: [(String, [UInt8])] = [
            ("ping", [1, 2, 3]),
            ("ping", [1, 2, 3, 4, 5, 6, 7, 8, 9]),  // trailing byte
            ("inv", [0xFF, 0xFF, 0, 0]),  // 65535 items announced, none present
            ("inv", [1, 0, 0, 0, 9, 0, 0, 0] + [UInt8](repeating: 0, count: 32)),  // unknown inventory type
            ("getblocks", [0xF5, 0x01, 0, 0]),  // 501 > 500
            ("version", [1, 0]),
            ("merkleblock", [0, 1, 2]),
            ("filterload", [0xFF]),
            ("reject", [0x05, 0x61]),
        ]
        for (command, payload) in cases {
            #expect(throws: P2PError.self, "\(command)") { try P2PMessage(frame: MessageFrame(command: command, payload: payload)) }
        }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            var d = FrameDecoder(magic: Self.magic)
            var bytes = P2PMessage.ping(nonce: rng.next()).encoded(magic: Self.magic)
            let flips = Int(rng.next() % 4) + 1
            for _ in 0..<flips { bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
            d.append(bytes)
            if let f = try? d.next() { _ = try? P2PMessage(frame: f) }
            _ = try? P2PMessage(frame: MessageFrame(command: ["inv", "version", "merkleblock", "filterload", "reject", "getblocks"][Int(rng.next() % 6)], payload: Array(bytes.dropFirst(24))))
        }
    }
}

@Suite(.ownThread) struct P2PChainMessageTests {
    @Test func merkleBlockAndFilterLoadRoundTrip() throws {
        let txids = (0..<5).map { i in Hash256(rawBytes: [UInt8](repeating: UInt8(i + 1), count: 32)) }
        let header = ELAHeader(
            version: 0, previousHash: .zero, merkleRoot: MerkleTree.root(of: txids), timestamp: 1_700_000_000,
            bits: 0x207F_FFFF, nonce: 7, height: 1, auxPow: nil)
        let tree = PartialMerkleTree.build(txids: txids, matching: [1, 4])
        let message = P2PMessage.merkleblock(MerkleBlockMessage(header: header, tree: tree))
        var decoder = FrameDecoder(magic: 2_018_201)
        decoder.append(message.encoded(magic: 2_018_201))
        let back = try P2PMessage(frame: try #require(try decoder.next()))
        #expect(back == message)
        guard case .merkleblock(let m) = back else { return }
        let matches = try m.tree.extractMatches(expectedRoot: m.header.merkleRoot)
        #expect(matches.map(\.index) == [1, 4])

        var filter = BloomFilter(elements: 3, falsePositiveRate: 0.001, tweak: 5, flags: 0)
        filter.insert([1, 2, 3])
        filter.txTypes = [0x0A]
        let load = P2PMessage.filterload(filter)
        var d2 = FrameDecoder(magic: 2_018_201)
        d2.append(load.encoded(magic: 2_018_201))
        #expect(try P2PMessage(frame: try #require(try d2.next())) == load)
    }
}
