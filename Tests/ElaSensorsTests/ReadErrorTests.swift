#if canImport(Glibc)
import Glibc
#endif
import ElaFileSystem
import ElaSensors
import ElaTestSupport
import Testing

/// Garbage, vanished and forbidden files: every failure is a typed `SensorError`, never a crash.
@Suite struct ReadErrorTests {
    static let garbage: [[UInt8]] = [
        [], Array("\n".utf8), Array("garbage\n".utf8), [0xFF, 0x00, 0xFE, 0x80], Array("12 34\n".utf8), Array("nan\n".utf8),
        Array("1e309\n".utf8), Array(repeating: UInt8(ascii: "7"), count: 5000),  // larger than any sysfs value
        Array("\u{0}\u{0}\u{0}".utf8), Array("-\n".utf8),
    ]

    @Test func garbageInEveryKindOfFileIsATypedError() {
        for (n, bytes) in Self.garbage.enumerated() {
            let t = FakeSysfs()
            t.writeBytes("class/hwmon/hwmon0/temp1_input", bytes)
            t.writeBytes("bus/iio/devices/iio:device0/in_temp_input", bytes)
            t.write("bus/iio/devices/iio:device0/in_voltage0_raw", "100\n")
            t.writeBytes("bus/iio/devices/iio:device0/in_voltage0_scale", bytes)
            t.writeBytes("bus/iio/devices/iio:device0/name", bytes)
            t.writeBytes("bus/w1/devices/28-0316a2799aff/w1_slave", bytes)
            let sensors = SensorDiscovery.discover(root: t.root).sensors
            #expect(sensors.count == 4, "case \(n)")
            for s in sensors {
                #expect(throws: SensorError.self, "case \(n), \(s.id)") { try SensorReader.read(s, timestampMs: 0) }
            }
        }
    }

    @Test func randomBytesNeverCrashTheParsers() {
        var rng = SplitMix64(seed: 0x5E75)
        let alphabet = Array("0123456789abcdef -.:=tcrYESNO\n\u{0}x+".utf8)
        for _ in 0..<2000 {
            let n = Int.random(in: 0...120, using: &rng)
            let bytes = (0..<n).map { _ in Bool.random(using: &rng) ? alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] : UInt8.random(in: 0...255, using: &rng) }
            let text = String(decoding: bytes, as: UTF8.self)
            if let v = try? SysfsNumber.parse(text, path: "f") { #expect(v.isFinite) }
            if let r = try? W1Therm.parse(text, path: "f") { #expect(W1Therm.range.contains(r.celsius)) }
        }
    }

    @Test func mutatedGoodW1FilesAreCaught() throws {
        // Change each hex digit of the scratchpad, the same on both lines (the kernel's YES left as is):
        // the CRC-8 catches every one (it detects all error bursts up to 8 bits).
        let good = Array(W1ThermTests.good.utf8)
        let secondLine = try #require(good.firstIndex(of: UInt8(ascii: "\n"))) + 1
        var caught = 0
        for i in 0..<26 where good[i].isHexDigit {
            var mutated = good
            let digit: UInt8 = good[i] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            mutated[i] = digit
            mutated[secondLine + i] = digit
            let error = #expect(throws: SensorError.self) { try W1Therm.parse(String(mutated), path: "p") }
            if error?.code == "crcMismatch" { caught += 1 }
        }
        #expect(caught == 18)
    }

    @Test func outOfRangeValuesAreRefused() {
        let t = FakeSysfs()
        t.write("class/hwmon/hwmon0/name", "sht3x\n")
        t.write("class/hwmon/hwmon0/humidity1_input", "150000\n")
        t.write("class/hwmon/hwmon0/temp1_input", "-300000\n")
        for id in ["hwmon/sht3x/humidity1", "hwmon/sht3x/temp1"] {
            let error = #expect(throws: SensorError.self) { try readSensor(t, id) }
            #expect(error?.code == "outOfRange")
            #expect(error?.description.contains(id) == true)
        }
    }

    @Test func vanishedFileIsMissing() throws {
        let t = FakeSysfs()
        let path = t.write("class/hwmon/hwmon0/temp1_input", "1000\n")
        let sensor = try #require(SensorDiscovery.discover(root: t.root).sensors.first)
        t.remove("class/hwmon/hwmon0/temp1_input")
        #expect(throws: SensorError.missingFile(path: path)) { try SensorReader.read(sensor, timestampMs: 0) }
    }

    @Test func directoryInsteadOfFileIsUnreadable() throws {
        let t = FakeSysfs()
        t.mkdirs("class/hwmon/hwmon0/temp1_input")
        let sensor = try #require(SensorDiscovery.discover(root: t.root).sensors.first)
        let error = #expect(throws: SensorError.self) { try SensorReader.read(sensor, timestampMs: 0) }
        #expect(error?.code == "unreadable")
    }

    @Test func osErrorsMapToWhatTheyMeanForASensor() {
        #expect(SensorError(FileSystemError(path: "/p", reason: "x", errno: EACCES)) == .permissionDenied(path: "/p"))
        #expect(SensorError(FileSystemError(path: "/p", reason: "x", errno: EPERM)) == .permissionDenied(path: "/p"))
        #expect(SensorError(FileSystemError(path: "/p", reason: "x", errno: ENOENT)) == .missingFile(path: "/p"))
        #expect(SensorError(FileSystemError(path: "/p", reason: "x", errno: ENODEV)) == .missingFile(path: "/p"))
        #expect(SensorError(FileSystemError(path: "/p", reason: "io", errno: EIO)) == .unreadable(path: "/p", reason: "io"))
        #expect(SensorError(FileSystemError(path: "/p", reason: "big")) == .unreadable(path: "/p", reason: "big"))
    }

    @Test(.enabled(if: !runningAsRoot, "root reads files whatever their mode"))
    func unreadableModeIsPermissionDenied() throws {
        let t = FakeSysfs()
        let path = t.write("class/hwmon/hwmon0/temp1_input", "1000\n")
        t.chmod("class/hwmon/hwmon0/temp1_input", 0)
        let sensor = try #require(SensorDiscovery.discover(root: t.root).sensors.first)
        #expect(throws: SensorError.permissionDenied(path: path)) { try SensorReader.read(sensor, timestampMs: 0) }
    }

    @Test func descriptionsSayWhatToCheck() {
        #expect(SensorError.crcMismatch(path: "/w", expected: 0x57, computed: 0x1C).description.contains("0x57"))
        #expect(SensorError.unknownSensor(id: "x", known: ["a", "b"]).description == "unknown sensor 'x'; known sensors: a, b")
        #expect(SensorError.powerOnReset(path: "/w").description.contains("85"))
    }
}

extension UInt8 {
    var isHexDigit: Bool { (0x30...0x39).contains(self) || (0x61...0x66).contains(self) }
}

extension String {
    init(_ bytes: [UInt8]) { self = String(decoding: bytes, as: UTF8.self) }
}
