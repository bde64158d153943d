internal import ElaTOML

/// A board described by `Boards/<id>.toml`: its GPIO chips, the pin names mapped to (chip label, line) with their
/// place on the board's headers, the I2C / SPI / UART / 1-wire buses wired to those pins, sensor hints and the
/// plugins started by default. The schema is documented in `Boards/README.md`.
public struct BoardDescription: Sendable, Equatable {
    /// A GPIO chip, addressed by the label the kernel gives it (gpiochip numbers change between kernels).
    public struct Chip: Sendable, Equatable {
        public var label: String
        public var lines: Int
        /// The device the chip belongs to (the name of the directory holding `gpiochipN` in sysfs, e.g.
        /// `44e07000.gpio`). Set when the label alone does not identify the hardware bank (AM335x hands out labels
        /// in probe order); the GPIO plugin then resolves the chip by this name.
        public var parent: String?
        /// Candidate `/dev/gpiochipN` nodes of this chip; grant only the one whose label (or parent) matches.
        public var devices: [String]

        public init(label: String, lines: Int, parent: String? = nil, devices: [String] = []) {
            self.label = label
            self.lines = lines
            self.parent = parent
            self.devices = devices
        }
    }

    /// A pin header on the board (`J8` on a Raspberry Pi, `P8`/`P9` on a BeagleBone).
    public struct Header: Sendable, Equatable {
        public var name: String
        /// Number of physical pins, numbered 1...pins.
        public var pins: Int

        public init(name: String, pins: Int) {
            self.name = name
            self.pins = pins
        }
    }

    /// Where a pin sits: header name and physical pin number.
    public struct HeaderPosition: Sendable, Hashable {
        public var header: String
        public var pin: Int

        public init(header: String, pin: Int) {
            self.header = header
            self.pin = pin
        }
    }

    public struct Pin: Sendable, Equatable {
        public var name: String
        public var chip: String
        public var line: Int
        /// Physical position, when the pin is on a header.
        public var header: HeaderPosition?
        /// Free text for people (alternate functions, conflicts).
        public var note: String

        public init(name: String, chip: String, line: Int, header: HeaderPosition? = nil, note: String = "") {
            self.name = name
            self.chip = chip
            self.line = line
            self.header = header
            self.note = note
        }
    }

    public enum BusKind: String, Sendable, CaseIterable {
        /// Pins in order: SDA, SCL.
        case i2c
        /// Pins in order: MOSI, MISO, SCLK, then CS when the device has one.
        case spi
        /// Pins in order: TX, RX, then RTS, CTS when flow control is wired.
        case uart
    }

    /// An I2C, SPI or UART device node and the header pins it uses.
    public struct Bus: Sendable, Equatable {
        public var kind: BusKind
        public var name: String
        /// `/dev/i2c-N`, `/dev/spidevB.C`, `/dev/ttyXXX` or `/dev/serialN`.
        public var device: String
        /// Pin names (keys of `pins`), in the order documented on `BusKind`.
        public var pins: [String]
        /// How to turn the bus on in the stock OS image (e.g. `dtparam=i2c_arm=on`); empty when always on.
        public var enable: String

        public init(kind: BusKind, name: String, device: String, pins: [String], enable: String = "") {
            self.kind = kind
            self.name = name
            self.device = device
            self.pins = pins
            self.enable = enable
        }
    }

    /// A 1-wire master bit-banged on one pin (`w1-gpio`).
    public struct OneWireBus: Sendable, Equatable {
        public var name: String
        public var pin: String
        /// The master's directory under `<sysfs_root>/bus/w1/devices/`, e.g. `w1_bus_master1`.
        public var master: String
        public var enable: String

        public init(name: String, pin: String, master: String, enable: String = "") {
            self.name = name
            self.pin = pin
            self.master = master
            self.enable = enable
        }
    }

