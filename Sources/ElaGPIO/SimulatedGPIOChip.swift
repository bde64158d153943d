#if canImport(Glibc)
import Glibc
#endif
internal import Synchronization

/// An in-memory GPIO chip that behaves like the kernel's gpio-sim: each line has a direction, an output value and an
/// outside "pull" that an input reads; a requested line is busy for every other request until released; pull
/// changes on a line requested for events queue edge events with timestamps.
public final class SimulatedGPIOChip: Sendable {
    /// Which clock stamps events (the kernel's v1 line events use CLOCK_MONOTONIC since Linux 5.7).
    public enum EventClock: String, Sendable {
        case monotonic, realtime
    }

    public let label: String
    public let name: String
    public let lineCount: Int
    public let eventClock: EventClock

    struct Owner {
        var handle: GPIOLineHandle
        var consumer: String
        var mode: GPIORequestMode
        var events: SimulatedEventQueue?
    }

    struct Line {
        var pull = GPIOPull.down
        var direction = GPIODirection.input
        var outputValue = GPIOLevel.low
        var owner: Owner?

        var value: GPIOLevel { direction == .output ? outputValue : pull.level }
    }

    private let lines: Mutex<[Line]>

    public init(label: String, lines: Int, name: String = "gpiochip-sim", eventClock: EventClock = .monotonic) {
        self.label = label
        self.name = name
        self.lineCount = max(0, lines)
        self.eventClock = eventClock
        self.lines = Mutex(Array(repeating: Line(), count: max(0, lines)))
    }

    public var info: GPIOChipInfo { GPIOChipInfo(name: name, label: label, lineCount: lineCount) }

    // MARK: The outside world (tests, `gpio.simulate`)

    /// Drives an input line from outside, like writing gpio-sim's `pull` attribute. An output keeps its value.
    public func setPull(line: Int, _ pull: GPIOPull) throws(GPIOError) {
        try check(line)
        let now = timestamp()
        lines.withLock { all in
            let before = all[line].value
            all[line].pull = pull
            let after = all[line].value
            guard before != after, let owner = all[line].owner, case .events(let edge, _) = owner.mode else { return }
            let kind: GPIOEdgeKind = after == .high ? .rising : .falling
            if edge.matches(kind) { owner.events?.push(GPIOEdgeEvent(edge: kind, timestampNanoseconds: now)) }
        }
    }

    /// What the line reads now: the output value for an output, the pull for an input.
    public func value(line: Int) -> GPIOLevel? {
        guard line >= 0 && line < lineCount else { return nil }
        return lines.withLock { $0[line].value }
    }

    public func lineInfo(_ line: Int) throws(GPIOError) -> GPIOLineInfo {
        try check(line)
        return lines.withLock { all in
            GPIOLineInfo(offset: line, consumer: all[line].owner?.consumer, direction: all[line].direction, used: all[line].owner != nil)
        }
    }

    // MARK: Requests (through SimulatedGPIOBackend)

    func request(line: Int, consumer: String, mode: GPIORequestMode, handle: GPIOLineHandle) throws(GPIOError) -> SimulatedEventQueue? {
        try check(line)
        var queue: SimulatedEventQueue?
        if case .events = mode {
            guard let q = SimulatedEventQueue() else { throw GPIOError(.io, "cannot create an event pipe: \(String(cString: strerror(errno)))") }
            queue = q
        }
        let holder = lines.withLock { all -> String? in
            if let owner = all[line].owner { return owner.consumer }
            switch mode {
            case .input(let bias), .events(_, let bias):
                all[line].direction = .input
                // gpio-sim turns a requested bias into the line's pull.
                if bias == .pullUp { all[line].pull = .up }
                if bias == .pullDown { all[line].pull = .down }
            case .output(let initial):
                all[line].direction = .output
                all[line].outputValue = initial
            }
            all[line].owner = Owner(handle: handle, consumer: consumer, mode: mode, events: queue)
            return nil
        }
        if let holder {
            throw GPIOError(.busy, "line \(line) of chip '\(label)' is busy: held by '\(holder)'")
        }
        return queue
    }

    func read(line: Int, handle: GPIOLineHandle) throws(GPIOError) -> GPIOLevel {
        try check(line)
        let v = lines.withLock { all -> GPIOLevel? in all[line].owner?.handle == handle ? all[line].value : nil }
        guard let v else { throw GPIOError(.notFound, "\(handle) does not hold line \(line) of chip '\(label)'") }
        return v
    }

    func write(line: Int, handle: GPIOLineHandle, _ level: GPIOLevel) throws(GPIOError) {
        try check(line)
        let error = lines.withLock { all -> GPIOError? in
            guard all[line].owner?.handle == handle else {
                return GPIOError(.notFound, "\(handle) does not hold line \(line) of chip '\(label)'")
            }
            guard all[line].direction == .output else {
                return GPIOError(.invalidArgument, "line \(line) of chip '\(label)' is an input; request it as an output to set it")
            }
            all[line].outputValue = level
            return nil
        }
        if let error { throw error }
    }

