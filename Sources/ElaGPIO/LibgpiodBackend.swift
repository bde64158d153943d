#if canImport(Glibc)
import Glibc
#endif
internal import ElaGPIOD
internal import Synchronization

/// The `gpiod` backend: real chips through libgpiod 1.6. Chips are opened on first use and kept open; every
/// libgpiod call happens under one lock (libgpiod is not thread-safe), except polling event descriptors.
public final class LibgpiodBackend: GPIOBackend {
    private struct State {
        var chips: [String: GPIODChip] = [:]
        var requests: [GPIOLineHandle: GPIODLineRequest] = [:]
        var nextHandle = 1
    }
    private let state = Mutex(State())
    /// Where chip devices are listed (`/dev`).
    public let deviceDirectory: String
    /// Where each `gpiochipN` links to its device (`/sys/bus/gpio/devices`).
    public let sysfsDirectory: String
    /// Chip label -> parent device name, for chips found by their device rather than their label.
    public let parents: [String: String]

    /// `parents` maps a chip label (as pins name it) to the device the chip belongs to (`44e07000.gpio`); such
    /// chips are found through sysfs, whatever label the kernel gave them.
    public init(parents: [String: String] = [:], deviceDirectory: String = "/dev", sysfsDirectory: String = "/sys/bus/gpio/devices") {
        self.parents = parents
        self.deviceDirectory = deviceDirectory
        self.sysfsDirectory = sysfsDirectory
    }

    /// The device node of the chip whose sysfs parent device is `parent`, if there is one.
    public func devicePath(parent: String) -> String? {
        for path in GPIODChip.devicePaths(in: deviceDirectory) {
            let name = String(path.split(separator: "/").last ?? "")
            guard let resolved = realpath(sysfsDirectory + "/" + name, nil) else { continue }
            let target = String(cString: resolved)
            free(resolved)
            let parts = target.split(separator: "/")
            if parts.count >= 2, parts[parts.count - 2] == parent { return path }
        }
        return nil
    }

    public var kind: String { "gpiod" }

    /// The libgpiod version linked in.
    public static var libraryVersion: String { GPIODChip.libraryVersion }

    public func chips() -> [GPIOChipInfo] {
        state.withLock { _ in
            GPIODChip.devicePaths(in: deviceDirectory).map { path in
                let name = String(path.split(separator: "/").last ?? "")
                do throws(GPIODError) {
                    let chip = try GPIODChip.open(path: path)
                    return GPIOChipInfo(name: chip.name, label: chip.label, lineCount: chip.lineCount)
                } catch {
                    return GPIOChipInfo(name: name, label: "", lineCount: 0, problem: error.description)
                }
            }
        }
    }

    /// `spec` is a label, a device name (`gpiochip0`) or a path (`/dev/gpiochip0`); a label with a known parent
    /// device is found through sysfs. Call with the lock held.
    private func chip(_ spec: String, in s: inout State) throws(GPIOError) -> GPIODChip {
        if let open = s.chips[spec] { return open }
        let path: String
        if let parent = parents[spec] {
            guard let found = devicePath(parent: parent) else {
                throw GPIOError(.notFound, "no GPIO chip belongs to device '\(parent)' (chip '\(spec)'; looked in \(sysfsDirectory))")
            }
            path = found
        } else if spec.hasPrefix("/") {
            path = spec
        } else if spec.hasPrefix("gpiochip"), Int(spec.dropFirst(8)) != nil {
            path = deviceDirectory + "/" + spec
        } else {
            // By label: look at every chip (one unreadable chip does not hide the others, unlike libgpiod's lookup).
            // A chip that cannot be opened is listed with the reason: in a sandbox that is usually a permission
            // problem, which "there are no GPIO chips" would hide.
            var present: [String] = []
            for candidate in GPIODChip.devicePaths(in: deviceDirectory) {
                let c: GPIODChip
                do throws(GPIODError) { c = try GPIODChip.open(path: candidate) } catch {
                    present.append("\(candidate.split(separator: "/").last ?? "") (cannot open: \(error.errnoText))")
                    continue
                }
                if c.label == spec {
                    s.chips[spec] = c
                    return c
                }
                present.append("\(c.name) '\(c.label)'")
            }
            let list = present.isEmpty ? "there are no GPIO chips in \(deviceDirectory)" : "present: " + present.joined(separator: ", ")
            throw GPIOError(.notFound, "no GPIO chip labelled '\(spec)' (\(list))")
        }
        do throws(GPIODError) {
            let chip = try GPIODChip.open(path: path)
            s.chips[spec] = chip
            return chip
        } catch {
            throw GPIOError(error.isNotFound ? .notFound : .io, "cannot open GPIO chip '\(spec)': \(error)")
        }
    }