    /// What the sensors plugin can expect on this board.
    public struct Sensors: Sendable, Equatable {
        /// No sensor hardware: the sensors plugin provides simulated sensors (e.g. a fake sysfs tree of its own).
        public var simulated = false
        /// Root of the sysfs tree to read (`/sys`; tests point it at a fake tree).
        public var sysfsRoot = "/sys"
        /// `type` of thermal zones present (`/sys/class/thermal/thermal_zone*/type`), e.g. `cpu-thermal`.
        public var thermalZones: [String] = []
        /// `name` of hwmon devices present (`/sys/class/hwmon/hwmon*/name`), e.g. `cpu_thermal`.
        public var hwmon: [String] = []
        /// `name` of IIO devices present (`/sys/bus/iio/devices/iio:device*/name`).
        public var iio: [String] = []

        public init(
            simulated: Bool = false, sysfsRoot: String = "/sys", thermalZones: [String] = [], hwmon: [String] = [],
            iio: [String] = []
        ) {
            self.simulated = simulated
            self.sysfsRoot = sysfsRoot
            self.thermalZones = thermalZones
            self.hwmon = hwmon
            self.iio = iio
        }
    }

    public var id: String
    public var name: String
    public var description: String
    public var defaultPlugins: [String]
    public var chips: [Chip]
    /// Board-level `/dev/gpiochipN` nodes granted to the GPIO plugin (in addition to each chip's `devices`).
    public var devices: [String]
    public var headers: [Header]
    /// Sorted by name.
    public var pins: [Pin]
    public var i2c: [Bus]
    public var spi: [Bus]
    public var uart: [Bus]
    public var w1: [OneWireBus]
    public var sensors: Sensors

    /// A board built in code (tests, generated boards); `parse` is the checked way in.
    public init(
        id: String, name: String, description: String = "", defaultPlugins: [String] = [], chips: [Chip],
        devices: [String] = [], headers: [Header] = [], pins: [Pin], i2c: [Bus] = [], spi: [Bus] = [], uart: [Bus] = [],
        w1: [OneWireBus] = [], sensors: Sensors = Sensors()
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.defaultPlugins = defaultPlugins
        self.chips = chips
        self.devices = devices
        self.headers = headers
        self.pins = pins.sorted { $0.name < $1.name }
        self.i2c = i2c
        self.spi = spi
        self.uart = uart
        self.w1 = w1
        self.sensors = sensors
    }

    /// Every GPIO character device the board grants the GPIO plugin (board-level first, then per chip), without
    /// duplicates. Empty for the simulated board.
    public var gpioDevices: [String] {
        var seen: [String] = []
        for d in devices + chips.flatMap(\.devices) where !seen.contains(d) { seen.append(d) }
        return seen
    }

    /// All I2C, SPI and UART buses.
    public var buses: [Bus] { i2c + spi + uart }

    public func pin(named name: String) -> Pin? { pins.first { $0.name == name } }

    /// The pin at `pin` of `header`, if it is a GPIO.
    public func pin(header: String, pin number: Int) -> Pin? {
        pins.first { $0.header == HeaderPosition(header: header, pin: number) }
    }

    public func chip(labeled label: String) -> Chip? { chips.first { $0.label == label } }