    func release(line: Int, handle: GPIOLineHandle) {
        guard line >= 0 && line < lineCount else { return }
        lines.withLock { all in
            if all[line].owner?.handle == handle { all[line].owner = nil }
        }
    }

    private func check(_ line: Int) throws(GPIOError) {
        guard line >= 0 && line < lineCount else {
            throw GPIOError(.notFound, "chip '\(label)' has lines 0...\(lineCount - 1); there is no line \(line)")
        }
    }

    private func timestamp() -> Int64 {
        var ts = timespec()
        clock_gettime(eventClock == .monotonic ? CLOCK_MONOTONIC : CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// Pending events of one simulated event request, with a pipe that is readable while any are pending (what the
/// kernel's line-event descriptor does). Bounded like the kernel's queue: the oldest events go first.
final class SimulatedEventQueue: @unchecked Sendable {  // `events` is a Mutex; the descriptors never change
    static let capacity = 256
    let readDescriptor: Int32
    private let writeDescriptor: Int32
    private let events = Mutex<[GPIOEdgeEvent]>([])

    init?() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        readDescriptor = fds[0]
        writeDescriptor = fds[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    func push(_ event: GPIOEdgeEvent) {
        events.withLock { queue in
            if queue.count >= Self.capacity { queue.removeFirst() }
            queue.append(event)
            if queue.count == 1 {
                var byte: UInt8 = 1
                _ = write(writeDescriptor, &byte, 1)
            }
        }
    }

    func take() -> [GPIOEdgeEvent] {
        events.withLock { queue in
            var drain = [UInt8](repeating: 0, count: 64)
            while read(readDescriptor, &drain, drain.count) > 0 {}
            let out = queue
            queue.removeAll()
            return out
        }
    }
}

/// The `sim` backend: one or more simulated chips, found by label (or name).
public final class SimulatedGPIOBackend: GPIOBackend {
    public let simulatedChips: [SimulatedGPIOChip]

    private struct Request {
        var chip: SimulatedGPIOChip
        var line: Int
        var events: SimulatedEventQueue?
    }
    private struct State {
        var nextHandle = 1
        var requests: [GPIOLineHandle: Request] = [:]
    }
    private let state = Mutex(State())

    public init(chips: [SimulatedGPIOChip]) { simulatedChips = chips }

    public var kind: String { "sim" }

    public func chips() -> [GPIOChipInfo] { simulatedChips.map(\.info) }

    /// The chip labelled (or named) `spec`.
    public func chip(_ spec: String) throws(GPIOError) -> SimulatedGPIOChip {
        if let c = simulatedChips.first(where: { $0.label == spec }) ?? simulatedChips.first(where: { $0.name == spec }) { return c }
        let labels = simulatedChips.map { "'\($0.label)'" }.joined(separator: ", ")
        throw GPIOError(.notFound, "no GPIO chip labelled '\(spec)' (simulated chips: \(labels.isEmpty ? "none" : labels))")
    }

    public func lineInfo(chip spec: String, line: Int) throws(GPIOError) -> GPIOLineInfo {
        try chip(spec).lineInfo(line)
    }

    public func request(chip spec: String, line: Int, consumer: String, mode: GPIORequestMode) throws(GPIOError) -> GPIOLineHandle {
        let chip = try chip(spec)
        let handle = state.withLock { s -> GPIOLineHandle in
            defer { s.nextHandle += 1 }
            return GPIOLineHandle(id: s.nextHandle)
        }
        let events = try chip.request(line: line, consumer: consumer, mode: mode, handle: handle)
        state.withLock { $0.requests[handle] = Request(chip: chip, line: line, events: events) }
        return handle
    }

    private func request(_ handle: GPIOLineHandle) throws(GPIOError) -> Request {
        guard let r = state.withLock({ $0.requests[handle] }) else { throw GPIOError(.notFound, "\(handle) is not held") }
        return r
    }

    public func read(_ handle: GPIOLineHandle) throws(GPIOError) -> GPIOLevel {
        let r = try request(handle)
        return try r.chip.read(line: r.line, handle: handle)
    }

    public func write(_ handle: GPIOLineHandle, _ level: GPIOLevel) throws(GPIOError) {
        let r = try request(handle)
        try r.chip.write(line: r.line, handle: handle, level)
    }

    public func eventDescriptor(_ handle: GPIOLineHandle) throws(GPIOError) -> Int32 {
        guard let q = try request(handle).events else { throw GPIOError(.invalidArgument, "\(handle) is not an event request") }
        return q.readDescriptor
    }

    public func readEvents(_ handle: GPIOLineHandle) throws(GPIOError) -> [GPIOEdgeEvent] {
        guard let q = try request(handle).events else { throw GPIOError(.invalidArgument, "\(handle) is not an event request") }
        return q.take()
    }

    public func release(_ handle: GPIOLineHandle) {
        guard let r = state.withLock({ $0.requests.removeValue(forKey: handle) }) else { return }
        r.chip.release(line: r.line, handle: handle)
    }

    public func simulatePull(chip spec: String, line: Int, pull: GPIOPull) throws(GPIOError) {
        try chip(spec).setPull(line: line, pull)
    }
}
