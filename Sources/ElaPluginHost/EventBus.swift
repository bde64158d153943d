import Synchronization

/// Passes plugin events to subscribers through bounded queues. A slow subscriber loses its oldest events, and the
/// loss is counted per subscriber and in total: never silent. Capability checks happen before `subscribe`.
public final class EventBus: Sendable {
    public final class Subscription: Sendable {
        public let id: Int
        public let patterns: [String]
        public let capacity: Int
        let bus: EventBus
        private struct Queue {
            var events: [PluginEvent] = []
            var head = 0
            var dropped = 0
            var delivered = 0
            var waiter: CheckedContinuation<PluginEvent?, Never>?
            /// Callers of ``waitForEvents(timeoutMillis:)``, by token: woken by the next event, a cancel or their timer.
            var readyWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
            var nextToken = 0
            var cancelled = false
            var count: Int { events.count - head }
        }
        private let queue = Mutex(Queue())

        init(id: Int, patterns: [String], capacity: Int, bus: EventBus) {
            self.id = id
            self.patterns = patterns
            self.capacity = capacity
            self.bus = bus
        }

        func matches(_ name: String) -> Bool { patterns.contains { EventBus.pattern($0, matches: name) } }

        /// Returns false when the event pushed out an older one.
        func offer(_ event: PluginEvent) -> Bool {
            let (waiter, droppedOne, ready) = queue.withLock {
                q -> (CheckedContinuation<PluginEvent?, Never>?, Bool, [CheckedContinuation<Void, Never>]) in
                if q.cancelled { return (nil, false, []) }
                if let w = q.waiter {
                    q.waiter = nil
                    q.delivered += 1
                    return (w, false, [])
                }
                let ready = Array(q.readyWaiters.values)
                q.readyWaiters = [:]
                var dropped = false
                if q.count >= capacity {
                    q.head += 1
                    q.dropped += 1
                    dropped = true
                }
                q.events.append(event)
                if q.head > 64 && q.head * 2 > q.events.count {
                    q.events.removeFirst(q.head)
                    q.head = 0
                }
                return (nil, dropped, ready)
            }
            waiter?.resume(returning: event)
            for r in ready { r.resume() }
            return !droppedOne
        }

