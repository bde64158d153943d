#if canImport(Glibc)
import Glibc
#endif
import ElaCarrier
@testable import ElaClient
import ElaConfig
import ElaDeviceIdentity
import ElaIdentity
import ElaJSON
import ElaTestSupport
import Logging
import Synchronization
import Testing

/// The carrier as a DApp meets it: a real tox-bootstrapd on loopback, a real agent on the sim board with its
/// sandboxed ela-carrier, and DApps using ElaClient (each with its own ela-carrier child). One bootstrap node and one
/// agent for the whole suite; steps run in order (Tox links take seconds each).
extension Result {
    var failure: Failure? { if case .failure(let e) = self { e } else { nil } }
}

@Suite(.ownThread, .serialized, .enabled(if: ToxBootstrapNode.isInstalled)) struct CarrierEndToEndTests {
    let elactl = ChildProcess.product("elactl")

    struct Agent {
        let process: ChildProcess
        let socket: String
    }

    func ctl(_ socket: String, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run(elactl, args + ["--socket", socket])
    }

    func json(_ socket: String, _ args: [String]) throws -> JSONValue {
        try JSONParser.parse(try ctl(socket, args + ["--json"]).stdout)
    }

    func eventually(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
        while clock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return await condition()
    }

    func startAgent(_ dir: TemporaryDirectory, node: ToxBootstrapNode, extraConfig: String = "") async throws -> Agent {
        let config = dir.write(
            "agent.toml",
            """
            \(extraConfig)
            [plugins]
            enable = ["gpio", "sensors", "carrier"]
            \(node.agentConfig())
            """)
        let socket = dir.path + "/run/control.sock"
        let p = try ChildProcess(
            ChildProcess.product("ela-agent"),
            ["--config", config, "--board", "sim", "--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run"],
            outputDirectory: dir.path)
        try #require(await eventually(30) { p.stdout.contains("ela-agent ready") }, "\(p.stderr)")
        let up = await eventually(30) {
            let out = (try? ctl(socket, ["plugin", "list"]).stdout) ?? ""
            return ["gpio", "sensors", "carrier"].allSatisfy { out.contains("\($0) 0.1.0: running") }
        }
        try #require(up, "plugins did not start: \((try? ctl(socket, ["plugin", "list"]).stdout) ?? "") \(p.stderr)")
        return Agent(process: p, socket: socket)
    }

    func stopAgent(_ a: Agent) {
        a.process.signal(SIGTERM)
        _ = try? a.process.wait(timeoutSeconds: 15)
    }

    func client(
        _ identity: IdentityDirectory, device: CarrierAddress, node: ToxBootstrapNode, udp: Bool = true, secretKey: [UInt8]? = nil,
        transform: (@Sendable (Int, [UInt8]) -> [UInt8])? = nil, debug: Bool = false
    ) throws -> CarrierClient {
        var o = CarrierClient.Options()
        o.secretKey = secretKey
        o.helloTransform = transform
        o.carrierExecutable = ChildProcess.product("ela-carrier")
        o.network.udp = udp
        o.network.bootstrap = [.init(host: "127.0.0.1", port: node.udpPort, publicKey: node.publicKey)]
        o.network.relays = [.init(host: "127.0.0.1", port: node.tcpPort, publicKey: node.publicKey)]
        o.helloRetrySeconds = 10
        var logger = Logger(label: "dapp")
        logger.logLevel = debug ? .debug : .warning
        return try CarrierClient(did: identity.did, key: identity.key, device: device, options: o, logger: logger)
    }

    func carrierPID(_ a: Agent) throws -> Int32? {
        let list = try json(a.socket, ["plugin", "list"])
        let carrier = (list.arrayValue ?? list["plugins"]?.arrayValue ?? []).first { $0["name"] == "carrier" }
        return carrier?["pid"]?.numberValue?.int64Value.map { Int32($0) }
    }

    final class Captured: Sendable {
        private let box = Mutex<[UInt8]?>(nil)
        var value: [UInt8]? { box.withLock { $0 } }
        func set(_ v: [UInt8]) { box.withLock { if $0 == nil { $0 = v } } }
    }

    @Test func dappsReachTheDeviceThroughTheCarrier() async throws {
        let node = try ToxBootstrapNode()
        defer { node.stop() }
        let dir = TemporaryDirectory(prefix: "ela-carrier-e2e")
        defer { dir.remove() }
        var agent = try await startAgent(dir, node: node)
        defer { stopAgent(agent) }

        // The device's address: shown with a QR code, and a valid 38-byte Tox address.
        let show = try ctl(agent.socket, ["carrier", "show"])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("\u{2588}"), "QR code printed")
        let shown = try json(agent.socket, ["carrier", "show"])
        let address = try CarrierAddress(try #require(shown["address"]?.stringValue))
        #expect(shown["userId"]?.stringValue == address.userID)
        // The DID document names that address in a CarrierAddress service entry and still verifies.
        let document = try DIDDocument(json: try #require(try json(agent.socket, ["identity", "show"])["document"]))
        #expect(document.isGenuine())
        #expect(
            document.services.contains { $0.type == "CarrierAddress" && $0.endpoint == "carrier://\(address)" && $0.id.suffix == "#carrier" },
            "\(document.services)")

        // Identities: alice pinned and granted; bob pinned, no grant; carol granted, never pinned (unverified).
        var ids: [String: IdentityDirectory] = [:]
        for who in ["alice", "bob", "carol"] {
            #expect(try ChildProcess.run(elactl, ["identity", "create", "--dir", dir.path + "/" + who]).status == 0)
            ids[who] = try IdentityDirectory.load(dir.path + "/" + who)
        }
        let alice = try #require(ids["alice"]), bob = try #require(ids["bob"]), carol = try #require(ids["carol"])
        for who in ["alice", "bob"] {
            let r = try ctl(agent.socket, ["peer", "pin", dir.path + "/\(who)/document.json"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        for (who, cap) in [(alice, "gpio.*"), (alice, "sensors.subscribe"), (carol, "gpio.*")] {
            #expect(try ctl(agent.socket, ["grant", "add", who.did.description, cap]).status == 0)
        }

        // Alice: session, gpio.write seen by gpio.read, sensor events.
        let clock = ContinuousClock()
        let started = clock.now
        let a = try client(alice, device: address, node: node)
        defer { Task { await a.close() } }
        try await a.connect(timeoutSeconds: 60)
        let connectTime = clock.now - started
        let written = try await a.call("gpio.write", ["pin": "LED0", "value": 1])
        #expect(written.objectValue != nil, "\(written)")
        #expect(try await a.call("gpio.read", ["pin": "LED0"])["value"] == 1)
        #expect(try ctl(agent.socket, ["call", "gpio.read", #"{"pin":"LED0"}"#]).stdout.contains(#""value":1"#), "the write reached the board")
        let events = try await a.subscribe("sensors.reading")
        var iterator = events.makeAsyncIterator()
        let reading = await iterator.next()
        #expect(reading?.event == "sensors.reading" && reading?.params["unit"]?.stringValue != nil, "\(String(describing: reading))")
        // Ungranted method: denied by the gate, audited.
        do {
            _ = try await a.call("sensors.list", [:])
            Issue.record("sensors.list is not granted to alice")
        } catch {
            #expect(error.message.contains("no grant for sensors.list"), "\(error)")
        }
        // Calls are sealed with the session key by default; one signed by the DID key works too. The audit tells them
        // apart and names the session.
        #expect(try await a.call("gpio.read", ["pin": "LED0"], signed: true)["value"] == 1)
        let calls = try #require(try json(agent.socket, ["audit", "list", "--subject", alice.did.description, "--limit", "20"]).arrayValue)
        let sealedRow = calls.first { $0["method"] == "gpio.write" && $0["decision"] == "allow" }
        #expect(sealedRow?["caller"] == "session" && (sealedRow?["reason"]?.stringValue ?? "").contains("carrier session #"), "\(calls)")
        #expect(calls.contains { $0["method"] == "gpio.read" && $0["caller"] == "signed" && $0["decision"] == "allow" }, "\(calls)")
        // What a carrier could do with the link (it does not know the session key): a forged tag, a replayed message.
        let body = SessionSeal.body(method: "gpio.write", params: ["pin": "LED0", "value": 0])
        let forged = await a.exchange(timeoutSeconds: 10) { .call(id: $0, .sealed(body: body, tag: String(repeating: "00", count: 32))) }
        #expect(forged.failure?.message.contains("bad session tag") == true, "\(forged)")
        let sessionKey = try #require(a.state.withLock { $0.sessionKey })
        let replayID = a.state.withLock { s -> Int64 in
            defer { s.nextID += 1 }
            return s.nextID
        }
        let read = SessionSeal.body(method: "gpio.read", params: ["pin": "LED0"])
        let sealedRead = SessionRequest.sealed(body: read, tag: SessionSeal.tag(sessionKey, kind: "call", id: replayID, body: read))
        #expect((try await a.exchange(id: replayID, timeoutSeconds: 10) { .call(id: $0, sealedRead) }.get())["value"] == 1)
        let replayed = await a.exchange(id: replayID, timeoutSeconds: 10) { .call(id: $0, sealedRead) }
        #expect(replayed.failure?.message.contains("replayed") == true, "\(replayed)")
        #expect(try await a.call("gpio.read", ["pin": "LED0"])["value"] == 1, "LED0 still 1: the forged write never ran")

        // Refused, each from its own Tox key (toxcore reports one request per key and instance), all audited:
        // bob (no grant), carol (not verified), and mallory's hellos tampered four ways.
        #expect(try ChildProcess.run(elactl, ["identity", "create", "--dir", dir.path + "/mallory"]).status == 0)
        let mallory = try IdentityDirectory.load(dir.path + "/mallory")
        #expect(try ctl(agent.socket, ["peer", "pin", dir.path + "/mallory/document.json"]).status == 0)
        #expect(try ctl(agent.socket, ["grant", "add", mallory.did.description, "gpio.read"]).status == 0)
        let bobKey = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let bobHello = Captured()
        let carolDID = carol.did.description
        let tampers: [(String, @Sendable (Int, [UInt8]) -> [UInt8])] = [
            ("bad signature", { _, h in
                var t = String(decoding: h, as: UTF8.self)
                let marker = #""signature":""#
                guard let r = t.firstRange(of: marker) else { return h }
                let i = r.upperBound
                t.replaceSubrange(i..<t.index(after: i), with: t[i] == "A" ? "B" : "A")
                return Array(t.utf8)
            }),
            ("is not the DID of the hello's key", { _, h in
                let t = String(decoding: h, as: UTF8.self)
                let did = (try? JSONParser.parse(t))?["did"]?.stringValue ?? ""
                return Array(t.replacing(did, with: carolDID).utf8)
            }),
            ("stale hello", { _, h in
                let o = (try? JSONParser.parse(String(decoding: h, as: UTF8.self)))?["params"]
                return (try? CarrierHello.make(
                    did: mallory.did, key: mallory.key, toxUserID: o?["toxKey"]?.stringValue ?? "", deviceUserID: o?["device"]?.stringValue ?? "",
                    now: Int64(time(nil)) - 3600)) ?? h
            }),
            ("but the request came from", { _, h in bobHello.value ?? h }),  // bob's hello replayed from another key
        ]
        let b = try client(bob, device: address, node: node, secretKey: bobKey) { _, h in bobHello.set(h); return h }
        let c = try client(carol, device: address, node: node)
        let tb = Task<Void, Never> { _ = try? await b.connect(timeoutSeconds: 40) }
        let tc = Task<Void, Never> { _ = try? await c.connect(timeoutSeconds: 40) }
        _ = await eventually(30) { bobHello.value != nil }
        let bobHelloSeen = ContinuousClock.now
        var tamperClients: [CarrierClient] = []
        var tamperTasks: [Task<Void, Never>] = []
        for (_, t) in tampers {
            let m = try client(mallory, device: address, node: node, transform: t)
            tamperClients.append(m)
            tamperTasks.append(Task<Void, Never> { _ = try? await m.connect(timeoutSeconds: 40) })
        }
        func denials() -> [JSONValue] {
            ((try? json(agent.socket, ["audit", "list", "--limit", "500"]))?.arrayValue ?? []).filter {
                $0["method"] == "carrier.hello" && $0["decision"] == "deny"
            }
        }
        func denied(_ subject: String, _ why: String) -> Bool {
            denials().contains { $0["subject"]?.stringValue == subject && ($0["reason"]?.stringValue ?? "").contains(why) }
        }
        let refused = await eventually(45) {
            denied(bob.did.description, "no grant") && denied(carol.did.description, "not verified")
                && denied(mallory.did.description, "bad signature") && denied(carol.did.description, "is not the DID of the hello's key")
                && denied(mallory.did.description, "stale hello") && denied(bob.did.description, "but the request came from")
        }
        #expect(refused, "refusals audited: \(denials().map { $0["reason"]?.stringValue ?? "" })")
        #expect(!b.isReady && !c.isReady && tamperClients.allSatisfy { !$0.isReady })
        for t in [tb, tc] + tamperTasks { t.cancel() }
        for x in [b, c] + tamperClients { await x.close() }

        // Refused for want of a grant, then granted: the same DApp (same Tox key, still trying) gets in without any
        // restart; toxcore would otherwise never report that key's request again.
        #expect(try ChildProcess.run(elactl, ["identity", "create", "--dir", dir.path + "/frank"]).status == 0)
        let frank = try IdentityDirectory.load(dir.path + "/frank")
        #expect(try ctl(agent.socket, ["peer", "pin", dir.path + "/frank/document.json"]).status == 0)
        let f = try client(frank, device: address, node: node)
        let tf = Task<Void, Never> { _ = try? await f.connect(timeoutSeconds: 120) }
        #expect(await eventually(45) { denied(frank.did.description, "holds no grant") }, "\(denials().map { $0["reason"]?.stringValue ?? "" })")
        let grantedAt = clock.now
        #expect(try ctl(agent.socket, ["grant", "add", frank.did.description, "gpio.read"]).status == 0)
        #expect(await eventually(90) { f.isReady }, "frank got in after the grant (hellos \(f.helloCount))")
        let admittedAfterGrant = clock.now - grantedAt
        #expect(try await f.call("gpio.read", ["pin": "LED0"])["value"] == 1)
        tf.cancel()
        await f.close()

        // Status: alice's friend link and session.
        let status = try json(agent.socket, ["carrier", "status"])
        let friend = status["friends"]?.arrayValue?.first { $0["did"]?.stringValue == alice.did.description }
        #expect(friend?["session"] == "ready" && friend?["connection"]?.stringValue != "none", "\(status)")

        // A DApp with UDP off reaches the device through the TCP relay.
        let tcpStarted = clock.now
        let t = try client(alice, device: address, node: node, udp: false)
        try await t.connect(timeoutSeconds: 60)
        let tcpConnectTime = clock.now - tcpStarted
        #expect(try await t.call("gpio.read", ["pin": "LED0"])["value"] == 1)
        await t.close()

        // ela-carrier killed: the agent restarts it, re-adds alice, and her session recovers by itself.
        let pid = try #require(try carrierPID(agent))
        let sessionsBeforeKill = a.sessionCount
        kill(pid, SIGKILL)
        let killedAt = clock.now
        // Usually 10 s; up to ~40 s when toxcore's own 32 s friend timeout has to expire first, more when the two
        // cores are busy.
        let recovered = await eventually(150) {
            guard a.sessionCount > sessionsBeforeKill, a.isReady else { return false }
            return (try? await a.call("gpio.read", ["pin": "LED0"], timeoutSeconds: 5))?["value"] == 1
        }
        #expect(
            recovered,
            "session recovered after SIGKILL of ela-carrier (sessions \(a.sessionCount), hellos \(a.helloCount), ready \(a.isReady)); agent log: \(agent.process.stderr.suffix(6000))")
        let recoveryTime = clock.now - killedAt
        #expect(try carrierPID(agent) != pid)
        // Subscriptions are renewed on the new session.
        let again = await eventually(20) { await iterator.next() != nil }
        #expect(again)
        // Revoking the grant ends the subscription: the device stops its events and says so, the stream finishes.
        let grants = try #require(try json(agent.socket, ["grant", "list", "--subject", alice.did.description]).arrayValue)
        let subscribeGrant = try #require(grants.first { $0["capability"] == "sensors.subscribe" }?["id"]?.numberValue?.text)
        #expect(try ctl(agent.socket, ["grant", "revoke", subscribeGrant]).status == 0)
        let drained = Task { () -> Bool in
            for await _ in events {}
            return !Task.isCancelled
        }
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(30))
            drained.cancel()
        }
        #expect(await drained.value, "alice's sensor stream did not end after her grant was revoked")
        watchdog.cancel()
        #expect(try ctl(agent.socket, ["grant", "add", alice.did.description, "sensors.subscribe"]).status == 0)
        // A stream alice stops reading is unsubscribed: the device frees its slot (it keeps 32 per session).
        func deviceSubscriptions() -> Int {
            let friends = (try? json(agent.socket, ["carrier", "status"]))?["friends"]?.arrayValue ?? []
            return friends.filter { $0["did"]?.stringValue == alice.did.description }
                .reduce(0) { $0 + Int($1["subscriptions"]?.numberValue?.int64Value ?? 0) }
        }
        do {
            let dropped = try await a.subscribe("sensors.reading")
            var it = dropped.makeAsyncIterator()
            #expect(await it.next() != nil)
            #expect(deviceSubscriptions() == 1, "\(String(describing: try? ctl(agent.socket, ["carrier", "status"]).stdout))")
        }
        let freed = await eventually(20) { deviceSubscriptions() == 0 }
        #expect(freed, "the dropped stream still holds a slot on the device: \(deviceSubscriptions())")
        // Device restart keeps its address; alice's open client gets back in by itself.
        let sessionsBefore = a.sessionCount
        stopAgent(agent)
        agent = try await startAgent(dir, node: node)
        let after = try json(agent.socket, ["carrier", "show"])
        #expect(after["address"]?.stringValue == address.description)
        // Toxcore finds the restarted friend again in 10-20 s alone; under a full parallel test run it took over 60.
        let back = await eventually(120) {
            guard a.sessionCount > sessionsBefore, a.isReady else { return false }
            return (try? await a.call("gpio.read", ["pin": "LED1"], timeoutSeconds: 5))?["value"] != nil
        }
        #expect(
            back,
            "alice's session came back after the device restarted (sessions \(a.sessionCount), hellos \(a.helloCount), ready \(a.isReady)); agent log: \(agent.process.stderr.suffix(6000))")
        await a.close()
        let text = try ctl(agent.socket, ["carrier", "status"]).stdout
        #expect(text.contains("friend \(alice.did)") && text.contains("running"), "\(text)")

        // elactl as a DApp: remote call and remote subscribe (each spawns its own ela-carrier).
        let net = [
            "--device", address.description, "--identity", dir.path + "/alice", "--bootstrap",
            "127.0.0.1:\(node.udpPort):\(node.publicKey)", "--relay", "127.0.0.1:\(node.tcpPort):\(node.publicKey)",
        ]
        let remoteCall = try ChildProcess(elactl, ["remote", "call"] + net + ["gpio.read", #"{"pin":"LED0"}"#], outputDirectory: dir.path)
        let remoteSub = try ChildProcess(elactl, ["remote", "subscribe"] + net + ["sensors.reading", "--count", "2"], outputDirectory: dir.path)
        #expect(try remoteCall.wait(timeoutSeconds: 90) == 0, "\(remoteCall.stderr)")
        #expect(remoteCall.stdout.contains(#""value":"#), "\(remoteCall.stdout)")
        // Many calls over one session, in order; a bad line or a denied call is reported on its own line.
        let batchInput = dir.write(
            "batch.jsonl",
            #"""
            {"method": "gpio.write", "params": {"pin": "LED1", "value": 1}, "id": "w"}

            {"method": "gpio.read", "params": {"pin": "LED1"}}
            not json
            {"method": "sensors.list"}
            {"method": "gpio.read", "params": {"pin": "LED1"}}
            """#)
        let batch = try ChildProcess(elactl, ["remote", "batch"] + net, outputDirectory: dir.path, standardInput: batchInput)
        #expect(try batch.wait(timeoutSeconds: 90) == 1, "a line failed: \(batch.stderr)")
        let answers = batch.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
        #expect(answers.map { $0["line"]?.numberValue?.int64Value ?? 0 } == [1, 3, 4, 5, 6], "\(batch.stdout)")
        if answers.count == 5 {
            #expect(answers[0]["id"] == "w" && answers[0]["result"] != nil, "\(answers[0])")
            #expect(answers[1]["result"]?["value"] == 1 && answers[4]["result"]?["value"] == 1)
            #expect(answers[2]["error"]?["code"] == -32700)
            // Not granted to alice: denied by the gate, and the batch goes on.
            #expect(answers[3]["error"]?["code"] == -32000, "\(answers[3])")
        }
        #expect(try remoteSub.wait(timeoutSeconds: 90) == 0, "\(remoteSub.stderr)")
        #expect(remoteSub.stdout.split(separator: "\n").filter { $0.contains("sensors.reading") }.count == 2, "\(remoteSub.stdout)")

        // A hello the device saw before its restart is still a replay (the nonce is in the gate's table). A slow run can
        // take bob's hello past its 300 s window by now, and it is then refused as stale first. (Here, after the remote
        // call and subscribe: their carriers, on alice's key, are gone from the network before the bootstrap restart.)
        let replay = try client(bob, device: address, node: node, secretKey: bobKey) { _, h in bobHello.value ?? h }
        let tr = Task<Void, Never> { _ = try? await replay.connect(timeoutSeconds: 60) }
        let replayRefused = await eventually(60) {
            denied(bob.did.description, "replayed hello nonce")
                || (ContinuousClock.now - bobHelloSeen > .seconds(240) && denied(bob.did.description, "stale hello"))
        }
        #expect(replayRefused, "\(denials().map { $0["reason"]?.stringValue ?? "" })")
        tr.cancel()
        await replay.close()

        // The bootstrap node restarts (same key and ports). The device rejoins it: a DApp that knows only that node
        // finds the device again, and a session opened before the restart keeps working.
        let before = try client(alice, device: address, node: node)
        try await before.connect(timeoutSeconds: 60)
        node.stop()
        try await Task.sleep(for: .seconds(3))
        try node.start()
        let bootstrapRestartedAt = clock.now
        // A link that ran over the node's TCP relay drops with it and comes back (over UDP or the relay).
        // (The device restarted above: its simulated LED0 reads 0 again.)
        let survived = await eventually(150) { (try? await before.call("gpio.read", ["pin": "LED0"], timeoutSeconds: 5))?["value"] == 0 }
        #expect(survived, "the session opened before the bootstrap node restarted works again")
        let sessionBackAfter = clock.now - bootstrapRestartedAt
        await before.close()
        #expect(try ChildProcess.run(elactl, ["identity", "create", "--dir", dir.path + "/dave"]).status == 0)
        let dave = try IdentityDirectory.load(dir.path + "/dave")
        #expect(try ctl(agent.socket, ["peer", "pin", dir.path + "/dave/document.json"]).status == 0)
        #expect(try ctl(agent.socket, ["grant", "add", dave.did.description, "gpio.read"]).status == 0)
        let daveStarted = clock.now
        let d = try client(dave, device: address, node: node)
        try await d.connect(timeoutSeconds: 120)
        let rejoinTime = clock.now - daveStarted
        #expect(try await d.call("gpio.read", ["pin": "LED0"])["value"] == 0)
        await d.close()
        // The device is back on the network. toxcore's own connection status can stay none for a while after the
        // DHT lost its only node (links over the relay still work: a fresh-clone run saw dave's session open while it
        // said none for over 30 s), so it is asked until it says so.
        let online = await eventually(90) {
            let connection = (try? json(agent.socket, ["carrier", "status"]))?["connection"]?.stringValue
            return connection != nil && connection != "none"
        }
        #expect(online, "the device's carrier is not connected to the network: \((try? ctl(agent.socket, ["carrier", "status"]).stdout) ?? "")")
        print(
            "carrier e2e: refused DApp admitted \(admittedAfterGrant) after its grant; first session \(connectTime), TCP-only session \(tcpConnectTime), recovery after SIGKILL \(recoveryTime), "
                + "after the bootstrap node restarted: open session answering after \(sessionBackAfter), a new DApp's session in \(rejoinTime)")
    }

    /// No grant on the device: the owner issued the DApp a credential. Its hello announces it, the session proof
    /// presents it, and its sealed calls rely on it (through `elactl remote call --credential`, as a user would).
    @Test func aDAppWithOnlyAnOwnersCredentialGetsIn() async throws {
        let node = try ToxBootstrapNode()
        defer { node.stop() }
        let dir = TemporaryDirectory(prefix: "ela-carrier-vc")
        defer { dir.remove() }
        let agent = try await startAgent(dir, node: node)
        defer { stopAgent(agent) }
        let address = try CarrierAddress(try #require(try json(agent.socket, ["carrier", "show"])["address"]?.stringValue))
        for who in ["owner", "gina"] {
            #expect(try ChildProcess.run(elactl, ["identity", "create", "--dir", dir.path + "/" + who]).status == 0)
        }
        let gina = try IdentityDirectory.load(dir.path + "/gina")
        #expect(try ctl(agent.socket, ["owner", "set", dir.path + "/owner/document.json"]).status == 0)
        #expect(try ctl(agent.socket, ["peer", "pin", dir.path + "/gina/document.json"]).status == 0)
        let issued = try ChildProcess.run(
            elactl, ["identity", "issue-access", "--dir", dir.path + "/owner", "--to", gina.did.description, "--capability", "gpio.read", "--days", "1"])
        #expect(issued.status == 0, "\(issued.stderr)")
        let credential = dir.write("gina-vc.json", issued.stdout)
        let net = [
            "--device", address.description, "--identity", dir.path + "/gina", "--bootstrap", "127.0.0.1:\(node.udpPort):\(node.publicKey)",
            "--relay", "127.0.0.1:\(node.tcpPort):\(node.publicKey)", "--timeout", "90",
        ]
        let read = try ChildProcess(elactl, ["remote", "call"] + net + ["--credential", credential, "gpio.read", #"{"pin":"LED0"}"#], outputDirectory: dir.path)
        #expect(try read.wait(timeoutSeconds: 120) == 0, "\(read.stderr)\n\(agent.process.stderr.suffix(4000))")
        #expect(read.stdout.contains(#""value":0"#), "\(read.stdout)")
        let rows = (try json(agent.socket, ["audit", "list", "--subject", gina.did.description, "--limit", "20"])).arrayValue ?? []
        #expect(rows.contains { $0["method"] == "carrier.session" && ($0["reason"]?.stringValue ?? "").contains("credential") }, "\(rows)")
        #expect(
            rows.contains { $0["method"] == "gpio.read" && $0["caller"] == "session" && $0["decision"] == "allow" && ($0["reason"]?.stringValue ?? "").hasPrefix("credential") },
            "\(rows)")
        // What the credential does not name stays shut.
        let write = try ChildProcess(
            elactl, ["remote", "call"] + net + ["--credential", credential, "gpio.write", #"{"pin":"LED0","value":1}"#], outputDirectory: dir.path)
        #expect(try write.wait(timeoutSeconds: 120) != 0)
        #expect(write.stderr.contains("no grant or credential capability for gpio.write"), "\(write.stdout) \(write.stderr)")
        // Both runs used the Tox identity gina's key derives: the device admitted one friend request and keeps one
        // friend for her, not one per run.
        let status = try json(agent.socket, ["carrier", "status"])
        let friends = (status["friends"]?.arrayValue ?? []).filter { $0["did"]?.stringValue == gina.did.description }
        #expect(friends.count == 1 && status["admitted"] == 1, "\(status)")
    }

    /// No pin: the DApp's DID is published on the (regtest) ID chain, the agent proves it by SPV (headers, Merkle
    /// proof, document signature, confirmations) and admits the DApp on that alone.
    @Test func anSPVVerifiedDAppIsAdmittedWithoutAPin() async throws {
        let node = try ToxBootstrapNode()
        defer { node.stop() }
        let dir = TemporaryDirectory(prefix: "ela-carrier-spv")
        defer { dir.remove() }
        let regtest = try RegtestProcess(in: dir)
        defer { regtest.stop() }
        let agent = try await startAgent(
            dir, node: node, extraConfig: "[spv]\nnetwork = \"regnet\"\npeers = [\"127.0.0.1:\(regtest.port)\"]\nconfirmations = 3\n")
        defer { stopAgent(agent) }
        let address = try CarrierAddress(try #require(try json(agent.socket, ["carrier", "show"])["address"]?.stringValue))

        #expect(try ChildProcess.run(elactl, ["identity", "create", "--dir", dir.path + "/erin"]).status == 0)
        let erin = try IdentityDirectory.load(dir.path + "/erin")
        #expect(try ctl(agent.socket, ["grant", "add", erin.did.description, "gpio.read"]).status == 0)
        let request = try ChildProcess.run(elactl, ["identity", "publish-request", "--dir", dir.path + "/erin"])
        #expect(request.status == 0, "\(request.stderr)")
        let requestFile = dir.write("erin-request.json", request.stdout)
        let submitted = try regtest.control(["submit", requestFile])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(try regtest.control(["mine", "3"]).status == 0)
        let verified = await eventually(30) { (try? ctl(agent.socket, ["peer", "verify", erin.did.description]))?.status == 0 }
        #expect(verified, "\((try? ctl(agent.socket, ["peer", "verify", erin.did.description]).stdout) ?? "")")

        let e = try client(erin, device: address, node: node)
        try await e.connect(timeoutSeconds: 60)
        #expect(try await e.call("gpio.read", ["pin": "LED0"])["value"] == 0)
        await e.close()
        let rows = (try json(agent.socket, ["audit", "list", "--limit", "100"])).arrayValue ?? []
        #expect(
            rows.contains {
                $0["method"] == "carrier.hello" && $0["decision"] == "allow" && $0["subject"]?.stringValue == erin.did.description
                    && ($0["reason"]?.stringValue ?? "").lowercased().contains("spv")
            }, "admitted as SPV-verified: \(rows.filter { $0["method"] == "carrier.hello" })")
    }
}
