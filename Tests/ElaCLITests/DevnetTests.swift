#if canImport(Glibc)
import Glibc
#endif
import ElaTestSupport
import Testing

/// The devnet end to end with real processes: ela-regtest, ela-agent syncing from it over P2P, elactl.
@Suite(.ownThread, .serialized) struct DevnetTests {
    let agentPath = ChildProcess.product("ela-agent")
    let elactl = ChildProcess.product("elactl")

    func poll(_ timeout: Double = 30, _ check: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<Int(timeout * 10) {
            if try check() { return true }
            usleep(100_000)
        }
        return try check()
    }

    @Test func publishMineVerifyAndLoseItInAReorg() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let node = try RegtestProcess(in: dir)
        defer { node.stop() }
        let port = node.port

        let config = dir.write("agent.toml", "[spv]\nnetwork = \"regnet\"\npeers = [\"127.0.0.1:\(port)\"]\nconfirmations = 3\n")
        let socket = dir.path + "/run/control.sock"
        let agent = try ChildProcess(
            agentPath, ["--config", config, "--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run"],
            outputDirectory: dir.path)
        defer {
            agent.signal(SIGTERM)
            _ = try? agent.wait()
        }
        try #require(poll { agent.stdout.contains("ela-agent ready") }, "\(agent.stderr)")
        let did = try #require(agent.stdout.split(separator: " ").first { $0.hasPrefix("did:elastos:") }.map(String.init))
        #expect(try poll { try ChildProcess.run(elactl, ["spv", "status", "--json", "--socket", socket]).stdout.contains("\"phase\": \"synced\"") })

        let publish = try ChildProcess.run(elactl, ["did", "publish", "--socket", socket])
        #expect(publish.status == 0, "\(publish.stderr)")
        #expect(publish.stdout.hasPrefix("sent create of \(did)"))
        #expect(try poll(10) { try node.control(["status", "--json"]).stdout.contains("\"mempool\": 1") })

        // One block: anchored but not yet deep enough.
        try node.control(["mine", "1"])
        #expect(try poll { try ChildProcess.run(elactl, ["peer", "verify", did, "--socket", socket]).stdout.contains("pending") })
        try node.control(["mine", "2"])
        #expect(try poll { try ChildProcess.run(elactl, ["peer", "verify", did, "--socket", socket]).status == 0 })
        let verified = try ChildProcess.run(elactl, ["peer", "verify", did, "--socket", socket, "--json"])
        #expect(verified.stdout.contains("\"status\": \"verified\""))
        #expect(verified.stdout.contains("\"confirmations\": 3"))

        let list = try ChildProcess.run(elactl, ["peer", "list", "--socket", socket])
        #expect(list.status == 0)
        #expect(list.stdout.contains("\(did)  verified  3 confirmation(s)"))

        // A stranger's DID is not on the chain.
        let stranger = try ChildProcess.run(elactl, ["peer", "verify", "did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y", "--socket", socket])
        #expect(stranger.status == 1)
        #expect(stranger.stdout.contains("not-found"))

        // A longer branch from genesis without the request: the agent reorganizes and the DID is no longer verified.
        let fork = try node.control(["fork", "--from-height", "0", "--count", "6"])
        #expect(fork.status == 0, "\(fork.stderr)")
        #expect(try poll { try ChildProcess.run(elactl, ["spv", "status", "--json", "--socket", socket]).stdout.contains("\"height\": 6") })
        let after = try ChildProcess.run(elactl, ["peer", "verify", did, "--socket", socket])
        #expect(after.status == 1)
        #expect(after.stdout.contains("not-found"))
    }
}
