#if canImport(Glibc)
import Glibc
#endif
import ElaChain
import ElaRegtest
import ElaSPV
import ElaStorage
import Logging
import ServiceLifecycle

/// Sync time of the agent's SPV client from an in-process `ela-regtest` node over loopback TCP, next to validating
/// the same headers in memory (HeaderChain alone) in the same run.
func benchSync(blocks: Int) async throws {
    let dir = "/tmp/ela-bench-sync-\(getpid())"
    mkdir(dir, 0o700)
    defer { _ = system("rm -rf '\(dir)'") }
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let clockStart = UInt32(time(nil))
    let node = try RegtestNode(
        store: try BlockStore(path: dir + "/chain.db"), clock: { clockStart }, logger: logger)
    var mined = 0
    while mined < blocks {
        let n = min(RegtestNode.maxBlocksPerCall, blocks - mined)
        _ = try await node.mine(count: n)
        mined += n
    }
    let server = try await P2PServer.bind(host: "127.0.0.1", port: 0, node: node, logger: logger)
    let store = try AgentStore(path: dir + "/agent.db")
    let spv = SPVService(
        chain: try SPVChain(parameters: .elaRegnet, store: store), peers: [PeerAddress(host: "127.0.0.1", port: server.port)],
        logger: logger)

    let start = now()
    let synced: Double = try await withThrowingTaskGroup(of: Double?.self) { group in
        group.addTask { try await server.run(); return nil }
        group.addTask { try await spv.run(); return nil }
        group.addTask {
            while spv.status().height < UInt32(blocks) {
                try await Task.sleep(for: .milliseconds(5))
                if now() - start > 600 { throw BenchFailure(description: "sync did not finish in 10 minutes") }
            }
            return now() - start
        }
        var result: Double = 0
        while let r = try await group.next() {
            if let r {
                result = r
                group.cancelAll()
            }
        }
        return result
    }

    // Baseline: the same headers through HeaderChain in memory (no network, no storage).
    let snapshot = await node.chainSnapshot
    var headers: [ELAHeader] = []
    for h in 1...UInt32(blocks) { if let header = snapshot.headers.header(atHeight: h) { headers.append(header) } }
    let genesis = try ELAHeader(bytes: ChainParameters.elaRegnet.genesisHeader, withAuxPow: false)
    let t0 = now()
    var chain = HeaderChain(parameters: .elaRegnet, anchor: genesis, anchorHeight: 0, anchorChainWork: ProofOfWork.work(bits: genesis.bits))
    for h in headers { _ = try chain.add(h, now: UInt32.max - 86_400) }
    let inMemory = now() - t0
    print("SPV sync of \(blocks) blocks from ela-regtest over loopback: \(fmt(synced)) s (\(fmt(Double(blocks) / synced)) blocks/s) | same headers validated in memory: \(fmt(inMemory)) s | ratio \(fmt(inMemory / synced))")
    store.close()
}
