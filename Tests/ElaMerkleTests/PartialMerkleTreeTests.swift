import ElaTestSupport
import ElaMerkle
import ElaWire
import Testing

/// Core's ExtractMatches checks, one by one, and build/extract round trips.
@Suite(.ownThread) struct PartialMerkleTreeTests {
    static func hash(_ n: UInt8) -> Hash256 { Hash256(rawBytes: [UInt8](repeating: n, count: 32)) }

    static func kind(of tree: PartialMerkleTree, maxTransactions: UInt32 = PartialMerkleTree.defaultMaxTransactions)
        -> MerkleProofError.Kind?
    {
        do {
            _ = try tree.extractMatches(maxTransactions: maxTransactions)
            return nil
        } catch {
            return error.kind
        }
    }

    /// CVE-2012-2459: [a, b, c] and [a, b, c, c] share a root, so a proof "at index 3" would pass the root check.
    /// The duplicate-children rule is what rejects it.
    @Test func duplicateSubtreeAttackIsRejected() throws {
        let (a, b, c) = (Self.hash(1), Self.hash(2), Self.hash(3))
        let honestRoot = MerkleTree.root(of: [a, b, c])
        #expect(MerkleTree.root(of: [a, b, c, c]) == honestRoot)
        #expect(MerkleTree.rootDetectingMutation(of: [a, b, c, c]).mutated)
        #expect(!MerkleTree.rootDetectingMutation(of: [a, b, c]).mutated)

        let attack = PartialMerkleTree.build(txids: [a, b, c, c], matching: [3])
        #expect(Self.kind(of: attack) == .duplicateChildren(height: 1, position: 1))
        // The honest proof of c at index 2 works.
        let honest = PartialMerkleTree.build(txids: [a, b, c], matching: [2])
        let extracted = try honest.extractMatches(expectedRoot: honestRoot)
        #expect(extracted.map(\.index) == [2])
        #expect(extracted.map(\.txid) == [c])

        // The simplest form: a two-leaf tree whose leaves are equal.
        let twin = PartialMerkleTree(totalTransactions: 2, hashes: [a, a], flags: [0b001])
        #expect(Self.kind(of: twin) == .duplicateChildren(height: 1, position: 0))
        // Equal hashes higher up (two equal pruned subtrees) are caught the same way.
        let twinSubtrees = PartialMerkleTree(totalTransactions: 4, hashes: [a, a], flags: [0b001])
        #expect(Self.kind(of: twinSubtrees) == .duplicateChildren(height: 2, position: 0))
    }

