#if canImport(Glibc)
import Glibc
#endif
import ElaJSON
import ElaPluginKit
import ElaPluginProtocol
import ElaPluginTestSupport
import Testing

/// `.nonBlocking` handlers run on the plugin's reader thread, one frame at a time.
@Suite struct NonBlockingHandlerTests {
    /// Each handler records the thread it ran on and the order it ran in.
    static func plugin(_ recorder: Recorder, mode: PluginDefinition.HandlerMode) -> PluginDefinition {
        var d = PluginDefinition(name: "t", version: "1.0.0")
        d.method("t.note", mode: mode) { call, _ in
            recorder.add("\(try call.int("n")) \(UInt(pthread_self()))")
            return .null
        }
        d.method("t.nap", mode: mode) { call, _ in
            try await Task.sleep(for: .milliseconds(try call.int("ms")))
            return "rested"
        }
        return d
    }

    @Test func theyRunInArrivalOrderOnOneThread() async throws {
        let recorder = Recorder()
        let (host, plugin) = try TestHost.start(Self.plugin(recorder, mode: .nonBlocking))
        try await host.handshake()
        // All frames in one write: a handler runs before the next frame is even decoded.
        var batch: [UInt8] = []
        for n in 0..<200 { batch += PluginMessage.request(id: Int64(n + 10), method: "t.note", params: ["n": .number(JSONNumber(n))]).encoded() }
        host.sendRaw(batch)
        var answers = 0
        while answers < 200 {
            if case .response = try await host.receive() { answers += 1 }
        }
        let lines = recorder.all
        #expect(lines.map { $0.split(separator: " ")[0] } == (0..<200).map { Substring(String($0)) })
        #expect(Set(lines.map { $0.split(separator: " ")[1] }).count == 1)
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func aHandlerThatAwaitsResumesAndOthersAreServedMeanwhile() async throws {
        let (host, plugin) = try TestHost.start(Self.plugin(Recorder(), mode: .nonBlocking))
        try await host.handshake()
        host.send(.request(id: 2, method: "t.nap", params: ["ms": 300]))
        // Answered while the nap is still pending: the reader thread is not held by an awaiting handler.
        #expect(try await host.call(3, "t.note", ["n": 1]).result == .null)
        let (nap, _) = try await host.answer(to: 2)
        #expect(nap.result == "rested")
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func aHandlerStillAwaitingWhenTheHostLeavesDoesNotHangTheStop() async throws {
        let (host, plugin) = try TestHost.start(Self.plugin(Recorder(), mode: .nonBlocking))
        try await host.handshake()
        host.send(.request(id: 2, method: "t.nap", params: ["ms": 60_000]))
        #expect(try await host.call(3, PluginHandshake.pingMethod).result?["inFlight"] == 1)
        let clock = ContinuousClock()
        let start = clock.now
        host.close()
        #expect(await plugin.value == 0)
        #expect(clock.now - start < .seconds(5))
    }

    @Test func concurrentHandlersStillRunOnThePool() async throws {
        let recorder = Recorder()
        let (host, plugin) = try TestHost.start(Self.plugin(recorder, mode: .concurrent))
        try await host.handshake()
        host.send(.request(id: 2, method: "t.nap", params: ["ms": 300]))
        #expect(try await host.call(3, "t.note", ["n": 7]).result == .null)
        #expect(try await host.answer(to: 2).0.result == "rested")
        #expect(recorder.all.first?.hasPrefix("7 ") == true)
        host.close()
        #expect(await plugin.value == 0)
    }
}
