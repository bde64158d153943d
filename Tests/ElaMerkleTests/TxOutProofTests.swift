import ElaJSON
import ElaMerkle
import ElaWire
import ElaTestSupport
import Testing

/// Real `gettxoutproof` proofs and BIP37 merkleblocks (README section B).
@Suite(.ownThread) struct TxOutProofTests {
    static let root830000 = "8a56cfd4c2776e3e4720fd2e50aefb4d51f07a45662e1aea17b0c91afdb2ad70"

    /// Every proof file present: its root is the header root and it proves exactly the indexes in its name.
    @Test func everyProofFileVerifies() throws {
        let names = TestData.fileNames(in: "spv/txoutproof")
        #expect(names.count >= 6)
        let txids830000 = try BitcoinBlock(bytes: try TestData.bytes("spv/btc-mainnet-block-830000.bin")).txids
        for name in names {
            let expected = try ProofName(name)
            let proof = try TxOutProof(bytes: try TestData.bytes("spv/txoutproof/" + name))
            let matches = try proof.verify()
            #expect(matches.map { Int($0.index) } == expected.indexes, "\(name)")
            if expected.height == 830000 {
                #expect(proof.merkleRoot.displayHex == Self.root830000)
                #expect(proof.tree.totalTransactions == 1851)
                #expect(matches.map(\.txid) == expected.indexes.map { txids830000[$0] }, "\(name)")
            }
        }
    }

    /// Every case of btc-mainnet-txoutproofs.json: bytes equal the file, and hash, root, count and matches agree.
    @Test func jsonIndexCases() throws {
        let cases = try Vectors.json("spv/btc-mainnet-txoutproofs.json").array("cases")
        #expect(cases.count >= 6)
        for entry in cases {
            let file = try entry.string("file")
            let bytes = try Hex.decode(try entry.string("proof_hex"))
            #expect(try TestData.bytes("spv/" + file) == bytes, "\(file)")
            let proof = try TxOutProof(bytes: bytes)
            #expect(proof.blockHash.displayHex == (try entry.string("block_hash")), "\(file)")
            #expect(proof.merkleRoot.displayHex == (try entry.string("merkle_root")), "\(file)")
            #expect(Int(proof.tree.totalTransactions) == (try entry.int("total_transactions")), "\(file)")
            let matches = try proof.verify()
            #expect(matches.map { Int($0.index) } == (try entry.ints("matched_indexes")), "\(file)")
            #expect(matches.map(\.txid.displayHex) == (try entry.strings("matched_txids")), "\(file)")
            #expect(proof.bytes == bytes, "re-serializes byte-exactly: \(file)")
        }
    }

    /// The proof of the last transaction (index 1850 of 1851) goes through the duplicated-last-node path.
    @Test func lastTransactionProof() throws {
        let proof = try TxOutProof(bytes: try TestData.bytes("spv/txoutproof/0830000-1850.bin"))
        let matches = try proof.verify()
        #expect(matches.count == 1)
        #expect(matches.first?.index == 1850)
        #expect(matches.first?.txid.displayHex == "c24d5781d4d048d42ca6c9bef9035cf4d6a49c58e0a8dc091f137ba65efa5f1f")
    }

    /// bcoin's merkle300025: a Bitcoin merkleblock payload (same layout as a txoutproof) with 2 matches.
    @Test func bcoinMerkle300025() throws {
        let vector = try Self.partialTreeCase(named: "bcoin merkle300025")
        let proof = try TxOutProof(bytes: try Hex.decode(try vector.string("merkleblock_hex")))
        #expect(proof.blockHash.displayHex == (try vector.string("block_hash_display")))
        #expect(proof.merkleRoot.displayHex == (try vector.string("merkle_root_display")))
        #expect(Int(proof.tree.totalTransactions) == (try vector.int("total_transactions")))
        let matches = try proof.verify()
        #expect(matches.map(\.txid.rawHex) == (try vector.strings("expected_matches_internal_order_upstream")))
        #expect(matches.map(\.txid.displayHex) == (try vector.strings("expected_matches_display")))
        #expect(matches.map { Int($0.index) } == (try vector.ints("derived_here_matched_indexes")))
        // The same positions in the full block hold the same txids.
        let block = try BitcoinBlock(bytes: try TestData.bytes("spv/btc-mainnet-block-300025.bin"))
        #expect(block.header80 == proof.header80)
        #expect(matches.map(\.txid) == matches.map { block.txids[Int($0.index)] })
    }

    /// Core's merkle_block_3: a one-transaction block, filter holding its txid, serialized byte-exactly.
    @Test func coreMerkleBlock3BuiltAndSerialized() throws {
        let vector = try Self.partialTreeCase(
            named: "Bitcoin Core merkle_block_3_and_serialize (via btcd btcutil TestMerkleBlock3)")
        let block = try BitcoinBlock(bytes: try Hex.decode(try vector.string("block_hex")))
        let filterSpec = try #require(vector["bloom_filter"])
        var filter = BloomFilter(
            elements: try filterSpec.int("nElements"), falsePositiveRate: try filterSpec.double("fpRate"),
            tweak: UInt32(try filterSpec.int("tweak")), flags: BloomFilter.updateAll)
        let inserted = try #require(Hash256(displayHex: try filterSpec.string("inserted_txid_display")))
        filter.insert(inserted.rawBytes)
        // A node matches a transaction first by its txid (Core `IsRelevantAndUpdate`).
        let matching = Set(block.txids.indices.filter { filter.contains(block.txids[$0].rawBytes) })
        #expect(matching == [0])
        let tree = PartialMerkleTree.build(txids: block.txids, matching: matching)
        #expect(tree.hashes.count == 1)
        #expect(tree.flags == [0x01])
        let proof = TxOutProof(header80: block.header80, tree: tree)
        #expect(Hex.encode(proof.bytes) == (try vector.string("merkleblock_hex")))
        #expect(proof.blockHash.displayHex == (try vector.string("block_hash_display")))
        let matches = try proof.verify()
        #expect(matches.map(\.txid.displayHex) == (try vector.strings("expected_matches_display")))
        #expect(matches.map { Int($0.index) } == (try vector.ints("expected_matched_indexes")))
    }

    @Test func headerWithAnotherRootIsRejected() throws {
        let bytes = try TestData.bytes("spv/txoutproof/0830000-100.bin")
        var tampered = bytes
        tampered[40] ^= 0x01
        let proof = try TxOutProof(bytes: tampered)
        #expect(throws: MerkleProofError.self) { try proof.verify() }
        do {
            _ = try proof.verify()
        } catch {
            guard case .rootMismatch(let expected, let got) = error.kind else {
                Issue.record("expected rootMismatch, got \(error)")
                return
            }
            #expect(expected == proof.merkleRoot)
            #expect(got.displayHex == Self.root830000)
        }
    }

    static func partialTreeCase(named name: String) throws -> JSONValue {
        let cases = try Vectors.json("spv/bip37-vectors.json").array("partial_merkle_tree_cases")
        return try #require(cases.first { $0["name"]?.stringValue == name })
    }
}
