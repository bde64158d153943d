import ElaChain
import ElaCrypto
import ElaIdentity
import ElaJSON
import ElaMerkle
import ElaP2P
import ElaSPV
import ElaSQLite
import ElaStorage
import ElaTestSupport
import ElaWire
import Testing

/// A miniature regtest chain in memory: mined regnet blocks with our transactions (what ela-regtest serves).
struct Devnet {
    var blocks: [ChainBlock] = []
    let genesis = try! ELAHeader(bytes: ChainParameters.elaRegnet.genesisHeader, withAuxPow: false)
    var time: UInt32 = 1_800_000_000

    var tipHeader: ELAHeader { blocks.last?.header ?? genesis }

    @discardableResult
    mutating func mine(_ txs: [ChainTransaction] = [], on parent: ELAHeader? = nil, tag: UInt64 = 0) -> ChainBlock {
        let p = parent ?? tipHeader
        time += 120
        let coinbase = ChainTransaction(kind: .coinbase, payload: [UInt8(truncatingIfNeeded: p.height + 1)], programHash: [], nonce: tag &+ UInt64(time))
        let all = [coinbase] + txs
        let header = ELAHeader.mineRegnet(on: p, merkleRoot: MerkleTree.root(of: all.map(\.txid)), timestamp: time)
        let block = ChainBlock(header: header, transactions: all)
        blocks.append(block)
        return block
    }

    /// What a node sends for `getdata(filteredBlock)` with a DID-request filter.
    func serve(_ block: ChainBlock) -> [P2PMessage] {
        let matched = Set(block.transactions.indices.filter { block.transactions[$0].kind == .registerDID })
        let tree = PartialMerkleTree.build(txids: block.txids, matching: matched)
        return [.merkleblock(MerkleBlockMessage(header: block.header, tree: tree))]
            + matched.sorted().map { .tx(block.transactions[$0].serialized) }
    }
}

func didRequestTransaction(_ request: IDChainRequest, did: DID) throws -> ChainTransaction {
    let program = try Base58.decodeCheck(did.methodSpecificId)
    return ChainTransaction(
        kind: .registerDID, payload: Array(request.normalizedString.utf8), programHash: program, nonce: 1)
}

@Suite(.ownThread) struct SPVSyncTests {
    let now = try! DIDDate("2026-11-25T00:00:00Z")

    func identity() throws -> (ElaPrivateKey, DIDDocument) {
        let key = ElaPrivateKey.generate()
        return (key, try DIDDocument.primitive(for: key.publicKey, now: now).signed(with: key, created: now))
    }

