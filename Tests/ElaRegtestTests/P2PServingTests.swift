import ElaChain
import ElaCrypto
import ElaIdentity
import ElaJSON
import ElaMerkle
import ElaP2P
import ElaRegtest
import ElaWire
import ElaTestSupport
import Testing

/// A real node on 127.0.0.1 (ephemeral port) and raw TCP peers speaking the ELA P2P protocol.
@Suite(.ownThread, .serialized) struct P2PServingTests {
    @Test func anSPVPeerGetsTheDIDTransactionProvenInAMerkleBlock() async throws {
        let running = try await InProcessNode.start()
        do {
            let request = try user4CreateRequest()
            let subject = try IDChainRequest(json: request).subjectDID()
            let program = try Base58.decodeCheck(subject.methodSpecificId)
            _ = try await running.node.mine(count: 1)
            let txid = try await running.node.submit(request: request)
            let mined = try await running.node.mine(count: 2)  // the DID transaction is in the first of these
            let blockHashes = await running.node.chainSnapshot.mainChainHashes(after: [], stop: .zero, limit: 500)
            #expect(blockHashes.count == 3 && blockHashes[1] == mined[0])
            let genesis = await running.node.chainSnapshot.genesisHash

            try await withTimeout {
                try await TestPeer.with(port: running.port) { peer in
                    let theirs = try await peer.handshake()
                    #expect(theirs.height == 3)
                    #expect(theirs.port == UInt16(running.port))
                    try await peer.send(.filterload(filter(matching: program)))
                    try await peer.send(.getblocks(locator: [genesis], stop: .zero))
                    let inv = try await peer.expectMessage()
                    #expect(inv == .inv(blockHashes.map { InventoryVector(.filteredBlock, $0) }))

                    try await peer.send(.getdata(blockHashes.map { InventoryVector(.filteredBlock, $0) }))
                    var proven: [Hash256] = []
                    for (i, hash) in blockHashes.enumerated() {
                        guard case .merkleblock(let mb) = try await peer.expectMessage() else {
                            Issue.record("expected a merkleblock for block \(i + 1)")
                            return
                        }
                        #expect(mb.header.hash == hash)
                        let matches = try mb.tree.extractMatches(expectedRoot: mb.header.merkleRoot)
                        guard i == 1 else {
                            #expect(matches.isEmpty, "block \(i + 1) should match nothing")
                            continue
                        }
                        #expect(matches.map(\.txid) == [txid])
                        #expect(matches.first?.index == 1)
                        guard case .tx(let raw) = try await peer.expectMessage() else {
                            Issue.record("expected the matched tx after the merkleblock")
                            return
                        }
                        let tx = try ChainTransaction(bytes: raw)
                        #expect(tx.txid == txid)
                        #expect(tx.kind == .registerDID)
                        #expect(tx.programHash == program)
                        #expect(tx.payload == JSONWriter.compactBytes(request))
                        proven.append(tx.txid)
                    }
                    #expect(proven == [txid])

                    // Plain blocks and ping still work on the same connection.
                    try await peer.send(.getdata([InventoryVector(.block, blockHashes[1])]))
                    guard case .other("block", let raw) = try await peer.expectMessage() else {
                        Issue.record("expected a block")
                        return
                    }
                    #expect(try ChainBlock(bytes: raw).txids.last == txid)
                    try await peer.send(.ping(nonce: 5))
                    #expect(try await peer.expectMessage() == .pong(nonce: 5))
                }
            }
        }
        try await running.stop()
    }

    @Test func messagesArrivingInOneSegmentAreAllAnswered() async throws {
        let running = try await InProcessNode.start()
        do {
            let mined = try await running.node.mine(count: 2)
            try await withTimeout {
                try await TestPeer.with(port: running.port) { peer in
                    let version = P2PMessage.version(VersionMessage(
                        version: 20000, services: 0, timestamp: 1, port: 0, nonce: 1, height: 0, relay: false))
                    let messages: [P2PMessage] = [version, .verack, .getblocks(locator: [], stop: .zero), .ping(nonce: 3)]
                    try await peer.sendRaw(messages.flatMap { $0.encoded(magic: regnetMagic) })
                    guard case .version = try await peer.expectMessage() else {
                        Issue.record("expected version")
                        return
                    }
                    #expect(try await peer.expectMessage() == .verack)
                    #expect(try await peer.expectMessage() == .inv(mined.map { InventoryVector(.block, $0) }))
                    #expect(try await peer.expectMessage() == .pong(nonce: 3))
                }
            }
        }
        try await running.stop()
    }

