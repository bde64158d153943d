#if canImport(Glibc)
import Glibc
#endif
import ElaGPIO
import Synchronization

/// Items recorded from other threads (watcher threads deliver edges).
final class Recorder<Item: Sendable>: Sendable {
    private let items = Mutex<[Item]>([])
    func add(_ item: Item) { items.withLock { $0.append(item) } }
    var all: [Item] { items.withLock { $0 } }

    /// Waits (without blocking a pool thread) until at least `count` items arrived or `timeout` passed.
    func wait(for count: Int, timeout: Duration = .seconds(5)) async -> [Item] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while all.count < count && clock.now < deadline { try? await Task.sleep(for: .milliseconds(2)) }
        return all
    }
}

func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func realtimeNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// The sim board's chip and pins (Boards/sim.toml).
enum SimBoard {
    static let label = "ela-sim-gpio"
    static let pins: [(String, Int)] = [
        ("LED0", 0), ("LED1", 1), ("BUTTON0", 2), ("BUTTON1", 3), ("RELAY0", 4), ("GPIO5", 5), ("GPIO6", 6), ("GPIO7", 7),
    ]

    static func configuration() throws -> GPIOConfiguration {
        try GPIOConfiguration(
            backend: .sim, chips: [.init(label: label, lines: 16)],
            pins: pins.map { GPIOConfiguration.Pin(name: $0.0, chip: label, line: $0.1) })
    }

    /// A service over a fresh simulated chip, with its edges recorded.
    static func service(clock: SimulatedGPIOChip.EventClock = .monotonic) throws -> (GPIOService, SimulatedGPIOChip, Recorder<GPIOEdgeNotification>) {
        let chip = SimulatedGPIOChip(label: label, lines: 16, eventClock: clock)
        let edges = Recorder<GPIOEdgeNotification>()
        let service = GPIOService(configuration: try configuration(), backend: SimulatedGPIOBackend(chips: [chip]), onEdge: { edges.add($0) })
        return (service, chip, edges)
    }
}

/// The GPIOError `body` throws; nil when it throws none (another error type is turned into one that fails the
/// comparison).
func gpioError(_ body: () throws -> Void) -> GPIOError? {
    do { try body() } catch let error as GPIOError { return error } catch { return GPIOError(.io, "not a GPIOError: \(error)") }
    return nil
}