    /// Parses and checks a board file: id matches `expectedId` (the file name), pins name declared chips and lines
    /// that exist, no line or header position is used twice, buses use declared pins and the right kind of device
    /// node, plugin ids and sensor hints are well formed. Errors name the file, line and key.
    public static func parse(_ text: String, fileName: String, expectedId: String? = nil) throws(ConfigError) -> BoardDescription {
        let (file, table) = try decodeTOMLFile(BoardFile.self, text, fileName: fileName)
        let check = BoardChecker(fileName: fileName, table: table)
        guard AgentConfig.isValidBoardId(file.id) else { throw check.fail("id", "'\(file.id)' is not a board id (a-z, 0-9, '-')") }
        if let expectedId, expectedId != file.id { throw check.fail("id", "'\(file.id)' does not match the file name '\(expectedId)'") }
        guard !file.name.allSatisfy(\.isWhitespace) else { throw check.fail("name", "must not be empty") }
        let chips = try check.chips(file.gpiochip ?? [])
        let headers = try check.headers(file.header ?? [])
        let pins = try check.pins(file.pins ?? [:], chips: chips, headers: headers)
        let names = Set(pins.map(\.name))
        return BoardDescription(
            id: file.id, name: file.name, description: file.description ?? "",
            defaultPlugins: try check.plugins(file.default_plugins ?? []),
            chips: chips,
            devices: try check.gpioDevices(file.devices ?? [], key: "devices", line: table.position(of: "devices")?.line),
            headers: headers, pins: pins.sorted { $0.name < $1.name },
            i2c: try check.buses(file.i2c ?? [], .i2c, pins: names),
            spi: try check.buses(file.spi ?? [], .spi, pins: names),
            uart: try check.buses(file.uart ?? [], .uart, pins: names),
            w1: try check.oneWire(file.w1 ?? [], pins: names),
            sensors: try check.sensors(file.sensors))
    }
}

/// The checks behind `BoardDescription.parse`, each failing with the key path and line of what is wrong.
struct BoardChecker {
    let fileName: String
    let table: TOMLTable

    func fail(_ key: String, _ message: String, line: Int? = nil) -> ConfigError {
        ConfigError(file: fileName, line: line ?? table.position(of: key)?.line, key: key, message: message)
    }

    /// Line of `key` in element `index` of the array of tables `array` (or of the element's first key).
    func line(_ array: String, _ index: Int, _ key: String) -> Int? {
        guard let items = table[array]?.arrayValue, index < items.count, let element = items[index].tableValue else {
            return table.position(of: array)?.line
        }
        return element.position(of: key)?.line
            ?? element.keys.compactMap { element.position(of: $0)?.line }.min()
            ?? table.position(of: array)?.line
    }

    func plugins(_ names: [String]) throws(ConfigError) -> [String] {
        let line = table.position(of: "default_plugins")?.line
        for (i, p) in names.enumerated() {
            guard AgentConfig.isValidBoardId(p) else { throw fail("default_plugins[\(i)]", "'\(p)' is not a plugin id (a-z, 0-9, '-')", line: line) }
            guard !names[..<i].contains(p) else { throw fail("default_plugins[\(i)]", "'\(p)' is listed twice", line: line) }
        }
        return names
    }

    func gpioDevices(_ paths: [String], key: String, line: Int?) throws(ConfigError) -> [String] {
        for (i, d) in paths.enumerated() {
            guard Self.matches(d, prefix: "/dev/gpiochip", digitGroups: 1) else {
                throw fail("\(key)[\(i)]", "'\(d)' is not a GPIO character device like /dev/gpiochip0", line: line)
            }
            guard !paths[..<i].contains(d) else { throw fail("\(key)[\(i)]", "'\(d)' is listed twice", line: line) }
        }
        return paths
    }

    func chips(_ entries: [BoardFile.Chip]) throws(ConfigError) -> [BoardDescription.Chip] {
        var chips: [BoardDescription.Chip] = []
        for (i, c) in entries.enumerated() {
            let key = "gpiochip[\(i)]"
            guard !c.label.isEmpty, c.lines > 0, c.lines <= 1024 else {
                throw fail(key, "needs a label and 1...1024 lines", line: line("gpiochip", i, "lines"))
            }
            guard !chips.contains(where: { $0.label == c.label }) else {
                throw fail("\(key).label", "duplicate chip '\(c.label)'", line: line("gpiochip", i, "label"))
            }
            if let parent = c.parent {
                guard Self.isHint(parent) else {
                    throw fail("\(key).parent", "'\(parent)' is not a device name like 44e07000.gpio", line: line("gpiochip", i, "parent"))
                }
                guard !chips.contains(where: { $0.parent == parent }) else {
                    throw fail("\(key).parent", "another chip already has parent '\(parent)'", line: line("gpiochip", i, "parent"))
                }
            }
            let devices = try gpioDevices(c.devices ?? [], key: "\(key).devices", line: line("gpiochip", i, "devices"))
            chips.append(.init(label: c.label, lines: c.lines, parent: c.parent, devices: devices))
        }
        return chips
    }

