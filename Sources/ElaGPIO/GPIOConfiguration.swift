public import ElaJSON

/// The GPIO plugin's configuration, from the host's `ela.hello` `config` (built from the board file):
/// `{"backend":"sim"|"gpiod","chips":[{"label":"ela-sim-gpio","lines":16}],"pins":{"LED0":{"chip":"ela-sim-gpio","line":0}}}`.
public struct GPIOConfiguration: Sendable, Equatable {
    public enum Backend: String, Sendable, Equatable, CaseIterable {
        case sim, gpiod
    }

    /// A chip the board has; the `sim` backend creates these.
    public struct Chip: Sendable, Equatable {
        public var label: String
        public var lines: Int
        /// The device the chip belongs to (sysfs name, e.g. `44e07000.gpio`). When set, the gpiod backend finds the
        /// chip by it and treats the label as informative (AM335x labels change with probe order; Boards/README.md).
        public var parent: String?
        public init(label: String, lines: Int, parent: String? = nil) {
            self.label = label
            self.lines = lines
            self.parent = parent
        }
    }

    /// A board pin name and the line behind it.
    public struct Pin: Sendable, Equatable {
        public var name: String
        /// The chip's label (or, on real hardware, its device name or path).
        public var chip: String
        public var line: Int
        public init(name: String, chip: String, line: Int) {
            self.name = name
            self.chip = chip
            self.line = line
        }
    }

    public static let maxLinesPerChip = 4096

    public var backend: Backend
    public var chips: [Chip]
    /// In configuration order.
    public var pins: [Pin]
    /// The consumer name lines are requested under (what `gpioinfo` shows).
    public var consumer: String

    public init(backend: Backend, chips: [Chip] = [], pins: [Pin] = [], consumer: String = "ela-gpio") throws(GPIOError) {
        self.backend = backend
        self.chips = chips
        self.pins = pins
        self.consumer = consumer
        try validate()
    }

    /// Reads the configuration object; every mistake names its key.
    public init(json config: JSONObject) throws(GPIOError) {
        func fail(_ message: String) -> GPIOError { GPIOError(.configuration, "gpio config: \(message)") }

        let backend: Backend
        switch config["backend"] {
        case nil, .null?: backend = .gpiod
        case .string(let s)?:
            guard let b = Backend(rawValue: s) else { throw fail("\"backend\" must be \"sim\" or \"gpiod\", found \"\(s)\"") }
            backend = b
        case let other?: throw fail("\"backend\" must be \"sim\" or \"gpiod\", found \(other.kindName)")
        }

        var chips: [Chip] = []
        if let value = config["chips"], !value.isNull {
            guard let list = value.arrayValue else { throw fail("\"chips\" must be an array of {label, lines}") }
            for (i, item) in list.enumerated() {
                guard let o = item.objectValue, let label = o["label"]?.stringValue else {
                    throw fail("chips[\(i)] needs \"label\" (a string)")
                }
                guard let n = o["lines"]?.numberValue?.int64Value, let lines = Int(exactly: n) else {
                    throw fail("chips[\(i)] (\(label)) needs \"lines\" (an integer)")
                }
                var parent: String?
                switch o["parent"] {
                case nil, .null?: parent = nil
                case .string(let p)?: parent = p
                case let other?: throw fail("chips[\(i)] (\(label)): \"parent\" must be a device name, found \(other.kindName)")
                }
                chips.append(Chip(label: label, lines: lines, parent: parent))
            }
        }

        var pins: [Pin] = []
        if let value = config["pins"], !value.isNull {
            guard let o = value.objectValue else { throw fail("\"pins\" must be an object of NAME: {chip, line}") }
            for (name, spec) in o {
                guard let p = spec.objectValue, let chip = p["chip"]?.stringValue else {
                    throw fail("pins.\(name) needs \"chip\" (a chip label)")
                }
                guard let n = p["line"]?.numberValue?.int64Value, let line = Int(exactly: n) else {
                    throw fail("pins.\(name) needs \"line\" (an integer)")
                }
                pins.append(Pin(name: name, chip: chip, line: line))
            }
        }

        var consumer = "ela-gpio"
        if let value = config["consumer"], !value.isNull {
            guard let s = value.stringValue, !s.isEmpty, s.utf8.count <= 31 else {
                throw fail("\"consumer\" must be a string of 1 to 31 bytes")
            }
            consumer = s
        }
        try self.init(backend: backend, chips: chips, pins: pins, consumer: consumer)
    }

    private func validate() throws(GPIOError) {
        func fail(_ message: String) -> GPIOError { GPIOError(.configuration, "gpio config: \(message)") }
        var labels = Set<String>()
        for c in chips {
            guard !c.label.isEmpty else { throw fail("a chip label is empty") }
            guard labels.insert(c.label).inserted else { throw fail("chip '\(c.label)' is listed twice") }
            guard (1...Self.maxLinesPerChip).contains(c.lines) else {
                throw fail("chip '\(c.label)' has \(c.lines) lines; 1...\(Self.maxLinesPerChip) allowed")
            }
            if let parent = c.parent {
                guard !parent.isEmpty, !parent.contains("/"), parent != ".", parent != ".." else {
                    throw fail("chip '\(c.label)': parent '\(parent)' must be a plain device name like 44e07000.gpio")
                }
            }
        }
        if backend == .sim && chips.isEmpty && !pins.isEmpty { throw fail("the sim backend needs \"chips\" to simulate") }
        var names = Set<String>()
        for p in pins {
            guard !p.name.isEmpty, p.name.utf8.count <= 64 else { throw fail("pin name '\(p.name)' must be 1 to 64 bytes") }
            guard names.insert(p.name).inserted else { throw fail("pin \(p.name) is listed twice") }
            guard !p.chip.isEmpty else { throw fail("pins.\(p.name): \"chip\" is empty") }
            guard p.line >= 0 else { throw fail("pins.\(p.name): line \(p.line) is negative") }
            // Real boards may name chips only in pins; the simulator must know every chip it simulates.
            guard let c = chips.first(where: { $0.label == p.chip }) else {
                if backend == .sim {
                    throw fail("pins.\(p.name): chip '\(p.chip)' is not among the chips (\(chips.map(\.label).joined(separator: ", ")))")
                }
                continue
            }
            guard p.line < c.lines else { throw fail("pins.\(p.name): chip '\(c.label)' has lines 0...\(c.lines - 1), not \(p.line)") }
        }
    }

    /// The backend this configuration asks for.
    public func makeBackend() -> any GPIOBackend {
        switch backend {
        case .sim: SimulatedGPIOBackend(chips: chips.map { SimulatedGPIOChip(label: $0.label, lines: $0.lines, name: "sim-\($0.label)") })
        case .gpiod:
            LibgpiodBackend(parents: Dictionary(chips.compactMap { c in c.parent.map { (c.label, $0) } }, uniquingKeysWith: { a, _ in a }))
        }
    }
}
