import ElaJSON
import ElaPluginHost
import Testing

@Suite struct RestartPolicyTests {
    @Test func backoffDoublesUpToTheCap() {
        var policy = RestartPolicy()
        policy.crashLoopCount = 100
        var t = RestartTracker(policy: policy)
        var delays: [Double] = []
        for i in 0..<8 {
            let now = Double(i) * 100  // far apart: no crash loop, but each run was short
            if case .restart(let d) = t.failed(at: now + 1, startedAt: now, cause: "exit 1") { delays.append(d) }
        }
        #expect(delays == [0.5, 1, 2, 4, 8, 16, 30, 30])
        #expect(t.restarts == 8)
    }

    @Test func aHealthyRunResetsTheBackoff() {
        var t = RestartTracker()
        _ = t.failed(at: 1, startedAt: 0, cause: "x")
        _ = t.failed(at: 3, startedAt: 2, cause: "x")
        let d = t.failed(at: 500, startedAt: 400, cause: "x")
        #expect(d == .restart(after: 0.5))
    }

    @Test func fiveFailuresInAMinuteAreACrashLoop() {
        var t = RestartTracker()
        var last: RestartTracker.Decision?
        for i in 0..<5 { last = t.failed(at: Double(i) * 2 + 1, startedAt: Double(i) * 2, cause: "exited (status 3)") }
        guard case .fail(let reason)? = last else {
            Issue.record("expected a crash loop, got \(String(describing: last))")
            return
        }
        #expect(reason.contains("crash loop"))
        #expect(reason.contains("status 3"))
        t.reset()
        #expect(t.failed(at: 100, startedAt: 99, cause: "x") == .restart(after: 0.5))
    }

    @Test func failuresSpreadOverTimeAreNotALoop() {
        var t = RestartTracker()
        for i in 0..<20 {
            let d = t.failed(at: Double(i) * 20 + 1, startedAt: Double(i) * 20, cause: "x")
            guard case .restart = d else {
                Issue.record("failure \(i) ended the plugin: \(d)")
                return
            }
        }
    }

    @Test func rateLimiterAllowsBurstThenRate() {
        var r = RateLimiter(ratePerSecond: 10, burst: 5, now: 0)
        let first = (0..<8).filter { _ in r.allow(now: 0) }.count
        #expect(first == 5)
        let refilled = r.allow(now: 0.1)  // one token refilled
        let empty = r.allow(now: 0.1)
        #expect(refilled && !empty)
    }
}

@Suite struct EventBusTests {
    func event(_ name: String, _ n: Int) -> PluginEvent {
        PluginEvent(plugin: "p", name: name, params: ["n": .number(.init(n))], receivedAtMs: 0)
    }

    @Test func patternsRouteEvents() async {
        let bus = EventBus()
        let sensors = bus.subscribe(patterns: ["sensors.*"])
        let edges = bus.subscribe(patterns: ["gpio.edge"])
        let all = bus.subscribe(patterns: ["*"])
        bus.publish(event("sensors.reading", 1))
        bus.publish(event("gpio.edge", 2))
        bus.publish(event("gpio.other", 3))
        #expect(await sensors.next()?.name == "sensors.reading")
        #expect(await edges.next()?.name == "gpio.edge")
        // A caller's count of zero or less takes nothing (it used to trap on the range).
        #expect(all.drain(max: -1).isEmpty && all.drain(max: 0).isEmpty && all.queued == 3)
        #expect(all.drain(max: 10).map(\.name) == ["sensors.reading", "gpio.edge", "gpio.other"])
        #expect(sensors.queued == 0 && edges.queued == 0)
        #expect(EventBus.pattern("gpio.*", matches: "gpio.edge"))
        #expect(!EventBus.pattern("gpio.*", matches: "gpiox.edge"))
        #expect(!EventBus.pattern("gpio.edge", matches: "gpio.edges"))
    }

