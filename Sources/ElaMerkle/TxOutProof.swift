public import ElaWire

/// A Bitcoin Core `gettxoutproof` proof (the same bytes as a Bitcoin `merkleblock` payload): an 80-byte block
/// header followed by a partial Merkle tree in the Bitcoin layout.
///
/// This type checks only that the tree is well formed and reaches the header's Merkle root. Whether the header
/// itself is on the best chain (PoW, linkage) is the caller's job (module ElaChain), using `header80`.
public struct TxOutProof: Sendable, Hashable {
    /// Bytes in a Bitcoin block header.
    public static let headerSize = 80

    /// The raw Bitcoin block header: version, prev, merkle root, time, bits, nonce.
    public let header80: [UInt8]
    /// The header's Merkle root (bytes 36..<68), raw order.
    public let merkleRoot: Hash256
    /// SHA256d(header80), raw order; `blockHash.displayHex` is the explorer form.
    public let blockHash: Hash256
    public let tree: PartialMerkleTree

    /// Decodes a proof; the bytes must be exactly one header and one tree (trailing bytes are rejected).
    public init(bytes: [UInt8]) throws(MerkleProofError) {
        var reader = WireReader(bytes)
        do throws(WireError) {
            let header = try reader.readBytes(Self.headerSize, "txoutproof.header")
            let tree = try PartialMerkleTree(bitcoinReader: &reader)
            try reader.expectEnd("txoutproof")
            self.init(header80: header, tree: tree)
        } catch {
            throw MerkleProofError(.wire(error))
        }
    }

    /// A proof from its parts (as a node serving proofs builds it). A `header80` of another length is padded
    /// or cut to 80 bytes, so the stored header always has the Bitcoin size.
    public init(header80: [UInt8], tree: PartialMerkleTree) {
        let header =
            header80.count == Self.headerSize
            ? header80 : Array((header80 + [UInt8](repeating: 0, count: Self.headerSize)).prefix(Self.headerSize))
        self.header80 = header
        self.merkleRoot = Hash256(rawBytes: Array(header[36..<68]))
        self.blockHash = DoubleSHA256.hash(header)
        self.tree = tree
    }

    /// The serialized proof, as `gettxoutproof` returns it.
    public var bytes: [UInt8] {
        var writer = WireWriter(capacity: Self.headerSize + 8 + 32 * tree.hashes.count + tree.flags.count)
        writer.write(header80)
        tree.writeBitcoin(to: &writer)
        return writer.bytes
    }

    /// Checks the tree (with Core's Bitcoin bound on transactions per block) and that its root equals the
    /// header's Merkle root. Returns the proven transactions with their positions in the block.
    public func verify() throws(MerkleProofError) -> [(index: UInt32, txid: Hash256)] {
        try tree.extractMatches(expectedRoot: merkleRoot, maxTransactions: PartialMerkleTree.bitcoinMaxTransactions)
    }
}
