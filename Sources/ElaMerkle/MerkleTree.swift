public import ElaWire

/// The Bitcoin/ELA transaction Merkle tree: each parent is SHA256d(left ‖ right), a level of odd width pairs
/// its last node with itself, and a single leaf is its own root (`ELA:crypto/merkletree.go`, Core
/// `ComputeMerkleRoot`).
public enum MerkleTree {
    /// The root over `txids` (raw order). An empty list gives `Hash256.zero`, as Core's `ComputeMerkleRoot` does.
    public static func root(of txids: [Hash256]) -> Hash256 {
        rootDetectingMutation(of: txids).root
    }

    /// The root and Core's `mutated` flag: true if some level has two *distinct* sibling positions holding equal
    /// hashes (CVE-2012-2459). A block whose txid list is mutated shares its root with a different (shorter) list,
    /// so a full-block validator must reject it even though the root matches.
    public static func rootDetectingMutation(of txids: [Hash256]) -> (root: Hash256, mutated: Bool) {
        guard !txids.isEmpty else { return (.zero, false) }
        var level = txids
        var mutated = false
        while level.count > 1 {
            var next: [Hash256] = []
            next.reserveCapacity((level.count + 1) / 2)
            var i = 0
            while i < level.count {
                let left = level[i]
                if i + 1 < level.count {
                    if level[i + 1] == left { mutated = true }
                    next.append(DoubleSHA256.parent(left, level[i + 1]))
                } else {
                    next.append(DoubleSHA256.parent(left, left))
                }
                i += 2
            }
            level = next
        }
        return (level[0], mutated)
    }

    /// The sibling hashes from leaf `index` up to the root (the "merkle branch" of AuxPoW and Electrum proofs).
    /// Fold them with `root(folding:branch:index:)`. An index outside `txids` gives an empty branch.
    public static func branch(for index: Int, in txids: [Hash256]) -> [Hash256] {
        guard index >= 0, index < txids.count else { return [] }
        var level = txids
        var position = index
        var result: [Hash256] = []
        while level.count > 1 {
            let sibling = position ^ 1
            result.append(sibling < level.count ? level[sibling] : level[position])
            var next: [Hash256] = []
            next.reserveCapacity((level.count + 1) / 2)
            var i = 0
            while i < level.count {
                next.append(DoubleSHA256.parent(level[i], i + 1 < level.count ? level[i + 1] : level[i]))
                i += 2
            }
            level = next
            position >>= 1
        }
        return result
    }

    /// Folds `leaf` up `branch`: at each step the low bit of `index` says whether the running hash is the right
    /// (1) or left (0) child, then `index` shifts right (ELA `auxpow.GetMerkleRoot`, Core
    /// `ComputeMerkleRootFromBranch`). Index bits beyond the branch length are ignored, as in both.
    public static func root(folding leaf: Hash256, branch: [Hash256], index: UInt32) -> Hash256 {
        var hash = leaf
        var bits = index
        for sibling in branch {
            hash = bits & 1 == 1 ? DoubleSHA256.parent(sibling, hash) : DoubleSHA256.parent(hash, sibling)
            bits >>= 1
        }
        return hash
    }
}
