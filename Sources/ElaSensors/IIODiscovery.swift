/// Linux IIO devices: `<root>/bus/iio/devices/iio:deviceN/` with a `name` and channel files
/// `in_<type>[N][_<modifier>]_input` (processed) or `..._raw` with `..._scale` / `..._offset`
/// (per channel, or shared per type as `in_<type>_scale`).
///
/// Units follow the kernel's IIO ABI (Documentation/ABI/testing/sysfs-bus-iio): after scale and offset, temperature
/// is in millidegrees Celsius, voltage in millivolts, current in milliamps, power in milliwatts, pressure in
/// kilopascal, relative humidity in milli-percent, illuminance in lux.
enum IIODiscovery {
    /// IIO channel types we report, with the kind and the factor from the ABI unit to ours. Longest names first so
    /// `humidityrelative` is not mistaken for a shorter type.
    static let types: [(type: String, kind: SensorKind, factor: Double)] = [
        ("humidityrelative", .humidity, 0.001),
        ("illuminance", .illuminance, 1),
        ("pressure", .pressure, 1000),
        ("voltage", .voltage, 0.001),
        ("current", .current, 0.001),
        ("power", .power, 0.001),
        ("temp", .temperature, 0.001),
    ]

    static func discover(root: String, into result: inout SensorDiscovery.Result) {
        let base = root + "/bus/iio/devices"
        let devices: [String]
        do {
            guard let names = try SysfsIO.entries(in: base) else { return }
            devices = names.filter { $0.hasPrefix("iio:device") }
        } catch {
            result.problems.append(error)
            return
        }
        var names = DeviceNames()
        for device in devices {
            let dir = base + "/" + device
            guard SysfsIO.isDirectory(dir) else { continue }
            let files: [String]
            do { files = try SysfsIO.entries(in: dir) ?? [] } catch {
                result.problems.append(error)
                continue
            }
            let name = names.unique(DeviceNames.read(dir + "/name", fallback: device.replacingColons()))
            result.sensors += channels(in: dir, files: files, deviceName: name)
        }
    }

    /// The sensors one device directory offers; `_input` wins over `_raw` for the same channel.
    static func channels(in dir: String, files: [String], deviceName: String) -> [Sensor] {
        let present = Set(files)
        var sensors: [Sensor] = []
        var seen: Set<String> = []
        for file in files where file.hasPrefix("in_") {
            let processed = file.hasSuffix("_input")
            guard processed || file.hasSuffix("_raw") else { continue }
            let channel = String(file.dropFirst(3).dropLast(processed ? 6 : 4))
            guard let type = type(of: channel), !seen.contains(channel) else { continue }
            if !processed && present.contains("in_\(channel)_input") { continue }
            seen.insert(channel)
            let id = "iio/\(deviceName)/\(channel)"
            if processed {
                sensors.append(Sensor(id: id, kind: type.kind, source: .iio, path: dir + "/" + file, conversion: .processed(factor: type.factor)))
            } else {
                func attribute(_ suffix: String) -> String? {
                    for candidate in ["in_\(channel)_\(suffix)", "in_\(type.type)_\(suffix)"] where present.contains(candidate) {
                        return dir + "/" + candidate
                    }
                    return nil
                }
                sensors.append(
                    Sensor(
                        id: id, kind: type.kind, source: .iio, path: dir + "/" + file,
                        conversion: .raw(scalePath: attribute("scale"), offsetPath: attribute("offset"), factor: type.factor)))
            }
        }
        return sensors
    }

    /// The IIO type a channel name starts with: the type, then nothing, an index, a `_modifier` or a
    /// `-` (differential pair), e.g. `temp`, `voltage0`, `temp_ambient`, `voltage0-voltage1`.
    static func type(of channel: String) -> (type: String, kind: SensorKind, factor: Double)? {
        for t in types where channel.hasPrefix(t.type) {
            let rest = channel.dropFirst(t.type.count).drop(while: { $0.isASCII && $0.isNumber })
            if rest.isEmpty || rest.hasPrefix("_") || rest.hasPrefix("-") { return t }
        }
        return nil
    }
}

extension String {
    /// `iio:device0` -> `iio_device0`: ids must not need quoting.
    func replacingColons() -> String { String(map { $0 == ":" ? "_" : $0 }) }
}
