#if canImport(Glibc)
import Glibc
#endif
import ElaJSON
import ElaMQTTBridge
import ElaMosquitto
import ElaTestSupport
import Synchronization
import Testing

/// A subscriber on the real broker, recording every message.
final class Subscriber: Sendable {
    let client: MosquittoClient
    let messages = Mutex<[MosquittoMessage]>([])
    let accepted = Atomic<Int>(0)
    let subscribed = Atomic<Int>(0)

    init(port: Int, pattern: String, clientID: String? = nil) throws {
        var o = MosquittoOptions()
        o.clientID = clientID
        o.cleanSession = clientID == nil
        client = try MosquittoClient(options: o)
        let events = client.events
        Task { [weak self] in
            for await e in events {
                guard let self else { return }
                switch e {
                case .message(let m): self.messages.withLock { $0.append(m) }
                case .connected(0, _):
                    self.accepted.add(1, ordering: .relaxed)
                    _ = try? self.client.subscribe(pattern, qos: 1)
                case .subscribed: self.subscribed.add(1, ordering: .relaxed)
                default: break
                }
            }
        }
        try client.start(host: "127.0.0.1", port: port) { _ in .milliseconds(50) }
    }

    static func make(port: Int, pattern: String, clientID: String? = nil) async throws -> Subscriber {
        let s = try Subscriber(port: port, pattern: pattern, clientID: clientID)
        guard await eventually(10, { s.subscribed.load(ordering: .relaxed) > 0 }) else {
            throw ChildProcessError(message: "subscriber did not subscribe")
        }
        return s
    }

    var all: [MosquittoMessage] { messages.withLock { $0 } }
    func count(_ prefix: String) -> Int { messages.withLock { $0.filter { $0.topic.hasPrefix(prefix) }.count } }
    func stop() { client.stop() }
}