    func headers(_ entries: [BoardFile.Header]) throws(ConfigError) -> [BoardDescription.Header] {
        var headers: [BoardDescription.Header] = []
        for (i, h) in entries.enumerated() {
            guard Self.isName(h.name, extra: "_-", max: 16) else {
                throw fail("header[\(i)].name", "'\(h.name)' is not a header name like J8 or P9", line: line("header", i, "name"))
            }
            guard !headers.contains(where: { $0.name == h.name }) else {
                throw fail("header[\(i)].name", "duplicate header '\(h.name)'", line: line("header", i, "name"))
            }
            guard (1...200).contains(h.pins) else { throw fail("header[\(i)].pins", "must be 1...200", line: line("header", i, "pins")) }
            headers.append(.init(name: h.name, pins: h.pins))
        }
        return headers
    }

    /// Checked in document order, so "already used" points at the later entry.
    func pins(
        _ entries: [String: BoardFile.Pin], chips: [BoardDescription.Chip], headers: [BoardDescription.Header]
    ) throws(ConfigError) -> [BoardDescription.Pin] {
        let pinTable = table["pins"]?.tableValue
        let order = (pinTable?.keys ?? []).filter { entries[$0] != nil } + entries.keys.sorted().filter { pinTable?[$0] == nil }
        var pins: [BoardDescription.Pin] = []
        for name in order {
            guard let p = entries[name] else { continue }
            let key = "pins.\(name)"
            let nameLine = pinTable?.position(of: name)?.line
            func lineOf(_ field: String) -> Int? { pinTable?[name]?.tableValue?.position(of: field)?.line ?? nameLine }
            guard Self.isName(name, extra: "_-.", max: 64) else {
                throw fail(key, "'\(name)' is not a pin name (letters, digits, '_', '-', '.')", line: nameLine)
            }
            guard let chip = chips.first(where: { $0.label == p.chip }) else {
                throw fail(key, "chip '\(p.chip)' is not declared in [[gpiochip]]", line: nameLine)
            }
            guard (0..<chip.lines).contains(p.line) else {
                throw fail(key, "line \(p.line) does not exist on '\(chip.label)' (0...\(chip.lines - 1))", line: nameLine)
            }
            if let other = pins.first(where: { $0.chip == p.chip && $0.line == p.line }) {
                throw fail(key, "line \(p.line) of '\(p.chip)' is already pin \(other.name)", line: nameLine)
            }
            var position: BoardDescription.HeaderPosition?
            switch (p.header, p.pin) {
            case (nil, nil):
                position = nil
            case (nil, .some):
                throw fail("\(key).header", "a header pin needs the header it is on", line: lineOf("pin"))
            case (.some, nil):
                throw fail("\(key).pin", "a header needs the physical pin number", line: lineOf("header"))
            case let (.some(h), .some(number)):
                guard let header = headers.first(where: { $0.name == h }) else {
                    throw fail("\(key).header", "header '\(h)' is not declared in [[header]]", line: lineOf("header"))
                }
                guard (1...header.pins).contains(number) else {
                    throw fail("\(key).pin", "pin \(number) does not exist on header \(h) (1...\(header.pins))", line: lineOf("pin"))
                }
                let here = BoardDescription.HeaderPosition(header: h, pin: number)
                if let other = pins.first(where: { $0.header == here }) {
                    throw fail("\(key).pin", "\(h) pin \(number) is already pin \(other.name)", line: lineOf("pin"))
                }
                position = here
            }
            pins.append(.init(name: name, chip: p.chip, line: p.line, header: position, note: p.note ?? ""))
        }
        return pins
    }

