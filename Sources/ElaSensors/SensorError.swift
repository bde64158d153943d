/// Why a sensor could not be discovered or read. Every case names the file or sensor so a user can act on it;
/// garbage in a sysfs file is always one of these, never a crash.
public enum SensorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist (the device was unplugged, the driver unloaded, or the sysfs root is wrong).
    case missingFile(path: String)
    /// The file exists but this process may not read it (sandbox or file mode).
    case permissionDenied(path: String)
    /// The kernel refused the read (EIO, ENODATA, ...): usually a sensor that is present but not answering.
    case unreadable(path: String, reason: String)
    /// The file does not hold the number it should; `content` is a printable excerpt.
    case notNumeric(path: String, content: String)
    /// The value parsed but lies outside what the sensor can physically report.
    case outOfRange(sensor: String, value: Double, range: ClosedRange<Double>, unit: String)
    /// A structured file (1-wire `w1_slave`) is not in the expected shape.
    case malformed(path: String, reason: String)
    /// The kernel itself reported a CRC failure (`crc=.. NO`) on the 1-wire bus.
    case crcReportedBad(path: String)
    /// The scratchpad's CRC-8 does not match its data (checked here, whatever the kernel said).
    case crcMismatch(path: String, expected: UInt8, computed: UInt8)
    /// A DS18B20 answered its power-on reset value (85 °C): it has not completed a conversion (power problem).
    case powerOnReset(path: String)
    /// An all-zero scratchpad: the sensor's data line is held low (disconnected or shorted).
    case disconnected(path: String)
    /// No sensor has this id; `known` lists the ids that exist.
    case unknownSensor(id: String, known: [String])
    /// A file could not be written (the simulated tree only).
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path): "\(path): no such file (sensor removed, driver not loaded, or wrong sysfs root?)"
        case .permissionDenied(let path): "\(path): permission denied (check the sandbox and file mode)"
        case .unreadable(let path, let reason): "\(path): read failed: \(reason)"
        case .notNumeric(let path, let content): "\(path): expected a number, found \"\(content)\""
        case .outOfRange(let sensor, let value, let range, let unit):
            "\(sensor): value \(value) \(unit) is outside the plausible range \(range.lowerBound)...\(range.upperBound) \(unit)"
        case .malformed(let path, let reason): "\(path): malformed: \(reason)"
        case .crcReportedBad(let path): "\(path): the kernel reported a 1-wire CRC error (crc=.. NO); check wiring and pull-up"
        case .crcMismatch(let path, let expected, let computed):
            "\(path): scratchpad CRC is \(hex(expected)) but its data gives \(hex(computed)); check wiring and pull-up"
        case .powerOnReset(let path):
            "\(path): 85 °C power-on reset value: the sensor did not finish a conversion (parasite power or supply problem?)"
        case .disconnected(let path): "\(path): all-zero scratchpad: the data line is held low (sensor disconnected or shorted)"
        case .unknownSensor(let id, let known):
            known.isEmpty
                ? "unknown sensor '\(id)'; no sensors were found"
                : "unknown sensor '\(id)'; known sensors: \(known.joined(separator: ", "))"
        case .writeFailed(let path, let reason): "\(path): cannot write: \(reason)"
        }
    }
}

extension SensorError {
    /// A stable machine-readable name of the case (`missingFile`, `crcMismatch`, ...), without its values.
    public var code: String {
        switch self {
        case .missingFile: "missingFile"
        case .permissionDenied: "permissionDenied"
        case .unreadable: "unreadable"
        case .notNumeric: "notNumeric"
        case .outOfRange: "outOfRange"
        case .malformed: "malformed"
        case .crcReportedBad: "crcReportedBad"
        case .crcMismatch: "crcMismatch"
        case .powerOnReset: "powerOnReset"
        case .disconnected: "disconnected"
        case .unknownSensor: "unknownSensor"
        case .writeFailed: "writeFailed"
        }
    }
}

func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
}

/// A printable, bounded excerpt of file content for error messages (garbage files may hold anything).
func excerpt(_ text: Substring, limit: Int = 40) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(limit) {
        out += (scalar.value >= 0x20 && scalar.value < 0x7F) ? String(scalar) : "?"
    }
    return text.unicodeScalars.count > limit ? out + "..." : out
}
