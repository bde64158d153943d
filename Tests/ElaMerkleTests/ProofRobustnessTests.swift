import ElaMerkle
import ElaWire
import ElaTestSupport
import Testing

/// Hostile and damaged proofs: every failure is a typed error, never a crash, and nothing false is accepted.
@Suite(.ownThread) struct ProofRobustnessTests {
    /// Single-byte changes of the proof files are rejected, or (if they only touched bytes the proof does not
    /// depend on) still prove the header's real root, and every transaction then claimed really is at that
    /// position in block 830000. The smallest proof gets all 255 other values at every position; the others get
    /// the 8 single-bit flips, 0x00 and 0xFF at every position (a full sweep of all six takes ~40 s in debug).
    @Test func singleByteMutationsAreRejectedOrHarmless() throws {
        let txids = try BitcoinBlock(bytes: try TestData.bytes("spv/btc-mainnet-block-830000.bin")).txids
        let names = TestData.fileNames(in: "spv/txoutproof").filter { $0.hasPrefix("0830000-") }
        #expect(names.contains("0830000-1850.bin"))
        for name in names {
            let original = try TestData.bytes("spv/txoutproof/" + name)
            let root = try TxOutProof(bytes: original).merkleRoot
            let fullSweep = name == "0830000-1850.bin"
            var accepted = 0
            var rejected = 0
            var falseMatches: [String] = []
            for position in original.indices {
                let replacements: [UInt8] =
                    fullSweep
                    ? (0...255).map(UInt8.init).filter { $0 != original[position] }
                    : Array(Set((0..<8).map { original[position] ^ (1 << $0) } + [0x00, 0xFF])
                        .subtracting([original[position]]))
                for value in replacements {
                    var mutated = original
                    mutated[position] = value
                    guard let proof = try? TxOutProof(bytes: mutated), let matches = try? proof.verify() else {
                        rejected += 1
                        continue
                    }
                    accepted += 1
                    if proof.merkleRoot != root { falseMatches.append("byte \(position): root changed") }
                    for match in matches
                    where Int(match.index) >= txids.count || txids[Int(match.index)] != match.txid {
                        falseMatches.append("byte \(position)=\(value): claims \(match.txid) at \(match.index)")
                    }
                }
            }
            #expect(falseMatches.isEmpty, "\(name): \(falseMatches.prefix(5))")
            // The 48 header bytes outside the Merkle root never matter; nearly everything else must be rejected.
            let perPosition = fullSweep ? 255 : 8
            #expect(accepted >= 48 * perPosition, "\(name)")
            #expect(rejected >= (original.count - 80) * perPosition * 9 / 10, "\(name)")
        }
    }

    /// Every strict prefix of every proof fails with a typed "truncated" wire error.
    @Test func truncatedProofsAreRejected() throws {
        for name in TestData.fileNames(in: "spv/txoutproof") {
            let bytes = try TestData.bytes("spv/txoutproof/" + name)
            for length in 0..<bytes.count {
                do {
                    _ = try TxOutProof(bytes: Array(bytes.prefix(length)))
                    Issue.record("\(name): prefix of \(length) bytes accepted")
                } catch {
                    guard case .wire(let wire) = error.kind, case .truncated = wire.kind else {
                        Issue.record("\(name) prefix \(length): \(error)")
                        continue
                    }
                }
            }
            // One byte too many is rejected as well.
            #expect(throws: MerkleProofError.self) { try TxOutProof(bytes: bytes + [0]) }
        }
    }

    /// Counts claiming gigabytes in a few bytes fail before anything is allocated.
    @Test func hugeCountsInTinyBuffersAreRejected() throws {
        let header = [UInt8](repeating: 0, count: 80)
        let total: [UInt8] = [0x01, 0, 0, 0]
        // Bitcoin layout: 2^25 hashes (Core's MAX_SIZE, allowed by the varint limit) would need 1 GiB.
        let hugeCounts: [[UInt8]] = [
            [0xFE, 0, 0, 0, 0x02], [0xFE, 0xFF, 0xFF, 0xFF, 0xFF], [0xFF] + [UInt8](repeating: 0xFF, count: 8),
        ]
        for hashCount in hugeCounts {
            let bytes = header + total + hashCount + [0x00]
            #expect(throws: MerkleProofError.self) { try TxOutProof(bytes: bytes) }
        }
        // A huge flag vector.
        let hugeFlags = header + total + [0x00, 0xFE, 0, 0, 0, 0x02, 0x01]
        #expect(throws: MerkleProofError.self) { try TxOutProof(bytes: hugeFlags) }
        // ELA layout: u32 numHashes above the cap, and just below it.
        for count: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xFF], [0x3F, 0x42, 0x0F, 0x00]] {
            var reader = WireReader(total + count + [0x00])
            #expect(throws: WireError.self) { try PartialMerkleTree(elaReader: &reader) }
        }
    }

    /// Truncating an ELA-layout tree anywhere fails with a typed error too.
    @Test func truncatedELALayoutIsRejected() throws {
        let proof = try TxOutProof(bytes: try TestData.bytes("spv/txoutproof/0830000-1000.bin"))
        var writer = WireWriter()
        proof.tree.writeELA(to: &writer)
        let bytes = writer.bytes
        for length in 0..<bytes.count {
            var reader = WireReader(Array(bytes.prefix(length)))
            #expect(throws: WireError.self) { try PartialMerkleTree(elaReader: &reader) }
        }
        var reader = WireReader(bytes)
        #expect(try PartialMerkleTree(elaReader: &reader) == proof.tree)
        #expect(reader.isAtEnd)
    }
}
