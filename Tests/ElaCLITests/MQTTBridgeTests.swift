#if canImport(Glibc)
import Glibc
#endif
import ElaDeviceIdentity
import ElaGate
import ElaIdentity
import ElaJSON
import ElaMosquitto
import ElaTestSupport
import Synchronization
import Testing

/// The MQTT bridge as a user meets it: a real agent on the sim board with the gpio, sensors and mqtt plugins
/// (sandboxed), a real mosquitto on a free loopback port, subscribers and command publishers on the broker.
@Suite(.serialized, .enabled(if: MosquittoBroker.isInstalled)) struct MQTTBridgeTests {
    let elactl = ChildProcess.product("elactl")
    static let fixtures: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        return parts.joined(separator: "/") + "/Fixtures"
    }()
    static let repoPlugins: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/Plugins"
    }()

    /// Everything on the broker under `ela/#`.
    final class Recorder: Sendable {
        let client: MosquittoClient
        let messages = Mutex<[MosquittoMessage]>([])
        let subscribed = Atomic<Int>(0)

        /// Records on the network thread: the tests' blocking elactl runs may hold every concurrency-pool thread.
        init(port: Int, options: MosquittoOptions = MosquittoOptions()) throws {
            let box = RecorderBox()
            client = try MosquittoClient(options: options) { e in box.recorder.withLock { $0 }?.handle(e) }
            box.recorder.withLock { $0 = self }
            try client.start(host: "127.0.0.1", port: port) { _ in .milliseconds(50) }
        }

        func handle(_ e: MosquittoEvent) {
            switch e {
            case .message(let m): messages.withLock { $0.append(m) }
            case .connected(0, _): _ = try? client.subscribe("ela/#", qos: 1)
            case .subscribed: subscribed.add(1, ordering: .relaxed)
            default: break
            }
        }

        func on(_ topic: String) -> [JSONValue] {
            messages.withLock { $0.filter { $0.topic == topic }.compactMap { try? JSONParser.parse(bytes: $0.payload) } }
        }
        func publish(_ topic: String, _ payload: [UInt8]) throws { try client.publish(topic: topic, payload: payload, qos: 1) }
    }

    final class RecorderBox: Sendable {
        let recorder = Mutex<Recorder?>(nil)
    }

    struct Agent {
        let process: ChildProcess
        let socket: String
        let did: String
        var id: String { String(did.dropFirst("did:elastos:".count)) }
    }

    func ctl(_ socket: String, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run(elactl, args + ["--socket", socket])
    }

    func eventually(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
        while clock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    /// An agent with gpio, sensors, mqtt and the burst fixture; the mqtt manifest copy also consumes burst.subscribe.
    /// `brokerSettings` replaces the `broker = ...` line of `[mqtt]` (a TLS broker needs its URL and files).
    func startAgent(_ dir: TemporaryDirectory, brokerPort: Int, consumeBurst: Bool = true, brokerSettings: String? = nil) async throws -> Agent {
        let plugins = dir.path + "/plugins"
        _ = mkdir(plugins, 0o755)
        _ = mkdir(plugins + "/mqtt", 0o755)
        let manifest = try #require(TestData.readString(Self.repoPlugins + "/mqtt/plugin.toml"))
        let patched = manifest.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("consumes = ") && consumeBurst
                ? #"consumes = ["sensors.subscribe", "gpio.subscribe", "burst.subscribe", "ela.call"]"# : String(line)
        }.joined(separator: "\n")
        _ = dir.write("plugins/mqtt/plugin.toml", patched)
        let config = dir.write(
            "agent.toml",
            """
            [plugins]
            enable = ["gpio", "sensors", "mqtt", "burst"]
            [mqtt]
            \(brokerSettings ?? "broker = \"mqtt://127.0.0.1:\(brokerPort)\"")
            forward = ["sensors.reading", "gpio.edge", "burst.tick"]
            reconnect_min_ms = 50
            reconnect_max_ms = 500

            """)
        let socket = dir.path + "/run/control.sock"
        let p = try ChildProcess(
            ChildProcess.product("ela-agent"),
            ["--config", config, "--board", "sim", "--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run"],
            environment: ["ELA_PLUGINS_DIR": plugins + ":" + Self.fixtures], outputDirectory: dir.path)
        try #require(await eventually(30) { p.stdout.contains("ela-agent ready") }, "\(p.stderr)")
        let up = await eventually(30) {
            let out = (try? ctl(socket, ["plugin", "list"]).stdout) ?? ""
            return ["gpio 0.1.0", "sensors 0.1.0", "mqtt 0.1.0", "burst 1.0.0"].allSatisfy { out.contains("\($0): running") }
        }
        try #require(up, "plugins did not start: \((try? ctl(socket, ["plugin", "list"]).stdout) ?? "") \(p.stderr)")
        let status = try ctl(socket, ["status", "--json"])
        let did = try #require(try JSONParser.parse(status.stdout)["did"]?.stringValue)
        return Agent(process: p, socket: socket, did: did)
    }

    func mqttStatus(_ agent: Agent) throws -> JSONValue {
        try JSONParser.parse(try ctl(agent.socket, ["mqtt", "status", "--json"]).stdout)
    }

    @Test func eventsReachTheirTopicsAndSignedCommandsPassTheGate() async throws {
        let broker = try MosquittoBroker()
        let dir = TemporaryDirectory(prefix: "ela-mqtt-e2e")
        defer { dir.remove() }
        let rec = try Recorder(port: broker.port)
        #expect(await eventually(10) { rec.subscribed.load(ordering: .relaxed) > 0 })
        // This agent's mqtt manifest does not consume burst.subscribe: forwarding burst.tick is refused.
        let agent = try await startAgent(dir, brokerPort: broker.port, consumeBurst: false)
        let base = "ela/\(agent.id)"

        // Status (retained, online), sensor readings, GPIO edges.
        #expect(await eventually(20) { rec.on(base + "/status").contains { $0["state"] == "online" } })
        #expect(await eventually(20) { rec.on(base + "/events/sensors/reading").count >= 2 })
        let reading = try #require(rec.on(base + "/events/sensors/reading").first)
        #expect(reading["plugin"] == "sensors" && reading["event"] == "sensors.reading" && reading["params"]?["unit"]?.stringValue != nil)
        #expect(try ctl(agent.socket, ["call", "gpio.watch", #"{"pin":"BUTTON0","edge":"both"}"#]).status == 0)
        #expect(try ctl(agent.socket, ["call", "gpio.simulate", #"{"pin":"BUTTON0","pull":"up"}"#]).status == 0)
        #expect(try ctl(agent.socket, ["call", "gpio.simulate", #"{"pin":"BUTTON0","pull":"down"}"#]).status == 0)
        #expect(await eventually(15) { rec.on(base + "/events/gpio/edge").count >= 2 })
        #expect(rec.on(base + "/events/gpio/edge").compactMap { $0["params"]?["edge"]?.stringValue } == ["rising", "falling"])

        // Identities: alice may read GPIO, bob may do nothing.
        let alice = dir.path + "/alice"
        let bob = dir.path + "/bob"
        for who in [alice, bob] { #expect(try ChildProcess.run(elactl, ["identity", "create", "--dir", who]).status == 0) }
        let aliceID = try IdentityDirectory.load(alice)
        #expect(try ctl(agent.socket, ["grant", "add", aliceID.did.description, "gpio.read"]).status == 0)
        func envelope(_ method: String, _ params: String, as who: String, id: String) throws -> String {
            let r = try ChildProcess.run(elactl, ["mqtt", "envelope", method, params, "--as", who, "--id", id])
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout.trimmingNewline
        }
        func send(_ method: String, _ payload: String) throws { try rec.publish(base + "/cmd/" + method, Array(payload.utf8)) }
        func reply(_ id: String) async -> JSONValue? {
            _ = await eventually(15) { !rec.on(base + "/reply/" + id).isEmpty }
            return rec.on(base + "/reply/" + id).first
        }

        // The round trip.
        let ok = try envelope("gpio.read", #"{"pin":"LED0"}"#, as: alice, id: "ok-1")
        try send("gpio.read", ok)
        let okReply = await reply("ok-1")
        #expect(okReply?["result"]?["value"] == 0, "\(String(describing: okReply))")

        // Each bad case: an error reply, an audit row, no effect.
        func wrap(_ id: String, _ request: String) -> String {
            JSONWriter.compact(.object(JSONObject([("id", .string(id)), ("request", .string(request))])))
        }
        try send("gpio.write", wrap("unsigned", #"{"method":"gpio.write","params":{"pin":"LED1","value":1}}"#))
        let signedWrite = try envelope("gpio.write", #"{"pin":"LED1","value":1}"#, as: alice, id: "x")
        let request = try #require(try JSONParser.parse(signedWrite)["request"]?.stringValue)
        let tampered = request.split(separator: "LED1", omittingEmptySubsequences: false).joined(separator: "LED0")
        try send("gpio.write", wrap("tampered", tampered))
        let stale = try SignedRequest.sign(
            method: "gpio.read", params: ["pin": "LED0"], privateKey: aliceID.key, did: aliceID.did, now: Int64(time(nil)) - 3600)
        try send("gpio.read", wrap("stale", stale.text))
        try send("gpio.read", ok.replacingFirst("ok-1", with: "replayed"))
        try send("gpio.write", try envelope("gpio.write", #"{"pin":"LED1","value":1}"#, as: bob, id: "unauthorized"))
        try send("gpio.write", wrap("ungranted", request))  // alice holds gpio.read only
        for (id, why) in [
            ("unsigned", "malformed request"), ("tampered", "bad signature"), ("stale", "timestamp"), ("replayed", "replay"),
            ("unauthorized", "no grant for gpio.write"), ("ungranted", "no grant for gpio.write"),
        ] {
            let r = await reply(id)
            #expect(r?["error"]?["code"] == -32000, "\(id): \(String(describing: r))")
            let message = r?["error"]?["message"]?.stringValue ?? ""
            #expect(message.hasPrefix("denied") && message.lowercased().contains(why.lowercased()), "\(id): \(message)")
        }
        #expect(try ctl(agent.socket, ["call", "gpio.read", #"{"pin":"LED1"}"#]).stdout.contains(#""value":0"#), "nothing was written")
        let audit = try ctl(agent.socket, ["audit", "list", "--limit", "200", "--json"])
        let rows = try JSONParser.parse(audit.stdout).arrayValue ?? []
        let denied = rows.filter { $0["decision"] == "deny" && ($0["method"] == "gpio.write" || $0["method"] == "gpio.read") }
        #expect(denied.count >= 6, "\(audit.stdout.prefix(2000))")
        #expect(rows.contains { $0["decision"] == "allow" && $0["subject"]?.stringValue == aliceID.did.description && $0["method"] == "gpio.read" })

        // Malformed, oversize and non-UTF-8 payloads: refused, counted, the bridge keeps serving.
        try rec.publish(base + "/cmd/gpio.read", [0xC3, 0x28, 0xFF])
        try rec.publish(base + "/cmd/gpio.read", Array("{\"id\":".utf8))
        try rec.publish(base + "/cmd/gpio.read", [UInt8](repeating: 0x7B, count: 200_000))
        try rec.publish(base + "/cmd/gpio.read", Array(#"{"id":"no-request"}"#.utf8))
        #expect(await reply("no-request")?["error"]?["code"] == -32600)
        try send("gpio.read", try envelope("gpio.read", #"{"pin":"LED0"}"#, as: alice, id: "ok-2"))
        #expect(await reply("ok-2")?["result"]?["value"] == 0)
        let st = try mqttStatus(agent)
        #expect(st["state"] == "online")
        #expect((st["commands"]?["rejected"]?.numberValue?.int64Value ?? 0) >= 4, "\(st)")
        #expect(st["commands"]?["relayed"] == 2)
        let text = try ctl(agent.socket, ["mqtt", "status"])
        #expect(text.status == 0 && text.stdout.contains("mqtt: online") && text.stdout.contains("outbox:"), "\(text.stdout)")
        #expect(try ctl(agent.socket, ["audit", "verify"]).status == 0)

        // Subscriptions are gated by the manifest's consumes: sensors.reading allowed, burst.tick denied, both audited.
        #expect(rows.contains { $0["subject"] == "plugin:mqtt" && $0["method"] == "sensors.reading" && $0["decision"] == "allow" })
        #expect(rows.contains { $0["subject"] == "plugin:mqtt" && $0["method"] == "burst.tick" && $0["decision"] == "deny" })
        #expect(try ctl(agent.socket, ["call", "burst.emit", #"{"count":5,"rate":100}"#]).status == 0)
        try await Task.sleep(for: .seconds(1))
        #expect(rec.on(base + "/events/burst/tick").isEmpty)

        agent.process.signal(SIGTERM)
        #expect(try agent.process.wait(timeoutSeconds: 30) == 0)
        #expect(await eventually(10) { rec.on(base + "/status").last?["state"] == "offline" })
        rec.client.stop()
    }

    /// A TLS broker that requires a client certificate and a password. The agent reads the CA, the root-only client
    /// key and the password file; the sandboxed plugin, which cannot see them, gets their contents.
    @Test(.enabled(if: TestTLS.isInstalled)) func eventsAndCommandsOverTLSWithClientCertificateAndPassword() async throws {
        let pki = try TestTLS()
        let broker = try MosquittoBroker(tls: pki, users: ["device": "s3cret", "watcher": "w4tch"])
        let dir = TemporaryDirectory(prefix: "ela-mqtt-tls")
        defer { dir.remove() }
        let secrets = dir.path + "/secrets"
        _ = mkdir(secrets, 0o700)
        _ = dir.write("secrets/password", "s3cret\n")
        let key = dir.write("secrets/client.key", try #require(TestData.readString(pki.clientKeyFile)))
        for f in ["password", "client.key"] { _ = chmod(secrets + "/" + f, 0o600) }
        var o = MosquittoOptions()
        o.username = "watcher"
        o.password = "w4tch"
        o.tls = .init(caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile)
        let rec = try Recorder(port: broker.port, options: o)
        #expect(await eventually(10) { rec.subscribed.load(ordering: .relaxed) > 0 }, "the TLS watcher subscribed: \(broker.stderr)")
        let agent = try await startAgent(
            dir, brokerPort: broker.port,
            brokerSettings: """
                broker = "mqtts://127.0.0.1:\(broker.port)"
                ca_file = "\(pki.caFile)"
                cert_file = "\(pki.clientCertFile)"
                key_file = "\(key)"
                username = "device"
                password_file = "\(secrets)/password"
                """)
        let base = "ela/\(agent.id)"
        #expect(await eventually(30) { rec.on(base + "/status").contains { $0["state"] == "online" } }, "\(String(describing: try? mqttStatus(agent)))")
        #expect(await eventually(20) { rec.on(base + "/events/sensors/reading").count >= 2 })
        #expect(try mqttStatus(agent)["state"] == "online")
        // A signed command over TLS from a granted caller: the gate allows it and the reply comes back over TLS.
        let caller = dir.path + "/caller"
        #expect(try ChildProcess.run(elactl, ["identity", "create", "--dir", caller]).status == 0)
        #expect(try ctl(agent.socket, ["grant", "add", try IdentityDirectory.load(caller).did.description, "gpio.read"]).status == 0)
        let envelope = try ChildProcess.run(elactl, ["mqtt", "envelope", "gpio.read", #"{"pin":"LED0"}"#, "--as", caller, "--id", "tls-1"])
        #expect(envelope.status == 0, "\(envelope.stderr)")
        try rec.publish(base + "/cmd/gpio.read", Array(envelope.stdout.trimmingNewline.utf8))
        #expect(await eventually(20) { !rec.on(base + "/reply/tls-1").isEmpty }, "a reply over TLS")
        #expect(rec.on(base + "/reply/tls-1").first?["result"]?["value"] == 0, "\(rec.on(base + "/reply/tls-1"))")
        // Nothing of the secrets in the plugin's hello reached the log.
        for secret in ["s3cret", "PRIVATE KEY"] {
            #expect(!agent.process.stderr.contains(secret) && !agent.process.stdout.contains(secret), "\(secret) in the agent's log")
        }
    }

    @Test func killingThePluginMidStreamLosesNothing() async throws {
        let broker = try MosquittoBroker()
        let dir = TemporaryDirectory(prefix: "ela-mqtt-kill")
        defer { dir.remove() }
        let rec = try Recorder(port: broker.port)
        #expect(await eventually(10) { rec.subscribed.load(ordering: .relaxed) > 0 })
        let agent = try await startAgent(dir, brokerPort: broker.port)
        let topic = "ela/\(agent.id)/events/burst/tick"
        #expect(await eventually(20) { rec.on("ela/\(agent.id)/status").contains { $0["state"] == "online" } })

        let total = 10_000
        #expect(try ctl(agent.socket, ["call", "burst.emit", #"{"start":0,"count":\#(total),"rate":1500}"#]).status == 0)
        #expect(await eventually(20) { rec.on(topic).count >= 2000 })
        let info = try JSONParser.parse(try ctl(agent.socket, ["plugin", "info", "mqtt", "--json"]).stdout)
        let pid = try #require(info["pid"]?.numberValue?.int64Value)
        let restartsBefore = info["restarts"]?.numberValue?.int64Value ?? 0
        #expect(kill(pid_t(pid), SIGKILL) == 0)
        #expect(await eventually(30) {
            let i = try? JSONParser.parse(try ctl(agent.socket, ["plugin", "info", "mqtt", "--json"]).stdout)
            return (i?["restarts"]?.numberValue?.int64Value ?? 0) > restartsBefore && i?["state"] == "running"
        })

        func numbers() -> [Int64] { rec.on(topic).compactMap { $0["params"]?["n"]?.numberValue?.int64Value } }
        #expect(await eventually(120) { Set(numbers()).count >= total }, "got \(Set(numbers()).count) distinct of \(total)")
        let got = numbers()
        #expect(Set(got) == Set((0..<Int64(total))), "nothing lost")
        // In order: the first arrival of each number comes after the first arrival of the one before.
        var seen = Set<Int64>()
        let firsts = got.filter { seen.insert($0).inserted }
        #expect(firsts == Array(0..<Int64(total)), "order kept across the crash")
        // Duplicates only across the crash, and counted.
        let duplicates = got.count - Set(got).count
        let st = try mqttStatus(agent)
        #expect(Int64(duplicates) <= (st["duplicates"]?.numberValue?.int64Value ?? 0), "duplicates \(duplicates), status \(st)")
        print("mqtt kill test: received \(got.count) for \(total) events, \(duplicates) duplicates seen; bridge counted duplicates=\(st["duplicates"]?.numberValue?.text ?? "?"), redeliveriesSkipped=\(st["redeliveriesSkipped"]?.numberValue?.text ?? "?"), sent=\(st["sent"]?.numberValue?.text ?? "?")")
        #expect(await eventually(20) { ((try? mqttStatus(agent))?["outbox"]?["depth"]?.numberValue?.int64Value ?? -1) == 0 }, "\(String(describing: try? mqttStatus(agent)))")

        agent.process.signal(SIGTERM)
        #expect(try agent.process.wait(timeoutSeconds: 30) == 0)
        rec.client.stop()
    }
}

extension String {
    var trimmingNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
