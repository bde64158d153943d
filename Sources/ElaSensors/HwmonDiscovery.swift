/// hwmon devices: `<root>/class/hwmon/hwmonN/` with a `name` and `<type><N>_input` files, optional `<type><N>_label`.
/// Units (Documentation/hwmon/sysfs-interface): temp millidegrees Celsius, in millivolts, curr milliamps,
/// power microwatts, fan RPM, humidity milli-percent. Old drivers keep the files in `hwmonN/device/`.
enum HwmonDiscovery {
    static let types: [(prefix: String, kind: SensorKind, factor: Double)] = [
        ("temp", .temperature, 0.001),
        ("in", .voltage, 0.001),
        ("curr", .current, 0.001),
        ("power", .power, 0.000_001),
        ("fan", .fan, 1),
        ("humidity", .humidity, 0.001),
    ]

    static func discover(root: String, into result: inout SensorDiscovery.Result) {
        let base = root + "/class/hwmon"
        let devices: [String]
        do {
            guard let names = try SysfsIO.entries(in: base) else { return }
            // Numeric order (hwmon2 before hwmon10), so duplicate names get their suffixes in a stable order.
            devices = names.filter { $0.hasPrefix("hwmon") }.sorted { ($0.count, $0) < ($1.count, $1) }
        } catch {
            result.problems.append(error)
            return
        }
        var names = DeviceNames()
        for device in devices {
            var dir = base + "/" + device
            guard SysfsIO.isDirectory(dir) else { continue }
            var files: [String]
            do { files = try SysfsIO.entries(in: dir) ?? [] } catch {
                result.problems.append(error)
                continue
            }
            let name = names.unique(DeviceNames.read(dir + "/name", fallback: device))
            if !files.contains(where: { channel(of: $0) != nil }), let inner = try? SysfsIO.entries(in: dir + "/device") {
                dir += "/device"
                files = inner
            }
            result.sensors += channels(in: dir, files: files, deviceName: name)
        }
    }

    static func channels(in dir: String, files: [String], deviceName: String) -> [Sensor] {
        let present = Set(files)
        var sensors: [Sensor] = []
        for file in files {
            guard let (channel, type) = channel(of: file) else { continue }
            var label: String?
            if present.contains(channel + "_label"), let text = try? SysfsIO.readText(dir + "/" + channel + "_label") {
                let trimmed = text.trimmingASCIIWhitespace()
                label = trimmed.isEmpty ? nil : excerpt(trimmed, limit: 64)
            }
            sensors.append(
                Sensor(
                    id: "hwmon/\(deviceName)/\(channel)", kind: type.kind, source: .hwmon, path: dir + "/" + file, label: label,
                    conversion: .processed(factor: type.factor)))
        }
        return sensors
    }

    /// `temp1_input` -> (`temp1`, temperature). Only `_input` files carry a live value.
    static func channel(of file: String) -> (String, (prefix: String, kind: SensorKind, factor: Double))? {
        guard file.hasSuffix("_input") else { return nil }
        let channel = String(file.dropLast(6))
        for t in types where channel.hasPrefix(t.prefix) {
            let index = channel.dropFirst(t.prefix.count)
            if !index.isEmpty, index.allSatisfy({ $0.isASCII && $0.isNumber }) { return (channel, t) }
        }
        return nil
    }
}

/// Device names made safe for sensor ids and unique within one bus: the second `nvme` becomes `nvme-2`.
struct DeviceNames {
    private var used: [String: Int] = [:]

    mutating func unique(_ name: String) -> String {
        let n = (used[name] ?? 0) + 1
        used[name] = n
        return n == 1 ? name : "\(name)-\(n)"
    }

    /// The device's `name` file, restricted to `[A-Za-z0-9_.-]` (anything else becomes `_`); `fallback` if absent.
    static func read(_ path: String, fallback: String) -> String {
        guard let text = try? SysfsIO.readText(path) else { return fallback }
        let trimmed = text.trimmingASCIIWhitespace().prefix(64)
        let safe = String(
            trimmed.unicodeScalars.map { s -> Character in
                let ok = (s.value >= 0x30 && s.value <= 0x39) || (s.value >= 0x41 && s.value <= 0x5A)
                    || (s.value >= 0x61 && s.value <= 0x7A) || s == "_" || s == "." || s == "-"
                return ok ? Character(s) : "_"
            })
        return safe.isEmpty ? fallback : safe
    }
}
