#if canImport(Glibc)
import Glibc
#endif
internal import CGPIOD

/// An open GPIO chip character device (`/dev/gpiochipN`), through libgpiod's v1 API (Debian 12 ships 1.6).
/// Closed when the last reference goes (line requests keep their chip alive).
///
/// Not thread-safe, like libgpiod itself: callers serialize use of a chip and its requests (LibgpiodBackend holds a
/// lock around every call).
public final class GPIODChip: @unchecked Sendable {
    let handle: OpaquePointer
    /// How the caller named the chip, kept for error messages.
    public let spec: String

    private init(handle: OpaquePointer, spec: String) {
        self.handle = handle
        self.spec = spec
    }

    deinit { gpiod_chip_close(handle) }

    /// Opens a chip by device path, e.g. `/dev/gpiochip0`.
    public static func open(path: String) throws(GPIODError) -> GPIODChip {
        try opened(gpiod_chip_open(path), spec: path)
    }

    /// Opens a chip by device name, e.g. `gpiochip0`.
    public static func open(name: String) throws(GPIODError) -> GPIODChip {
        try opened(gpiod_chip_open_by_name(name), spec: name)
    }

    /// Opens the chip whose label is `label` (e.g. `pinctrl-bcm2711`): libgpiod looks at every chip in /dev.
    public static func open(label: String) throws(GPIODError) -> GPIODChip {
        errno = 0
        let handle = gpiod_chip_open_by_label(label)
        // libgpiod leaves errno 0 when it looked at every chip and none matched.
        if handle == nil && errno == 0 { errno = ENOENT }
        return try opened(handle, spec: label)
    }

    private static func opened(_ handle: OpaquePointer?, spec: String) throws(GPIODError) -> GPIODChip {
        guard let handle else { throw GPIODError(operation: "open chip", chip: spec, errno: errno == 0 ? ENOENT : errno) }
        return GPIODChip(handle: handle, spec: spec)
    }

    /// Paths of the GPIO chip devices in `directory` (`gpiochip` + a number), in number order.
    public static func devicePaths(in directory: String = "/dev") -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var found: [(Int, String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix("gpiochip"), let n = Int(name.dropFirst(8)), n >= 0 else { continue }
            found.append((n, directory + "/" + name))
        }
        return found.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The kernel's name of the chip, e.g. `gpiochip0`.
    public var name: String { String(cString: gpiod_chip_name(handle)) }
    /// The driver's label, e.g. `pinctrl-bcm2711`; what board files use.
    public var label: String { String(cString: gpiod_chip_label(handle)) }
    public var lineCount: Int { Int(gpiod_chip_num_lines(handle)) }

    func line(_ offset: Int, for operation: String) throws(GPIODError) -> OpaquePointer {
        guard offset >= 0, offset < lineCount, let line = gpiod_chip_get_line(handle, UInt32(offset)) else {
            throw GPIODError(operation: operation, chip: spec, line: offset, errno: EINVAL)
        }
        return line
    }

    /// What the kernel says about a line now (re-read, not cached).
    public func lineInfo(_ offset: Int) throws(GPIODError) -> GPIODLineInfo {
        let line = try line(offset, for: "line info")
        guard gpiod_line_update(line) == 0 else { throw GPIODError(operation: "line info", chip: spec, line: offset, errno: errno) }
        return GPIODLineInfo(line: line, offset: offset)
    }

    /// Requests a line for this process. A line already requested (here or elsewhere) fails with EBUSY and the
    /// holder's consumer name.
    public func request(
        _ offset: Int, consumer: String, kind: GPIODRequestKind, flags: GPIODRequestFlags = []
    ) throws(GPIODError) -> GPIODLineRequest {
        let line = try line(offset, for: "request line")
        var defaultValue: Int32 = 0
        let type: Int32
        switch kind {
        case .input: type = Int32(GPIOD_LINE_REQUEST_DIRECTION_INPUT)
        case .output(let initial):
            type = Int32(GPIOD_LINE_REQUEST_DIRECTION_OUTPUT)
            defaultValue = initial ? 1 : 0
        case .risingEdge: type = Int32(GPIOD_LINE_REQUEST_EVENT_RISING_EDGE)
        case .fallingEdge: type = Int32(GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE)
        case .bothEdges: type = Int32(GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES)
        }
        let rc = consumer.withCString { name in
            var config = gpiod_line_request_config(consumer: name, request_type: type, flags: flags.cFlags)
            return gpiod_line_request(line, &config, defaultValue)
        }
        guard rc == 0 else {
            let code = errno
            var holder: String?
            if code == EBUSY, gpiod_line_update(line) == 0, let c = gpiod_line_consumer(line) { holder = String(cString: c) }
            throw GPIODError(operation: "request line", chip: spec, line: offset, errno: code, consumer: holder)
        }
        return GPIODLineRequest(chip: self, line: line, offset: offset)
    }

    /// The libgpiod version in use, e.g. `1.6.3`.
    public static var libraryVersion: String { String(cString: gpiod_version_string()) }
}

/// A line as the kernel reports it.
public struct GPIODLineInfo: Sendable, Equatable {
    public enum Direction: Sendable, Equatable {
        case input, output
    }
    public enum Bias: Sendable, Equatable {
        case asIs, disabled, pullUp, pullDown
    }

