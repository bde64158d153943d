/// Finds every sensor under a sysfs root (default `/sys`; tests and the simulated board use a fake tree).
/// Discovery only lists files; values are read later, so a sensor that fails to read is still listed.
public enum SensorDiscovery {
    public struct Result: Sendable, Equatable {
        /// Sorted by id.
        public var sensors: [Sensor] = []
        /// Directories that exist but could not be listed (a missing bus is not a problem: no sensors there).
        public var problems: [SensorError] = []
    }

    public static func discover(root: String = "/sys") -> Result {
        var result = Result()
        IIODiscovery.discover(root: root, into: &result)
        HwmonDiscovery.discover(root: root, into: &result)
        W1Discovery.discover(root: root, into: &result)
        result.sensors.sort { $0.id < $1.id }
        return result
    }
}

/// 1-wire thermometers: `<root>/bus/w1/devices/<family>-<serial>/w1_slave`, family 28 (DS18B20) and its relatives.
enum W1Discovery {
    static func discover(root: String, into result: inout SensorDiscovery.Result) {
        let base = root + "/bus/w1/devices"
        let slaves: [String]
        do {
            guard let names = try SysfsIO.entries(in: base) else { return }
            slaves = names.filter { isThermometer($0) }
        } catch {
            result.problems.append(error)
            return
        }
        for slave in slaves {
            let path = base + "/" + slave + "/w1_slave"
            guard SysfsIO.exists(path) else { continue }
            result.sensors.append(Sensor(id: "w1/" + slave, kind: .temperature, source: .w1, path: path, conversion: .w1Therm))
        }
    }

    /// `28-0316a2799aff`: a `w1_therm` family code, a dash, 12 lowercase hex digits.
    static func isThermometer(_ name: String) -> Bool {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, W1Therm.families.contains(String(parts[0])), parts[1].utf8.count == 12 else { return false }
        return parts[1].utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
