/// How often to read one sensor or a glob of sensors (`hwmon/*`, `iio/bme280/*`, `w1/28-0316a2799aff`).
public struct PollingRule: Sendable, Hashable {
    /// A sensor id, or a glob: `*` matches any run of characters (slashes included), `?` one character.
    public var match: String
    public var intervalMs: Int

    public init(match: String, intervalMs: Int) {
        self.match = match
        self.intervalMs = intervalMs
    }
}

/// The interval of each sensor: an exact-id rule first, else the first matching glob rule in order, else the default.
public struct PollingPolicy: Sendable, Hashable {
    public static let defaultIntervalMs = 1000
    /// Faster polling would keep slow buses (1-wire takes 750 ms per conversion) permanently busy.
    public static let minimumIntervalMs = 50
    public static let maximumIntervalMs = 86_400_000

    public var defaultIntervalMs: Int
    public var rules: [PollingRule]

    public init(defaultIntervalMs: Int = PollingPolicy.defaultIntervalMs, rules: [PollingRule] = []) {
        self.defaultIntervalMs = defaultIntervalMs
        self.rules = rules
    }

    public func intervalMs(for sensorId: String) -> Int {
        if let exact = rules.first(where: { $0.match == sensorId }) { return exact.intervalMs }
        return rules.first(where: { Glob.matches($0.match, sensorId) })?.intervalMs ?? defaultIntervalMs
    }
}

/// Minimal glob matching over Unicode scalars (`*`, `?`), iterative with one backtrack point: linear-ish, no recursion.
public enum Glob {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        let t = Array(text.unicodeScalars)
        var pi = 0
        var ti = 0
        var star: Int?
        var resume = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || (p[pi] != "*" && p[pi] == t[ti])) {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi
                resume = ti
                pi += 1
            } else if let s = star {
                pi = s + 1
                resume += 1
                ti = resume
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// Which sensors are due, given the time: a value type with no clock of its own, so tests drive it with plain numbers.
/// Times are monotonic milliseconds (any origin).
public struct PollScheduler: Sendable, Equatable {
    public private(set) var policy: PollingPolicy
    /// Next due time per sensor id.
    public private(set) var nextDue: [String: Int64] = [:]

    /// Every sensor is first due at `startMs`.
    public init(sensorIds: [String], policy: PollingPolicy, startMs: Int64) {
        self.policy = policy
        update(sensorIds: sensorIds, nowMs: startMs)
    }

    /// Follows a rediscovery: new sensors are due at `nowMs`, removed ones are dropped, others keep their time.
    public mutating func update(sensorIds: [String], nowMs: Int64) {
        var next: [String: Int64] = [:]
        for id in sensorIds { next[id] = nextDue[id] ?? nowMs }
        nextDue = next
    }

    /// The earliest time any sensor is due; nil without sensors.
    public var earliestDueMs: Int64? { nextDue.values.min() }

    /// The sensors due at `nowMs` (sorted by id), each rescheduled one interval after its due time; a sensor that
    /// fell more than an interval behind (a stalled process) is rescheduled from `nowMs` instead of bursting.
    public mutating func takeDue(nowMs: Int64) -> [String] {
        var due: [String] = []
        for (id, at) in nextDue where at <= nowMs {
            due.append(id)
            let interval = Int64(policy.intervalMs(for: id))
            var next = at + interval
            if next <= nowMs { next = nowMs + interval }
            nextDue[id] = next
        }
        return due.sorted()
    }
}
