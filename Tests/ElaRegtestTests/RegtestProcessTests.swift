#if canImport(Glibc)
    import Glibc
#endif
import ElaChain
import ElaJSON
import ElaP2P
import ElaTestSupport
import ElaWire
import Testing

/// The real `ela-regtest` executable as a child process, driven by its own client subcommands and a raw P2P peer.
@Suite(.ownThread, .serialized) struct RegtestProcessTests {
    let executable = ChildProcess.product("ela-regtest")

    struct RunningNode: @unchecked Sendable {
        let process: ChildProcess
        let port: Int
        let readyLine: String
    }

    func start(_ dataDir: String, _ outputDir: String) async throws -> RunningNode {
        let executable = self.executable
        let process = try ChildProcess(executable, ["run", "--data-dir", dataDir, "--p2p-port", "0"], outputDirectory: outputDir)
        let ready = try await blocking { ChildProcess.waitUntil(timeoutSeconds: 30) { process.stdout.contains("ela-regtest ready") } }
        try #require(ready, "node did not become ready: \(process.stderr)")
        let line = try #require(process.stdout.split(separator: "\n").first.map(String.init))
        let portText = try #require(TestData.readString(dataDir + "/p2p.port"))
        let port = try #require(Int(portText.filter { !$0.isWhitespace }))
        return RunningNode(process: process, port: port, readyLine: line)
    }

    func cli(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let executable = self.executable
        return try await blocking { try ChildProcess.run(executable, arguments) }
    }

    @Test func theExecutableMinesServesPeersAndKeepsItsChainAcrossRestarts() async throws {
        let dir = TemporaryDirectory(prefix: "ela-regtest-proc")
        defer { dir.remove() }
        let data = dir.path + "/data"
        let socket = ["--control-socket", data + "/control.sock"]

        let first = try await start(data, dir.path)
        #expect(first.readyLine == "ela-regtest ready: p2p 127.0.0.1:\(first.port), control \(data)/control.sock, height 0")

        let mined = try await cli(["mine", "3"] + socket)
        #expect(mined.status == 0, "\(mined.stderr)")
        let hashes = mined.stdout.split(separator: "\n").compactMap { Hash256(displayHex: String($0)) }
        #expect(hashes.count == 3)

        let requestFile = TestData.path("elastos-did/derived/user4.didrequest.create.json")
        let submitted = try await cli(["submit", requestFile, "--data-dir", data])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let txid = submitted.stdout.filter { !$0.isWhitespace }
        #expect(Hash256(displayHex: txid) != nil)
        #expect(try await cli(["mine"] + socket).status == 0)

        let status = try await cli(["status", "--json"] + socket)
        #expect(status.status == 0)
        let json = try JSONParser.parse(status.stdout)
        #expect(json["height"] == 4)
        #expect(json["mempool"] == 0)
        let tip = try #require(json["tip"]?.stringValue.flatMap { Hash256(displayHex: $0) })
        #expect(try await cli(["status"] + socket).stdout.contains("height: 4"))

        // Mistakes: a clear message and a failing exit status.
        let zero = try await cli(["mine", "0"] + socket)
        #expect(zero.status != 0 && zero.stderr.contains("between 1 and"))
        let notRequest = dir.write("doc.json", #"{"id": "did:elastos:x", "expires": "2030-01-01T00:00:00Z"}"#)
        let badSubmit = try await cli(["submit", notRequest] + socket)
        #expect(badSubmit.status != 0 && badSubmit.stderr.contains("ID-chain request"))
        #expect(try await cli(["status"]).status != 0)

        // A raw peer sees the four blocks and the plain block carrying the DID transaction.
        let port = first.port
        try await withTimeout {
            try await TestPeer.with(port: port) { peer in
                let version = try await peer.handshake()
                #expect(version.height == 4)
                try await peer.send(.getblocks(locator: [ChainParameters.elaRegnet.genesisHash], stop: .zero))
                guard case .inv(let items) = try await peer.expectMessage() else {
                    Issue.record("expected an inv")
                    return
                }
                #expect(items.map(\.hash) == hashes + [tip])
                try await peer.send(.getdata([InventoryVector(.block, tip)]))
                guard case .other("block", let raw) = try await peer.expectMessage() else {
                    Issue.record("expected a block")
                    return
                }
                #expect(try ChainBlock(bytes: raw).txids.map(\.displayHex).last == txid)
            }
        }

        // SIGTERM: a clean exit; the control socket is removed.
        first.process.signal(SIGTERM)
        let process = first.process
        #expect(try await blocking { try process.wait(timeoutSeconds: 30) } == 0)
        #expect(!fileExists(data + "/control.sock"))

        // A restart resumes at the same tip; a competing longer branch then reorganizes it.
        let second = try await start(data, dir.path)
        #expect(second.readyLine.hasSuffix("height 4"))
        let forked = try await cli(["fork", "--from-height", "2", "--count", "3"] + socket)
        #expect(forked.status == 0, "\(forked.stderr)")
        let branch = forked.stdout.split(separator: "\n").map(String.init)
        #expect(branch.count == 3)
        let after = try JSONParser.parse(try await cli(["status", "--json"] + socket).stdout)
        #expect(after["height"] == 5)
        #expect(after["tip"] == .string(branch.last ?? ""))
        #expect(after["mempool"] == 1)  // the DID transaction's block was disconnected
        second.process.signal(SIGINT)
        let secondProcess = second.process
        #expect(try await blocking { try secondProcess.wait(timeoutSeconds: 30) } == 0)
    }
}
