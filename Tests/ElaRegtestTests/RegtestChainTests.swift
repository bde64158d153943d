import ElaChain
import ElaMerkle
import ElaRegtest
import ElaWire
import ElaTestSupport
import Testing

@Suite(.ownThread) struct RegtestChainTests {
    let t0: UInt32 = 1_700_000_000

    @Test func minesLinkedRegnetBlocksWithAMatchingMerkleRoot() throws {
        var chain = try RegtestChain()
        var hashes: [Hash256] = []
        for i in 0..<5 { hashes.append(try chain.mineBlock(now: t0 + UInt32(i), coinbaseNonce: UInt64(i)).hash) }
        #expect(chain.tip.height == 5)
        #expect(chain.tip.hash == hashes.last)
        for (i, hash) in hashes.enumerated() {
            let block = try #require(chain.block(hash))
            #expect(block.header.height == UInt32(i + 1))
            #expect(block.header.bits == ChainParameters.elaRegnet.powLimitBits)
            #expect(block.header.previousHash == (i == 0 ? chain.genesisHash : hashes[i - 1]))
            #expect(block.header.merkleRoot == MerkleTree.root(of: block.txids))
            #expect(block.transactions.count == 1 && block.transactions[0].kind == .coinbase)
            // The wire form round-trips.
            #expect(try ChainBlock(bytes: block.serialized) == block)
        }
    }

    @Test func timestampsClimbPastTheMedianWhenTheClockStandsStill() throws {
        var chain = try RegtestChain()
        for _ in 0..<30 { try chain.mineBlock(now: t0, coinbaseNonce: .random(in: 0 ... .max)) }
        #expect(chain.tip.height == 30)
        let last = try #require(chain.block(chain.tip.hash))
        #expect(last.header.timestamp > t0)
        #expect(last.header.timestamp < t0 + 10)
    }

    @Test func mempoolTransactionsGoIntoTheNextBlock() throws {
        var chain = try RegtestChain()
        let tx = ChainTransaction(kind: .registerDID, payload: Array("{}".utf8), programHash: [0x67] + Array(repeating: 1, count: 20), nonce: 9)
        #expect(chain.addToMempool(tx).isNew)
        #expect(!chain.addToMempool(tx).isNew)
        #expect(chain.mempoolTransaction(tx.txid) == tx)
        let added = try chain.mineBlock(now: t0, coinbaseNonce: 1)
        #expect(added.block.transactions.map(\.txid) == [added.block.transactions[0].txid, tx.txid])
        #expect(chain.mempool.isEmpty)
        #expect(chain.confirmedTransaction(tx.txid)?.height == 1)
    }

    @Test func aLongerBranchReorganizesAndReturnsOrphanedTransactionsToTheMempool() throws {
        var chain = try RegtestChain()
        try chain.mineBlock(now: t0, coinbaseNonce: 1)
        let fork = chain.tip.hash
        let tx = ChainTransaction(kind: .registerDID, payload: [1, 2, 3], programHash: [0x67] + Array(repeating: 2, count: 20), nonce: 1)
        chain.addToMempool(tx)
        try chain.mineBlock(now: t0, coinbaseNonce: 2)
        try chain.mineBlock(now: t0, coinbaseNonce: 3)
        let oldTip = chain.tip
        // Two blocks on height 1: equal work, stays a side branch.
        let b2 = try chain.mineBlock(on: fork, transactions: [], now: t0, coinbaseNonce: 4)
        let b3 = try chain.mineBlock(on: b2.hash, transactions: [], now: t0, coinbaseNonce: 5)
        #expect(b3.result == .sideBranch)
        #expect(chain.tip == oldTip)
        let b4 = try chain.mineBlock(on: b3.hash, transactions: [], now: t0, coinbaseNonce: 6)
        guard case .reorganized(let gone, let connected) = b4.result else {
            Issue.record("expected a reorganization, got \(b4.result)")
            return
        }
        #expect(gone.count == 2 && gone.first == oldTip.hash)
        #expect(connected == [b2.hash, b3.hash, b4.hash])
        #expect(chain.tip.hash == b4.hash && chain.tip.height == 4)
        #expect(chain.mempool == [tx])
        #expect(chain.mainChainHashes(after: [oldTip.hash, fork], stop: .zero, limit: 500) == [b2.hash, b3.hash, b4.hash])
    }

    @Test func getblocksAnswersFollowTheLocatorStopAndLimit() throws {
        var chain = try RegtestChain()
        var hashes: [Hash256] = []
        for i in 0..<10 { hashes.append(try chain.mineBlock(now: t0, coinbaseNonce: UInt64(i)).hash) }
        #expect(chain.mainChainHashes(after: [], stop: .zero, limit: 500) == hashes)
        #expect(chain.mainChainHashes(after: [Hash256.sha256d([1]), hashes[3]], stop: .zero, limit: 500) == Array(hashes[4...]))
        #expect(chain.mainChainHashes(after: [hashes[3]], stop: hashes[5], limit: 500) == [hashes[4], hashes[5]])
        #expect(chain.mainChainHashes(after: [chain.genesisHash], stop: .zero, limit: 3) == Array(hashes[0..<3]))
        #expect(chain.mainChainHashes(after: [hashes[9]], stop: .zero, limit: 500).isEmpty)
    }

    @Test func blocksThatBreakTheRulesAreRefused() throws {
        var chain = try RegtestChain()
        try chain.mineBlock(now: t0, coinbaseNonce: 1)
        let good = try #require(chain.block(chain.tip.hash))

        var other = try RegtestChain()
        // Unknown parent.
        var orphan = good
        orphan.header = ELAHeader.mineRegnet(on: good.header, merkleRoot: good.header.merkleRoot, timestamp: t0 + 1)
        #expect(throws: RegtestError.self) { try other.add(orphan, now: t0) }
        // Transactions that do not match the Merkle root.
        var tampered = good
        tampered.transactions[0].nonce &+= 1
        #expect(throws: RegtestError.self) { try other.add(tampered, now: t0) }
        // No coinbase.
        var noCoinbase = good
        noCoinbase.transactions = [ChainTransaction(kind: .registerDID, payload: [], programHash: [], nonce: 0)]
        noCoinbase.header = ELAHeader.mineRegnet(
            on: ChainParameters.elaRegnet.elaGenesis!, merkleRoot: MerkleTree.root(of: noCoinbase.txids), timestamp: t0)
        let error = try #require(throws: RegtestError.self) { try other.add(noCoinbase, now: t0) }
        #expect(error.description.contains("coinbase"))
        #expect(other.tip.height == 0)
        // The genuine block is accepted.
        #expect(try other.add(good, now: t0).result == .extendedTip)
    }

    @Test func bloomMatchingUsesTxidProgramHashAndType() {
        let program: [UInt8] = [0x67] + Array(repeating: 7, count: 20)
        let tx = ChainTransaction(kind: .registerDID, payload: [9], programHash: program, nonce: 3)
        let coinbase = ChainTransaction(kind: .coinbase, payload: [1, 0, 0, 0], programHash: [], nonce: 3)
        #expect(filter(matching: program).matches(tx))
        #expect(!filter(matching: program).matches(coinbase))
        #expect(filter(matching: tx.txid.rawBytes).matches(tx))
        var byType = filter(matching: [0xFF])
        byType.txTypes = [ChainTransaction.Kind.registerDID.rawValue]
        #expect(byType.matches(tx) && !byType.matches(coinbase))
    }
}
