internal import Synchronization

/// An edge seen on a watched pin, as the plugin reports it (`gpio.edge`).
public struct GPIOEdgeNotification: Sendable, Hashable {
    public var pin: String
    public var edge: GPIOEdgeKind
    public var value: GPIOLevel
    public var timestampNanoseconds: Int64
    public var watch: Int
}

/// What `gpio.info` shows about one board pin.
public struct GPIOPinStatus: Sendable, Hashable {
    public var name: String
    public var chip: String
    public var line: Int
    public var direction: GPIODirection?
    /// `output`, `watch 3`, `consumer 'x'` (another program), or nil when free.
    public var heldBy: String?
    /// The level, when this plugin holds the line.
    public var value: GPIOLevel?
    /// Why the line could not be inspected (chip missing, ...).
    public var problem: String?
}

public struct GPIOInfo: Sendable, Hashable {
    public var backend: String
    public var chips: [GPIOChipInfo]
    public var pins: [GPIOPinStatus]
}

/// The GPIO plugin's logic over a backend: board pin names, and which request holds each line. A line is held by
/// at most one use (an output written by `write`, or a `watch`); it is never silently handed to another, and a
/// line held by another program is reported with that program's consumer name.
///
/// Thread-safe: every method takes one lock. Edge events are delivered to `onEdge` from watcher threads; `onEdge`
/// must not call back into the service.
public final class GPIOService: Sendable {
    public let configuration: GPIOConfiguration
    public let backend: any GPIOBackend
    private let pinsByName: [String: GPIOConfiguration.Pin]
    private let onEdge: @Sendable (GPIOEdgeNotification) -> Void
    private let log: @Sendable (String) -> Void

    private struct LineKey: Hashable {
        var chip: String
        var line: Int
    }
    private enum Use {
        case output(GPIOLevel)
        case watch(id: Int, edge: GPIOEdge)
    }
    private struct Hold {
        var pin: String
        var handle: GPIOLineHandle
        var use: Use
        var watcher: GPIOWatcher?
    }
    private struct State {
        var holds: [LineKey: Hold] = [:]
        var watches: [Int: LineKey] = [:]
        var nextWatch = 1
        var stopped = false
    }
    private let state = Mutex(State())

    public init(
        configuration: GPIOConfiguration, backend: any GPIOBackend,
        onEdge: @escaping @Sendable (GPIOEdgeNotification) -> Void, log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.backend = backend
        self.onEdge = onEdge
        self.log = log
        var byName: [String: GPIOConfiguration.Pin] = [:]
        for p in configuration.pins { byName[p.name] = p }
        pinsByName = byName
    }

    deinit { shutdown() }

    // MARK: Pins

    /// The configured pin called `name`, or an error listing valid names.
    public func pin(_ name: String) throws(GPIOError) -> GPIOConfiguration.Pin {
        if let p = pinsByName[name] { return p }
        let names = configuration.pins.map(\.name).sorted()
        guard !names.isEmpty else { throw GPIOError(.invalidArgument, "unknown pin '\(name)': this board has no GPIO pins configured") }
        let shown = names.prefix(10).joined(separator: ", ")
        let more = names.count > 10 ? " (and \(names.count - 10) more)" : ""
        throw GPIOError(.invalidArgument, "unknown pin '\(name)'; valid pins: \(shown)\(more)")
    }

    private func key(_ p: GPIOConfiguration.Pin) -> LineKey { LineKey(chip: p.chip, line: p.line) }

    private func describe(_ hold: Hold, asked pin: String) -> String {
        let alias = hold.pin == pin ? "" : " (as \(hold.pin))"
        switch hold.use {
        case .output(let v): return "pin \(pin) is held as an output\(alias) (value \(v)); gpio.release it first"
        case .watch(let id, _): return "pin \(pin) is held by watch \(id) (input)\(alias)"
        }
    }

    /// Prefixes backend errors with the pin they concern.
    private func onPin<T>(_ pin: String, _ body: () throws(GPIOError) -> T) throws(GPIOError) -> T {
        do { return try body() } catch { throw GPIOError(error.kind, "pin \(pin): \(error.message)") }
    }

    private func locked<T>(_ body: (inout State) throws(GPIOError) -> T) throws(GPIOError) -> T {
        try state.withLock { s throws(GPIOError) -> T in
            guard !s.stopped else { throw GPIOError(.unsupported, "the GPIO service has stopped") }
            return try body(&s)
        }
    }

    // MARK: Operations

    /// Reads a pin: the held request's value if this plugin holds the line (an output reads back what was written),
    /// else a short input request with `bias`.
    public func read(pin name: String, bias: GPIOBias = .asIs) throws(GPIOError) -> GPIOLevel {
        let p = try pin(name)
        return try locked { s throws(GPIOError) -> GPIOLevel in
            try onPin(name) { () throws(GPIOError) -> GPIOLevel in
                if let hold = s.holds[key(p)] { return try backend.read(hold.handle) }
                let handle = try backend.request(chip: p.chip, line: p.line, consumer: configuration.consumer, mode: .input(bias: bias))
                defer { backend.release(handle) }
                return try backend.read(handle)
            }
        }
    }