    func buses(_ entries: [BoardFile.Bus], _ kind: BoardDescription.BusKind, pins: Set<String>) throws(ConfigError) -> [BoardDescription.Bus] {
        let array = kind.rawValue
        var buses: [BoardDescription.Bus] = []
        for (i, b) in entries.enumerated() {
            let key = "\(array)[\(i)]"
            try checkBusName(b.name, key: key, array: array, index: i, taken: buses.map(\.name))
            guard Self.isDevice(b.device, for: kind) else {
                throw fail("\(key).device", "'\(b.device)' is not \(Self.deviceExample(kind))", line: line(array, i, "device"))
            }
            let counts: ClosedRange<Int> = switch kind {
            case .i2c: 2...2
            case .spi: 3...4
            case .uart: 2...4
            }
            guard counts.contains(b.pins.count), kind != .uart || b.pins.count != 3 else {
                throw fail("\(key).pins", "\(kind.rawValue) needs \(Self.pinOrder(kind))", line: line(array, i, "pins"))
            }
            for (j, p) in b.pins.enumerated() {
                guard pins.contains(p) else { throw fail("\(key).pins[\(j)]", "pin '\(p)' is not in [pins]", line: line(array, i, "pins")) }
                guard !b.pins[..<j].contains(p) else { throw fail("\(key).pins[\(j)]", "pin '\(p)' is listed twice", line: line(array, i, "pins")) }
            }
            buses.append(.init(kind: kind, name: b.name, device: b.device, pins: b.pins, enable: b.enable ?? ""))
        }
        return buses
    }

    func oneWire(_ entries: [BoardFile.OneWire], pins: Set<String>) throws(ConfigError) -> [BoardDescription.OneWireBus] {
        var buses: [BoardDescription.OneWireBus] = []
        for (i, w) in entries.enumerated() {
            let key = "w1[\(i)]"
            try checkBusName(w.name, key: key, array: "w1", index: i, taken: buses.map(\.name))
            guard pins.contains(w.pin) else { throw fail("\(key).pin", "pin '\(w.pin)' is not in [pins]", line: line("w1", i, "pin")) }
            guard Self.matches(w.master, prefix: "w1_bus_master", digitGroups: 1) else {
                throw fail("\(key).master", "'\(w.master)' is not a 1-wire master like w1_bus_master1", line: line("w1", i, "master"))
            }
            guard !buses.contains(where: { $0.master == w.master }) else {
                throw fail("\(key).master", "'\(w.master)' is already used", line: line("w1", i, "master"))
            }
            buses.append(.init(name: w.name, pin: w.pin, master: w.master, enable: w.enable ?? ""))
        }
        return buses
    }

    func sensors(_ s: BoardFile.Sensors?) throws(ConfigError) -> BoardDescription.Sensors {
        var sensors = BoardDescription.Sensors()
        guard let s else { return sensors }
        let sensorTable = table["sensors"]?.tableValue
        func sfail(_ key: String, _ message: String, index: Int? = nil) -> ConfigError {
            fail("sensors.\(key)" + (index.map { "[\($0)]" } ?? ""), message, line: sensorTable?.position(of: key)?.line)
        }
        sensors.simulated = s.simulated ?? false
        if let root = s.sysfs_root {
            guard !sensors.simulated else { throw sfail("sysfs_root", "not used with simulated = true (the sensors plugin brings its own simulated sensors)") }
            guard root.hasPrefix("/"), !root.split(separator: "/").contains(".."), !root.contains("\0") else {
                throw sfail("sysfs_root", "'\(root)' must be an absolute path without '..'")
            }
            sensors.sysfsRoot = root
        }
        func hints(_ values: [String]?, _ key: String) throws(ConfigError) -> [String] {
            let values = values ?? []
            for (j, v) in values.enumerated() {
                guard Self.isHint(v) else { throw sfail(key, "'\(v)' is not a sysfs name (no '/', spaces or control characters)", index: j) }
                guard !values[..<j].contains(v) else { throw sfail(key, "'\(v)' is listed twice", index: j) }
            }
            return values
        }
        sensors.thermalZones = try hints(s.thermal_zones, "thermal_zones")
        sensors.hwmon = try hints(s.hwmon, "hwmon")
        sensors.iio = try hints(s.iio, "iio")
        return sensors
    }

