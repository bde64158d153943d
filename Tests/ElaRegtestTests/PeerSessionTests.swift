import ElaChain
import ElaMerkle
import ElaP2P
import ElaRegtest
import ElaWire
import ElaTestSupport
import Testing

@Suite(.ownThread) struct PeerSessionTests {
    let version = VersionMessage(version: 20000, services: 0, timestamp: 1, port: 0, nonce: 1, height: 0, relay: false)

    func chainWithBlocks(_ n: Int) throws -> RegtestChain {
        var chain = try RegtestChain()
        for i in 0..<n { try chain.mineBlock(now: 1_700_000_000, coinbaseNonce: UInt64(i)) }
        return chain
    }

    @Test func theHandshakeComesFirst() throws {
        let chain = try chainWithBlocks(2)
        var session = PeerSession(listeningPort: 1234, nonce: 7)
        let early = session.handle(.ping(nonce: 1), chain: chain, now: 0)
        guard case .disconnect(let reason)? = early.first else {
            Issue.record("expected a disconnect, got \(early)")
            return
        }
        #expect(reason.contains("before version"))

        session = PeerSession(listeningPort: 1234, nonce: 7)
        let reply = session.handle(.version(version), chain: chain, now: 99)
        #expect(reply.count == 2)
        guard case .send(.version(let ours))? = reply.first else {
            Issue.record("expected our version, got \(reply)")
            return
        }
        #expect(ours.height == 2 && ours.port == 1234 && ours.nonce == 7 && ours.timestamp == 99)
        #expect(reply.last == .send(.verack))
        #expect(session.isHandshaken)
        #expect(session.handle(.verack, chain: chain, now: 0).isEmpty && session.receivedVerack)
        #expect(session.handle(.ping(nonce: 77), chain: chain, now: 0) == [.send(.pong(nonce: 77))])
        guard case .disconnect? = session.handle(.version(version), chain: chain, now: 0).first else {
            Issue.record("a second version must end the session")
            return
        }
    }

    @Test func malformedPayloadsEndTheSession() throws {
        var session = PeerSession(listeningPort: 1, nonce: 1)
        let actions = session.handle(MessageFrame(command: "version", payload: [1, 2, 3]), chain: try chainWithBlocks(0), now: 0)
        guard case .disconnect(let reason)? = actions.first else {
            Issue.record("expected a disconnect, got \(actions)")
            return
        }
        #expect(reason.contains("malformed version"))
    }

    @Test func servesBlocksTransactionsAndNotfound() throws {
        var chain = try chainWithBlocks(3)
        let tx = ChainTransaction(kind: .registerDID, payload: [1], programHash: [0x67] + Array(repeating: 3, count: 20), nonce: 1)
        chain.addToMempool(tx)
        var session = PeerSession(listeningPort: 1, nonce: 1)
        _ = session.handle(.version(version), chain: chain, now: 0)

        let inv = session.handle(.getblocks(locator: [chain.genesisHash], stop: .zero), chain: chain, now: 0)
        let hashes = chain.mainChainHashes(after: [], stop: .zero, limit: 500)
        #expect(inv == [.send(.inv(hashes.map { InventoryVector(.block, $0) }))])
        #expect(session.announcement(of: hashes[2]) == [.send(.inv([InventoryVector(.block, hashes[2])]))])

        let unknown = Hash256.sha256d([0xAB])
        let answer = session.handle(
            .getdata([InventoryVector(.block, hashes[0]), InventoryVector(.transaction, tx.txid), InventoryVector(.block, unknown)]),
            chain: chain, now: 0)
        #expect(answer.count == 3)
        guard case .send(.other("block", let raw))? = answer.first else {
            Issue.record("expected a block, got \(answer)")
            return
        }
        #expect(try ChainBlock(bytes: raw).header.hash == hashes[0])
        #expect(answer[1] == .send(.tx(tx.serialized)))
        #expect(answer[2] == .send(.notfound([InventoryVector(.block, unknown)])))
        #expect(session.handle(.mempool, chain: chain, now: 0) == [.send(.inv([InventoryVector(.transaction, tx.txid)]))])

        // With a filter, inventory switches to filtered blocks and only matching transactions follow.
        _ = session.handle(.filterload(filter(matching: [0x01, 0x02])), chain: chain, now: 0)
        #expect(session.announcement(of: hashes[2]) == [.send(.inv([InventoryVector(.filteredBlock, hashes[2])]))])
        let filtered = session.handle(.getdata([InventoryVector(.filteredBlock, hashes[1])]), chain: chain, now: 0)
        guard filtered.count == 1, case .send(.merkleblock(let mb))? = filtered.first else {
            Issue.record("expected one merkleblock, got \(filtered)")
            return
        }
        #expect(try mb.tree.extractMatches(expectedRoot: mb.header.merkleRoot).isEmpty)
        #expect(session.handle(.mempool, chain: chain, now: 0).isEmpty)
        _ = session.handle(.filterclear, chain: chain, now: 0)
        #expect(session.filter == nil)
    }
}