/// Polls with Task.sleep: a blocking wait would hold one of the few pool threads the clients' tasks need.
func eventually(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
    while clock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

extension MosquittoMessage {
    var json: JSONValue? { try? JSONParser.parse(bytes: payload) }
}

@Suite(.serialized, .enabled(if: MosquittoBroker.isInstalled)) struct BridgeBrokerTests {
    static let did = "did:elastos:iTestDevice123"

    func config(port: Int, _ change: (inout BridgeConfig) -> Void = { _ in }) -> BridgeConfig {
        var c = BridgeConfig()
        c.broker = BrokerURL(host: "127.0.0.1", port: port, tls: false)
        c.reconnectMinMs = 50
        c.reconnectMaxMs = 200
        change(&c)
        return c
    }

    func waitFor(_ seconds: Double = 30, _ condition: () -> Bool) async -> Bool { await eventually(seconds, condition) }

    /// Starts the stopped broker, waits until `sub` (a persistent session) has subscribed again, then starts a new
    /// bridge on the durable outbox at `outbox`: what arrives next is what the outbox alone carried across.
    func restartBroker(_ broker: MosquittoBroker, thenResubscribed sub: Subscriber, thenBridge outbox: String) async throws -> MQTTBridge {
        let subscriptions = sub.subscribed.load(ordering: .relaxed)
        try broker.start()
        #expect(await waitFor { sub.subscribed.load(ordering: .relaxed) > subscriptions })
        let bridge = try MQTTBridge(
            config: config(port: broker.port), deviceDID: Self.did, outboxPath: outbox,
            hooks: BridgeHooks(relay: { _ in .failure(CommandFailure(code: -1, message: "unused")) }))
        try bridge.start()
        return bridge
    }

    @Test func tenThousandEventsWhileTheBrokerIsDownAllArriveInOrderPerTopic() async throws {
        let broker = try MosquittoBroker(persistent: true)
        let dir = TemporaryDirectory(prefix: "ela-bridge")
        defer { dir.remove() }
        // A persistent session: it gets what is published while it is itself reconnecting after the restart.
        let sub = try await Subscriber.make(port: broker.port, pattern: "ela/#", clientID: "ela-test-sub")
        defer { sub.stop() }
        broker.stop()

        let stalled = try MQTTBridge(
            config: config(port: broker.port), deviceDID: Self.did, outboxPath: dir.path + "/outbox.db",
            hooks: BridgeHooks(relay: { _ in .failure(CommandFailure(code: -1, message: "unused")) }))
        try stalled.start()
        for i in 0..<10_000 {
            stalled.enqueue(plugin: i % 2 == 0 ? "sensors" : "gpio", event: i % 2 == 0 ? "sensors.reading" : "gpio.edge",
                           params: ["n": .number(JSONNumber(i))], atMs: 0)
        }
        #expect(await waitFor { stalled.outboxStats?.depth == 10_000 }, "\(String(describing: stalled.outboxStats))")
        #expect(stalled.status["state"]?.stringValue != "online")

        // The test's subscriber has to be back before anything is published again: its own session is only as
        // durable as the broker's persistence (a broker slow to stop under load loses it, and with it whatever
        // arrived before the subscriber reconnected). So this bridge stops and a new one takes over the durable
        // outbox once the subscriber has resubscribed; the outbox alone carries the 10,000 events across.
        await stalled.stop()
        let bridge = try await restartBroker(broker, thenResubscribed: sub, thenBridge: dir.path + "/outbox.db")
        #expect(await waitFor(60) { sub.count("ela/iTestDevice123/events/") >= 10_000 }, "got \(sub.count("ela/iTestDevice123/events/"))")
        #expect(await waitFor { bridge.outboxStats?.depth == 0 })
        let events = sub.all.filter { $0.topic.contains("/events/") }
        let readings = events.filter { $0.topic == "ela/iTestDevice123/events/sensors/reading" }.compactMap { $0.json?["params"]?["n"]?.numberValue?.int64Value }
        let edges = events.filter { $0.topic == "ela/iTestDevice123/events/gpio/edge" }.compactMap { $0.json?["params"]?["n"]?.numberValue?.int64Value }
        #expect(readings == stride(from: 0, to: 10_000, by: 2).map(Int64.init))
        #expect(edges == stride(from: 1, to: 10_000, by: 2).map(Int64.init))
        let status = bridge.status
        #expect(status["state"] == "online" && status["sent"] == 10_000 && status["dropped"] == 0 && status["duplicates"] == 0)
        #expect(sub.all.contains { $0.topic == "ela/iTestDevice123/status" && $0.json?["state"] == "online" })
        await bridge.stop()
    }

    /// A sensor poll's events arrive together: they are stored in one transaction, and the removal of delivered
    /// messages rides along with the next one (or waits a second) instead of a transaction per PUBACK.
    @Test func burstsOfEventsAreStoredAndRemovedInFewTransactions() async throws {
        let broker = try MosquittoBroker()
        let dir = TemporaryDirectory(prefix: "ela-bridge")
        defer { dir.remove() }
        let sub = try await Subscriber.make(port: broker.port, pattern: "ela/#")
        defer { sub.stop() }
        let bridge = try MQTTBridge(
            config: config(port: broker.port), deviceDID: Self.did, outboxPath: dir.path + "/outbox.db",
            hooks: BridgeHooks(relay: { _ in .failure(CommandFailure(code: -1, message: "unused")) }))
        try bridge.start()
        #expect(await waitFor { bridge.status["state"] == "online" })
        #expect(await waitFor { sub.all.contains { $0.topic.hasSuffix("/status") } })
        let before = bridge.outboxStats?.transactions ?? 0
        let bursts = 10
        for b in 0..<bursts {
            for s in 0..<5 {
                bridge.enqueue(plugin: "sensors", event: "sensors.reading", params: ["n": .number(JSONNumber(b * 5 + s))], atMs: 0)
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(await waitFor { sub.count("ela/iTestDevice123/events/") == bursts * 5 })
        #expect(await waitFor { bridge.outboxStats?.depth == 0 })
        let used = (bridge.outboxStats?.transactions ?? 0) - before
        // One per burst and the last removal; a slow machine may split a burst once in a while.
        #expect(used <= 2 * bursts, "\(used) transactions for \(bursts) bursts of 5")
        #expect(bridge.status["sent"] == .number(JSONNumber(bursts * 5)))
        await bridge.stop()
    }

    @Test func aFullOutboxDropsTheOldestAndCountsExactly() async throws {
        let broker = try MosquittoBroker(persistent: true)
        let dir = TemporaryDirectory(prefix: "ela-bridge")
        defer { dir.remove() }
        let sub = try await Subscriber.make(port: broker.port, pattern: "ela/+/events/#", clientID: "ela-test-sub2")
        defer { sub.stop() }
        broker.stop()
        let bridge = try MQTTBridge(
            config: config(port: broker.port) { $0.outboxMaxMessages = 1000 }, deviceDID: Self.did, outboxPath: dir.path + "/o.db",
            hooks: BridgeHooks(relay: { _ in .failure(CommandFailure(code: -1, message: "unused")) }))
        try bridge.start()
        for i in 0..<3000 { bridge.enqueue(plugin: "sensors", event: "sensors.reading", params: ["n": .number(JSONNumber(i))], atMs: 0) }
        #expect(await waitFor { bridge.outboxStats?.counters.accepted == 3000 })
        #expect(bridge.status["dropped"] == 2000 && bridge.outboxStats?.depth == 1000)
        try broker.start()
        #expect(await waitFor(30) { sub.count("ela/") >= 1000 })
        #expect(await waitFor { bridge.outboxStats?.depth == 0 })
        try await Task.sleep(for: .milliseconds(300))
        let got = sub.all.compactMap { $0.json?["params"]?["n"]?.numberValue?.int64Value }
        #expect(got == Array(2000..<3000).map(Int64.init), "exactly the newest 1000, in order")
        await bridge.stop()
    }

    @Test func commandsAreRelayedAndBadPayloadsRefusedWithoutHarm() async throws {
        let broker = try MosquittoBroker()
        let dir = TemporaryDirectory(prefix: "ela-bridge")
        defer { dir.remove() }
        let relayed = Mutex<[String]>([])
        let bridge = try MQTTBridge(
            config: config(port: broker.port) { $0.maxCommandBytes = 4096 }, deviceDID: Self.did, outboxPath: dir.path + "/o.db",
            hooks: BridgeHooks(relay: { env in
                relayed.withLock { $0.append(env.method) }
                return env.method == "gpio.read" ? .success(.object(["value": 1])) : .failure(CommandFailure(code: -32000, message: "denied: no grant"))
            }))
        try bridge.start()
        let sub = try await Subscriber.make(port: broker.port, pattern: "ela/+/reply/#")
        defer { sub.stop() }
        #expect(await waitFor { bridge.status["state"] == "online" })
        try await Task.sleep(for: .milliseconds(200))  // the bridge's command subscription
        let pub = try MosquittoClient(options: MosquittoOptions())
        try pub.start(host: "127.0.0.1", port: broker.port) { _ in .milliseconds(50) }
        defer { pub.stop() }
        try await Task.sleep(for: .milliseconds(300))
        let base = "ela/iTestDevice123/cmd/"
        func send(_ method: String, _ payload: [UInt8]) throws { try pub.publish(topic: base + method, payload: payload, qos: 1) }
        let request = #"{"method":"gpio.read","params":{"pin":"LED0"},"did":"did:elastos:iX","signature":"00"}"#
        func envelope(_ id: String, _ req: String) -> [UInt8] {
            JSONWriter.compactBytes(.object(["id": .string(id), "request": .string(req)]))
        }
        try send("gpio.read", envelope("ok-1", request))
        try send("gpio.write", envelope("denied-1", request.replacingGpio("gpio.write")))
        try send("gpio.read", envelope("mismatch-1", request.replacingGpio("gpio.write")))
        try send("gpio.read", Array(#"{"id":"norequest-1"}"#.utf8))
        try send("gpio.read", [0xFF, 0xFE, 0x00, 0x7B])  // not UTF-8
        try send("gpio.read", Array("{not json".utf8))
        try send("gpio.read", [UInt8](repeating: 0x20, count: 5000))  // oversize
        try send("gpio.read", Array(#"{"id":"a/b","request":"x"}"#.utf8))  // an id that cannot name a topic
        #expect(await waitFor(10) { sub.all.count >= 4 })
        try await Task.sleep(for: .milliseconds(500))
        func reply(_ id: String) -> JSONValue? { sub.all.first { $0.topic == "ela/iTestDevice123/reply/\(id)" }?.json }
        #expect(reply("ok-1")?["result"]?["value"] == 1)
        #expect(reply("denied-1")?["error"]?["code"] == -32000)
        #expect(reply("mismatch-1")?["error"]?["code"] == -32602)
        #expect(reply("norequest-1")?["error"]?["code"] == -32600)
        #expect(sub.all.count == 4, "no reply where no reply topic can be determined: \(sub.all.map(\.topic))")
        // Each command is relayed by a task of its own: the two may reach the hook in either order.
        #expect(relayed.withLock { $0 }.sorted() == ["gpio.read", "gpio.write"])
        let commands = bridge.status["commands"]
        #expect(commands?["relayed"] == 1 && commands?["refused"] == 1 && commands?["rejected"] == 6)
        // Still serving after all that.
        try send("gpio.read", envelope("ok-2", request))
        #expect(await waitFor(10) { reply("ok-2") != nil })
        await bridge.stop()
    }
}

extension BridgeBrokerTests {
    /// A command whose effect happened while the broker went away: its reply waits in the durable outbox, survives
    /// a restart of the bridge, and reaches the requester once the broker is back.
    @Test func aReplyOutlivesABrokerOutageAndABridgeRestart() async throws {
        let broker = try MosquittoBroker(persistent: true)
        let dir = TemporaryDirectory(prefix: "ela-bridge")
        defer { dir.remove() }
        let relayStarted = Atomic<Bool>(false)
        let brokerGone = Atomic<Bool>(false)
        let bridge = try MQTTBridge(
            config: config(port: broker.port), deviceDID: Self.did, outboxPath: dir.path + "/o.db",
            hooks: BridgeHooks(relay: { _ in
                relayStarted.store(true, ordering: .relaxed)
                while !brokerGone.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(10)) }
                return .success(.object(["value": 1]))
            }))
        try bridge.start()
        let sub = try await Subscriber.make(port: broker.port, pattern: "ela/+/reply/#", clientID: "ela-reply-sub")
        defer { sub.stop() }
        #expect(await waitFor { bridge.status["state"] == "online" })
        try await Task.sleep(for: .milliseconds(200))  // the bridge's command subscription
        let pub = try MosquittoClient(options: MosquittoOptions())
        try pub.start(host: "127.0.0.1", port: broker.port) { _ in .milliseconds(50) }
        try await Task.sleep(for: .milliseconds(300))
        let request = #"{"method":"gpio.write","params":{"pin":"LED0","value":1},"did":"did:elastos:iX","signature":"00"}"#
        try pub.publish(topic: "ela/iTestDevice123/cmd/gpio.write", payload: Array(#"{"id":"late-1","request":\#(JSONWriter.compact(.string(request)))}"#.utf8), qos: 1)
        #expect(await waitFor(10) { relayStarted.load(ordering: .relaxed) })
        pub.stop()
        broker.stop()
        brokerGone.store(true, ordering: .relaxed)
        #expect(await waitFor(10) { bridge.outboxStats?.depth == 1 }, "the reply waits in the outbox: \(String(describing: bridge.outboxStats))")
        await bridge.stop()
        let again = try await restartBroker(broker, thenResubscribed: sub, thenBridge: dir.path + "/o.db")
        #expect(await waitFor(20) { sub.all.contains { $0.topic == "ela/iTestDevice123/reply/late-1" } })
        #expect(sub.all.first { $0.topic == "ela/iTestDevice123/reply/late-1" }?.json?["result"]?["value"] == 1)
        #expect(await waitFor { again.outboxStats?.depth == 0 })
        await again.stop()
    }
}

extension String {
    func replacingGpio(_ method: String) -> String {
        let parts = split(separator: "gpio.read", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.count == 2 ? parts[0] + method + parts[1] : self
    }
}
