public import ElaChain
public import ElaWire
internal import ElaMerkle

extension RegtestChain {
    /// Most transactions (coinbase included) a mined block takes from the mempool.
    public static let maxBlockTransactions = 10_000

    /// Mines one block on the tip holding a coinbase and the oldest mempool transactions, and adds it.
    @discardableResult
    public mutating func mineBlock(now: UInt32, coinbaseNonce: UInt64) throws(RegtestError) -> BlockAddition {
        let pending = Array(mempool.prefix(Self.maxBlockTransactions - 1))
        return try mineBlock(on: tip.hash, transactions: pending, now: now, coinbaseNonce: coinbaseNonce)
    }

    /// Mines one block on `parent` (any stored block, so also a side branch) holding a coinbase and
    /// `transactions`, and adds it. The timestamp is `now`, raised to one second past the median time of the
    /// parent's last 11 blocks when the clock lags behind it.
    @discardableResult
    public mutating func mineBlock(
        on parent: Hash256, transactions: [ChainTransaction], now: UInt32, coinbaseNonce: UInt64
    ) throws(RegtestError) -> BlockAddition {
        guard let parentHeader = headers.header(for: parent) else {
            throw RegtestError(.invalidRequest, "unknown parent block \(parent.displayHex)")
        }
        let txs = [Coinbase.transaction(height: parentHeader.height + 1, nonce: coinbaseNonce)] + transactions
        let floor = medianTime(endingAt: parent).addingReportingOverflow(1)
        let timestamp = floor.overflow ? now : max(now, floor.partialValue)
        let header = ELAHeader.mineRegnet(
            on: parentHeader, merkleRoot: MerkleTree.root(of: txs.map(\.txid)), timestamp: timestamp,
            parameters: parameters)
        return try add(ChainBlock(header: header, transactions: txs), now: now)
    }

    /// Median timestamp of the block `hash` and up to 10 of its ancestors (the median-time-past rule).
    public func medianTime(endingAt hash: Hash256) -> UInt32 {
        var times: [UInt32] = []
        var current = headers.header(for: hash)
        while let header = current, times.count < parameters.medianTimeSpan {
            times.append(header.timestamp)
            current = header.height == 0 ? nil : headers.header(for: header.previousHash)
        }
        guard !times.isEmpty else { return 0 }
        return times.sorted()[times.count / 2]
    }
}
