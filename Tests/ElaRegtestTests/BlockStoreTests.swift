import ElaChain
import ElaRegtest
import ElaTestSupport
import ElaWire
import Testing

/// The chain survives a restart: a real SQLite file in a temporary directory, closed and reopened.
@Suite(.ownThread) struct BlockStoreTests {
    @Test func aRestartedNodeHasTheSameChainBranchesAndMempool() async throws {
        let dir = TemporaryDirectory(prefix: "ela-regtest-store")
        defer { dir.remove() }
        let path = dir.path + "/" + BlockStore.fileName
        let start: UInt32 = 1_700_000_000
        let (tip, mempool, blockCount, sideTip): (ChainTip, [ChainTransaction], Int, Hash256)
        do {
            let store = try BlockStore(path: path)
            let node = try RegtestNode(store: store, clock: { start }, logger: quietLogger)
            _ = try await node.mine(count: 5)
            let side = try await node.fork(fromHeight: 3, count: 1)  // equal work: a side branch
            _ = try await node.fork(fromHeight: 1, count: 5)  // more work: reorganizes
            _ = try await node.mine(count: 2)
            _ = try await node.submit(request: try user4CreateRequest())
            let snapshot = await node.chainSnapshot
            (tip, mempool, blockCount, sideTip) = (snapshot.tip, snapshot.mempool, snapshot.blockCount, side[0])
            #expect(tip.height == 8 && blockCount == 13 && mempool.count == 1)
            store.close()
        }
        let store = try BlockStore(path: path)
        defer { store.close() }
        let (rows, storedMempool) = try store.load()
        #expect(rows.count == blockCount)
        #expect(storedMempool == mempool)

        let node = try RegtestNode(store: store, clock: { start + 60 }, logger: quietLogger)
        let chain = await node.chainSnapshot
        #expect(chain.tip == tip)
        #expect(chain.mempool == mempool)
        #expect(chain.blockCount == blockCount)
        #expect(chain.block(sideTip) != nil && !chain.isOnMainChain(sideTip))
        for (block, main) in rows { #expect(chain.isOnMainChain(block.header.hash) == main) }

        // And it keeps going from there; the mempool goes into the next block.
        let next = try await node.mine(count: 1)
        #expect(await node.tip.height == 9)
        #expect(await node.chainSnapshot.block(next[0])?.transactions.count == 2)
    }

    @Test func aSecondNodeOnTheSameDataDirectoryIsRefused() async throws {
        let running = try await InProcessNode.start()
        do {
            let options = RegtestOptions(dataDirectory: running.directory.path + "/data", p2pPort: 0)
            await #expect(throws: RegtestError.self) { _ = try await RegtestDaemon.start(options, logger: quietLogger) }
            do {
                _ = try await RegtestDaemon.start(options, logger: quietLogger)
            } catch {
                #expect(error.description.contains("another ela-regtest"))
            }
        }
        try await running.stop(removeDirectory: false)
        // Once the first node stopped, the directory is free again.
        let again = try await InProcessNode.start(in: running.directory)
        #expect(await again.node.tip.height == 0)
        try await again.stop()
    }

    @Test func aCorruptStoreIsRefusedWithTheFileNamed() throws {
        let dir = TemporaryDirectory(prefix: "ela-regtest-store")
        defer { dir.remove() }
        let path = dir.write(BlockStore.fileName, "this is not a database, just text that is long enough to look like a header....")
        let error = try #require(throws: RegtestError.self) { try BlockStore(path: path) }
        #expect(error.kind == .storage)
        #expect(error.description.contains(path))
    }
}