        /// Waits until an event is queued, the subscription is cancelled, or `timeoutMillis` passed, whichever comes
        /// first; takes nothing. (A long poll that sleeps in steps would add a step's delay to every event and wake
        /// the agent many times a second for an idle subscriber.)
        /// `interrupt` ends this wait (and only this one) when fired, also if it fired before the wait began; so does
        /// cancelling the waiting task.
        public func waitForEvents(timeoutMillis: Int, interrupt: WaitInterrupt? = nil) async {
            guard timeoutMillis > 0 else { return }
            let cancelled = WaitInterrupt()
            var timer: Task<Void, Never>?
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let token = queue.withLock { q -> Int? in
                        if q.count > 0 || q.cancelled { return nil }
                        q.nextToken += 1
                        q.readyWaiters[q.nextToken] = c
                        return q.nextToken
                    }
                    guard let token else { return c.resume() }
                    let end: @Sendable () -> Void = { [self] in queue.withLock { $0.readyWaiters.removeValue(forKey: token) }?.resume() }
                    // Armed once registered, so none can fire before there is something to wake.
                    interrupt?.arm(end)
                    cancelled.arm(end)
                    timer = Task {
                        try? await Task.sleep(for: .milliseconds(timeoutMillis))
                        end()
                    }
                }
            } onCancel: {
                cancelled.fire()
            }
            timer?.cancel()
        }

        /// The next event, or nil once cancelled.
        public func next() async -> PluginEvent? {
            await withCheckedContinuation { (c: CheckedContinuation<PluginEvent?, Never>) in
                let ready = queue.withLock { q -> PluginEvent?? in
                    if q.count > 0 {
                        let e = q.events[q.head]
                        q.head += 1
                        q.delivered += 1
                        return .some(e)
                    }
                    if q.cancelled { return .some(nil) }
                    q.waiter = c
                    return nil
                }
                if let ready { c.resume(returning: ready) }
            }
        }

        /// Events queued but not taken yet, without waiting.
        public func drain(max: Int) -> [PluginEvent] {
            queue.withLock { q in
                // A caller's number: zero or less takes nothing (a negative count would be an invalid range).
                let n = Swift.max(0, Swift.min(max, q.count))
                let out = Array(q.events[q.head..<(q.head + n)])
                q.head += n
                q.delivered += n
                return out
            }
        }

        public var dropped: Int { queue.withLock { $0.dropped } }
        public var delivered: Int { queue.withLock { $0.delivered } }
        public var queued: Int { queue.withLock { $0.count } }
        /// Callers in ``waitForEvents(timeoutMillis:interrupt:)`` now (long polls held open).
        public var waiting: Int { queue.withLock { $0.readyWaiters.count } }

        public func cancel() {
            let (waiter, ready) = queue.withLock { q -> (CheckedContinuation<PluginEvent?, Never>?, [CheckedContinuation<Void, Never>]) in
                q.cancelled = true
                defer {
                    q.waiter = nil
                    q.readyWaiters = [:]
                }
                return (q.waiter, Array(q.readyWaiters.values))
            }
            waiter?.resume(returning: nil)
            for r in ready { r.resume() }
            bus.remove(id)
        }
    }

    public struct Stats: Sendable, Equatable {
        public var published = 0
        /// Events that reached no subscriber (nobody listening): not a loss.
        public var unheard = 0
        /// Events pushed out of full subscriber queues (a loss, counted per subscriber as well).
        public var dropped = 0
        public var subscribers = 0
    }

    private struct State {
        var nextID = 1
        var subscriptions: [Int: Subscription] = [:]
        var stats = Stats()
    }
    private let state = Mutex(State())

    public init() {}

    public func subscribe(patterns: [String], capacity: Int = 256) -> Subscription {
        state.withLock { s in
            let sub = Subscription(id: s.nextID, patterns: patterns, capacity: max(1, capacity), bus: self)
            s.nextID += 1
            s.subscriptions[sub.id] = sub
            return sub
        }
    }

    public func publish(_ event: PluginEvent) {
        let targets = state.withLock { s in
            s.stats.published += 1
            return s.subscriptions.values.filter { $0.matches(event.name) }
        }
        var dropped = 0
        for t in targets where !t.offer(event) { dropped += 1 }
        state.withLock { s in
            if targets.isEmpty { s.stats.unheard += 1 }
            s.stats.dropped += dropped
        }
    }

    public var stats: Stats {
        state.withLock { s in
            var st = s.stats
            st.subscribers = s.subscriptions.count
            return st
        }
    }

    public var subscriptions: [Subscription] { state.withLock { $0.subscriptions.values.sorted { $0.id < $1.id } } }

    func remove(_ id: Int) { _ = state.withLock { $0.subscriptions.removeValue(forKey: id) } }

    /// `sensors.reading`, `sensors.*` or `*`.
    public static func pattern(_ pattern: String, matches name: String) -> Bool {
        if pattern == "*" || pattern == name { return true }
        if pattern.hasSuffix(".*") { return name.hasPrefix(pattern.dropLast(1)) }
        return false
    }
}

/// Ends one ``EventBus/Subscription/waitForEvents(timeoutMillis:interrupt:)`` early: a long poll whose client hung up
/// stops holding its task. Fired before the wait is armed, it ends the wait as soon as it is.
public final class WaitInterrupt: Sendable {
    private let state = Mutex<(fired: Bool, end: (@Sendable () -> Void)?)>((false, nil))

    public init() {}

    public func fire() {
        let end = state.withLock { s -> (@Sendable () -> Void)? in
            s.fired = true
            defer { s.end = nil }
            return s.end
        }
        end?()
    }

    func arm(_ end: @escaping @Sendable () -> Void) {
        let fired = state.withLock { s -> Bool in
            if !s.fired { s.end = end }
            return s.fired
        }
        if fired { end() }
    }
}
