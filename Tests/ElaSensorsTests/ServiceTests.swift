#if canImport(Glibc)
import Glibc
#endif
import ElaFileSystem
import ElaJSON
import ElaSensors
import ElaTestSupport
import Synchronization
import Testing

/// A tree with one hwmon sensor and one DS18B20.
func smallTree() -> FakeSysfs {
    let t = FakeSysfs()
    t.write("class/hwmon/hwmon0/name", "cpu_thermal\n")
    t.write("class/hwmon/hwmon0/temp1_input", "48312\n")
    t.write("bus/w1/devices/28-0316a2799aff/w1_slave", W1ThermTests.good)
    return t
}

@Suite struct SensorsServiceTests {
    @Test func listShowsKindUnitPathAndInterval() throws {
        let t = smallTree()
        let policy = PollingPolicy(defaultIntervalMs: 1000, rules: [PollingRule(match: "hwmon/*", intervalMs: 5000)])
        let service = SensorsService(root: t.root, policy: policy, clock: ManualClock())
        let list = try #require(service.listJSON()["sensors"]?.arrayValue)
        #expect(list.count == 2)
        #expect(
            list.first
                == .object(
                    JSONObject([
                        ("id", "hwmon/cpu_thermal/temp1"), ("kind", "temperature"), ("unit", "celsius"), ("source", "hwmon"),
                        ("path", .string(t.root + "/class/hwmon/hwmon0/temp1_input")), ("interval_ms", 5000),
                    ])))
        #expect(list.last?["id"] == "w1/28-0316a2799aff")
        #expect(list.last?["interval_ms"] == 1000)
        #expect(service.listJSON()["problems"] == [])
    }

    @Test func readOneAllAndUnknown() throws {
        let t = smallTree()
        let clock = ManualClock(unixMs: 1_700_000_000_123)
        var service = SensorsService(root: t.root, clock: clock)
        let one = try service.readJSON(id: "w1/28-0316a2799aff")
        #expect(
            one["readings"]
                == [
                    .object(
                        JSONObject([
                            ("sensor", "w1/28-0316a2799aff"), ("kind", "temperature"), ("value", .number(JSONNumber(23.125)!)),
                            ("unit", "celsius"), ("timestamp_ms", .number(JSONNumber(Int64(1_700_000_000_123)))),
                        ]))
                ])
        #expect(one["errors"] == [])

        t.write("class/hwmon/hwmon0/temp1_input", "oops\n")
        let all = try service.readJSON(id: nil)
        #expect(all["readings"]?.arrayValue?.count == 1)
        #expect(all["errors"]?.arrayValue?.first?["sensor"] == "hwmon/cpu_thermal/temp1")
        #expect(all["errors"]?.arrayValue?.first?["code"] == "notNumeric")

        // Reading exactly one failing sensor throws.
        #expect(throws: SensorError.self) { try service.readJSON(id: "hwmon/cpu_thermal/temp1") }
        #expect(throws: SensorError.unknownSensor(id: "nope", known: ["hwmon/cpu_thermal/temp1", "w1/28-0316a2799aff"])) {
            try service.read(id: "nope")
        }
    }

    @Test func unknownIdRescansForHotPluggedSensors() throws {
        let t = smallTree()
        var service = SensorsService(root: t.root, clock: ManualClock())
        let (pad, milli) = W1Therm.ds18b20Scratchpad(celsius: 4.5)
        t.write("bus/w1/devices/28-00000a1b2c3d/w1_slave", W1Therm.render(scratchpad: pad, milliCelsius: milli))
        #expect(try service.read(id: "w1/28-00000a1b2c3d").value == 4.5)
        #expect(service.sensors.count == 3)
    }

    @Test func tickReadsWhatIsDueByTheInjectedClock() {
        let t = smallTree()
        let clock = ManualClock()
        let policy = PollingPolicy(defaultIntervalMs: 1000, rules: [PollingRule(match: "hwmon/*", intervalMs: 250)])
        var service = SensorsService(root: t.root, policy: policy, rediscoverMs: 0, clock: clock)
        #expect(service.tick().readings.map(\.sensor) == ["hwmon/cpu_thermal/temp1", "w1/28-0316a2799aff"])
        #expect(service.tick().readings.isEmpty)
        #expect(service.nextWakeMs == 250)
        var counts: [String: Int] = [:]
        for _ in 0..<40 {  // 2 s in 50 ms steps, no sleeping
            clock.advance(by: 50)
            for r in service.tick().readings { counts[r.sensor, default: 0] += 1 }
        }
        #expect(counts == ["hwmon/cpu_thermal/temp1": 8, "w1/28-0316a2799aff": 2])
    }

    @Test func failuresAreReportedOnceAndRecoveriesNoted() {
        let t = smallTree()
        let clock = ManualClock()
        var service = SensorsService(root: t.root, policy: PollingPolicy(defaultIntervalMs: 100), rediscoverMs: 0, clock: clock)
        _ = service.tick()
        t.write("class/hwmon/hwmon0/temp1_input", "garbage\n")
        var newFailures: [SensorFailure] = []
        var failures = 0
        for _ in 0..<5 {
            clock.advance(by: 100)
            let tick = service.tick()
            failures += tick.failures.count
            newFailures += tick.newFailures
            #expect(tick.readings.map(\.sensor) == ["w1/28-0316a2799aff"])
        }
        #expect(failures == 5)
        #expect(newFailures.map(\.sensor) == ["hwmon/cpu_thermal/temp1"])
        t.write("class/hwmon/hwmon0/temp1_input", "50000\n")
        clock.advance(by: 100)
        let tick = service.tick()
        #expect(tick.recovered == ["hwmon/cpu_thermal/temp1"])
        #expect(tick.readings.first?.value == 50)
    }

    @Test func periodicRescanPicksUpNewSensors() {
        let t = smallTree()
        let clock = ManualClock()
        var service = SensorsService(root: t.root, policy: PollingPolicy(defaultIntervalMs: 1000), rediscoverMs: 5000, clock: clock)
        _ = service.tick()
        t.write("class/hwmon/hwmon1/name", "rpi_volt\n")
        t.write("class/hwmon/hwmon1/in0_input", "870\n")
        clock.advance(by: 4000)
        #expect(!service.tick().readings.contains { $0.sensor == "hwmon/rpi_volt/in0" })
        clock.advance(by: 1000)
        #expect(service.tick().readings.map(\.sensor) == ["hwmon/cpu_thermal/temp1", "hwmon/rpi_volt/in0", "w1/28-0316a2799aff"])
    }
}

