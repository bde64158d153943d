#if canImport(Glibc)
import Glibc
#endif
import ElaJSON
import ElaPluginKit
import ElaPluginProtocol
import Synchronization
import ElaPluginTestSupport
import Testing

/// Lets tests hold handlers in flight and release them together.
final class Gate: Sendable {
    private let open = Atomic<Bool>(false)
    private let waiting = Atomic<Int>(0)
    func pass() async {
        waiting.add(1, ordering: .sequentiallyConsistent)
        while !open.load(ordering: .sequentiallyConsistent) { try? await Task.sleep(for: .milliseconds(2)) }
    }
    var waiters: Int { waiting.load(ordering: .sequentiallyConsistent) }
    func release() { open.store(true, ordering: .sequentiallyConsistent) }
}

/// Lines recorded from several tasks.
final class Recorder: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

struct SomeOtherError: Error, CustomStringConvertible {
    var description: String { "the frobnicator overheated" }
}

/// A plugin with one method of each behaviour the tests need.
func testPlugin(gate: Gate = Gate()) -> PluginDefinition {
    var d = PluginDefinition(name: "t", version: "1.2.3")
    d.method("t.echo") { call, _ in .object(call.params) }
    d.method("t.config") { _, ctx in .object(ctx.config) }
    d.method("t.add") { call, _ in .number(JSONNumber(try call.int("a") + call.int("b"))) }
    d.method("t.fail") { _, _ in throw PluginError.failed("line 4 is held by 'someone'") }
    d.method("t.crash") { _, _ in throw SomeOtherError() }
    d.method("t.wait") { _, _ in
        await gate.pass()
        return "done"
    }
    d.method("t.emit") { call, ctx in
        for i in 0..<(try call.int("count")) { ctx.emit("t.tick", JSONObject([("n", .number(JSONNumber(i)))])) }
        return .null
    }
    d.event("t.tick")
    return d
}

