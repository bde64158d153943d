/// When to restart a plugin that stopped on its own, and when to give up. A value type with the clock passed in,
/// so it is tested without processes or sleeping.
public struct RestartPolicy: Sendable, Equatable {
    /// First delay; doubles with each consecutive failure up to `maxBackoff`.
    public var initialBackoff: Double = 0.5
    public var maxBackoff: Double = 30
    /// This many failures within `crashLoopWindow` seconds mark the plugin `failed` (no more restarts).
    public var crashLoopCount = 5
    public var crashLoopWindow: Double = 60
    /// A run at least this long counts as healthy: the backoff starts over.
    public var healthyRun: Double = 30

    public init() {}
}

/// The restart bookkeeping of one plugin.
public struct RestartTracker: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        case restart(after: Double)
        case fail(reason: String)
    }

    public let policy: RestartPolicy
    /// Times (seconds, monotonic) of recent failures.
    public private(set) var failures: [Double] = []
    public private(set) var consecutive = 0
    public private(set) var restarts = 0

    public init(policy: RestartPolicy = RestartPolicy()) { self.policy = policy }

    /// A run that started at `startedAt` ended at `now` because of `cause` (not a requested stop).
    public mutating func failed(at now: Double, startedAt: Double, cause: String) -> Decision {
        if now - startedAt >= policy.healthyRun { consecutive = 0 }
        failures.append(now)
        failures.removeAll { now - $0 > policy.crashLoopWindow }
        consecutive += 1
        if failures.count >= policy.crashLoopCount {
            return .fail(
                reason: "crash loop: \(failures.count) failures within \(Int(policy.crashLoopWindow)) s; last: \(cause)")
        }
        restarts += 1
        var delay = policy.initialBackoff
        for _ in 1..<consecutive { delay = min(delay * 2, policy.maxBackoff) }
        return .restart(after: min(delay, policy.maxBackoff))
    }

    /// An explicit start (by the admin) clears the history.
    public mutating func reset() {
        failures.removeAll()
        consecutive = 0
    }
}

/// Counts a plugin's messages against a budget: a token bucket refilled per second. Excess is dropped and counted.
public struct RateLimiter: Sendable, Equatable {
    public let ratePerSecond: Double
    public let burst: Double
    private var tokens: Double
    private var last: Double

    public init(ratePerSecond: Double, burst: Double, now: Double) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.tokens = burst
        self.last = now
    }

    public mutating func allow(now: Double) -> Bool { allow(now: now, cost: 1) }

    /// Takes `cost` tokens (bytes, say) if the bucket holds them.
    public mutating func allow(now: Double, cost: Double) -> Bool {
        tokens = min(burst, tokens + (now - last) * ratePerSecond)
        last = now
        guard tokens >= cost else { return false }
        tokens -= cost
        return true
    }
}