    public var offset: Int
    /// The line's name from the device tree or driver, if it has one.
    public var name: String?
    /// Who requested the line, if anyone did (possibly another process).
    public var consumer: String?
    public var direction: Direction
    public var bias: Bias
    public var activeLow: Bool
    /// Requested by someone, or reserved by the kernel.
    public var used: Bool

    init(line: OpaquePointer, offset: Int) {
        self.offset = offset
        name = gpiod_line_name(line).map { String(cString: $0) }
        consumer = gpiod_line_consumer(line).map { String(cString: $0) }
        direction = gpiod_line_direction(line) == Int32(GPIOD_LINE_DIRECTION_OUTPUT) ? .output : .input
        switch gpiod_line_bias(line) {
        case Int32(GPIOD_LINE_BIAS_DISABLE): bias = .disabled
        case Int32(GPIOD_LINE_BIAS_PULL_UP): bias = .pullUp
        case Int32(GPIOD_LINE_BIAS_PULL_DOWN): bias = .pullDown
        default: bias = .asIs
        }
        activeLow = gpiod_line_active_state(line) == Int32(GPIOD_LINE_ACTIVE_STATE_LOW)
        used = gpiod_line_is_used(line)
    }
}

/// What a line is requested for.
public enum GPIODRequestKind: Sendable, Equatable {
    case input
    case output(initial: Bool)
    case risingEdge
    case fallingEdge
    case bothEdges
}

/// Request flags libgpiod 1.6 supports (bias needs Linux 5.5 or later).
public struct GPIODRequestFlags: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let activeLow = GPIODRequestFlags(rawValue: 1 << 0)
    public static let openDrain = GPIODRequestFlags(rawValue: 1 << 1)
    public static let openSource = GPIODRequestFlags(rawValue: 1 << 2)
    public static let biasDisable = GPIODRequestFlags(rawValue: 1 << 3)
    public static let biasPullDown = GPIODRequestFlags(rawValue: 1 << 4)
    public static let biasPullUp = GPIODRequestFlags(rawValue: 1 << 5)

    var cFlags: Int32 {
        var f: Int32 = 0
        if contains(.activeLow) { f |= cgpiod_flag_active_low() }
        if contains(.openDrain) { f |= cgpiod_flag_open_drain() }
        if contains(.openSource) { f |= cgpiod_flag_open_source() }
        if contains(.biasDisable) { f |= cgpiod_flag_bias_disable() }
        if contains(.biasPullDown) { f |= cgpiod_flag_bias_pull_down() }
        if contains(.biasPullUp) { f |= cgpiod_flag_bias_pull_up() }
        return f
    }
}
