#if canImport(Glibc)
import Glibc
#endif
import ElaChain
import ElaCrypto
import ElaIdentity
import ElaSPV
import ElaStorage
import ElaTestSupport
import Logging
import Testing

/// The agent's SPV service against a real `ela-regtest` over loopback, through enough blocks that it re-anchors on
/// its own (the anchor follows the tip in `SPVService.receive`, 1,440 blocks below it on ELA parameters).
@Suite(.ownThread) struct SPVServiceReanchorTests {
    @Test func aLongSyncReanchorsAndKeepsTheDIDsAnchoredBelow() async throws {
        let dir = TemporaryDirectory(prefix: "ela-spv-reanchor")
        defer { dir.remove() }
        let regtest = try RegtestProcess(in: dir)
        defer { regtest.stop() }
        // A DID registered in block 1, then enough blocks above it for a re-anchoring (twice the depth kept).
        let now = DIDDate(secondsSince1970: Int64(time(nil)))
        let key = ElaPrivateKey.generate()
        let doc = try DIDDocument.primitive(for: key.publicKey, now: now).signed(with: key, created: now)
        let request = try IDChainRequest.make(.create, document: doc, signKey: try #require(doc.defaultKeyId), key: key)
        let submitted = try regtest.control(["submit", dir.write("request.json", request.normalizedString)])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let store = try AgentStore(path: dir.path + "/agent.db")
        defer { store.close() }
        let chain = try SPVChain(parameters: .elaRegnet, store: store)
        let keep = chain.reanchorDepth
        let blocks = 2 * Int(keep) + 150
        #expect(try regtest.control(["mine", "\(blocks)"]).status == 0)

        var logger = Logger(label: "spv-test")
        logger.logLevel = .warning
        let port = try #require(Int(regtest.port))
        let spv = SPVService(chain: chain, peers: [PeerAddress(host: "127.0.0.1", port: port)], logger: logger)
        let synced = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await spv.run()
                return false
            }
            group.addTask {
                for _ in 0..<1200 where spv.status().height < UInt32(blocks) { try await Task.sleep(for: .milliseconds(50)) }
                return spv.status().height == UInt32(blocks)
            }
            let done = try await group.next() ?? false
            group.cancelAll()
            return done
        }
        #expect(synced, "synced to \(spv.status().height) of \(blocks): \(String(describing: spv.status().lastError))")

        // The service re-anchored as it went: the store holds the headers above the anchor, not all of them.
        let reopened = try SPVChain(parameters: .elaRegnet, store: store)
        #expect(reopened.anchorHeight > 0 && reopened.anchorHeight <= UInt32(blocks) - keep, "anchor at \(reopened.anchorHeight)")
        #expect(reopened.tip.height == UInt32(blocks))
        let stored = try store.headerCount(chain: reopened.chainName)
        #expect(stored <= 2 * Int(keep) + 1 && stored < blocks, "\(stored) headers stored")
        // The DID's block is far below the anchor; the registration still counts, with every confirmation since.
        guard case .verified(let verified, _, 1, let confirmations) = try DIDRegistry.status(of: doc.subject, chain: reopened, store: store, minConfirmations: 6, now: now)
        else {
            Issue.record("the DID registered in block 1 is no longer verified after re-anchoring at \(reopened.anchorHeight)")
            return
        }
        #expect(verified == doc)
        #expect(confirmations == blocks)
    }
}