    /// A devnet of two blocks, the second registering a fresh DID, and that DID's document.
    func devnetRegisteringADID() throws -> (Devnet, ElaPrivateKey, DIDDocument) {
        var net = Devnet()
        let (key, doc) = try identity()
        let create = try IDChainRequest.make(.create, document: doc, signKey: try #require(doc.defaultKeyId), key: key)
        net.mine()
        net.mine([try didRequestTransaction(create, did: doc.subject)])
        return (net, key, doc)
    }

    /// A regnet chain in `store` and a session that has had version and verack from a peer at `peerHeight`.
    func handshakenSession(_ store: AgentStore, peerHeight: UInt64) throws -> (SPVChain, SPVSync) {
        var chain = try SPVChain(parameters: .elaRegnet, store: store)
        var session = SPVSync(filter: SPVSync.didRequestFilter(), nonce: 1)
        let version = VersionMessage(version: 20000, services: 0, timestamp: 1, port: 0, nonce: 2, height: peerHeight, relay: true)
        _ = try session.handle(.version(version), chain: &chain, now: 1)
        _ = try session.handle(.verack, chain: &chain, now: 1)
        return (chain, session)
    }

    /// Drives a session against the devnet until it has nothing more to ask.
    func sync(_ session: inout SPVSync, _ chain: inout SPVChain, _ net: Devnet, announce: [ChainBlock]) throws -> [SPVEvent] {
        var events: [SPVEvent] = []
        var inbox: [P2PMessage] = [.inv(announce.map { InventoryVector(.filteredBlock, $0.header.hash) })]
        while !inbox.isEmpty {
            let message = inbox.removeFirst()
            let out = try session.handle(message, chain: &chain, now: net.time + 10)
            events += out.events
            for sent in out.send {
                if case .getdata(let items) = sent {
                    for item in items {
                        if let block = net.blocks.first(where: { $0.header.hash == item.hash }) { inbox += net.serve(block) }
                    }
                }
            }
        }
        return events
    }

    @Test func handshakeThenFilterAndGetblocks() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var chain = try SPVChain(parameters: .elaRegnet, store: try AgentStore(path: dir.path + "/agent.db"))
        var session = SPVSync(filter: SPVSync.didRequestFilter(), nonce: 1)
        #expect(session.start(now: 1, height: 0).count == 1)
        var out = try session.handle(.version(VersionMessage(version: 20000, services: 0, timestamp: 1, port: 0, nonce: 2, height: 5, relay: true)), chain: &chain, now: 1)
        #expect(out.send == [.verack])
        out = try session.handle(.verack, chain: &chain, now: 1)
        #expect(out.send.count == 2)
        guard case .filterload(let f) = out.send[0], case .getblocks(let locator, _) = out.send[1] else {
            Issue.record("expected filterload + getblocks")
            return
        }
        #expect(f.txTypes == [0x0A])
        #expect(locator == [chain.tip.hash])
        #expect(session.phase == .syncing)  // the peer announced height 5, we have 0
        #expect(try session.handle(.ping(nonce: 9), chain: &chain, now: 1).send == [.pong(nonce: 9)])
        #expect(throws: SPVPeerError.self) { try session.handle(.version(VersionMessage(version: 1, services: 0, timestamp: 1, port: 0, nonce: 3, height: 0, relay: true)), chain: &chain, now: 1) }
    }

