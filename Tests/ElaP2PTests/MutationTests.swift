import ElaChain
import ElaMerkle
import ElaP2P
import ElaTestSupport
import ElaWire
import Testing

/// What a hostile peer can send: payloads mutated behind a correct checksum (a peer computes it for anything), and
/// whole frames mutated and cut into random pieces. Each decodes to a message or fails with a typed error, never
/// traps; whatever decodes is written back to a payload that reads the same (a version message after one round).
@Suite(.ownThread) struct P2PMutationTests {
    static let magic: UInt32 = 2_017_001

    static var seeds: [P2PMessage] {
        let txids = (0..<7).map { i in Hash256(rawBytes: [UInt8](repeating: UInt8(i + 1), count: 32)) }
        let header = ELAHeader(
            version: 0, previousHash: .zero, merkleRoot: MerkleTree.root(of: txids), timestamp: 1_700_000_000,
            bits: 0x207F_FFFF, nonce: 7, height: 1, auxPow: nil)
        var filter = BloomFilter(elements: 3, falsePositiveRate: 0.001, tweak: 5, flags: 0)
        filter.insert([1, 2, 3])
        filter.txTypes = [0x0A]
        let h = Hash256(rawBytes: Array(0..<32))
        return [
            .version(VersionMessage(version: 80000, services: 4, timestamp: 1, port: 20338, nonce: 1, height: 800_000, relay: true, nodeVersion: "v0.9.0")),
            .version(VersionMessage(version: 20000, services: 0, timestamp: 1_700_000_000, port: 0, nonce: 42, height: 7, relay: false)),
            .ping(nonce: 9), .getblocks(locator: [h, .zero, h], stop: .zero),
            .inv([InventoryVector(.block, h), InventoryVector(.filteredBlock, .zero)]), .getdata([InventoryVector(.filteredBlock, h)]),
            .notfound([InventoryVector(.block, h)]), .tx(Array(0..<200)), .reject(RejectMessage(command: "tx", code: 0x10, reason: "invalid", hash: h)),
            .merkleblock(MerkleBlockMessage(header: header, tree: PartialMerkleTree.build(txids: txids, matching: [1, 4, 6]))),
            .filterload(filter),
        ]
    }

    @Test func mutatedPayloadsDecodeOrFailWithAnError() {
        let frames = Self.seeds.map { $0.frame() }
        let payloads = frames.map(\.payload)
        var mutator = ByteMutator(seed: 7)
        var decoded = 0, rejected = 0
        for round in 0..<ByteMutator.rounds(default: 8000) {
            let frame = frames[round % frames.count]
            let payload = mutator.mutate(frame.payload, splicing: payloads)
            do {
                let message = try P2PMessage(frame: MessageFrame(command: frame.command, payload: payload))
                decoded += 1
                // Written again it reads back the same. Only a version message may change once: one too short for
                // its node version field decodes without it and is written with an empty one.
                let again = try P2PMessage(frame: message.frame())
                if case .version = message {
                    #expect(try P2PMessage(frame: again.frame()) == again, "input \(round): \(message) became \(again)")
                } else {
                    #expect(again == message, "input \(round) (\(frame.command)): \(message) became \(again)")
                }
                if case .merkleblock(let m) = message { _ = try? m.tree.extractMatches(expectedRoot: m.header.merkleRoot) }
            } catch {
                rejected += 1
            }
        }
        #expect(decoded > 100 && rejected > 100)
    }

    @Test func mutatedStreamsFrameOrFailWithAnError() {
        let stream = Self.seeds.flatMap { $0.encoded(magic: Self.magic) }
        var mutator = ByteMutator(seed: 8)
        var messages = 0
        for _ in 0..<ByteMutator.rounds(default: 1500) {
            var decoder = FrameDecoder(magic: Self.magic)
            reading: for chunk in mutator.chunks(mutator.mutate(stream)) {
                decoder.append(chunk)
                while true {
                    do {
                        guard let frame = try decoder.next() else { break }
                        if (try? P2PMessage(frame: frame)) != nil { messages += 1 }
                    } catch {
                        break reading  // the peer is dropped: the rest of its stream is not read
                    }
                }
            }
        }
        #expect(messages > 1000)
    }
}
