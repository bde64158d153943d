/// A fake sysfs tree for the `sim` board, laid out like a Raspberry Pi's: a BME280 on IIO (temperature, pressure and
/// humidity as raw + scale (+ offset)), the SoC's `cpu_thermal` hwmon, and a DS18B20 on 1-wire with a valid CRC.
/// Bus and class entries are relative symlinks into `devices/`, as in the real /sys.
///
/// `advance(to:)` rewrites the values for a point in time: slow sine waves plus small noise, a pure function of
/// (seed, time), each file replaced atomically. The real discovery and parsers then read it back, so the
/// simulation exercises the same code as hardware.
public struct SimulatedSysfs: Sendable {
    public let root: String
    public let seed: UInt64

    /// The 1-wire slave id of the simulated DS18B20.
    public static let ds18b20 = "28-0316a2799aff"
    /// The ids discovery finds in the simulated tree.
    public static let sensorIds = [
        "hwmon/cpu_thermal/temp1", "iio/bme280/humidityrelative", "iio/bme280/pressure", "iio/bme280/temp", "w1/" + ds18b20,
    ]

    static let iioDevice = "devices/platform/soc/fe804000.i2c/i2c-1/1-0076/iio:device0"
    static let hwmonDevice = "devices/virtual/thermal/thermal_zone0/hwmon0"
    static let w1Master = "devices/w1_bus_master1"

    /// What the simulated sensors measure at one moment, in the units reported.
    public struct Values: Sendable, Equatable {
        public var roomCelsius: Double
        public var pressurePascal: Double
        public var humidityPercent: Double
        public var cpuCelsius: Double
        public var probeCelsius: Double
    }

    /// Creates the tree under `root` (created if needed) with the values of time 0.
    public init(root: String, seed: UInt64 = 1) throws(SensorError) {
        self.root = root
        self.seed = seed
        let iio = root + "/" + Self.iioDevice
        let hwmon = root + "/" + Self.hwmonDevice
        let w1 = root + "/" + Self.w1Master + "/" + Self.ds18b20
        for dir in [iio, hwmon, w1, root + "/bus/iio/devices", root + "/class/hwmon", root + "/bus/w1/devices"] {
            try SysfsIO.makeDirectory(dir)
        }
        try SysfsIO.writeAtomically(iio + "/name", "bme280\n")
        // Temperature in centikelvin: exercises the offset; (raw - 27315) * 10 = millidegrees Celsius.
        try SysfsIO.writeAtomically(iio + "/in_temp_scale", "10\n")
        try SysfsIO.writeAtomically(iio + "/in_temp_offset", "-27315\n")
        // Pressure in 1/256 Pa (the BME280's Q24.8): * 1/256000 = kPa.
        try SysfsIO.writeAtomically(iio + "/in_pressure_scale", "0.00000390625\n")
        // Humidity in 1/1024 % (the BME280's Q22.10): * 1000/1024 = milli-percent.
        try SysfsIO.writeAtomically(iio + "/in_humidityrelative_scale", "0.976562500\n")
        try SysfsIO.writeAtomically(hwmon + "/name", "cpu_thermal\n")
        try SysfsIO.writeAtomically(w1 + "/name", Self.ds18b20 + "\n")
        try SysfsIO.symlink(target: "../../../" + Self.iioDevice, at: root + "/bus/iio/devices/iio:device0")
        try SysfsIO.symlink(target: "../../" + Self.hwmonDevice, at: root + "/class/hwmon/hwmon0")
        try SysfsIO.symlink(target: "../../../" + Self.w1Master, at: root + "/bus/w1/devices/w1_bus_master1")
        try SysfsIO.symlink(target: "../../../" + Self.w1Master + "/" + Self.ds18b20, at: root + "/bus/w1/devices/" + Self.ds18b20)
        try advance(to: 0)
    }

    /// The values at `timeMs` (milliseconds since the simulation started): deterministic for a seed.
    public func values(at timeMs: Int64) -> Values {
        let t = Double(timeMs)
        func wave(_ periodMs: Double, _ phase: Double) -> Double { sine(2 * Double.pi * t / periodMs + phase) }
        return Values(
            roomCelsius: 21 + 3 * wave(600_000, 0) + 0.05 * noise(0, timeMs),
            pressurePascal: 101_325 + 180 * wave(3_600_000, 1) + 3 * noise(1, timeMs),
            humidityPercent: min(100, max(0, 45 + 8 * wave(900_000, 2) + 0.3 * noise(2, timeMs))),
            cpuCelsius: 48 + 6 * wave(120_000, 0.5) + 0.5 * noise(3, timeMs),
            probeCelsius: 19 + 2 * wave(1_800_000, 1.5) + 0.05 * noise(4, timeMs))
    }

    /// Rewrites every value file for `timeMs`; each write is atomic (temporary file, then rename).
    public func advance(to timeMs: Int64) throws(SensorError) {
        let v = values(at: timeMs)
        let iio = root + "/" + Self.iioDevice
        try SysfsIO.writeAtomically(iio + "/in_temp_raw", "\(Int(((v.roomCelsius + 273.15) * 100).rounded()))\n")
        try SysfsIO.writeAtomically(iio + "/in_pressure_raw", "\(Int((v.pressurePascal * 256).rounded()))\n")
        try SysfsIO.writeAtomically(iio + "/in_humidityrelative_raw", "\(Int((v.humidityPercent * 1024).rounded()))\n")
        try SysfsIO.writeAtomically(root + "/" + Self.hwmonDevice + "/temp1_input", "\(Int((v.cpuCelsius * 1000).rounded()))\n")
        let probe = W1Therm.ds18b20Scratchpad(celsius: v.probeCelsius)
        try SysfsIO.writeAtomically(
            root + "/" + Self.w1Master + "/" + Self.ds18b20 + "/w1_slave",
            W1Therm.render(scratchpad: probe.scratchpad, milliCelsius: probe.milliCelsius))
    }

    /// Uniform noise in [-1, 1): a SplitMix64 hash of (seed, channel, time), so no state is carried between calls.
    func noise(_ channel: UInt64, _ timeMs: Int64) -> Double {
        var z = seed &+ channel &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(bitPattern: timeMs) &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 52) - 1
    }
}

/// sin(x) without libm: reduce to [-pi/2, pi/2], then a Taylor series (error < 1e-9, plenty for a simulation).
func sine(_ x: Double) -> Double {
    guard x.isFinite else { return 0 }
    let twoPi = 2 * Double.pi
    var r = x - (x / twoPi).rounded() * twoPi  // [-pi, pi]
    if r > Double.pi / 2 { r = Double.pi - r } else if r < -Double.pi / 2 { r = -Double.pi - r }
    let r2 = r * r
    var term = r
    var sum = r
    for n in stride(from: 2, through: 16, by: 2) {
        term *= -r2 / Double(n * (n + 1))
        sum += term
    }
    return sum
}
