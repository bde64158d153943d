import ElaTestSupport
import ElaChain
import ElaWire
import Testing

/// The three `auxpow_test.go` vectors (chain ID 6) from `ela-auxpow-vectors.json`.
@Suite(.ownThread) struct AuxPowTests {
    struct Vector: Sendable {
        var bytes: [UInt8]
        var auxHash: Hash256
    }

    static let json = TestData.text("ela-auxpow-vectors.json") ?? ""
    static let vectors: [Vector] = {
        let hexes = TestData.jsonStrings("auxpow_hex", in: json)
        let hashes = TestData.jsonStrings("aux_block_hash_raw", in: json)
        return zip(hexes, hashes).compactMap { h, a in
            Hash256(rawHex: a).map { Vector(bytes: hexBytes(h), auxHash: $0) }
        }
    }()

    @Test func threeVectorsPresent() {
        #expect(Self.vectors.count == 3)
        #expect(TestData.jsonInts("chain_id", in: Self.json) == [6, 6, 6])
    }

    @Test(arguments: 0..<3)
    func vectorParsesAndChecks(_ i: Int) throws {
        let v = try #require(Self.vectors[safe: i])
        let proof = try AuxPow(bytes: v.bytes)
        #expect(proof.serialized == v.bytes)
        #expect(
            proof.parentHeader.hash.displayHex
                == TestData.jsonStrings("parent_header_hash_display", in: Self.json)[safe: i])
        #expect(
            proof.coinbaseTxid.displayHex
                == TestData.jsonStrings("parent_coinbase_txid_display", in: Self.json)[safe: i])
        #expect(proof.parentHash.rawHex == TestData.jsonStrings("parent_hash_field", in: Self.json)[safe: i])
        #expect(proof.coinbaseBranch.count == TestData.jsonInts("coinbase_branch_len", in: Self.json)[safe: i])
        #expect(proof.auxBranch.count == TestData.jsonInts("aux_branch_len", in: Self.json)[safe: i])
        #expect(Int(proof.auxIndex) == TestData.jsonInts("aux_index", in: Self.json)[safe: i])
        #expect(
            proof.parentHeader.serialized
                == hexBytes(TestData.jsonStrings("parent_header_hex", in: Self.json)[safe: i] ?? ""))
        try proof.check(auxBlockHash: v.auxHash, chainID: 6)
        try proof.check(auxBlockHash: v.auxHash, chainID: 1224)  // "derived_here_also_passes_with_chain_id_1224"
    }

    @Test(arguments: 0..<3)
    func wrongHashOrChainIDFails(_ i: Int) throws {
        let v = try #require(Self.vectors[safe: i])
        let proof = try AuxPow(bytes: v.bytes)
        var other = v.auxHash.rawBytes
        other[0] ^= 1
        #expect(throws: AuxPowError.self) { try proof.check(auxBlockHash: Hash256(rawBytes: other), chainID: 6) }
        do {
            try proof.check(auxBlockHash: Hash256(rawBytes: other), chainID: 6)
        } catch {
            #expect(error.step == .auxRootMissing)
        }
        // With one aux branch hash the slot is one bit: chain ID 7 flips it (6 and 1224 agree). With an empty
        // branch there is a single slot, so every chain ID passes (upstream behaviour).
        if proof.auxBranch.count == 1 {
            do {
                try proof.check(auxBlockHash: v.auxHash, chainID: 7)
                Issue.record("chain ID 7 accepted")
            } catch {
                #expect(error.step == .chainIndexMismatch)
            }
        } else {
            try proof.check(auxBlockHash: v.auxHash, chainID: 7)
        }
    }

    /// Flipping any byte the check covers (coinbase tx, branches, aux index, parent Merkle root) breaks decoding
    /// or the check. Bytes it does not cover, as upstream: the legacy parent-hash field, the coinbase index while
    /// the branch is empty, and the parent header's other fields (those change the parent hash, i.e. the PoW).
    @Test(arguments: 0..<3)
    func everySingleFlippedByteIsCaught(_ i: Int) throws {
        let v = try #require(Self.vectors[safe: i])
        let proof = try AuxPow(bytes: v.bytes)
        let txEnd = proof.coinbaseTx.count
        let parentHashRange = txEnd..<(txEnd + 32)
        let coinbaseIndexStart = txEnd + 32 + 1 + 32 * proof.coinbaseBranch.count
        let coinbaseIndexRange = coinbaseIndexStart..<(coinbaseIndexStart + 4)
        let headerStart = v.bytes.count - 80
        let merkleRange = (headerStart + 36)..<(headerStart + 68)
        for offset in 0..<v.bytes.count {
            for mask: UInt8 in [0x01, 0x80] {
                var bytes = v.bytes
                bytes[offset] ^= mask
                let uncovered =
                    parentHashRange.contains(offset) || (offset >= headerStart && !merkleRange.contains(offset))
                    || (proof.coinbaseBranch.isEmpty && coinbaseIndexRange.contains(offset))
                var rejected = false
                do {
                    let changed = try AuxPow(bytes: bytes)
                    try changed.check(auxBlockHash: v.auxHash, chainID: 6)
                } catch {
                    rejected = true
                }
                #expect(rejected != uncovered, "byte \(offset) mask \(mask)")
            }
        }
    }

    @Test func expectedIndexMatchesUpstreamFormula() {
        // rand = ((nonce*1103515245+12345) + chainID)*1103515245+12345 mod 2^32, then mod 2^h.
        var r: UInt32 = 7
        r = r &* 1_103_515_245 &+ 12345
        r = r &+ 1224
        r = r &* 1_103_515_245 &+ 12345
        #expect(AuxPow.expectedIndex(nonce: 7, chainID: 1224, height: 5) == r % 32)
        #expect(AuxPow.expectedIndex(nonce: 7, chainID: 1224, height: 0) == 0)
    }

    @Test func structuralFailuresNameTheirStep() throws {
        let v = try #require(Self.vectors.first)
        let proof = try AuxPow(bytes: v.bytes)
        func step(_ p: AuxPow, _ hash: Hash256 = v.auxHash) -> AuxPowError.Step? {
            do {
                try p.check(auxBlockHash: hash, chainID: 6)
                return nil
            } catch {
                return error.step
            }
        }
        var wrongRoot = proof
        wrongRoot.parentHeader.merkleRoot = .zero
        #expect(step(wrongRoot) == .coinbaseMerkleRoot)
        var longBranch = proof
        longBranch.auxBranch = [Hash256](repeating: .zero, count: 32)
        #expect(step(longBranch) == .auxBranchTooLong)
        var wrongSize = proof
        wrongSize.auxBranch.append(.zero)
        #expect(step(wrongSize) == .auxRootMissing)
        // A coinbase with no input (ELA's zero AuxPoW) has no script.
        #expect(step(AuxPow.empty, .zero) == .coinbaseMerkleRoot)
        var noInput = AuxPow.empty
        noInput.parentHeader.merkleRoot = noInput.coinbaseTxid
        #expect(step(noInput, .zero) == .noCoinbaseInput)
        // Marker twice, root misplaced, size/nonce missing, size mismatch: built with the regnet helper.
        let hash = RegnetMiner.genesis.hash
        func proofWith(script: [UInt8]) throws -> AuxPow {
            var w = WireWriter()
            w.writeInt32(1)
            w.writeVarInt(1)
            w.write([UInt8](repeating: 0, count: 36))
            w.writeVarBytes(script)
            w.writeUInt32(0)
            w.writeVarInt(0)
            w.writeUInt32(0)
            var p = try AuxPow(
                coinbaseTx: w.bytes, parentHash: .zero, coinbaseBranch: [], coinbaseIndex: 0, auxBranch: [],
                auxIndex: 0, parentHeader: AuxPow.empty.parentHeader)
            p.parentHeader.merkleRoot = p.coinbaseTxid
            return p
        }
        let m = AuxPow.mergedMiningMarker
        #expect(step(try proofWith(script: m + hash.rawBytes + [1, 0, 0, 0, 0, 0, 0, 0]), hash) == nil)
        #expect(step(try proofWith(script: m + hash.rawBytes + [1, 0, 0, 0, 0, 0, 0, 0] + m), hash) == .markerRepeated)
        #expect(
            step(try proofWith(script: m + [0] + hash.rawBytes + [1, 0, 0, 0, 0, 0, 0, 0]), hash) == .auxRootMisplaced)
        #expect(step(try proofWith(script: hash.rawBytes + [1, 0, 0, 0, 0, 0, 0, 0]), hash) == .markerMissing)
        #expect(step(try proofWith(script: m + hash.rawBytes + [1, 0, 0, 0, 0, 0, 0]), hash) == .sizeAndNonceMissing)
        #expect(step(try proofWith(script: m + hash.rawBytes + [2, 0, 0, 0, 0, 0, 0, 0]), hash) == .merkleSizeMismatch)
    }

    @Test func randomMutationsNeverCrash() throws {
        var rng = SplitMix64(seed: 0xA0C5_0002)
        var accepted = 0
        for round in 0..<3000 {
            let v = Self.vectors[round % Self.vectors.count]
            var bytes = v.bytes
            for _ in 0..<(1 + Int(rng.next() % 6)) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            if rng.next() % 4 == 0 { bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count + 1)))) }
            if let p = try? AuxPow(bytes: bytes), (try? p.check(auxBlockHash: v.auxHash, chainID: 6)) != nil {
                accepted += 1
            }
        }
        // Only changes to bytes the check does not cover can survive; most mutations are refused.
        #expect(accepted < 600)
    }
}
