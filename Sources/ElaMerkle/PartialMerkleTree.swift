public import ElaWire

/// A BIP37 partial Merkle tree: the part of a block's transaction tree needed to prove that some transactions
/// are in it. `flags` are the traversal bits, least-significant bit of each byte first; `hashes` are the
/// pruned-subtree hashes and matched txids in traversal order (raw byte order).
///
/// Decoding with the `init(…Reader:)` initializers only checks the layout; call `extractMatches` (or
/// `TxOutProof.verify`) to check the tree and compare its root with a trusted header.
public struct PartialMerkleTree: Sendable, Hashable {
    /// Transactions in the whole block.
    public var totalTransactions: UInt32
    /// Pruned-subtree hashes and matched txids in traversal order.
    public var hashes: [Hash256]
    /// Traversal bits packed eight per byte, least-significant bit first.
    public var flags: [UInt8]

    /// A tree from its parts (as decoded, or to hand-craft a proof); nothing is checked until `extractMatches`.
    public init(totalTransactions: UInt32, hashes: [Hash256], flags: [UInt8]) {
        self.totalTransactions = totalTransactions
        self.hashes = hashes
        self.flags = flags
    }

    /// Bitcoin Core's bound on transactions per block: MAX_BLOCK_WEIGHT (4 000 000) / MIN_TRANSACTION_WEIGHT (240).
    public static let bitcoinMaxTransactions: UInt32 = 16_666
    /// The default bound, loose enough for ELA blocks (8 MB, no weight rule) and far below what would make the
    /// tree walk expensive (the walk is bounded by the proof's own size anyway).
    public static let defaultMaxTransactions: UInt32 = 1_000_000

    /// Rebuilds the root and lists the matched transactions (flag bit 1 at a leaf), in block order.
    ///
    /// Bitcoin Core `CPartialMerkleTree::ExtractMatches` semantics with every check Core makes: at least one
    /// transaction and at most `maxTransactions`; no more hashes than transactions; at least one flag bit per
    /// hash; the walk must not run out of bits or hashes; no node may have two equal children (CVE-2012-2459);
    /// all hashes and all flag bytes must be used. Stricter than Core: the padding bits of the last flag byte
    /// must be zero (Core's encoder always writes zeros there).
    ///
    /// The returned root must still be compared with the block header's Merkle root; see
    /// `extractMatches(expectedRoot:maxTransactions:)`.
    public func extractMatches(
        maxTransactions: UInt32 = PartialMerkleTree.defaultMaxTransactions
    ) throws(MerkleProofError) -> (root: Hash256, matches: [(index: UInt32, txid: Hash256)]) {
        guard totalTransactions > 0 else { throw MerkleProofError(.emptyTree) }
        guard totalTransactions <= maxTransactions else {
            throw MerkleProofError(.tooManyTransactions(count: totalTransactions, limit: maxTransactions))
        }
        guard hashes.count <= Int(totalTransactions) else {
            throw MerkleProofError(.tooManyHashes(hashes: hashes.count, transactions: totalTransactions))
        }
        guard flags.count * 8 >= hashes.count else {
            throw MerkleProofError(.fewerBitsThanHashes(bits: flags.count * 8, hashes: hashes.count))
        }
        var walker = Extractor(tree: self)
        var height = 0
        while walker.width(height) > 1 { height += 1 }
        let root = try walker.walk(height: height, position: 0)
        guard (walker.bitsUsed + 7) / 8 == flags.count else {
            throw MerkleProofError(.unusedBits(usedBits: walker.bitsUsed, flagBytes: flags.count))
        }
        guard walker.hashesUsed == hashes.count else {
            throw MerkleProofError(.unusedHashes(used: walker.hashesUsed, available: hashes.count))
        }
        let usedInLastByte = walker.bitsUsed % 8
        if usedInLastByte != 0, let last = flags.last, last >> usedInLastByte != 0 {
            throw MerkleProofError(.nonZeroPadding(flagByte: last, usedBits: usedInLastByte))
        }
        return (root, walker.matches)
    }

    /// `extractMatches`, then requires the rebuilt root to equal `expectedRoot` (the Merkle root of a header
    /// the caller already trusts). Returns the matched transactions.
    public func extractMatches(
        expectedRoot: Hash256, maxTransactions: UInt32 = PartialMerkleTree.defaultMaxTransactions
    ) throws(MerkleProofError) -> [(index: UInt32, txid: Hash256)] {
        let (root, matches) = try extractMatches(maxTransactions: maxTransactions)
        guard root == expectedRoot else { throw MerkleProofError(.rootMismatch(expected: expectedRoot, got: root)) }
        return matches
    }
}

/// The depth-first walk of `ExtractMatches`; recursion depth is at most 33 (a 32-bit transaction count).
private struct Extractor {
    let total: UInt64
    let hashes: [Hash256]
    let flags: [UInt8]
    var bitsUsed = 0
    var hashesUsed = 0
    var matches: [(index: UInt32, txid: Hash256)] = []

    init(tree: PartialMerkleTree) {
        total = UInt64(tree.totalTransactions)
        hashes = tree.hashes
        flags = tree.flags
    }

    /// Nodes at `height` (Core `CalcTreeWidth`); `height` never exceeds 32, so this cannot overflow.
    func width(_ height: Int) -> UInt64 { (total + (1 << UInt64(height)) - 1) >> UInt64(height) }

    mutating func nextBit() throws(MerkleProofError) -> Bool {
        guard bitsUsed < flags.count * 8 else { throw MerkleProofError(.ranOutOfBits) }
        defer { bitsUsed += 1 }
        return (flags[bitsUsed >> 3] >> UInt8(bitsUsed & 7)) & 1 == 1
    }

    mutating func walk(height: Int, position: UInt64) throws(MerkleProofError) -> Hash256 {
        let parentOfMatch = try nextBit()
        if height == 0 || !parentOfMatch {
            guard hashesUsed < hashes.count else { throw MerkleProofError(.ranOutOfHashes) }
            let hash = hashes[hashesUsed]
            hashesUsed += 1
            if height == 0 && parentOfMatch {
                matches.append((UInt32(truncatingIfNeeded: position), hash))
            }
            return hash
        }
        let left = try walk(height: height - 1, position: position * 2)
        guard position * 2 + 1 < width(height - 1) else { return DoubleSHA256.parent(left, left) }
        let right = try walk(height: height - 1, position: position * 2 + 1)
        guard right != left else { throw MerkleProofError(.duplicateChildren(height: height, position: position)) }
        return DoubleSHA256.parent(left, right)
    }
}
