import ElaMerkle
import ElaWire
import ElaTestSupport
import Testing

/// Merkle roots recomputed from every txid of real blocks (README section B).
@Suite(.ownThread) struct BlockMerkleRootTests {
    @Test func block830000TxidsAndRootMatchHeader() throws {
        let block = try BitcoinBlock(bytes: try TestData.bytes("spv/btc-mainnet-block-830000.bin"))
        let expected = try TestData.text("spv/btc-mainnet-block-830000-txids.txt")
            .split(whereSeparator: \.isNewline).map(String.init)
        #expect(block.txids.count == 1851)
        #expect(block.txids.map(\.displayHex) == expected)
        #expect(block.merkleRoot.displayHex == "8a56cfd4c2776e3e4720fd2e50aefb4d51f07a45662e1aea17b0c91afdb2ad70")
        #expect(MerkleTree.root(of: block.txids) == block.merkleRoot)
        #expect(MerkleTree.rootDetectingMutation(of: block.txids).mutated == false)
        #expect(
            sha256d(block.header80).displayHex == "000000000000000000011d55599ed27d7efca05f5849b755319c89eb2cffbc1f")
    }

    @Test func block300025PreSegwitRootMatchesHeader() throws {
        let block = try BitcoinBlock(bytes: try TestData.bytes("spv/btc-mainnet-block-300025.bin"))
        #expect(block.txids.count == 461)
        #expect(block.merkleRoot.displayHex == "af193f375fc1aeede6d781c0a563c1a66b4f69723d558438ba80f45ad3c1be28")
        #expect(MerkleTree.root(of: block.txids) == block.merkleRoot)
        #expect(
            sha256d(block.header80).displayHex == "0000000000000000821c4e0acc40f88bedbce3b73ba2358b5ade58a9022cc78c")
    }

    /// Branches folded back to the root for a spread of positions, including the last (odd-width) one.
    @Test func branchesOfBlock830000FoldToItsRoot() throws {
        let block = try BitcoinBlock(bytes: try TestData.bytes("spv/btc-mainnet-block-830000.bin"))
        for index in [0, 1, 2, 10, 100, 1000, 1024, 1849, 1850] {
            let branch = MerkleTree.branch(for: index, in: block.txids)
            #expect(branch.count == 11)
            let root = MerkleTree.root(folding: block.txids[index], branch: branch, index: UInt32(index))
            #expect(root == block.merkleRoot, "index \(index)")
            // The wrong position gives another root.
            let wrong = MerkleTree.root(folding: block.txids[index], branch: branch, index: UInt32(index ^ 1))
            #expect(wrong != block.merkleRoot || index == 1850, "index \(index)")
        }
    }

    /// A partial tree built from the real block proves every requested position.
    @Test func buildFromBlock830000MatchesUpstreamProofs() throws {
        let block = try BitcoinBlock(bytes: try TestData.bytes("spv/btc-mainnet-block-830000.bin"))
        for name in TestData.fileNames(in: "spv/txoutproof") where name.hasPrefix("0830000-") {
            let indexes = try ProofName(name).indexes
            let built = PartialMerkleTree.build(txids: block.txids, matching: Set(indexes))
            let upstream = try TxOutProof(bytes: try TestData.bytes("spv/txoutproof/" + name))
            // Core's constructor is deterministic, so our tree must equal the one in the file byte for byte.
            #expect(built == upstream.tree, "\(name)")
            #expect(TxOutProof(header80: block.header80, tree: built).bytes == upstream.bytes, "\(name)")
        }
    }
}

/// The matched indexes encoded in an upstream proof file name: `height-idx[_idx…].bin`.
struct ProofName {
    let height: Int
    let indexes: [Int]

    struct Unparseable: Error, CustomStringConvertible {
        let name: String
        var description: String { "unexpected proof file name \(name)" }
    }

    init(_ name: String) throws {
        let stem = name.hasSuffix(".bin") ? String(name.dropLast(4)) : name
        let parts = stem.split(separator: "-")
        guard parts.count == 2, let height = Int(parts[0]) else { throw Unparseable(name: name) }
        let indexes = parts[1].split(separator: "_").compactMap { Int($0) }
        guard !indexes.isEmpty else { throw Unparseable(name: name) }
        self.height = height
        self.indexes = indexes
    }
}