@Suite struct PluginHandshakeTests {
    @Test func helloAnswersWithTheDeclaredMethodsAndConfig() async throws {
        let (host, plugin) = try TestHost.start(testPlugin())
        let config = JSONObject([("backend", "sim"), ("n", 3)])
        let welcome = try await host.handshake(config: config)
        #expect(welcome.version == 1)
        #expect(welcome.name == "t")
        #expect(welcome.pluginVersion == "1.2.3")
        #expect(welcome.methods == ["t.echo", "t.config", "t.add", "t.fail", "t.crash", "t.wait", "t.emit"])
        #expect(welcome.events == ["t.tick"])
        #expect(try await host.call(2, "t.config").result == .object(config))
        #expect(try await host.call(3, "t.echo", JSONObject([("x", "y")])).result == .object(JSONObject([("x", "y")])))
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func requestsBeforeHelloAreRefused() async throws {
        let (host, plugin) = try TestHost.start(testPlugin())
        let m = try await host.call(7, "t.echo")
        #expect(m.error?.kind == .notReady)
        #expect(try await host.call(8, PluginHandshake.pingMethod).error?.kind == .notReady)
        try await host.handshake()
        #expect(try await host.call(9, PluginHandshake.method, PluginHandshake.Hello(host: "x").params).error?.kind == .invalidRequest)
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func aVersionMismatchIsAnsweredAndEndsThePlugin() async throws {
        let (host, plugin) = try TestHost.start(testPlugin())
        let hello = PluginHandshake.Hello(versions: [2, 3], host: "future-host")
        let m = try await host.call(1, PluginHandshake.method, hello.params)
        #expect(m.error?.kind == .versionMismatch)
        #expect(m.error?.message.contains("[2, 3]") == true)
        #expect(await plugin.value == 1)
    }

    @Test func aHelloWithoutVersionsIsBadParamsAndTheHandshakeCanBeRetried() async throws {
        let (host, plugin) = try TestHost.start(testPlugin())
        #expect(try await host.call(1, PluginHandshake.method, JSONObject([("host", "x")])).error?.kind == .invalidParams)
        try await host.handshake()
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func startAndStopHooksRunAroundTheSession() async throws {
        let events = Recorder()
        var d = testPlugin()
        d.onStart = { ctx in events.add("start \(ctx.config["chip"]?.stringValue ?? "")") }
        d.onStop = { _ in events.add("stop") }
        let (host, plugin) = try TestHost.start(d)
        try await host.handshake(config: JSONObject([("chip", "c0")]))
        #expect(events.all == ["start c0"])
        host.close()
        #expect(await plugin.value == 0)
        #expect(events.all == ["start c0", "stop"])
    }

    @Test func aFailingStartAnswersTheHelloAndExitsOne() async throws {
        var d = testPlugin()
        d.onStart = { _ in throw PluginError.failed("no chip labelled 'x'") }
        let (host, plugin) = try TestHost.start(d)
        let m = try await host.call(1, PluginHandshake.method, PluginHandshake.Hello(host: "h").params)
        #expect(m.error?.kind == .pluginError)
        #expect(m.error?.message.contains("start failed") == true)
        #expect(m.error?.message.contains("no chip labelled 'x'") == true)
        #expect(await plugin.value == 1)
    }

    @Test func theStateDirectoryComesFromTheOptions() async throws {
        var d = PluginDefinition(name: "t", version: "1.0.0")
        d.method("t.dir") { _, ctx in ctx.stateDirectory.map(JSONValue.string) ?? .null }
        let (host, plugin) = try TestHost.start(d) { $0.stateDirectory = "/var/lib/ela/t" }
        try await host.handshake()
        #expect(try await host.call(2, "t.dir").result == "/var/lib/ela/t")
        host.close()
        #expect(await plugin.value == 0)
    }
}

@Suite struct PluginCallTests {
    @Test func errorsAreMappedToTheirCodes() async throws {
        let (host, plugin) = try TestHost.start(testPlugin())
        try await host.handshake()
        #expect(try await host.call(2, "t.add", JSONObject([("a", 2), ("b", 40)])).result == 42)
        let missing = try await host.call(3, "t.add", JSONObject([("a", 2)]))
        #expect(missing.error?.kind == .invalidParams)
        #expect(missing.error?.message == "t.add: missing \"b\" (an integer)")
        let wrong = try await host.call(4, "t.add", JSONObject([("a", "two"), ("b", 1)]))
        #expect(wrong.error?.message == "t.add: \"a\" must be an integer, found a string")
        let failed = try await host.call(5, "t.fail")
        #expect(failed.error == PluginProtocolError(.pluginError, "line 4 is held by 'someone'"))
        let crash = try await host.call(6, "t.crash")
        #expect(crash.error == PluginProtocolError(.internalError, "the frobnicator overheated"))
        let unknown = try await host.call(7, "t.nope")
        #expect(unknown.error?.kind == .methodNotFound)
        #expect(unknown.error?.message.contains("t.echo") == true)
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func requestsRunConcurrentlyAndPingCountsThem() async throws {
        let gate = Gate()
        let (host, plugin) = try TestHost.start(testPlugin(gate: gate))
        try await host.handshake()
        for id in 10..<20 { host.send(.request(id: Int64(id), method: "t.wait", params: JSONObject())) }
        // A later call is answered while ten earlier ones wait.
        #expect(try await host.call(30, "t.echo", JSONObject([("a", 1)])).result == .object(JSONObject([("a", 1)])))
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while gate.waiters < 10 && clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let ping = try #require(try await host.call(31, PluginHandshake.pingMethod).result?.objectValue)
        #expect(ping["inFlight"] == 10)
        #expect(ping["droppedEvents"] == 0)
        #expect((ping["rssKB"]?.numberValue?.int64Value ?? 0) > 1000)
        gate.release()
        var answered = Set<Int64>()
        while answered.count < 10 {
            if case .response(let id, let result) = try await host.receive() {
                #expect(result == "done")
                answered.insert(id)
            }
        }
        #expect(answered == Set((10..<20).map(Int64.init)))
        #expect(try await host.call(32, PluginHandshake.pingMethod).result?["inFlight"] == 0)
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func moreThanSixtyFourInFlightIsBusy() async throws {
        let gate = Gate()
        let (host, plugin) = try TestHost.start(testPlugin(gate: gate))
        try await host.handshake()
        for id in 100..<164 { host.send(.request(id: Int64(id), method: "t.wait", params: JSONObject())) }
        let busy = try await host.call(200, "t.wait")
        #expect(busy.error?.kind == .pluginError)
        #expect(busy.error?.message.contains("busy") == true)
        // Pings are answered by the protocol layer, even when every slot is taken.
        #expect(try await host.call(201, PluginHandshake.pingMethod).result?["inFlight"] == 64)
        gate.release()
        var answered = 0
        while answered < 64 {
            if case .response = try await host.receive() { answered += 1 }
        }
        #expect(try await host.call(202, "t.wait").result == "done")
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func inFlightHandlersAreCancelledWhenTheHostLeaves() async throws {
        var d = PluginDefinition(name: "t", version: "1.0.0")
        d.method("t.sleep") { _, _ in
            try await Task.sleep(for: .seconds(60))
            return .null
        }
        let (host, plugin) = try TestHost.start(d)
        try await host.handshake()
        host.send(.request(id: 2, method: "t.sleep", params: JSONObject()))
        #expect(try await host.call(3, PluginHandshake.pingMethod).result?["inFlight"] == 1)
        let clock = ContinuousClock()
        let start = clock.now
        host.close()
        #expect(await plugin.value == 0)
        #expect(clock.now - start < .seconds(5))
    }
}

@Suite struct PluginEventTests {
    @Test func eventsArriveAsNotifications() async throws {
        let (host, plugin) = try TestHost.start(testPlugin())
        try await host.handshake()
        host.send(.request(id: 2, method: "t.emit", params: JSONObject([("count", 3)])))
        var ticks: [JSONValue] = []
        var answered = false
        while ticks.count < 3 || !answered {
            switch try await host.receive() {
            case .notification(let method, let params):
                #expect(method == "t.tick")
                ticks.append(params["n"] ?? .null)
            case .response(let id, _):
                // Frames leave in the order they were queued: the events first, then the answer.
                #expect(ticks.count == 3)
                answered = id == 2
            case let other: Issue.record("unexpected \(other)")
            }
        }
        #expect(ticks == [0, 1, 2])
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func aFullQueueDropsAndCountsEvents() async throws {
        // Events emitted while starting wait for the hello answer, so the bounded queue fills deterministically.
        var d = testPlugin()
        d.onStart = { ctx in
            for i in 0..<150 { ctx.emit("t.tick", JSONObject([("n", .number(JSONNumber(i)))])) }
        }
        let (host, plugin) = try TestHost.start(d) { $0.eventQueueCapacity = 100 }
        let hello = PluginHandshake.Hello(host: "h")
        host.send(.request(id: 1, method: PluginHandshake.method, params: hello.params))
        // Nothing may precede the hello answer.
        #expect(try await host.receive().result?["name"] == "t")
        var ticks: [Int64] = []
        while ticks.count < 100 {
            if case .notification(_, let params) = try await host.receive() { ticks.append(params["n"]?.numberValue?.int64Value ?? -1) }
        }
        #expect(ticks == Array(0..<100))
        let ping = try await host.call(2, PluginHandshake.pingMethod)
        #expect(ping.result?["droppedEvents"] == 50)
        host.close()
        #expect(await plugin.value == 0)
    }

    /// Nothing larger than the host takes leaves the plugin (the host would drop the stream and kill it): an answer
    /// becomes an error answer saying so, an event is dropped and counted, a request to the host fails at once.
    @Test func framesLargerThanTheHostTakesNeverLeave() async throws {
        var d = testPlugin()
        d.method("t.big") { call, ctx in
            let blob = JSONValue.string(String(repeating: "x", count: try call.int("bytes")))
            switch try call.optionalString("as") {
            case "event"?:
                ctx.emit("t.tick", ["blob": blob])
                return .null
            case "request"?:
                do { _ = try await ctx.call("ela.echo", ["blob": blob]) } catch { return .string("\(error)") }
                return "sent"
            default: return blob
            }
        }
        let (host, plugin) = try TestHost.start(d) { $0.maxFrame = 4096 }
        try await host.handshake()
        #expect(try await host.call(2, "t.big", ["bytes": 100]).result?.stringValue?.count == 100)
        let big = try await host.call(3, "t.big", ["bytes": 5000]).error
        #expect(big?.kind == .frameTooLarge && big?.message.contains("more than a frame may hold (4096)") == true, "\(String(describing: big))")
        // An event must leave the host room to wrap it (1024 bytes): 3500 is too many under a 4096 limit.
        #expect(try await host.call(4, "t.big", ["bytes": 3500, "as": "event"]).result == .null)
        #expect(try await host.call(5, PluginHandshake.pingMethod).result?["droppedEvents"] == 1)
        let request = try await host.call(6, "t.big", ["bytes": 5000, "as": "request"]).result?.stringValue
        #expect(request?.contains("larger than the host takes (4096)") == true, "\(String(describing: request))")
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func aDetachedContextHandsEventsToItsCallback() async throws {
        let seen = Recorder()
        let ctx = PluginContext(config: JSONObject([("k", 1)])) { event, params in
            seen.add("\(event) \(params["v"]?.numberValue?.text ?? "")")
        }
        ctx.emit("t.tick", JSONObject([("v", 5)]))
        #expect(seen.all == ["t.tick 5"])
        #expect(ctx.droppedEvents == 0)
        #expect(ctx.config["k"] == 1)
    }
}

@Suite struct PluginStreamTests {
    @Test func malformedFramesAreAnsweredAndTheSessionGoesOn() async throws {
        let (host, plugin) = try TestHost.start(testPlugin())
        try await host.handshake()
        host.sendRaw(PluginFraming.encode(Array("not json".utf8)))
        let parse = try await host.receive()
        #expect(parse == .failure(id: nil, PluginProtocolError(.parseError, parse.error?.message ?? "")))
        host.sendRaw(PluginFraming.encode(Array("[1,2]".utf8)))
        #expect(try await host.receive().error?.kind == .invalidRequest)
        host.sendRaw(PluginFraming.encode(Array(#"{"jsonrpc":"1.0","id":5,"method":"t.echo"}"#.utf8)))
        #expect(try await host.receive() == .failure(id: nil, PluginProtocolError(.invalidRequest, "\"jsonrpc\" must be \"2.0\"")))
        // Notifications and stray answers from the host are ignored.
        host.send(.notification(method: "ela.notice", params: JSONObject()))
        host.send(.response(id: 99, result: "x"))
        #expect(try await host.call(6, "t.echo", JSONObject([("ok", true)])).result == .object(JSONObject([("ok", true)])))
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func anOversizeLengthEndsThePluginWithStatusTwo() async throws {
        let (host, plugin) = try TestHost.start(testPlugin())
        try await host.handshake()
        host.sendRaw([0x7F, 0xFF, 0xFF, 0xFF, 0x7B])
        #expect(try await host.receive().error?.kind == .frameTooLarge)
        #expect(await plugin.value == 2)
    }

    @Test func framesSplitAcrossWritesAreReassembled() async throws {
        let (host, plugin) = try TestHost.start(testPlugin())
        try await host.handshake()
        let bytes = PluginMessage.request(id: 2, method: "t.add", params: JSONObject([("a", 1), ("b", 2)])).encoded()
            + PluginMessage.request(id: 3, method: "t.add", params: JSONObject([("a", 3), ("b", 4)])).encoded()
        for b in bytes {
            host.sendRaw([b])
        }
        #expect(try await host.answer(to: 2).0.result == 3)
        #expect(try await host.answer(to: 3).0.result == 7)
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func endOfStreamBeforeTheHandshakeIsACleanExit() async throws {
        let (host, plugin) = try TestHost.start(testPlugin())
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func aDescriptorThatIsNotTheHostsSocketIsRefused() async {
        #expect(await PluginMain.run(testPlugin(), fd: 987) == 1)
        let file = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        defer { close(file) }
        #expect(await PluginMain.run(testPlugin(), fd: file) == 1)
    }
}

/// A plugin's own requests to the host (`context.call`) and the host's notifications to it.
@Suite struct HostCallAndNotificationTests {
    func bridgePlugin(_ seen: Recorder) -> PluginDefinition {
        var d = PluginDefinition(name: "b", version: "1.0.0")
        d.method("b.ask") { call, ctx in
            try await ctx.call(try call.string("method"), try call.optionalObject("params") ?? JSONObject(), timeout: .seconds(2))
        }
        d.notification("ela.event") { params, _ in seen.add(params["seq"]?.numberValue?.text ?? "?") }
        d.method("b.seen") { _, _ in .array(seen.all.map(JSONValue.string)) }
        return d
    }

    @Test func requestsToTheHostAreAnsweredByIdAndErrorsKeepTheirCode() async throws {
        let (host, plugin) = try TestHost.start(bridgePlugin(Recorder()))
        try await host.handshake()
        host.send(.request(id: 10, method: "b.ask", params: ["method": "ela.device"]))
        // The plugin's request reaches the host with its own id; the host answers it.
        guard case .request(let id, let method, _) = try await host.receive() else { Issue.record("expected a request"); return }
        #expect(method == "ela.device")
        host.send(.response(id: id, result: .object(["did": "did:elastos:iX"])))
        let answer = try await host.answer(to: 10).0
        #expect(answer.result?["did"] == "did:elastos:iX")

        host.send(.request(id: 11, method: "b.ask", params: ["method": "ela.call"]))
        guard case .request(let id2, _, _) = try await host.receive() else { Issue.record("expected a request"); return }
        #expect(id2 != id)
        host.send(.failure(id: id2, PluginProtocolError(.pluginError, "denied: no grant")))
        let denied = try await host.answer(to: 11).0
        #expect(denied.error?.kind.code == -32000 && denied.error?.message.contains("denied: no grant") == true)

        // Unanswered: the call times out with a clear message instead of hanging.
        host.send(.request(id: 12, method: "b.ask", params: ["method": "ela.slow"]))
        _ = try await host.receive()
        let late = try await host.answer(to: 12, timeout: .seconds(10)).0
        #expect(late.error?.message.contains("did not answer") == true)
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func notificationsArriveInOrder() async throws {
        let seen = Recorder()
        let (host, plugin) = try TestHost.start(bridgePlugin(seen))
        try await host.handshake()
        for i in 1...500 { host.send(.notification(method: "ela.event", params: ["seq": .number(JSONNumber(i))])) }
        host.send(.notification(method: "ela.unknown", params: [:]))
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while seen.all.count < 500 && clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(seen.all == (1...500).map(String.init))
        let r = try await host.call(20, "b.seen")
        #expect(r.result?.arrayValue?.count == 500)
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func requestsSentWithoutWaitingLeaveInOrderFromAnyThreadAndCompleteOnce() async throws {
        let outcomes = Recorder()
        var d = PluginDefinition(name: "b", version: "1.0.0")
        d.method("b.fire") { call, ctx in
            let count = Int(call.params["count"]?.numberValue?.int64Value ?? 0)
            // From a thread of the plugin's own (as ela-carrier's Tox thread does), not a task.
            _ = PosixThread.detach {
                for i in 0..<count {
                    ctx.send("ela.note", ["i": .number(JSONNumber(i))], timeout: .seconds(1)) { r in
                        outcomes.add(((try? r.get())?["ok"] == true ? "ok" : "failed") + "\(i)")
                    }
                }
            }
            return .null
        }
        let (host, plugin) = try TestHost.start(d)
        try await host.handshake()
        host.send(.request(id: 1, method: "b.fire", params: ["count": 3]))
        var ids: [Int64] = []
        var order: [String] = []
        while ids.count < 3 {
            switch try await host.receive() {
            case .request(let id, let method, let params):
                #expect(method == "ela.note")
                ids.append(id)
                order.append(params["i"]?.numberValue?.text ?? "?")
            default: break
            }
        }
        #expect(order == ["0", "1", "2"])
        // Two answered; the third never is and times out.
        host.send(.response(id: ids[0], result: .object(["ok": true])))
        host.send(.response(id: ids[1], result: .object(["ok": true])))
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while outcomes.all.count < 3 && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(Set(outcomes.all) == ["ok0", "ok1", "failed2"])
        try await Task.sleep(for: .milliseconds(300))
        #expect(outcomes.all.count == 3)
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func aContextWithoutAHostSaysSo() async {
        let ctx = PluginContext()
        await #expect(throws: PluginError.self) { _ = try await ctx.call("ela.device") }
    }
}