    @Test func structuralChecks() throws {
        let a = Self.hash(1), b = Self.hash(2)
        #expect(Self.kind(of: PartialMerkleTree(totalTransactions: 0, hashes: [], flags: [])) == .emptyTree)
        #expect(Self.kind(of: PartialMerkleTree.build(txids: [], matching: [0])) == .emptyTree)
        #expect(
            Self.kind(of: PartialMerkleTree(totalTransactions: 16_667, hashes: [a], flags: [0]),
                      maxTransactions: PartialMerkleTree.bitcoinMaxTransactions)
                == .tooManyTransactions(count: 16_667, limit: 16_666))
        #expect(
            Self.kind(of: PartialMerkleTree(totalTransactions: 1_000_001, hashes: [a], flags: [0]))
                == .tooManyTransactions(count: 1_000_001, limit: 1_000_000))
        #expect(
            Self.kind(of: PartialMerkleTree(totalTransactions: 1, hashes: [a, b], flags: [0b11]))
                == .tooManyHashes(hashes: 2, transactions: 1))
        let nine = (1...9).map { Self.hash($0) }
        #expect(
            Self.kind(of: PartialMerkleTree(totalTransactions: 16, hashes: nine, flags: [0xFF]))
                == .fewerBitsThanHashes(bits: 8, hashes: 9))
        // 512 leaves (height 9) and eight 1-bits: the walk needs a ninth bit.
        #expect(Self.kind(of: PartialMerkleTree(totalTransactions: 512, hashes: [a], flags: [0xFF])) == .ranOutOfBits)
        // Root bit 1, left leaf hash, right leaf needs a second hash.
        #expect(Self.kind(of: PartialMerkleTree(totalTransactions: 2, hashes: [a], flags: [0b001])) == .ranOutOfHashes)
    }

    @Test func leftoversAndPaddingAreRejected() throws {
        let txids = (1...8).map { Self.hash($0) }
        let valid = PartialMerkleTree.build(txids: txids, matching: [5])
        #expect(valid.hashes.count == 4)  // three pruned siblings and the match
        #expect(valid.flags.count == 1)  // 7 bits
        #expect(try valid.extractMatches().matches.map(\.index) == [5])

        var extraByte = valid
        extraByte.flags.append(0)
        #expect(Self.kind(of: extraByte) == .unusedBits(usedBits: 7, flagBytes: 2))

        var extraHash = valid
        extraHash.hashes.append(Self.hash(99))
        #expect(Self.kind(of: extraHash) == .unusedHashes(used: 4, available: 5))

        var padded = valid
        padded.flags[0] |= 0x80
        #expect(Self.kind(of: padded) == .nonZeroPadding(flagByte: padded.flags[0], usedBits: 7))

        var wrongRoot = valid
        wrongRoot.hashes[0] = Self.hash(42)
        let expected = MerkleTree.root(of: txids)
        #expect(throws: MerkleProofError.self) { try wrongRoot.extractMatches(expectedRoot: expected) }
    }

    @Test func errorsDescribeThemselves() {
        let samples: [MerkleProofError.Kind] = [
            .emptyTree, .ranOutOfBits, .duplicateChildren(height: 1, position: 1),
            .rootMismatch(expected: Self.hash(1), got: Self.hash(2)),
            .wire(WireError(.truncated(needed: 32, available: 3), offset: 90, field: "merkleblock.hashes")),
        ]
        for kind in samples {
            #expect(!MerkleProofError(kind).description.isEmpty)
        }
        #expect(MerkleProofError(.duplicateChildren(height: 1, position: 1)).description.contains("CVE-2012-2459"))
        #expect(MerkleProofError(.wire(WireError(.trailingBytes(1), offset: 5, field: "txoutproof"))).description
            .contains("trailing"))
    }

    /// Random trees (fixed seed) with random match sets: build → extract gives the full-tree root and exactly the
    /// chosen positions; both wire layouts round-trip; every branch folds to the root.
    @Test func randomBuildExtractRoundTrips() throws {
        var rng = SplitMix64(seed: 0x454C_415F_4D45_524B)
        var sizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000]
        for _ in 0..<40 { sizes.append(Int.random(in: 1...700, using: &rng)) }
        let densities = [0.0, 0.01, 0.1, 0.5, 1.0]
        for size in sizes {
            let txids = (0..<size).map { _ in
                Hash256(rawBytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
            let root = MerkleTree.root(of: txids)
            for density in densities {
                let matching = Set(txids.indices.filter { _ in Double.random(in: 0..<1, using: &rng) < density })
                let tree = PartialMerkleTree.build(txids: txids, matching: matching)
                #expect(tree.totalTransactions == UInt32(size))
                let (extractedRoot, matches) = try tree.extractMatches()
                #expect(extractedRoot == root, "size \(size) density \(density)")
                #expect(matches.map { Int($0.index) } == matching.sorted(), "size \(size) density \(density)")
                #expect(matches.map(\.txid) == matching.sorted().map { txids[$0] })

                var bitcoin = WireWriter()
                tree.writeBitcoin(to: &bitcoin)
                var bitcoinReader = WireReader(bitcoin.bytes)
                #expect(try PartialMerkleTree(bitcoinReader: &bitcoinReader) == tree)
                #expect(bitcoinReader.isAtEnd)

                var ela = WireWriter()
                tree.writeELA(to: &ela)
                var elaReader = WireReader(ela.bytes)
                #expect(try PartialMerkleTree(elaReader: &elaReader) == tree)
                #expect(elaReader.isAtEnd)
            }
            let index = Int.random(in: 0..<size, using: &rng)
            let branch = MerkleTree.branch(for: index, in: txids)
            #expect(MerkleTree.root(folding: txids[index], branch: branch, index: UInt32(index)) == root)
        }
    }

    @Test func singleTransactionTree() throws {
        let only = Self.hash(7)
        #expect(MerkleTree.root(of: [only]) == only)
        #expect(MerkleTree.branch(for: 0, in: [only]).isEmpty)
        #expect(MerkleTree.root(of: []) == .zero)
        #expect(MerkleTree.branch(for: 1, in: [only]).isEmpty)
        let unmatched = PartialMerkleTree.build(txids: [only], matching: [])
        #expect(unmatched.flags == [0x00])
        let (root, matches) = try unmatched.extractMatches()
        #expect(root == only)
        #expect(matches.isEmpty)
    }

    /// The ELA layout differs from Bitcoin's only in the u32 hash count.
    @Test func elaLayoutUsesFixedWidthHashCount() {
        let tree = PartialMerkleTree.build(txids: (1...3).map { Self.hash($0) }, matching: [1])
        var bitcoin = WireWriter()
        tree.writeBitcoin(to: &bitcoin)
        var ela = WireWriter()
        tree.writeELA(to: &ela)
        #expect(ela.bytes.count == bitcoin.bytes.count + 3)
        #expect(Array(ela.bytes[4..<8]) == [UInt8(tree.hashes.count), 0, 0, 0])
        #expect(Array(ela.bytes[8...]) == Array(bitcoin.bytes[5...]))
    }
}