    @Test func aFloodOfAnnouncedBlocksIsAskedForAFewHundredAtATime() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var (chain, session) = try handshakenSession(try AgentStore(path: dir.path + "/agent.db"), peerHeight: 9)
        // The most an inv may carry, all unknown (made-up hashes), then the same again.
        let flood = (0..<50_000).map { i -> InventoryVector in
            var bytes = [UInt8](repeating: 0, count: 32)
            withUnsafeBytes(of: UInt32(i).littleEndian) { bytes.replaceSubrange(0..<4, with: $0) }
            return InventoryVector(.block, Hash256(rawBytes: bytes))
        }
        let first = try session.handle(.inv(flood), chain: &chain, now: 1)
        guard case .getdata(let asked)? = first.send.first else {
            Issue.record("expected getdata, got \(first.send)")
            return
        }
        #expect(asked.count == 500 && asked.map(\.hash) == flood.prefix(500).map(\.hash))
        #expect(try session.handle(.inv(flood), chain: &chain, now: 1).send.isEmpty)
        // Blocks the peer cannot serve are forgotten, and room is made for the next ones.
        _ = try session.handle(.notfound(Array(flood.prefix(500))), chain: &chain, now: 1)
        #expect(!session.isWaiting)
        let next = try session.handle(.inv(Array(flood.suffix(1000))), chain: &chain, now: 1)
        guard case .getdata(let more)? = next.send.first else {
            Issue.record("expected getdata, got \(next.send)")
            return
        }
        #expect(more.map(\.hash) == flood.suffix(1000).prefix(500).map(\.hash))
    }

    @Test func aBlockBeforeItsParentIsAskedForAgainAndItsTransactionsDoNotBanThePeer() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        var (chain, session) = try handshakenSession(store, peerHeight: 0)
        let (net, _, doc) = try devnetRegisteringADID()
        // Block 2 (with the DID transaction) arrives first: not kept, asked for again, its transaction read and dropped.
        let early = net.serve(net.blocks[1])
        #expect(early.count == 2)
        let out = try session.handle(early[0], chain: &chain, now: net.time + 10)
        guard case .getblocks? = out.send.last else {
            Issue.record("expected getblocks, got \(out.send)")
            return
        }
        #expect(try session.handle(early[1], chain: &chain, now: net.time + 10).events.isEmpty)
        #expect(chain.tip.height == 0)
        // A block not kept says nothing of the peer's height.
        #expect(session.peerHeight == 0)
        // In order, both are kept and the DID is anchored; the peer, at 0 in its version message, is known at 2.
        let events = try sync(&session, &chain, net, announce: net.blocks)
        #expect(chain.tip.height == 2)
        #expect(session.peerHeight == 2)
        #expect(events.contains { if case .anchored(let did, _, _) = $0 { return did == doc.subject.description } else { return false } })
    }

    @Test func aPublishedDIDBecomesVerifiedAfterSixConfirmations() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        var (chain, session) = try handshakenSession(store, peerHeight: 0)

        var (net, key, doc) = try devnetRegisteringADID()
        var events = try sync(&session, &chain, net, announce: net.blocks)
        #expect(events.contains { if case .anchored(let did, _, _) = $0 { return did == doc.subject.description } else { return false } })
        #expect(chain.tip.height == 2)
        guard case .pending(_, let confirmations, 6) = try DIDRegistry.status(of: doc.subject, chain: chain, store: store, minConfirmations: 6, now: now) else {
            Issue.record("expected pending")
            return
        }
        #expect(confirmations == 1)

        for _ in 0..<5 { net.mine() }
        events = try sync(&session, &chain, net, announce: Array(net.blocks.suffix(5)))
        #expect(chain.tip.height == 7)
        guard case .verified(let verified, _, 2, 6) = try DIDRegistry.status(of: doc.subject, chain: chain, store: store, minConfirmations: 6, now: now) else {
            Issue.record("expected verified at height 2 with 6 confirmations")
            return
        }
        #expect(verified == doc)

        // Restart: the chain and the anchors come back from the database.
        let reopened = try SPVChain(parameters: .elaRegnet, store: store)
        #expect(reopened.tip == chain.tip)
        guard case .verified = try DIDRegistry.status(of: doc.subject, chain: reopened, store: store, minConfirmations: 6, now: now) else {
            Issue.record("not verified after restart")
            return
        }

        // A stranger is not found; a deactivation ends the DID.
        let (_, stranger) = try identity()
        #expect(try DIDRegistry.status(of: stranger.subject, chain: chain, store: store, minConfirmations: 6, now: now) == .notFound)
        let deactivate = try IDChainRequest.deactivate(doc.subject, signKey: try #require(doc.defaultKeyId), key: key)
        net.mine([try didRequestTransaction(deactivate, did: doc.subject)])
        _ = try sync(&session, &chain, net, announce: [net.blocks.last!])
        guard case .deactivated = try DIDRegistry.status(of: doc.subject, chain: chain, store: store, minConfirmations: 1, now: now) else {
            Issue.record("expected deactivated")
            return
        }
    }

    /// A long-lived agent re-anchors: the headers below the new anchor go (memory, start-up and database stay
    /// bounded), and a DID registered down there still counts, across a restart, its confirmations still growing.
    @Test func reanchoringForgetsOldHeadersButNotTheDIDsAnchoredInThem() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        var (chain, session) = try handshakenSession(store, peerHeight: 0)
        var (net, _, doc) = try devnetRegisteringADID()
        for _ in 0..<28 { net.mine() }
        _ = try sync(&session, &chain, net, announce: net.blocks)
        #expect(chain.tip.height == 30)
        // Stored main-chain flags gone stale (a crash between a header's two writes): the re-anchoring goes by memory.
        let raw = try SQLiteConnection(path: dir.path + "/agent.db")
        try raw.execute("UPDATE chain_headers SET main = 0 WHERE height IN (2, 20, 25)")
        raw.close()
        #expect(try chain.reanchorIfDeep(keep: 16) == false, "not twice as deep yet")
        #expect(try chain.reanchorIfDeep(keep: 10))
        #expect(chain.anchorHeight == 20)
        #expect(try store.headerCount(chain: chain.chainName) == 11)
        #expect(chain.header(for: net.blocks[1].header.hash) == nil, "the DID's block header is gone")
        func confirmations(_ chain: SPVChain) throws -> Int? {
            guard case .verified(_, _, 2, let c) = try DIDRegistry.status(of: doc.subject, chain: chain, store: store, minConfirmations: 6, now: now)
            else { return nil }
            return c
        }
        #expect(try confirmations(chain) == 29)

        // Restart: anchored at 20; the chain goes on and the DID's confirmations with it.
        var reopened = try SPVChain(parameters: .elaRegnet, store: store)
        #expect(reopened.anchorHeight == 20 && reopened.tip == chain.tip)
        #expect(try confirmations(reopened) == 29)
        for _ in 0..<3 { net.mine() }
        _ = try sync(&session, &reopened, net, announce: Array(net.blocks.suffix(3)))
        #expect(reopened.tip.height == 33)
        #expect(try confirmations(reopened) == 32)
    }

    @Test func aDIDAnchoredOnlyOnTheLosingForkIsNoLongerVerified() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        var (chain, session) = try handshakenSession(store, peerHeight: 0)

        var net = Devnet()
        let (key, doc) = try identity()
        let create = try IDChainRequest.make(.create, document: doc, signKey: try #require(doc.defaultKeyId), key: key)
        let forkPoint = net.mine()
        net.mine([try didRequestTransaction(create, did: doc.subject)])
        for _ in 0..<2 { net.mine() }
        _ = try sync(&session, &chain, net, announce: net.blocks)
        guard case .verified = try DIDRegistry.status(of: doc.subject, chain: chain, store: store, minConfirmations: 2, now: now) else {
            Issue.record("expected verified before the reorg")
            return
        }
        // A competing branch from the fork point, one block longer, without the request.
        var fork: [ChainBlock] = []
        var parent = forkPoint.header
        for i in 0..<4 {
            let b = net.mine(on: parent, tag: 1000 + UInt64(i))
            fork.append(b)
            parent = b.header
        }
        let events = try sync(&session, &chain, net, announce: fork)
        #expect(events.contains { if case .reorganized = $0 { return true } else { return false } })
        #expect(chain.tip.hash == fork.last?.header.hash)
        #expect(try DIDRegistry.status(of: doc.subject, chain: chain, store: store, minConfirmations: 2, now: now) == .notFound)
    }

    /// A block ahead of our clock is most likely our clock being behind (no RTC, before NTP): the peer is left
    /// without a penalty, and the error says to check the clock.
    @Test func aBlockFromOurFutureIsAClockProblemNotThePeers() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        var (chain, session) = try handshakenSession(store, peerHeight: 1)
        var net = Devnet()
        let block = net.mine()
        let behind = block.header.timestamp - 3 * 3600
        do {
            _ = try session.handle(net.serve(block)[0], chain: &chain, now: behind)
            Issue.record("a block 3 h ahead of the clock was taken")
        } catch {
            #expect(error.penalty == 0 && error.message.contains("check the clock"), "\(error)")
        }
        #expect(chain.tip.height == 0)
    }

    @Test func peersThatLieAreDropped() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var (chain, session) = try handshakenSession(try AgentStore(path: dir.path + "/agent.db"), peerHeight: 0)
        var net = Devnet()
        let (key, doc) = try identity()
        let tx = try didRequestTransaction(try IDChainRequest.make(.create, document: doc, signKey: try #require(doc.defaultKeyId), key: key), did: doc.subject)
        let block = net.mine([tx])
        // An unproven transaction.
        #expect(throws: SPVPeerError.self) { try session.handle(.tx(tx.serialized), chain: &chain, now: net.time) }
        // A merkleblock whose tree does not hash to the header's root.
        let wrongTree = PartialMerkleTree.build(txids: [tx.txid], matching: [0])
        #expect(throws: SPVPeerError.self) {
            try session.handle(.merkleblock(MerkleBlockMessage(header: block.header, tree: wrongTree)), chain: &chain, now: net.time)
        }
        // A header that breaks proof of work.
        var bad = block.header
        bad.bits = 0x1d00_ffff
        let tree = PartialMerkleTree.build(txids: block.txids, matching: [])
        #expect(throws: SPVPeerError.self) {
            try session.handle(.merkleblock(MerkleBlockMessage(header: bad, tree: tree)), chain: &chain, now: net.time)
        }
        #expect(chain.tip.height == 0)
    }
}