    public func lineInfo(chip spec: String, line: Int) throws(GPIOError) -> GPIOLineInfo {
        try state.withLock { s throws(GPIOError) -> GPIOLineInfo in
            let chip = try chip(spec, in: &s)
            do throws(GPIODError) {
                let i = try chip.lineInfo(line)
                return GPIOLineInfo(
                    offset: i.offset, name: i.name, consumer: i.consumer, direction: i.direction == .output ? .output : .input,
                    used: i.used)
            } catch {
                throw Self.mapped(error, chip: chip, line: line)
            }
        }
    }

    public func request(chip spec: String, line: Int, consumer: String, mode: GPIORequestMode) throws(GPIOError) -> GPIOLineHandle {
        try state.withLock { s throws(GPIOError) -> GPIOLineHandle in
            let chip = try chip(spec, in: &s)
            let kind: GPIODRequestKind
            var flags: GPIODRequestFlags = []
            switch mode {
            case .input(let bias):
                kind = .input
                flags = Self.flags(bias)
            case .output(let initial): kind = .output(initial: initial == .high)
            case .events(let edge, let bias):
                kind = edge == .rising ? .risingEdge : edge == .falling ? .fallingEdge : .bothEdges
                flags = Self.flags(bias)
            }
            do throws(GPIODError) {
                let request = try chip.request(line, consumer: consumer, kind: kind, flags: flags)
                let handle = GPIOLineHandle(id: s.nextHandle)
                s.nextHandle += 1
                s.requests[handle] = request
                return handle
            } catch {
                throw Self.mapped(error, chip: chip, line: line)
            }
        }
    }

    private static func flags(_ bias: GPIOBias) -> GPIODRequestFlags {
        switch bias {
        case .asIs: []
        case .disabled: .biasDisable
        case .pullUp: .biasPullUp
        case .pullDown: .biasPullDown
        }
    }

    private static func mapped(_ error: GPIODError, chip: GPIODChip, line: Int) -> GPIOError {
        let whereText = "line \(line) of chip '\(chip.spec)'"
        if error.isBusy {
            return GPIOError(.busy, "\(whereText) is busy: held by '\(error.consumer ?? "unknown")'")
        }
        if error.errno == EINVAL && (line < 0 || line >= chip.lineCount) {
            return GPIOError(.notFound, "chip '\(chip.spec)' has lines 0...\(chip.lineCount - 1); there is no line \(line)")
        }
        return GPIOError(.io, "\(whereText): \(error)")
    }

    private func withRequest<T>(_ handle: GPIOLineHandle, _ body: (GPIODLineRequest) throws(GPIODError) -> T) throws(GPIOError) -> T {
        try state.withLock { s throws(GPIOError) -> T in
            guard let r = s.requests[handle] else { throw GPIOError(.notFound, "\(handle) is not held") }
            do throws(GPIODError) { return try body(r) } catch { throw Self.mapped(error, chip: r.chip, line: r.offset) }
        }
    }

    public func read(_ handle: GPIOLineHandle) throws(GPIOError) -> GPIOLevel {
        GPIOLevel(try withRequest(handle) { r throws(GPIODError) in try r.value() })
    }

    public func write(_ handle: GPIOLineHandle, _ level: GPIOLevel) throws(GPIOError) {
        try withRequest(handle) { r throws(GPIODError) in try r.setValue(level == .high) }
    }

    public func eventDescriptor(_ handle: GPIOLineHandle) throws(GPIOError) -> Int32 {
        let fd = try withRequest(handle) { r throws(GPIODError) in r.eventDescriptor }
        guard fd >= 0 else { throw GPIOError(.invalidArgument, "\(handle) is not an event request") }
        return fd
    }

    public func readEvents(_ handle: GPIOLineHandle) throws(GPIOError) -> [GPIOEdgeEvent] {
        try withRequest(handle) { r throws(GPIODError) in
            try r.readEvents().map { GPIOEdgeEvent(edge: $0.rising ? .rising : .falling, timestampNanoseconds: $0.timestampNanoseconds) }
        }
    }

    public func release(_ handle: GPIOLineHandle) {
        let request = state.withLock { $0.requests.removeValue(forKey: handle) }
        state.withLock { _ in request?.release() }
    }
}
