/// One discovered sensor channel: where its value lives and how to turn the file's number into `kind.unit`.
public struct Sensor: Sendable, Hashable {
    /// Stable id: `hwmon/<name>/<channel>` (`hwmon/cpu_thermal/temp1`), `iio/<name>/<channel>` (`iio/bme280/temp`),
    /// `w1/<slave id>` (`w1/28-0316a2799aff`).
    public var id: String
    public var kind: SensorKind
    public var source: SensorSource
    /// The file that holds the value (`*_input`, `*_raw` or `w1_slave`).
    public var path: String
    /// The driver's label for the channel (hwmon `*_label`), if any.
    public var label: String?
    public var conversion: SensorConversion

    public init(id: String, kind: SensorKind, source: SensorSource, path: String, label: String? = nil, conversion: SensorConversion) {
        self.id = id
        self.kind = kind
        self.source = source
        self.path = path
        self.label = label
        self.conversion = conversion
    }

    public var unit: String { kind.unit }
}

/// How a sensor's file content becomes a value in its kind's unit.
public enum SensorConversion: Sendable, Hashable {
    /// `value = number in file * factor` (e.g. hwmon millidegrees * 0.001).
    case processed(factor: Double)
    /// `value = (raw + offset) * scale * factor`, the IIO rule. Scale and offset are read on every reading (drivers
    /// may change them with gain or oversampling); a path whose file is absent means scale 1 / offset 0.
    case raw(scalePath: String?, offsetPath: String?, factor: Double)
    /// A `w1_therm` `w1_slave` file, checked with its own CRC-8.
    case w1Therm
}

/// A value read from a sensor, in `unit`, at `timestampMs` (Unix epoch milliseconds).
public struct SensorReading: Sendable, Hashable {
    public var sensor: String
    public var kind: SensorKind
    public var value: Double
    public var unit: String
    public var timestampMs: Int64

    public init(sensor: String, kind: SensorKind, value: Double, unit: String, timestampMs: Int64) {
        self.sensor = sensor
        self.kind = kind
        self.value = value
        self.unit = unit
        self.timestampMs = timestampMs
    }
}

/// Reads sensors through the real parsing path (the simulated tree goes through it too).
public enum SensorReader {
    /// Reads `sensor` now: parses its file(s), converts to `kind.unit`, checks the plausible range.
    public static func read(_ sensor: Sensor, timestampMs: Int64) throws(SensorError) -> SensorReading {
        let value: Double
        switch sensor.conversion {
        case .processed(let factor):
            value = try SysfsNumber.read(sensor.path) * factor
        case .raw(let scalePath, let offsetPath, let factor):
            let raw = try SysfsNumber.read(sensor.path)
            let scale = try SysfsNumber.readOptional(scalePath) ?? 1
            let offset = try SysfsNumber.readOptional(offsetPath) ?? 0
            value = (raw + offset) * scale * factor
        case .w1Therm:
            value = try W1Therm.parse(try SysfsIO.readText(sensor.path), path: sensor.path).celsius
        }
        let range = sensor.kind.plausibleRange
        guard value.isFinite, range.contains(value) else {
            throw .outOfRange(sensor: sensor.id, value: value, range: range, unit: sensor.unit)
        }
        return SensorReading(sensor: sensor.id, kind: sensor.kind, value: rounded(value), unit: sensor.unit, timestampMs: timestampMs)
    }

    /// Rounds to a millionth of the unit: below every sensor's resolution here, and it keeps binary noise such as
    /// 23.450000000000003 out of the JSON.
    static func rounded(_ value: Double) -> Double {
        guard abs(value) < 1e12 else { return value }
        return (value * 1_000_000).rounded() / 1_000_000
    }
}
