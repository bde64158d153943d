import ElaStorage
import ElaTestSupport
import Testing

@Suite(.ownThread) struct HeaderStoreTests {
    func header(_ n: UInt8, prev: UInt8, height: Int64, main: Bool = true) -> StoredHeader {
        StoredHeader(
            hash: [UInt8](repeating: n, count: 32), previousHash: [UInt8](repeating: prev, count: 32), height: height,
            chainWork: [UInt8](repeating: 0, count: 31) + [n], raw: [n, n, n], onMainChain: main)
    }

    @Test func savesLoadsAndReorganizes() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/agent.db"
        do {
            let store = try AgentStore(path: path)
            try store.saveHeaders([header(1, prev: 0, height: 0), header(2, prev: 1, height: 1), header(3, prev: 2, height: 2)], chain: "ela")
            try store.saveHeaders([header(2, prev: 1, height: 1)], chain: "ela")  // duplicates are ignored
            try store.saveHeaders([header(9, prev: 2, height: 2, main: false), header(10, prev: 9, height: 3, main: false)], chain: "ela")
            try store.setMainChain(disconnected: [[UInt8](repeating: 3, count: 32)], connected: [[UInt8](repeating: 9, count: 32), [UInt8](repeating: 10, count: 32)], chain: "ela")
            try store.saveHeaders([header(1, prev: 0, height: 0)], chain: "bitcoin")
            store.close()
        }
        let store = try AgentStore(path: path)
        #expect(try store.headerCount(chain: "ela") == 5)
        #expect(try store.headerCount(chain: "bitcoin") == 1)
        let all = try store.loadHeaders(chain: "ela")
        #expect(all.map(\.height) == [0, 1, 2, 2, 3])
        #expect(all[2].hash.first == 9 && all[2].onMainChain)  // main chain first at equal height
        #expect(all[3].hash.first == 3 && !all[3].onMainChain)
        #expect(try store.mainChainTip(chain: "ela")?.hash.first == 10)
        #expect(all.last?.raw == [10, 10, 10])
    }
}