    @Test func aLongerForkReorganizesAndPeersFollowTheNewBranch() async throws {
        let running = try await InProcessNode.start()
        do {
            _ = try await running.call("mine", JSONObject([("count", 3)]))
            let oldChain = await running.node.chainSnapshot
            let oldLocator = oldChain.headers.locator()
            let oldTip = try await running.call("status")["tip"]

            try await withTimeout {
                try await TestPeer.with(port: running.port) { peer in
                    _ = try await peer.handshake()
                    try await peer.send(.filterload(filter(matching: [0x42])))
                    try await peer.send(.ping(nonce: 1))  // the filter is in place once the pong arrives
                    #expect(try await peer.expectMessage() == .pong(nonce: 1))

                    // An equal-work branch changes nothing.
                    let side = try await running.call("fork", JSONObject([("fromHeight", 2), ("count", 1)]))
                    #expect(side["reorganized"] == false)
                    #expect(try await running.call("status")["tip"] == oldTip)

                    let fork = try await running.call("fork", JSONObject([("fromHeight", 1), ("count", 4)]))
                    #expect(fork["reorganized"] == true)
                    #expect(fork["height"] == 5)
                    let forkHashes = try #require(fork["hashes"]?.arrayValue?.compactMap { $0.stringValue })
                        .compactMap { Hash256(displayHex: $0) }
                    #expect(forkHashes.count == 4)
                    let status = try await running.call("status")
                    #expect(status["tip"] != oldTip)
                    #expect(status["tip"] == .string(forkHashes[3].displayHex))

                    // The new tip is announced as a filtered block.
                    #expect(try await peer.expectMessage() == .inv([InventoryVector(.filteredBlock, forkHashes[3])]))
                    // A getblocks with the old chain's locator is answered from the fork point on the new branch.
                    try await peer.send(.getblocks(locator: oldLocator, stop: .zero))
                    #expect(try await peer.expectMessage() == .inv(forkHashes.map { InventoryVector(.filteredBlock, $0) }))
                    try await peer.send(.getdata([InventoryVector(.filteredBlock, forkHashes[0])]))
                    guard case .merkleblock(let mb) = try await peer.expectMessage() else {
                        Issue.record("expected a merkleblock")
                        return
                    }
                    #expect(mb.header.previousHash == oldChain.headers.hash(atHeight: 1))
                }
            }
        }
        try await running.stop()
    }

    @Test func peersSendingGarbageOrAWrongMagicAreDroppedWhileOthersKeepWorking() async throws {
        let running = try await InProcessNode.start()
        do {
            _ = try await running.node.mine(count: 2)
            let port = running.port
            let node = running.node
            try await withTimeout {
                try await TestPeer.with(port: port) { good in
                    _ = try await good.handshake()

                    // Random bytes: not even a message header with our magic.
                    let garbage = try await TestPeer.with(port: port) { bad in
                        try await bad.sendRaw((0..<64).map { _ in UInt8.random(in: 0...255) })
                        return try await bad.isDisconnected()
                    }
                    #expect(garbage)

                    // A well-formed version for another network (mainnet magic).
                    let wrongMagic = try await TestPeer.with(port: port) { bad in
                        bad.magic = ChainParameters.elaMainnet.p2pMagic
                        try await bad.send(.ping(nonce: 1))
                        return try await bad.isDisconnected()
                    }
                    #expect(wrongMagic)

                    // Right framing, payload that does not decode.
                    let malformed = try await TestPeer.with(port: port) { bad in
                        try await bad.sendRaw(MessageFrame(command: "version", payload: [1, 2, 3]).encoded(magic: regnetMagic))
                        return try await bad.isDisconnected()
                    }
                    #expect(malformed)

                    // A frame header announcing a payload beyond the limit.
                    let huge = try await TestPeer.with(port: port) { bad in
                        var header = MessageFrame(command: "tx", payload: []).encoded(magic: regnetMagic)
                        header.replaceSubrange(16..<20, with: [0, 0, 0, 0x10])  // 256 MiB
                        try await bad.sendRaw(header)
                        return try await bad.isDisconnected()
                    }
                    #expect(huge)

                    // Skipping the handshake.
                    let rude = try await TestPeer.with(port: port) { bad in
                        try await bad.send(.getblocks(locator: [], stop: .zero))
                        return try await bad.isDisconnected()
                    }
                    #expect(rude)

                    // The handshaken peer is unaffected.
                    try await good.send(.ping(nonce: 99))
                    #expect(try await good.expectMessage() == .pong(nonce: 99))
                    try await good.send(.getblocks(locator: [], stop: .zero))
                    guard case .inv(let items) = try await good.expectMessage() else {
                        Issue.record("expected an inv")
                        return
                    }
                    #expect(items.count == 2)
                    #expect(await node.peerCount == 1)
                }
            }
        }
        try await running.stop()
    }
}
