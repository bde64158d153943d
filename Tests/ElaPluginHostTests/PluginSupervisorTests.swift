#if canImport(Glibc)
import Glibc
#endif
import ElaJSON
import ElaPluginHost
import ElaPluginProtocol
import ElaTestSupport
import Logging
import Synchronization
import Testing

/// Real plugin processes (the Python fixture), supervised without the sandbox; the sandboxed runs are in
/// SandboxedPluginTests.
@Suite(.serialized) struct PluginSupervisorTests {
    static let fixtures: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        return parts.joined(separator: "/") + "/Fixtures"
    }()

    static func hostile(
        launcher: String? = nil, config: JSONObject = JSONObject(), state: TemporaryDirectory,
        tune: (inout PluginHostSettings) -> Void = { _ in }, eventSink: @escaping @Sendable (PluginEvent) -> Void = { _ in },
        requestHandler: PluginRequestHandler? = nil
    ) throws -> PluginSupervisor {
        let found = PluginCatalog(directories: [fixtures], programDirectories: []).discover()
        #expect(found.problems.isEmpty, "\(found.problems)")
        let descriptor = try #require(found.plugins.first { $0.name == "hostile" })
        var settings = PluginHostSettings(launcher: launcher, stateRoot: state.path + "/plugins", readOnlyPaths: [], hostName: "test")
        settings.restart.initialBackoff = 0.05
        settings.restart.maxBackoff = 0.2
        // Short enough for the hang test, long enough for a loaded CI machine running every suite at once.
        settings.pingInterval = 0.3
        settings.pingTimeout = 1.5
        settings.stopGrace = 1
        tune(&settings)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return PluginSupervisor(
            descriptor: descriptor, settings: settings, uid: 61900, config: config, logger: logger, eventSink: eventSink,
            requestHandler: requestHandler)
    }

    static func waitFor(_ supervisor: PluginSupervisor, _ state: PluginRunState, seconds: Double = 15) async -> PluginStatus {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var status = await supervisor.status()
        while status.state != state && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            status = await supervisor.status()
        }
        return status
    }

    /// Waits until the plugin is running again after `restarts` restarts (a stale `running` with no pid is not it).
    static func waitRestarted(_ s: PluginSupervisor, restarts: Int, seconds: Double = 15) async -> PluginStatus {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var st = await s.status()
        while !(st.state == .running && st.restarts >= restarts && st.pid != nil) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            st = await s.status()
        }
        return st
    }

    @Test func startCallStop() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir)
        await s.start()
        let running = await Self.waitFor(s, .running)
        #expect(running.state == .running)
        let pid = try #require(running.pid)
        let echo = await s.call("hostile.echo", ["text": "hi"])
        #expect(try echo.get().objectValue?["text"] == "hi")
        let unknown = await s.call("hostile.nope", [:])
        guard case .failure(.remote(let e)) = unknown else {
            Issue.record("expected a remote error, got \(unknown)")
            return
        }
        #expect(e.kind.code == -32601)
        await s.stop()
        let stopped = await s.status()
        #expect(stopped.state == .stopped)
        #expect(kill(pid, 0) != 0)  // gone
        let after = await s.call("hostile.echo", [:])
        #expect(after == .failure(.notRunning(plugin: "hostile", state: "not connected")))
    }

    @Test func aCrashIsRestarted() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir)
        await s.start()
        let first = await Self.waitFor(s, .running)
        let crashed = await s.call("hostile.crash", ["code": 7])
        #expect(crashed == .failure(.disconnected(plugin: "hostile")))
        // Back up with a new pid after the backoff.
        let again = await Self.waitRestarted(s, restarts: 1)
        #expect(again.state == .running)
        #expect(again.pid != first.pid)
        #expect(again.restarts == 1)
        #expect(again.lastExit == 7)
        #expect(s.logs().contains { $0.text.contains("status 7") })
        await s.stop()
    }

    @Test func aCrashLoopEndsInFailed() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(config: ["exit_at_start": 3], state: dir)
        await s.start()
        let failed = await Self.waitFor(s, .failed)
        #expect(failed.state == .failed)
        #expect(failed.failure?.contains("crash loop") == true)
        #expect(failed.restarts == 4)
        // An explicit start clears it (and it fails again, since it still exits at start).
        await s.start()
        let again = await Self.waitFor(s, .failed)
        #expect(again.state == .failed)
    }

    @Test func aHungPluginIsKilledAndRestarted() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir)
        await s.start()
        _ = await Self.waitFor(s, .running)
        let hang = await s.call("hostile.hang", [:], timeoutSeconds: 0.5)
        #expect(hang == .failure(.timeout(plugin: "hostile", method: "hostile.hang", seconds: 0.5)))
        let again = await Self.waitRestarted(s, restarts: 1)
        #expect(again.state == .running)
        #expect(again.lastCause?.contains("hung") == true)
        await s.stop()
    }

    @Test func aBusyPluginThatKeepsAnsweringIsNotKilled() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir)
        await s.start()
        let first = await Self.waitFor(s, .running)
        // More slow calls than the connection takes at once: pings find it busy for ~3 s, but answers keep coming.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<300 { group.addTask { _ = await s.call("hostile.slow", ["ms": 10], timeoutSeconds: 30) } }
        }
        let status = await s.status()
        #expect(status.pid == first.pid && status.restarts == 0 && status.lastCause == nil, "\(status)")
        await s.stop()
    }

    @Test func aPluginThatClosesItsSocketButKeepsRunningIsKilledAndRestarted() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir)
        await s.start()
        let first = await Self.waitFor(s, .running)
        let closed = await s.call("hostile.close_socket", [:], timeoutSeconds: 5)
        #expect(closed == .failure(.disconnected(plugin: "hostile")))
        let again = await Self.waitRestarted(s, restarts: 1)
        #expect(again.state == .running && again.pid != first.pid)
        #expect(again.lastCause?.contains("closed its socket") == true, "\(again.lastCause ?? "-")")
        await s.stop()
    }

    @Test func aPluginHungUnderAFullLoadOfCallsIsStillKilled() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir)
        await s.start()
        _ = await Self.waitFor(s, .running)
        // One call hangs the plugin; as many more as the connection takes wait behind it, so pings find it busy.
        let calls = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { _ = await s.call("hostile.hang", [:], timeoutSeconds: 60) }
                for _ in 0..<300 { group.addTask { _ = await s.call("hostile.echo", [:], timeoutSeconds: 60) } }
            }
        }
        let again = await Self.waitRestarted(s, restarts: 1)
        #expect(again.state == .running)
        #expect(again.lastCause?.contains("hung") == true, "\(again.lastCause ?? "-")")
        await calls.value
        await s.stop()
    }

    @Test func oversizeCallsLateAnswersAndUnrelayableEventsAreHandled() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let forwarded = Mutex<[String]>([])
        let withSink = try Self.hostile(state: dir, eventSink: { e in forwarded.withLock { $0.append(e.name) } })
        await withSink.start()
        let first = await Self.waitFor(withSink, .running)
        // A request the plugin could not take is refused here rather than sent (it would drop the stream and exit).
        let huge = await withSink.call("hostile.echo", ["text": .string(String(repeating: "x", count: 1 << 20))])
        guard case .failure(.tooLarge(plugin: "hostile", _, max: 1 << 20)) = huge else {
            Issue.record("expected tooLarge, got \(huge)")
            return
        }
        // Answers that come after their calls timed out are dropped quietly, not counted against a slow plugin.
        for _ in 0..<20 {
            let late = await withSink.call("hostile.slow", ["ms": 150], timeoutSeconds: 0.05)
            #expect(late == .failure(.timeout(plugin: "hostile", method: "hostile.slow", seconds: 0.05)))
        }
        try await Task.sleep(for: .milliseconds(400))
        #expect(await withSink.call("hostile.echo", ["n": 1]) == .success(.object(["n": 1])))
        // An event with no room for the relay's wrapper is a violation, not relayed.
        #expect(await withSink.call("hostile.big_event", [:]) != .failure(.disconnected(plugin: "hostile")))
        let status = await withSink.status()
        #expect(status.pid == first.pid && status.restarts == 0, "\(status)")
        #expect(status.violations == 1, "\(status)")
        #expect(forwarded.withLock { $0 }.isEmpty)
        await withSink.stop()
    }

    @Test func largeEventsAreMeteredByTheirBytes() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let forwarded = Atomic<Int>(0)
        let s = try Self.hostile(
            state: dir, tune: { $0.eventBytesPerSecond = 100_000 }, eventSink: { _ in forwarded.add(1, ordering: .relaxed) })
        await s.start()
        _ = await Self.waitFor(s, .running)
        // Ten events of ~500 kB at once: the 2 MiB burst takes four, the rest are dropped and counted.
        _ = await s.call("hostile.big_event", ["count": 10, "size": 500_000], timeoutSeconds: 10)
        let status = await s.status()
        #expect(forwarded.load(ordering: .relaxed) == 4 && status.eventsForwarded == 4, "\(status)")
        #expect(status.eventsDropped == 6 && status.violations == 0 && status.restarts == 0, "\(status)")
        await s.stop()
    }

    @Test func aPluginFloodingTheHostWithRequestsIsAnsweredBusy() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let handled = Atomic<Int>(0)
        let s = try Self.hostile(
            state: dir,
            tune: { settings in
                settings.pluginRequestsInFlight = 64
                settings.pluginRequestsPerSecond = 10
                // The question stands for the plugin's transport (as the carrier's reports): only the in-flight cap.
                settings.unmeteredRequest = { _, method in method == "hostile.question" }
            },
            requestHandler: { _, method, _ in
                handled.add(1, ordering: .relaxed)
                if method == "hostile.question" { try? await Task.sleep(for: .milliseconds(200)) }
                return .success(.object([:]))
            })
        await s.start()
        _ = await Self.waitFor(s, .running)
        // 200 at once: 64 are taken (the in-flight cap), the rest answered busy without reaching the handler.
        let outcome = await s.call("hostile.ask_host", ["count": 200], timeoutSeconds: 10)
        guard case .success(let counts) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(counts["ok"] == 64 && counts["busy"] == 136, "\(counts)")
        #expect(handled.load(ordering: .relaxed) == 64)
        // Every other request is a call through the gate and metered too: a burst of twice the rate, then busy.
        let calls = await s.call("hostile.ask_host", ["count": 100, "method": "ela.call"], timeoutSeconds: 10)
        guard case .success(let metered) = calls, let ok = metered["ok"]?.numberValue?.int64Value else {
            Issue.record("\(calls)")
            return
        }
        #expect((20...23).contains(ok) && metered["busy"]?.numberValue?.int64Value == 100 - ok, "\(metered)")
        let status = await s.status()
        #expect(status.requestsRefused == 136 + Int(100 - ok) && status.restarts == 0, "\(status)")
        await s.stop()
    }

    @Test func aStartDuringAStopWaitsForItThenStarts() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir)
        await s.start()
        let first = await Self.waitFor(s, .running)
        let stopping = Task { await s.stop() }
        try await Task.sleep(for: .milliseconds(5))  // the stop is waiting for the process now
        await s.start()
        // The stop must come back (it used to wait forever for a loop that took the stopped process for a crash).
        let deadline = ContinuousClock.now + .seconds(15)
        let stopped = Atomic<Bool>(false)
        Task {
            await stopping.value
            stopped.store(true, ordering: .sequentiallyConsistent)
        }
        var again = await s.status()
        while ContinuousClock.now < deadline && (again.state != .running || again.pid == first.pid) {
            try await Task.sleep(for: .milliseconds(20))
            again = await s.status()
        }
        #expect(again.state == .running && again.pid != first.pid, "\(again)")
        #expect(again.restarts == 0, "a stop is not a crash")
        while ContinuousClock.now < deadline && !stopped.load(ordering: .sequentiallyConsistent) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let stopReturned = stopped.load(ordering: .sequentiallyConsistent)
        #expect(stopReturned, "the stop never came back")
        await s.stop()
    }

    @Test func aMissingSandboxLauncherKeepsPluginsStopped() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir, tune: { $0.launcherMissing = "the sandbox launcher was not found" })
        await s.start()
        let status = await Self.waitFor(s, .failed)
        #expect(status.state == .failed && status.pid == nil)
        #expect(await s.call("hostile.echo", [:]) != .success(.object([:])))
        #expect(status.lastCause?.contains("sandbox launcher was not found") == true || status.failure?.contains("sandbox launcher") == true,
            "\(status)")
        await s.stop()
    }

    @Test func garbageAndOversizeFramesGetThePluginKilled() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir)
        await s.start()
        _ = await Self.waitFor(s, .running)
        _ = await s.call("hostile.garbage", ["count": 100], timeoutSeconds: 2)
        var st = await Self.waitRestarted(s, restarts: 1)
        #expect(st.lastCause?.contains("protocol violations") == true)
        let oversize = await s.call("hostile.oversize", [:], timeoutSeconds: 2)
        #expect(oversize == .failure(.disconnected(plugin: "hostile")))
        st = await Self.waitRestarted(s, restarts: 2)
        #expect(st.lastCause?.contains("frame of 2147483647 bytes") == true)
        #expect(st.state == .running)
        await s.stop()
    }

    @Test func aFloodIsRateLimitedAndCounted() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir) { settings in
            settings.eventsPerSecond = 1000
            settings.eventBurst = 1000
            settings.floodKillThreshold = 1_000_000
        }
        await s.start()
        _ = await Self.waitFor(s, .running)
        let r = await s.call("hostile.flood", ["count": 50000], timeoutSeconds: 30)
        #expect(try r.get() == "flooded")
        let st = await s.status()
        #expect(st.eventsDropped > 40000)
        #expect(st.eventsForwarded + st.eventsDropped == 50000)
        #expect(st.state == .running)
        // Still answering.
        #expect(try await s.call("hostile.echo", ["a": 1]).get().objectValue?["a"] == 1)
        await s.stop()
    }

    @Test func aSustainedFloodGetsThePluginKilled() async throws {
        let dir = TemporaryDirectory(prefix: "ela-host")
        defer { dir.remove() }
        let s = try Self.hostile(state: dir) { settings in
            settings.eventsPerSecond = 100
            settings.eventBurst = 100
            settings.floodKillThreshold = 5000
        }
        await s.start()
        _ = await Self.waitFor(s, .running)
        _ = await s.call("hostile.flood", ["count": 100000], timeoutSeconds: 10)
        let st = await Self.waitRestarted(s, restarts: 1)
        #expect(st.lastCause?.contains("flooding") == true)
        await s.stop()
    }
}
