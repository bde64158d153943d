/// What a sensor measures, with the unit its readings are reported in.
///
/// Units are SI-style, except temperature, which is reported in degrees Celsius ("celsius") rather than kelvin
/// because that is what every datasheet, kernel driver and user works in.
public enum SensorKind: String, Sendable, Hashable, CaseIterable {
    case temperature
    case voltage
    case current
    case power
    case pressure
    case humidity
    case illuminance
    case fan

    /// The unit of every reading of this kind.
    public var unit: String {
        switch self {
        case .temperature: "celsius"
        case .voltage: "volt"
        case .current: "ampere"
        case .power: "watt"
        case .pressure: "pascal"
        case .humidity: "percent"
        case .illuminance: "lux"
        case .fan: "rpm"
        }
    }

    /// Values a working sensor of this kind can report; anything outside is a fault, not a measurement.
    /// Deliberately wide (thermocouples, mains voltages, high-power rails): it catches garbage, not odd weather.
    public var plausibleRange: ClosedRange<Double> {
        switch self {
        case .temperature: -273.15...2000
        case .voltage: -100_000...100_000
        case .current: -100_000...100_000
        case .power: -10_000_000...10_000_000
        case .pressure: -100_000_000...1_000_000_000
        case .humidity: 0...100
        case .illuminance: 0...1_000_000
        case .fan: 0...1_000_000
        }
    }
}

/// Which kernel interface a sensor comes from.
public enum SensorSource: String, Sendable, Hashable, CaseIterable {
    /// Linux Industrial I/O (`/sys/bus/iio/devices/iio:deviceN`).
    case iio
    /// Hardware monitoring (`/sys/class/hwmon/hwmonN`).
    case hwmon
    /// 1-wire temperature sensors through `w1_therm` (`/sys/bus/w1/devices/28-*`).
    case w1
}