@Suite struct SensorsConfigTests {
    @Test func defaults() throws {
        let c = try SensorsConfig(json: JSONObject())
        #expect(c == SensorsConfig())
        #expect(c.sysfsRoot == "/sys" && !c.simulate && c.policy.defaultIntervalMs == 1000 && c.policy.rules.isEmpty)
    }

    @Test func everyKey() throws {
        let json = try #require(
            try JSONParser.parse(
                #"{"sysfs_root":"/host/sys/","simulate":true,"interval_ms":2000,"schedules":[{"match":"hwmon/*","interval_ms":5000},{"match":"w1/*","interval_ms":50}],"sim_seed":42,"sim_step_ms":100,"rediscover_ms":0,"board":"sim"}"#
            ).objectValue)
        let c = try SensorsConfig(json: json)
        #expect(c.sysfsRoot == "/host/sys")
        #expect(c.simulate)
        #expect(
            c.policy
                == PollingPolicy(
                    defaultIntervalMs: 2000,
                    rules: [PollingRule(match: "hwmon/*", intervalMs: 5000), PollingRule(match: "w1/*", intervalMs: 50)]))
        #expect(c.simulationSeed == 42 && c.simulationStepMs == 100 && c.rediscoverMs == 0)
        #expect(c.warnings.count == 1 && c.warnings[0].contains("'board'"))
    }

    @Test(arguments: [
        (#"{"interval_ms":10}"#, "interval_ms"), (#"{"interval_ms":"1000"}"#, "interval_ms"), (#"{"interval_ms":1000.5}"#, "interval_ms"),
        (#"{"simulate":"yes"}"#, "simulate"), (#"{"sysfs_root":"relative/sys"}"#, "sysfs_root"), (#"{"sysfs_root":1}"#, "sysfs_root"),
        (#"{"schedules":{}}"#, "schedules"), (#"{"schedules":[{"match":"x"}]}"#, "schedules[0]"),
        (#"{"schedules":[{"match":"","interval_ms":100}]}"#, "schedules[0]"),
        (#"{"schedules":[{"match":"a","interval_ms":100},{"match":"b","interval_ms":49}]}"#, "schedules[1].interval_ms"),
        (#"{"sim_seed":-1}"#, "sim_seed"), (#"{"rediscover_ms":10}"#, "rediscover_ms"), (#"{"interval_ms":99999999999}"#, "interval_ms"),
    ])
    func badValuesNameTheirKey(_ text: String, _ key: String) throws {
        let json = try #require(try JSONParser.parse(text).objectValue)
        let error = #expect(throws: SensorsConfigError.self) { try SensorsConfig(json: json) }
        #expect(error?.key == key)
    }
}

@Suite struct SensorsRuntimeTests {
    @Test func simulatedRuntimeListsReadsAndPolls() async throws {
        let dir = TemporaryDirectory(prefix: "ela-sensors-state")
        defer { dir.remove() }
        let config = try SensorsConfig(json: JSONObject([("simulate", true), ("interval_ms", 100), ("sim_step_ms", 50)]))
        let runtime = try SensorsRuntime(config: config, stateDirectory: dir.path)
        // On a memory filesystem, not in the state directory (the tree is rewritten every step).
        #expect(!runtime.root.hasPrefix(dir.path) && runtime.root.hasSuffix("/sim-sysfs"))
        #expect(FileSystem.isInMemory(runtime.root))
        #expect(runtime.listJSON()["sensors"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == SimulatedSysfs.sensorIds)
        let all = try runtime.readJSON(sensor: nil)
        #expect(all["readings"]?.arrayValue?.count == 5)
        #expect(all["errors"] == [])
        #expect(throws: SensorError.self) { try runtime.readJSON(sensor: "hwmon/none") }

        let received = Mutex<[SensorReading]>([])
        let logs = Mutex<[String]>([])
        runtime.start(emit: { r in received.withLock { $0.append(r) } }, log: { m in logs.withLock { $0.append(m) } })
        let enough = await waitFor(seconds: 10) { received.withLock { $0.count } >= 15 }
        await runtime.stop()
        #expect(enough)
        let readings = received.withLock { $0 }
        #expect(Set(readings.map(\.sensor)) == Set(SimulatedSysfs.sensorIds))
        #expect(logs.withLock { $0 } == [])
        // Stopped: nothing more arrives, and the tree is gone.
        let count = readings.count
        try await Task.sleep(for: .milliseconds(300))
        #expect(received.withLock { $0.count } == count)
        #expect(!FileSystem.exists(String(runtime.root.dropLast("/sim-sysfs".count))))
    }

    @Test func withoutAMemoryFilesystemTheTreeGoesToTheStateDirectory() async throws {
        let dir = TemporaryDirectory(prefix: "ela-sensors-state")
        defer { dir.remove() }
        let config = try SensorsConfig(json: JSONObject([("simulate", true)]))
        let runtime = try SensorsRuntime(config: config, stateDirectory: dir.path, memoryBases: [dir.path])
        #expect(runtime.root == dir.path + "/sim-sysfs")
        #expect(runtime.startupNotes.contains { $0.contains("no memory filesystem writable (\(dir.path))") })
        #expect(runtime.tick().readings.count == 5)
        await runtime.stop()
        #expect(FileSystem.exists(runtime.root))  // the state directory's tree is kept
    }

    @Test func withoutEitherTheTreeGoesToATemporaryDirectoryRemovedAtStop() async throws {
        let runtime = try SensorsRuntime(config: try SensorsConfig(json: JSONObject([("simulate", true)])), stateDirectory: nil, memoryBases: [])
        #expect(runtime.root.hasSuffix("/sim-sysfs"))
        #expect(runtime.tick().readings.count == 5)
        await runtime.stop()
        #expect(!FileSystem.exists(String(runtime.root.dropLast("/sim-sysfs".count))))
    }

    @Test func treesOfKilledSimulationsAreRemovedAtStart() async throws {
        try #require(FileSystem.isInMemory("/dev/shm"))
        let base = TemporaryDirectory(prefix: "ela-sensors-shm", in: "/dev/shm")
        defer { base.remove() }
        // Without a lock file: pid 4194305 is above the kernel's limit (2^22), no such process; pid 1 runs; a tree
        // made in the last minute may be one whose owner is about to lock it. With one: its lock decides, not the pid.
        let dead = base.path + "/ela-sensors-sim-4194305-abcdef"
        let deadButNew = base.path + "/ela-sensors-sim-4194305-ghijkl"
        let alive = base.path + "/ela-sensors-sim-1-abcdef"
        let unlocked = base.path + "/ela-sensors-sim-1-mnopqr"
        let locked = base.path + "/ela-sensors-sim-4194305-stuvwx"
        let other = base.path + "/ela-sensors-simulator"
        let unlockedButNew = base.path + "/ela-sensors-sim-1-yzabcd"
        for path in [dead, deadButNew, alive, unlocked, unlockedButNew, locked, other] {
            try FileSystem.makeDirectory(path + "/sim-sysfs", mode: 0o700)
        }
        _ = base.write("ela-sensors-sim-1-mnopqr/.lock", "")
        _ = base.write("ela-sensors-sim-1-yzabcd/.lock", "")
        let held = open(locked + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(held) }
        #expect(flock(held, LOCK_EX) == 0)
        /// Makes `path` two minutes old (older than the minute a tree being set up is given).
        func backdate(_ path: String) -> Bool {
            var old = [timeval(tv_sec: time(nil) - 120, tv_usec: 0), timeval(tv_sec: time(nil) - 120, tv_usec: 0)]
            return utimes(path, &old) == 0
        }
        for path in [dead, alive, unlocked, locked] { #expect(backdate(path)) }
        let runtime = try SensorsRuntime(config: try SensorsConfig(json: JSONObject([("simulate", true)])), stateDirectory: nil, memoryBases: [base.path])
        let own = String(runtime.root.dropLast("/sim-sysfs".count))
        #expect(own.hasPrefix(base.path + "/ela-sensors-sim-\(getpid())-"))
        #expect(!FileSystem.exists(dead) && !FileSystem.exists(unlocked))
        #expect(FileSystem.exists(deadButNew) && FileSystem.exists(unlockedButNew) && FileSystem.exists(alive))
        #expect(FileSystem.exists(locked) && FileSystem.exists(other))
        // Our own tree is locked while the runtime lives: another start leaves it alone, even once a minute old.
        #expect(backdate(own))
        let second = try SensorsRuntime(config: try SensorsConfig(json: JSONObject([("simulate", true)])), stateDirectory: nil, memoryBases: [base.path])
        #expect(FileSystem.exists(own))
        await second.stop()
        await runtime.stop()
        await runtime.stop()  // a second stop is harmless (the lock is not closed twice)
        #expect(!FileSystem.exists(own))
    }

    @Test func realRootWithNothingThereIsEmptyNotAnError() throws {
        let dir = TemporaryDirectory(prefix: "ela-sensors-empty")
        defer { dir.remove() }
        let runtime = try SensorsRuntime(config: try SensorsConfig(json: JSONObject([("sysfs_root", .string(dir.path))])), stateDirectory: nil)
        #expect(runtime.listJSON()["sensors"] == [])
        #expect(runtime.startupNotes.last == "0 sensors under \(dir.path): ")
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
func waitFor(seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}