@Suite(.ownThread) struct SPVCheckpointTests {
    let now = try! DIDDate("2026-11-25T00:00:00Z")

    @Test func aFreshChainStartsAtTheNewestCheckpoint() throws {
        var net = Devnet()
        for _ in 0..<10 { net.mine() }
        let key = ElaPrivateKey.generate()
        let doc = try DIDDocument.primitive(for: key.publicKey, now: now).signed(with: key, created: now)
        net.mine([try didRequestTransaction(try IDChainRequest.make(.create, document: doc, signKey: try #require(doc.defaultKeyId), key: key), did: doc.subject)])
        for _ in 0..<5 { net.mine() }
        var parameters = ChainParameters.elaRegnet
        parameters.checkpoints[8] = net.blocks[7].header.hash  // block at height 8

        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        var chain = try SPVChain(parameters: parameters, store: store, fromCheckpoint: true)
        #expect(chain.pendingCheckpoint?.height == 8)
        var session = SPVSync(filter: SPVSync.didRequestFilter(), nonce: 1)
        _ = try session.handle(.version(VersionMessage(version: 20000, services: 0, timestamp: 1, port: 0, nonce: 2, height: 16, relay: true)), chain: &chain, now: 1)
        let out = try session.handle(.verack, chain: &chain, now: 1)
        #expect(session.phase == .anchoring)
        #expect(out.send.last == .getdata([InventoryVector(.filteredBlock, net.blocks[7].header.hash)]))

        // A peer that answers with another block is dropped.
        var liar = session
        var liarChain = chain
        #expect(throws: SPVPeerError.self) { try liar.handle(net.serve(net.blocks[6])[0], chain: &liarChain, now: net.time) }

        // The real checkpoint block anchors the chain; the sync continues from there, never below it.
        let anchored = try session.handle(net.serve(net.blocks[7])[0], chain: &chain, now: net.time)
        #expect(chain.anchorHeight == 8 && chain.tip.height == 8)
        guard case .getblocks(let locator, _)? = anchored.send.last else {
            Issue.record("expected getblocks after anchoring")
            return
        }
        #expect(locator == [net.blocks[7].header.hash])
        var inbox: [P2PMessage] = [.inv(net.blocks[8...].map { InventoryVector(.filteredBlock, $0.header.hash) })]
        while !inbox.isEmpty {
            let reply = try session.handle(inbox.removeFirst(), chain: &chain, now: net.time + 10)
            for case .getdata(let items) in reply.send {
                for item in items {
                    let block = try #require(net.blocks.first { $0.header.hash == item.hash })
                    #expect(block.header.height > 8)
                    inbox += net.serve(block)
                }
            }
        }
        #expect(chain.tip.height == 16)
        guard case .verified(_, _, 11, 6) = try DIDRegistry.status(of: doc.subject, chain: chain, store: store, minConfirmations: 6, now: now) else {
            Issue.record("expected the DID at height 11 verified")
            return
        }
        // Restart: the anchor and the headers above it come back.
        let reopened = try SPVChain(parameters: parameters, store: store, fromCheckpoint: true)
        #expect(reopened.anchorHeight == 8)
        #expect(reopened.tip == chain.tip)
        #expect(reopened.pendingCheckpoint == nil)
    }
}
