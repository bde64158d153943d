internal import ElaWire
public import ElaChain
public import ElaMerkle
public import ElaP2P

extension BloomFilter {
    /// ELA-style matching for the regtest transaction format: the txid, the 21-byte program hash, or the
    /// transaction type listed in `txTypes`. (An empty bit array matches everything, as in Core.)
    public func matches(_ tx: ChainTransaction) -> Bool {
        txTypes.contains(tx.kind.rawValue) || contains(tx.txid.rawBytes) || contains(tx.programHash)
    }
}

extension ChainBlock {
    /// The `merkleblock` for a peer's filter (nil filter: every transaction matches) and the matched
    /// transactions, which follow it as `tx` messages.
    public func filtered(by filter: BloomFilter?) -> (message: MerkleBlockMessage, matched: [ChainTransaction]) {
        var indexes: Set<Int> = []
        var matched: [ChainTransaction] = []
        for (i, tx) in transactions.enumerated() where filter?.matches(tx) ?? true {
            indexes.insert(i)
            matched.append(tx)
        }
        let tree = PartialMerkleTree.build(txids: txids, matching: indexes)
        return (MerkleBlockMessage(header: header, tree: tree), matched)
    }
}
