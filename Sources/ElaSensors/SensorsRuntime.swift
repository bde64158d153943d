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

    /// The directory made for the simulated tree, removed by `stop()`; nil when the tree is in the state directory.
    private let simulationDirectory: String?
    /// The descriptor holding the lock on `<simulationDirectory>/.lock`, taken out (-1) when released.
    private let simulationLock: Mutex<Int32>?
    /// Where a simulated tree may go, in order: memory filesystems only (/dev/shm; /tmp, which is a private tmpfs in
    /// the plugin sandbox). The tree is rewritten every step: on a board's SD card that was ~42 KB/s of writes.
    public static var memoryBases: [String] { ["/dev/shm", SysfsIO.temporaryBase] }
    static let simulationPrefix = "ela-sensors-sim"

    /// With `config.simulate`, creates the simulated tree in a new directory on a memory filesystem (else in
    /// `<stateDirectory>/sim-sysfs`, else a temporary directory) and reads from it; otherwise reads `config.sysfsRoot`.
    public init(
        config: SensorsConfig, stateDirectory: String?, memoryBases: [String] = SensorsRuntime.memoryBases, clock: any SensorClock = SystemClock()
    ) throws(SensorError) {
        self.config = config
        self.clock = clock
        startMs = clock.monotonicMs()
        var notes = config.warnings
        if config.simulate {
            let prefix = "\(Self.simulationPrefix)-\(SysfsIO.processID)"
            let memory = SysfsIO.writableMemoryDirectory(among: memoryBases)
            let base: String
            if let memory {
                SysfsIO.removeAbandonedSimulations(in: memory, prefix: Self.simulationPrefix)
                base = try SysfsIO.makeTemporaryDirectory(prefix: prefix, in: memory)
                simulationDirectory = base
                // Held while this process runs: how a later start (in any pid namespace sharing the folder) tells an
                // abandoned tree from a live one.
                let lock: Int32
                do { lock = try SysfsIO.holdLock(in: base) } catch {
                    SysfsIO.removeTree(base)
                    throw error
                }
                simulationLock = Mutex(lock)
            } else {
                simulationLock = nil
                notes.append("no memory filesystem writable (\(memoryBases.joined(separator: ", "))): the simulated tree is written to disk")
                if let stateDirectory {
                    base = stateDirectory
                    simulationDirectory = nil
                } else {
                    base = try SysfsIO.makeTemporaryDirectory(prefix: prefix)
                    simulationDirectory = base
                }
            }
            let sim: SimulatedSysfs
            do { sim = try SimulatedSysfs(root: base + "/sim-sysfs", seed: config.simulationSeed) } catch {
                if let simulationDirectory { SysfsIO.removeTree(simulationDirectory) }
                if let lock = simulationLock?.withLock({ $0 }) { SysfsIO.release(lock) }
                throw error
            }
            simulation = sim
            root = sim.root
            notes.append("simulating sensors in \(sim.root)")
        } else {
            simulation = nil
            simulationDirectory = nil
            simulationLock = nil
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

    /// Stops the poll loop, waits for it to finish and removes the simulated tree's directory: stopped for good.
    public func stop() async {
        let task = poller.withLock { old -> Task<Void, Never>? in
            defer { old = nil }
            return old
        }
        task?.cancel()
        await task?.value
        if let simulationDirectory { SysfsIO.removeTree(simulationDirectory) }
        if let lock = simulationLock?.withLock({ fd in defer { fd = -1 }; return fd }), lock >= 0 { SysfsIO.release(lock) }
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