    /// Drives a pin; the line stays held as an output (at that value) until `release`.
    public func write(pin name: String, value: GPIOLevel) throws(GPIOError) {
        let p = try pin(name)
        try locked { s throws(GPIOError) in
            let k = key(p)
            if let hold = s.holds[k] {
                guard case .output = hold.use else { throw GPIOError(.busy, describe(hold, asked: name)) }
                try onPin(name) { () throws(GPIOError) in try backend.write(hold.handle, value) }
                s.holds[k]?.use = .output(value)
                return
            }
            let handle = try onPin(name) { () throws(GPIOError) -> GPIOLineHandle in
                try backend.request(chip: p.chip, line: p.line, consumer: configuration.consumer, mode: .output(initial: value))
            }
            s.holds[k] = Hold(pin: name, handle: handle, use: .output(value))
        }
    }

    /// Gives back a line held as an output; false if this plugin did not hold it. Watches end with `unwatch`.
    @discardableResult
    public func release(pin name: String) throws(GPIOError) -> Bool {
        let p = try pin(name)
        return try locked { s throws(GPIOError) -> Bool in
            let k = key(p)
            guard let hold = s.holds[k] else { return false }
            if case .watch(let id, _) = hold.use {
                throw GPIOError(.busy, "pin \(name) is held by watch \(id) (input); end it with gpio.unwatch")
            }
            backend.release(hold.handle)
            s.holds[k] = nil
            return true
        }
    }

    /// Requests a pin for edge events and reports each edge to `onEdge` until `unwatch`; returns the watch id.
    public func watch(pin name: String, edge: GPIOEdge, bias: GPIOBias = .asIs) throws(GPIOError) -> Int {
        let p = try pin(name)
        return try locked { s throws(GPIOError) -> Int in
            let k = key(p)
            if let hold = s.holds[k] { throw GPIOError(.busy, describe(hold, asked: name)) }
            let handle = try onPin(name) { () throws(GPIOError) -> GPIOLineHandle in
                try backend.request(chip: p.chip, line: p.line, consumer: configuration.consumer, mode: .events(edge: edge, bias: bias))
            }
            let id = s.nextWatch
            let onEdge = self.onEdge
            let log = self.log
            let watcher: GPIOWatcher
            do throws(GPIOError) {
                watcher = try GPIOWatcher(
                    backend: backend, handle: handle,
                    deliver: { events in
                        for e in events {
                            onEdge(
                                GPIOEdgeNotification(
                                    pin: name, edge: e.edge, value: e.edge.level, timestampNanoseconds: e.timestampNanoseconds, watch: id))
                        }
                    },
                    failed: { error in log("watch \(id) on pin \(name) stopped: \(error)") })
            } catch {
                backend.release(handle)
                throw GPIOError(error.kind, "pin \(name): \(error.message)")
            }
            s.nextWatch += 1
            s.holds[k] = Hold(pin: name, handle: handle, use: .watch(id: id, edge: edge), watcher: watcher)
            s.watches[id] = k
            return id
        }
    }

    /// Ends watch `id` on `pin` and releases the line. The pin is asked for so that a grant constrained to some pins
    /// covers ending their watches and no other (a watch id alone names any line).
    public func unwatch(_ id: Int, pin name: String) throws(GPIOError) {
        let p = try pin(name)
        try locked { s throws(GPIOError) in
            // Other pins' watch ids are not listed: they are not the caller's business.
            guard let k = s.watches[id], k == key(p), let hold = s.holds[k] else {
                throw GPIOError(.invalidArgument, "pin \(name) has no watch \(id)")
            }
            hold.watcher?.stop()
            backend.release(hold.handle)
            s.holds[k] = nil
            s.watches[id] = nil
        }
    }

    /// Drives a simulated input from outside (sim backend only).
    public func simulate(pin name: String, pull: GPIOPull) throws(GPIOError) {
        let p = try pin(name)
        try locked { _ throws(GPIOError) in
            try onPin(name) { () throws(GPIOError) in try backend.simulatePull(chip: p.chip, line: p.line, pull: pull) }
        }
    }

    /// Chips and pins with who holds what.
    public func info() -> GPIOInfo {
        let holds = state.withLock { $0.holds }
        let pins = configuration.pins.map { p -> GPIOPinStatus in
            var status = GPIOPinStatus(name: p.name, chip: p.chip, line: p.line)
            if let hold = holds[key(p)] {
                switch hold.use {
                case .output:
                    status.direction = .output
                    status.heldBy = "output"
                case .watch(let id, _):
                    status.direction = .input
                    status.heldBy = "watch \(id)"
                }
                status.value = try? backend.read(hold.handle)
                return status
            }
            do throws(GPIOError) {
                let line = try backend.lineInfo(chip: p.chip, line: p.line)
                status.direction = line.direction
                if line.used { status.heldBy = "consumer '\(line.consumer ?? "kernel")'" }
            } catch {
                status.problem = error.message
            }
            return status
        }
        return GPIOInfo(backend: backend.kind, chips: backend.chips(), pins: pins)
    }

    /// Ends every watch and releases every line; later calls fail. Called by the plugin's stop hook.
    public func shutdown() {
        let holds = state.withLock { s -> [Hold] in
            s.stopped = true
            let all = Array(s.holds.values)
            s.holds = [:]
            s.watches = [:]
            return all
        }
        for hold in holds {
            hold.watcher?.stop()
            backend.release(hold.handle)
        }
    }
}

extension GPIOPinStatus {
    init(name: String, chip: String, line: Int) {
        self.name = name
        self.chip = chip
        self.line = line
    }
}
