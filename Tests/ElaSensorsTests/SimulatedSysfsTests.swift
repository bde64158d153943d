import ElaSensors
import ElaTestSupport
import Testing

@Suite struct SimulatedSysfsTests {
    @Test func theRealDiscoveryFindsTheSimulatedSensors() throws {
        let dir = TemporaryDirectory(prefix: "ela-sim")
        defer { dir.remove() }
        let sim = try SimulatedSysfs(root: dir.path + "/sys", seed: 7)
        let result = SensorDiscovery.discover(root: sim.root)
        #expect(result.sensors.map(\.id) == SimulatedSysfs.sensorIds)
        #expect(result.problems.isEmpty)
        let kinds = Dictionary(uniqueKeysWithValues: result.sensors.map { ($0.id, $0.kind) })
        #expect(kinds["iio/bme280/pressure"] == .pressure && kinds["iio/bme280/humidityrelative"] == .humidity)
        // The BME280 channels really are raw + scale, the temperature with an offset.
        let temp = try #require(result.sensors.first { $0.id == "iio/bme280/temp" })
        guard case .raw(let scale?, let offset?, _) = temp.conversion else { Issue.record("expected raw + scale + offset"); return }
        #expect(scale.hasSuffix("in_temp_scale") && offset.hasSuffix("in_temp_offset"))
    }

    @Test func readingsMatchTheModelAndStayPlausible() throws {
        let dir = TemporaryDirectory(prefix: "ela-sim")
        defer { dir.remove() }
        let sim = try SimulatedSysfs(root: dir.path, seed: 7)
        let sensors = SensorDiscovery.discover(root: sim.root).sensors
        var previous: [String: Double] = [:]
        var changes = 0
        for minute in 0..<60 {
            let t = Int64(minute) * 60_000 + 1234
            try sim.advance(to: t)
            let model = sim.values(at: t)
            var read: [String: Double] = [:]
            for s in sensors { read[s.id] = try SensorReader.read(s, timestampMs: t).value }
            // Quantization: 1/100 K, 1/256 Pa, 1/1024 %, 1 m°C, 1/16 °C.
            #expect(abs(try #require(read["iio/bme280/temp"]) - model.roomCelsius) <= 0.006)
            #expect(abs(try #require(read["iio/bme280/pressure"]) - model.pressurePascal) <= 0.01)
            #expect(abs(try #require(read["iio/bme280/humidityrelative"]) - model.humidityPercent) <= 0.001)
            #expect(abs(try #require(read["hwmon/cpu_thermal/temp1"]) - model.cpuCelsius) <= 0.001)
            #expect(abs(try #require(read["w1/" + SimulatedSysfs.ds18b20]) - model.probeCelsius) <= 0.0625)
            #expect((17...25).contains(try #require(read["iio/bme280/temp"])))
            #expect((100_000...102_500).contains(try #require(read["iio/bme280/pressure"])))
            #expect((30...60).contains(try #require(read["iio/bme280/humidityrelative"])))
            #expect((40...56).contains(try #require(read["hwmon/cpu_thermal/temp1"])))
            #expect((16...22).contains(try #require(read["w1/" + SimulatedSysfs.ds18b20])))
            for (id, v) in read where previous[id] != nil && previous[id] != v { changes += 1 }
            previous = read
        }
        #expect(changes > 59 * 4)  // values move over time
    }

    @Test func valuesAreDeterministicPerSeed() throws {
        let dir = TemporaryDirectory(prefix: "ela-sim")
        defer { dir.remove() }
        let a = try SimulatedSysfs(root: dir.path + "/a", seed: 1)
        let b = try SimulatedSysfs(root: dir.path + "/b", seed: 1)
        let c = try SimulatedSysfs(root: dir.path + "/c", seed: 2)
        #expect(a.values(at: 123_456) == b.values(at: 123_456))
        #expect(a.values(at: 123_456) != c.values(at: 123_456))
        try a.advance(to: 5000)
        try b.advance(to: 5000)
        for rel in ["class/hwmon/hwmon0/temp1_input", "bus/w1/devices/28-0316a2799aff/w1_slave"] {
            #expect(TestData.readString(a.root + "/" + rel) == TestData.readString(b.root + "/" + rel))
        }
    }

    @Test func writesLeaveNoTemporaryFilesBehind() throws {
        let dir = TemporaryDirectory(prefix: "ela-sim")
        defer { dir.remove() }
        let sim = try SimulatedSysfs(root: dir.path)
        for t in stride(from: Int64(0), to: 10_000, by: 500) { try sim.advance(to: t) }
        let files = TestData.listFiles(sim.root + "/devices")
        #expect(!files.contains { $0.contains(".tmp") })
        #expect(files.contains("virtual/thermal/thermal_zone0/hwmon0/temp1_input"))
    }

    @Test func aConcurrentReaderNeverSeesAHalfWrittenValue() async throws {
        let dir = TemporaryDirectory(prefix: "ela-sim")
        defer { dir.remove() }
        let sim = try SimulatedSysfs(root: dir.path)
        let sensors = SensorDiscovery.discover(root: sim.root).sensors
        let writer = Task.detached {
            for t in 0..<400 { try sim.advance(to: Int64(t) * 997) }
        }
        let reader = Task.detached { () -> [String] in
            var failures: [String] = []
            for _ in 0..<400 {
                for s in sensors {
                    do { _ = try SensorReader.read(s, timestampMs: 0) } catch { failures.append("\(error)") }
                }
            }
            return failures
        }
        try await writer.value
        #expect(await reader.value == [])
    }

    @Test func recreatingOverAnExistingTreeWorks() throws {
        // A restarted plugin finds its previous tree in the state directory.
        let dir = TemporaryDirectory(prefix: "ela-sim")
        defer { dir.remove() }
        _ = try SimulatedSysfs(root: dir.path, seed: 1)
        let again = try SimulatedSysfs(root: dir.path, seed: 2)
        try again.advance(to: 90_000)
        #expect(SensorDiscovery.discover(root: again.root).sensors.map(\.id) == SimulatedSysfs.sensorIds)
    }

    @Test func anUnusableRootIsATypedError() {
        let dir = TemporaryDirectory(prefix: "ela-sim")
        defer { dir.remove() }
        let file = dir.write("plain-file", "x")
        let error = #expect(throws: SensorError.self) { try SimulatedSysfs(root: file + "/sys") }
        #expect(error?.code == "writeFailed")
    }

    @Test func sineApproximationIsAccurate() {
        let dir = TemporaryDirectory(prefix: "ela-sim")
        defer { dir.remove() }
        // Over a full 10-minute period the room temperature spans about 21 +- 3 °C.
        guard let sim = try? SimulatedSysfs(root: dir.path, seed: 3) else { Issue.record("cannot create"); return }
        let temps = stride(from: Int64(0), to: 600_000, by: 1000).map { sim.values(at: $0).roomCelsius }
        #expect(abs((temps.max() ?? 0) - 24) < 0.1)
        #expect(abs((temps.min() ?? 0) - 18) < 0.1)
    }
}