    private func checkBusName(_ name: String, key: String, array: String, index: Int, taken: [String]) throws(ConfigError) {
        guard Self.isName(name, extra: "-_.", max: 64, lowercase: true) else {
            throw fail("\(key).name", "'\(name)' is not a bus name (a-z, 0-9, '-', '_', '.')", line: line(array, index, "name"))
        }
        guard !taken.contains(name) else { throw fail("\(key).name", "duplicate \(array) bus '\(name)'", line: line(array, index, "name")) }
    }

    // MARK: - Character classes

    static func isName(_ s: String, extra: String, max: Int, lowercase: Bool = false) -> Bool {
        let extra = Set(extra.utf8)
        return !s.isEmpty && s.utf8.count <= max && s.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (!lowercase && c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || extra.contains(c)
        }
    }

    /// A sysfs file or device name: printable ASCII without '/' or spaces.
    static func isHint(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 128 && s != "." && s != ".." && s.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x2F }
    }

    /// `prefix` followed by `digitGroups` runs of digits separated by '.' (e.g. `/dev/spidev0.1` has 2).
    static func matches(_ s: String, prefix: String, digitGroups: Int) -> Bool {
        guard s.hasPrefix(prefix) else { return false }
        let groups = s.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        return groups.count == digitGroups && groups.allSatisfy { g in !g.isEmpty && g.count <= 5 && g.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
    }

    static func isDevice(_ path: String, for kind: BoardDescription.BusKind) -> Bool {
        switch kind {
        case .i2c: return matches(path, prefix: "/dev/i2c-", digitGroups: 1)
        case .spi: return matches(path, prefix: "/dev/spidev", digitGroups: 2)
        case .uart:
            if matches(path, prefix: "/dev/serial", digitGroups: 1) { return true }
            guard path.hasPrefix("/dev/tty") else { return false }
            return isName(String(path.dropFirst("/dev/tty".count)), extra: "", max: 16)
        }
    }

    static func deviceExample(_ kind: BoardDescription.BusKind) -> String {
        switch kind {
        case .i2c: "an I2C device like /dev/i2c-1"
        case .spi: "an SPI device like /dev/spidev0.0"
        case .uart: "a serial device like /dev/ttyAMA0 or /dev/serial0"
        }
    }

    static func pinOrder(_ kind: BoardDescription.BusKind) -> String {
        switch kind {
        case .i2c: "2 pins: SDA, SCL"
        case .spi: "3 or 4 pins: MOSI, MISO, SCLK[, CS]"
        case .uart: "2 or 4 pins: TX, RX[, RTS, CTS]"
        }
    }
}

/// The file's shape; names are the TOML keys.
struct BoardFile: Decodable {
    struct Chip: Decodable {
        var label: String
        var lines: Int
        var parent: String?
        var devices: [String]?
    }
    struct Header: Decodable {
        var name: String
        var pins: Int
    }
    struct Pin: Decodable {
        var chip: String
        var line: Int
        var header: String?
        var pin: Int?
        var note: String?
    }
    struct Bus: Decodable {
        var name: String
        var device: String
        var pins: [String]
        var enable: String?
    }
    struct OneWire: Decodable {
        var name: String
        var pin: String
        var master: String
        var enable: String?
    }
    struct Sensors: Decodable {
        var simulated: Bool?
        var sysfs_root: String?
        var thermal_zones: [String]?
        var hwmon: [String]?
        var iio: [String]?
    }
    var id: String
    var name: String
    var description: String?
    var default_plugins: [String]?
    var devices: [String]?
    var gpiochip: [Chip]?
    var header: [Header]?
    var pins: [String: Pin]?
    var i2c: [Bus]?
    var spi: [Bus]?
    var uart: [Bus]?
    var w1: [OneWire]?
    var sensors: Sensors?
}