    @Test func aFullQueueDropsTheOldestAndCountsIt() {
        let bus = EventBus()
        let slow = bus.subscribe(patterns: ["*"], capacity: 4)
        for i in 0..<10 { bus.publish(event("x.y", i)) }
        #expect(slow.dropped == 6)
        #expect(bus.stats.dropped == 6)
        let got = slow.drain(max: 10).compactMap { $0.params["n"]?.numberValue?.int64Value }
        #expect(got == [6, 7, 8, 9])
    }

    /// The long poll of `events.next`: woken by an event (not by a step of a sleep loop), by a cancel, or by its
    /// timer; it takes nothing itself.
    @Test func waitingForEventsEndsWithAnEventACancelOrTheTimeout() async {
        let bus = EventBus()
        let sub = bus.subscribe(patterns: ["*"])
        let clock = ContinuousClock()
        let waited = await clock.measure { await sub.waitForEvents(timeoutMillis: 60) }
        #expect(waited >= .milliseconds(60) && sub.queued == 0)

        let waiting = Task { await clock.measure { await sub.waitForEvents(timeoutMillis: 60_000) } }
        try? await Task.sleep(for: .milliseconds(30))
        bus.publish(event("a.b", 1))
        #expect(await waiting.value < .seconds(30))
        #expect(sub.queued == 1)
        // An event already queued: no wait at all.
        await sub.waitForEvents(timeoutMillis: 60_000)
        #expect(sub.drain(max: 10).count == 1)

        let cancelled = Task { await clock.measure { await sub.waitForEvents(timeoutMillis: 60_000) } }
        try? await Task.sleep(for: .milliseconds(30))
        sub.cancel()
        #expect(await cancelled.value < .seconds(30))
        await sub.waitForEvents(timeoutMillis: 60_000)  // cancelled: returns at once
    }

    /// An interrupt (a long poll's client hung up) ends its own wait, not another caller's on the same subscription,
    /// and not the subscription; fired before its wait began, it ends that wait at once.
    @Test func anInterruptOrACancelEndsItsOwnWaitOnly() async {
        let bus = EventBus()
        let sub = bus.subscribe(patterns: ["*"])
        let clock = ContinuousClock()
        let mine = WaitInterrupt()
        let waiting = Task { await clock.measure { await sub.waitForEvents(timeoutMillis: 60_000, interrupt: mine) } }
        let other = Task { await clock.measure { await sub.waitForEvents(timeoutMillis: 400) } }
        try? await Task.sleep(for: .milliseconds(30))
        mine.fire()
        #expect(await waiting.value < .seconds(30))
        #expect(await other.value >= .milliseconds(400), "the other caller's wait ran to its timer")
        let early = WaitInterrupt()
        early.fire()
        #expect(await clock.measure { await sub.waitForEvents(timeoutMillis: 60_000, interrupt: early) } < .seconds(30))
        bus.publish(event("a.b", 1))
        #expect(sub.drain(max: 10).count == 1, "still subscribed")

        // Cancelling the waiting task ends its wait too (the agent's shutdown cancels its handlers), before or during.
        let cancelledTask = Task { await clock.measure { await sub.waitForEvents(timeoutMillis: 60_000) } }
        try? await Task.sleep(for: .milliseconds(30))
        cancelledTask.cancel()
        #expect(await cancelledTask.value < .seconds(30))
        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await clock.measure { await sub.waitForEvents(timeoutMillis: 60_000) }
        }
        #expect(await cancelledFirst.value < .seconds(30))
        bus.publish(event("a.b", 2))
        #expect(sub.drain(max: 10).count == 1, "still subscribed")
    }

    @Test func cancelEndsTheSubscriptionAndUnregisters() async {
        let bus = EventBus()
        let sub = bus.subscribe(patterns: ["*"])
        let waiter = Task { await sub.next() }
        try? await Task.sleep(for: .milliseconds(20))
        sub.cancel()
        #expect(await waiter.value == nil)
        #expect(bus.stats.subscribers == 0)
        bus.publish(event("a.b", 1))
        #expect(bus.stats.unheard == 1)
    }
}
