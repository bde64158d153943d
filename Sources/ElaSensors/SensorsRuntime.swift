public import ElaJSON
import Synchronization

/// The running sensors plugin without the protocol: the service behind a lock (method calls and the poller share
/// it), the simulated tree when configured, and the poll loop. `ela-plugin-sensors` wires this to ElaPluginKit.
public final class SensorsRuntime: Sendable {
    public let config: SensorsConfig
    /// Where sensors are read from: `config.sysfsRoot`, or the simulated tree's root.
    public let root: String
    public let simulation: SimulatedSysfs?
    /// Things worth one log line at start: ignored config keys, unlistable directories, the simulated root.
    public let startupNotes: [String]
    private let service: Mutex<SensorsService>
    private let poller = Mutex<Task<Void, Never>?>(nil)
    private let clock: any SensorClock
    private let startMs: Int64

    /// With `config.simulate`, creates the simulated tree in `<stateDirectory>/sim-sysfs` (a new temporary directory
    /// when there is none) and reads from it; otherwise reads `config.sysfsRoot`.
    public init(config: SensorsConfig, stateDirectory: String?, clock: any SensorClock = SystemClock()) throws(SensorError) {
        self.config = config
        self.clock = clock
        startMs = clock.monotonicMs()
        var notes = config.warnings
        if config.simulate {
            let base: String
            if let stateDirectory { base = stateDirectory } else { base = try SysfsIO.makeTemporaryDirectory(prefix: "ela-sensors") }
            let sim = try SimulatedSysfs(root: base + "/sim-sysfs", seed: config.simulationSeed)
            simulation = sim
            root = sim.root
            notes.append("simulating sensors in \(sim.root)")
        } else {
            simulation = nil
            root = config.sysfsRoot
        }
        let service = SensorsService(root: root, policy: config.policy, rediscoverMs: config.rediscoverMs, clock: clock)
        notes += service.problems.map(\.description)
        notes.append("\(service.sensors.count) sensors under \(root): \(service.sensors.map(\.id).joined(separator: ", "))")
        startupNotes = notes
        self.service = Mutex(service)
    }

    /// The `sensors.list` result (rescans first, so newly plugged sensors show up).
    public func listJSON() -> JSONValue {
        service.withLock {
            $0.rediscover()
            return $0.listJSON()
        }
    }

    /// The `sensors.read` result for one sensor id or all (`nil`).
    public func readJSON(sensor: String?) throws(SensorError) -> JSONValue {
        try service.withLock { (s: inout SensorsService) throws(SensorError) -> JSONValue in try s.readJSON(id: sensor) }
    }

    /// One scheduler step (the poll loop calls this; tests may too).
    public func tick() -> SensorTick { service.withLock { $0.tick() } }

    /// Starts the poll loop as a task: it advances the simulation every `simulationStepMs`, sleeps until the next
    /// sensor is due, and hands each reading to `emit`; new failures and recoveries go to `log` once each.
    public func start(emit: @escaping @Sendable (SensorReading) -> Void, log: @escaping @Sendable (String) -> Void) {
        let task = Task { [self] in await run(emit: emit, log: log) }
        poller.withLock { old in
            old?.cancel()
            old = task
        }
    }

    /// Stops the poll loop and waits for it to finish.
    public func stop() async {
        let task = poller.withLock { old -> Task<Void, Never>? in
            defer { old = nil }
            return old
        }
        task?.cancel()
        await task?.value
    }

    func run(emit: @Sendable (SensorReading) -> Void, log: @Sendable (String) -> Void) async {
        var nextSimulationMs = clock.monotonicMs()
        while !Task.isCancelled {
            let now = clock.monotonicMs()
            if let simulation, now >= nextSimulationMs {
                do { try simulation.advance(to: now - startMs) } catch { log("simulated sysfs: \(error)") }
                nextSimulationMs = now + Int64(config.simulationStepMs)
            }
            let tick = tick()
            for reading in tick.readings { emit(reading) }
            for failure in tick.newFailures { log("\(failure.sensor): \(failure.error)") }
            for id in tick.recovered { log("\(id): reading again") }
            var wake = service.withLock { $0.nextWakeMs } ?? now + Int64(PollingPolicy.defaultIntervalMs)
            if simulation != nil { wake = min(wake, nextSimulationMs) }
            let delay = max(1, wake - clock.monotonicMs())
            do { try await Task.sleep(for: .milliseconds(delay)) } catch { return }
        }
    }
}
