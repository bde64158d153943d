public import ElaWire

/// Which step of `AuxPow.check` failed (the steps of `ELA:auxpow/auxpow.go` `Check`).
public struct AuxPowError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Step: String, Sendable, Equatable {
        /// The coinbase txid folded with the coinbase branch is not the parent header's Merkle root.
        case coinbaseMerkleRoot
        /// The aux branch is longer than 31 hashes (its size slot cannot be represented).
        case auxBranchTooLong
        /// The coinbase transaction has no input, so there is no script to carry the commitment.
        case noCoinbaseInput
        /// The script lacks the `fa be 6d 6d` marker.
        case markerMissing
        /// The marker occurs more than once.
        case markerRepeated
        /// The merged-mining root (ELA hash folded with the aux branch) does not occur in the script.
        case auxRootMissing
        /// The root does not follow the marker immediately.
        case auxRootMisplaced
        /// Fewer than 8 bytes (size and nonce) follow the root.
        case sizeAndNonceMissing
        /// The size slot is not 2^len(auxBranch).
        case merkleSizeMismatch
        /// `auxIndex` is not the slot the nonce and chain ID select.
        case chainIndexMismatch
    }

    public var step: Step
    public var message: String

    public init(_ step: Step, _ message: String) {
        self.step = step
        self.message = message
    }

    public var description: String { "AuxPoW check failed (\(step.rawValue)): \(message)" }
}

extension AuxPow {
    /// Verifies that this proof commits to `auxBlockHash` (the ELA block hash, raw order) for `chainID`
    /// (1224 on ELA). Does not check the parent header's proof of work; the caller compares
    /// `parentHeader.hash` with the ELA target.
    public func check(auxBlockHash: Hash256, chainID: UInt32) throws(AuxPowError) {
        let txid = SHA256d.value(coinbaseTx)
        let parentRoot = AuxPow.merkleRoot(leaf: txid, branch: coinbaseBranch, index: coinbaseIndex)
        guard parentRoot == UInt256(parentHeader.merkleRoot) else {
            throw AuxPowError(
                .coinbaseMerkleRoot,
                "coinbase \(Hash256(txid).displayHex) with branch of \(coinbaseBranch.count) at index "
                    + "\(coinbaseIndex) does not give parent Merkle root \(parentHeader.merkleRoot.displayHex)"
            )
        }
        let height = auxBranch.count
        guard height <= AuxPow.maxAuxBranchLength else {
            throw AuxPowError(
                .auxBranchTooLong, "aux branch has \(height) hashes, at most \(AuxPow.maxAuxBranchLength) allowed")
        }
        // ELA folds the byte-reversed block hash and searches the script for the reversed root.
        let auxRoot = AuxPow.merkleRoot(leaf: UInt256(auxBlockHash).byteSwapped, branch: auxBranch, index: auxIndex)
        let rootBytes = auxRoot.byteSwapped.littleEndianBytes
        guard let script = coinbaseScript else {
            throw AuxPowError(.noCoinbaseInput, "the parent coinbase transaction has no input")
        }
        guard let markerAt = AuxPow.firstIndex(of: AuxPow.mergedMiningMarker, in: script, from: 0) else {
            throw AuxPowError(.markerMissing, "coinbase script has no merged-mining marker fabe6d6d")
        }
        guard let rootAt = AuxPow.firstIndex(of: rootBytes, in: script, from: 0) else {
            throw AuxPowError(
                .auxRootMissing,
                "coinbase script does not contain the merged-mining root for block \(auxBlockHash.rawHex)")
        }
        guard AuxPow.firstIndex(of: AuxPow.mergedMiningMarker, in: script, from: markerAt + 1) == nil else {
            throw AuxPowError(.markerRepeated, "merged-mining marker occurs more than once in the coinbase script")
        }
        guard rootAt == markerAt + AuxPow.mergedMiningMarker.count else {
            throw AuxPowError(
                .auxRootMisplaced,
                "merged-mining root at script byte \(rootAt), expected right after the marker at \(markerAt)")
        }
        let slot = rootAt + 32
        guard script.count - slot >= 8 else {
            throw AuxPowError(
                .sizeAndNonceMissing, "only \(script.count - slot) bytes follow the merged-mining root, 8 needed")
        }
        let size = AuxPow.readUInt32LE(script, at: slot)
        let nonce = AuxPow.readUInt32LE(script, at: slot + 4)
        let expectedSize = UInt32(1) << UInt32(height)
        guard size == expectedSize else {
            throw AuxPowError(
                .merkleSizeMismatch, "merkle size slot is \(size), expected \(expectedSize) for a branch of \(height)")
        }
        let expectedIndex = AuxPow.expectedIndex(nonce: nonce, chainID: chainID, height: height)
        guard auxIndex == expectedIndex else {
            throw AuxPowError(
                .chainIndexMismatch,
                "aux index \(auxIndex), expected \(expectedIndex) for chain ID \(chainID) and nonce \(nonce)")
        }
    }

    /// `GetExpectedIndex`: the aux-tree slot a chain may use, from the nonce and chain ID (uint32 arithmetic).
    public static func expectedIndex(nonce: UInt32, chainID: UInt32, height: Int) -> UInt32 {
        var rand = nonce
        rand = rand &* 1_103_515_245 &+ 12345
        rand = rand &+ chainID
        rand = rand &* 1_103_515_245 &+ 12345
        guard height < 32 else { return rand }
        return rand % (UInt32(1) << UInt32(height))
    }

    /// `GetMerkleRoot`: folds `leaf` with `branch`; bit i of `index` set means the branch hash goes left.
    static func merkleRoot(leaf: UInt256, branch: [Hash256], index: UInt32) -> UInt256 {
        var h = leaf
        var i = index
        for sibling in branch {
            let s = UInt256(sibling)
            h = (i & 1) == 1 ? SHA256d.pair(s, h) : SHA256d.pair(h, s)
            i >>= 1
        }
        return h
    }

    static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else {
            return nil
        }
        var i = start
        while i <= haystack.count - needle.count {
            var j = 0
            while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
            if j == needle.count { return i }
            i += 1
        }
        return nil
    }

    static func readUInt32LE(_ bytes: [UInt8], at i: Int) -> UInt32 {
        UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
    }
}

extension UInt256 {
    /// The number with its 32 bytes in reverse order (raw hash order <-> display order).
    public var byteSwapped: UInt256 {
        UInt256(w0: w3.byteSwapped, w1: w2.byteSwapped, w2: w1.byteSwapped, w3: w0.byteSwapped)
    }
}
