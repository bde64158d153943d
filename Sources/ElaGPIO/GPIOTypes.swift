/// A line's logical level.
public enum GPIOLevel: Int, Sendable, Hashable, CustomStringConvertible {
    case low = 0
    case high = 1
    public init(_ bool: Bool) { self = bool ? .high : .low }
    public var description: String { String(rawValue) }
}

public enum GPIODirection: String, Sendable, Hashable {
    case input, output
}

/// Bias (pull resistor) for an input; `asIs` leaves what firmware or a previous user set.
public enum GPIOBias: String, Sendable, Hashable, CaseIterable {
    case asIs = "as-is"
    case disabled = "disable"
    case pullUp = "pull-up"
    case pullDown = "pull-down"
}

/// Which edges a watch reports.
public enum GPIOEdge: String, Sendable, Hashable, CaseIterable {
    case rising, falling, both

    func matches(_ kind: GPIOEdgeKind) -> Bool {
        switch self {
        case .both: true
        case .rising: kind == .rising
        case .falling: kind == .falling
        }
    }
}

/// The edge one event saw.
public enum GPIOEdgeKind: String, Sendable, Hashable {
    case rising, falling
    /// The level after the edge.
    public var level: GPIOLevel { self == .rising ? .high : .low }
}

/// How the simulated chip's outside world drives an input line (gpio-sim's `pull`).
public enum GPIOPull: String, Sendable, Hashable, CaseIterable {
    case up, down
    public var level: GPIOLevel { self == .up ? .high : .low }
}

/// What a line is requested for.
public enum GPIORequestMode: Sendable, Hashable {
    case input(bias: GPIOBias)
    case output(initial: GPIOLevel)
    case events(edge: GPIOEdge, bias: GPIOBias)
}

/// A chip as a backend sees it.
public struct GPIOChipInfo: Sendable, Hashable {
    /// The kernel's name (`gpiochip0`) or the simulator's.
    public var name: String
    /// The label board files use (`pinctrl-bcm2711`, `ela-sim-gpio`).
    public var label: String
    public var lineCount: Int
    /// Why the chip could not be opened, when it exists but is unusable (permissions, ...).
    public var problem: String?

    public init(name: String, label: String, lineCount: Int, problem: String? = nil) {
        self.name = name
        self.label = label
        self.lineCount = lineCount
        self.problem = problem
    }
}

/// A line as its chip reports it.
public struct GPIOLineInfo: Sendable, Hashable {
    public var offset: Int
    public var name: String?
    /// Who holds the line (this plugin's consumer name or another program's), if anyone.
    public var consumer: String?
    public var direction: GPIODirection
    public var used: Bool

    public init(offset: Int, name: String? = nil, consumer: String? = nil, direction: GPIODirection, used: Bool) {
        self.offset = offset
        self.name = name
        self.consumer = consumer
        self.direction = direction
        self.used = used
    }
}

/// One edge event on a watched line.
public struct GPIOEdgeEvent: Sendable, Hashable {
    public var edge: GPIOEdgeKind
    /// When it happened, in nanoseconds of the chip's event clock (CLOCK_MONOTONIC on current kernels).
    public var timestampNanoseconds: Int64

    public init(edge: GPIOEdgeKind, timestampNanoseconds: Int64) {
        self.edge = edge
        self.timestampNanoseconds = timestampNanoseconds
    }
}

/// A backend's token for one line request.
public struct GPIOLineHandle: Sendable, Hashable, CustomStringConvertible {
    public let id: Int
    public init(id: Int) { self.id = id }
    public var description: String { "request \(id)" }
}
