public import ElaWire

extension PartialMerkleTree {
    /// Builds the tree proving the transactions at `matching` (Core's `CPartialMerkleTree(vTxid, vMatch)`, as a
    /// node serving `merkleblock`s does). Indexes outside `txids` are ignored. An empty `txids` gives an empty
    /// tree, which `extractMatches` rejects (Core asserts instead).
    public static func build(txids: [Hash256], matching: Set<Int>) -> PartialMerkleTree {
        guard !txids.isEmpty else { return PartialMerkleTree(totalTransactions: 0, hashes: [], flags: []) }
        // Every level of the full tree, and per node whether a matched leaf lies below it.
        var levels: [[Hash256]] = [txids]
        var matched: [[Bool]] = [txids.indices.map { matching.contains($0) }]
        while let below = levels.last, below.count > 1, let belowMatched = matched.last {
            var level: [Hash256] = []
            var levelMatched: [Bool] = []
            level.reserveCapacity((below.count + 1) / 2)
            levelMatched.reserveCapacity((below.count + 1) / 2)
            var i = 0
            while i < below.count {
                let hasRight = i + 1 < below.count
                level.append(DoubleSHA256.parent(below[i], hasRight ? below[i + 1] : below[i]))
                levelMatched.append(belowMatched[i] || (hasRight && belowMatched[i + 1]))
                i += 2
            }
            levels.append(level)
            matched.append(levelMatched)
        }

        var builder = Builder(levels: levels, matched: matched)
        builder.walk(height: levels.count - 1, position: 0)
        var flags = [UInt8](repeating: 0, count: (builder.bits.count + 7) / 8)
        for (i, bit) in builder.bits.enumerated() where bit {
            flags[i >> 3] |= 1 << UInt8(i & 7)
        }
        return PartialMerkleTree(
            totalTransactions: UInt32(clamping: txids.count), hashes: builder.hashes, flags: flags)
    }
}

/// The depth-first walk of Core's `TraverseAndBuild`.
private struct Builder {
    let levels: [[Hash256]]
    let matched: [[Bool]]
    var bits: [Bool] = []
    var hashes: [Hash256] = []

    mutating func walk(height: Int, position: Int) {
        let parentOfMatch = matched[height][position]
        bits.append(parentOfMatch)
        if height == 0 || !parentOfMatch {
            hashes.append(levels[height][position])
            return
        }
        walk(height: height - 1, position: position * 2)
        if position * 2 + 1 < levels[height - 1].count {
            walk(height: height - 1, position: position * 2 + 1)
        }
    }
}
