public import ElaWire

/// Why a Merkle proof (partial Merkle tree, `merkleblock`, `gettxoutproof`) was rejected. Every failure is one
/// of these; no input makes the decoder or verifier trap.
public struct MerkleProofError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What exactly is wrong.
    public enum Kind: Sendable, Equatable {
        /// The bytes could not be decoded (short, oversized count, trailing bytes, ...).
        case wire(WireError)
        /// `totalTransactions` is 0; every block has at least its coinbase.
        case emptyTree
        /// `totalTransactions` is above what a block can hold (Core: MAX_BLOCK_WEIGHT / MIN_TRANSACTION_WEIGHT).
        case tooManyTransactions(count: UInt32, limit: UInt32)
        /// More hashes than transactions: no honest tree needs that many.
        case tooManyHashes(hashes: Int, transactions: UInt32)
        /// Fewer flag bits than hashes (each hash needs its own bit).
        case fewerBitsThanHashes(bits: Int, hashes: Int)
        /// The walk needed another flag bit than the proof has.
        case ranOutOfBits
        /// The walk needed another hash than the proof has.
        case ranOutOfHashes
        /// A node's left and right children are equal: the CVE-2012-2459 duplicate-subtree trick, which would let
        /// a proof claim a transaction at a position that does not exist.
        case duplicateChildren(height: Int, position: UInt64)
        /// Whole flag bytes were left over after the walk (Core rejects these).
        case unusedBits(usedBits: Int, flagBytes: Int)
        /// Hashes were left over after the walk.
        case unusedHashes(used: Int, available: Int)
        /// The unused bits of the last flag byte are not zero (no encoder produces that).
        case nonZeroPadding(flagByte: UInt8, usedBits: Int)
        /// The rebuilt root differs from the one the block header commits to.
        case rootMismatch(expected: Hash256, got: Hash256)
    }

    public var kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// A sentence for logs and CLI output naming the rule the proof broke.
    public var description: String {
        switch kind {
        case .wire(let error): "malformed Merkle proof: \(error)"
        case .emptyTree: "Merkle proof claims a block with 0 transactions"
        case .tooManyTransactions(let count, let limit):
            "Merkle proof claims \(count) transactions; a block holds at most \(limit)"
        case .tooManyHashes(let hashes, let transactions):
            "Merkle proof has \(hashes) hashes for only \(transactions) transactions"
        case .fewerBitsThanHashes(let bits, let hashes):
            "Merkle proof has \(bits) flag bits for \(hashes) hashes (needs at least one bit per hash)"
        case .ranOutOfBits: "Merkle proof ends before its tree does: not enough flag bits"
        case .ranOutOfHashes: "Merkle proof ends before its tree does: not enough hashes"
        case .duplicateChildren(let height, let position):
            "Merkle proof node at height \(height), position \(position) has two equal children "
                + "(CVE-2012-2459 duplicate-subtree proof; do not trust this peer)"
        case .unusedBits(let used, let bytes):
            "Merkle proof uses \(used) flag bits but carries \(bytes) flag bytes"
        case .unusedHashes(let used, let available):
            "Merkle proof uses \(used) of its \(available) hashes"
        case .nonZeroPadding(let byte, let used):
            "Merkle proof's last flag byte 0x\(String(byte, radix: 16)) has non-zero padding after bit \(used)"
        case .rootMismatch(let expected, let got):
            "Merkle proof root \(got.displayHex) does not match the block header's root \(expected.displayHex)"
        }
    }
}
