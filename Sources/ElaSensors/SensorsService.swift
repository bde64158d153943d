/// A sensor that failed to read, and why.
public struct SensorFailure: Sendable, Equatable {
    public var sensor: String
    public var error: SensorError

    public init(sensor: String, error: SensorError) {
        self.sensor = sensor
        self.error = error
    }
}

/// What one scheduler tick produced.
public struct SensorTick: Sendable, Equatable {
    /// Readings of the sensors that were due and read fine, sorted by sensor id.
    public var readings: [SensorReading] = []
    /// Sensors that were due and failed.
    public var failures: [SensorFailure] = []
    /// The failures that differ from the same sensor's previous outcome: log these, not every tick's repeat.
    public var newFailures: [SensorFailure] = []
    /// Sensors that read fine again after failing.
    public var recovered: [String] = []
}

/// The sensors plugin's logic without the plugin runtime: discovery, reads, schedules. A value type; the plugin
/// keeps it behind a lock and calls `tick()` from its poller.
public struct SensorsService: Sendable {
    public let root: String
    public let policy: PollingPolicy
    /// Sorted by id.
    public private(set) var sensors: [Sensor] = []
    /// Directories discovery could not list.
    public private(set) var problems: [SensorError] = []
    private var scheduler: PollScheduler
    private let clock: any SensorClock
    private let rediscoverMs: Int
    private var lastDiscoveryMs: Int64
    private var failing: [String: SensorError] = [:]

    /// Discovers the sensors under `root`; all are first due now. `rediscoverMs` 0 disables periodic rescans.
    public init(root: String, policy: PollingPolicy = PollingPolicy(), rediscoverMs: Int = 30_000, clock: any SensorClock = SystemClock()) {
        self.root = root
        self.policy = policy
        self.clock = clock
        self.rediscoverMs = rediscoverMs
        let now = clock.monotonicMs()
        lastDiscoveryMs = now
        scheduler = PollScheduler(sensorIds: [], policy: policy, startMs: now)
        rediscover()
    }

    /// Rescans the tree; new sensors are due at once, removed ones stop being polled.
    public mutating func rediscover() {
        let result = SensorDiscovery.discover(root: root)
        sensors = result.sensors
        problems = result.problems
        let now = clock.monotonicMs()
        lastDiscoveryMs = now
        scheduler.update(sensorIds: sensors.map(\.id), nowMs: now)
        failing = failing.filter { id, _ in sensors.contains { $0.id == id } }
    }

    public func sensor(id: String) -> Sensor? { sensors.first { $0.id == id } }

    public func intervalMs(for id: String) -> Int { policy.intervalMs(for: id) }

    /// Reads one sensor now. An unknown id triggers one rescan (it may just have been plugged in) before failing
    /// with `.unknownSensor` listing the known ids.
    public mutating func read(id: String) throws(SensorError) -> SensorReading {
        if sensor(id: id) == nil { rediscover() }
        guard let s = sensor(id: id) else { throw .unknownSensor(id: id, known: sensors.map(\.id)) }
        return try SensorReader.read(s, timestampMs: clock.unixMs())
    }

    /// Reads every sensor now: the readings that worked and the failures, each sorted by id.
    public func readAll() -> (readings: [SensorReading], failures: [SensorFailure]) {
        let timestamp = clock.unixMs()
        var readings: [SensorReading] = []
        var failures: [SensorFailure] = []
        for s in sensors {
            do { readings.append(try SensorReader.read(s, timestampMs: timestamp)) } catch {
                failures.append(SensorFailure(sensor: s.id, error: error))
            }
        }
        return (readings, failures)
    }

    /// Reads the sensors that are due by the clock (rescanning first when `rediscoverMs` has passed).
    public mutating func tick() -> SensorTick {
        let now = clock.monotonicMs()
        if rediscoverMs > 0 && now - lastDiscoveryMs >= Int64(rediscoverMs) { rediscover() }
        var tick = SensorTick()
        let timestamp = clock.unixMs()
        for id in scheduler.takeDue(nowMs: now) {
            guard let s = sensor(id: id) else { continue }
            do {
                tick.readings.append(try SensorReader.read(s, timestampMs: timestamp))
                if failing.removeValue(forKey: id) != nil { tick.recovered.append(id) }
            } catch {
                let failure = SensorFailure(sensor: id, error: error)
                tick.failures.append(failure)
                // Same kind of failure again (an out-of-range value that moves, say) is not news.
                if failing[id]?.code != error.code { tick.newFailures.append(failure) }
                failing[id] = error
            }
        }
        return tick
    }

    /// When the next sensor is due (monotonic ms), or the next rescan if that comes first; nil if neither.
    public var nextWakeMs: Int64? {
        let rescan = rediscoverMs > 0 ? lastDiscoveryMs + Int64(rediscoverMs) : nil
        switch (scheduler.earliestDueMs, rescan) {
        case (let a?, let b?): return min(a, b)
        case (let a?, nil): return a
        case (nil, let b): return b
        }
    }
}
