import Synchronization

/// Where the service gets its time: monotonic milliseconds for schedules, Unix milliseconds for reading timestamps.
/// Injected so tests can step time without sleeping.
public protocol SensorClock: Sendable {
    /// Milliseconds on a clock that never jumps (any origin).
    func monotonicMs() -> Int64
    /// Milliseconds since the Unix epoch.
    func unixMs() -> Int64
}

/// The real clocks.
public struct SystemClock: SensorClock {
    private let origin = ContinuousClock.now

    public init() {}

    public func monotonicMs() -> Int64 {
        let elapsed = ContinuousClock.now - origin
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    public func unixMs() -> Int64 { SysfsIO.unixMilliseconds() }
}

/// A clock that moves only when told to (tests, replays).
public final class ManualClock: SensorClock {
    private let state: Mutex<(monotonic: Int64, unix: Int64)>

    public init(monotonicMs: Int64 = 0, unixMs: Int64 = 1_700_000_000_000) {
        state = Mutex((monotonicMs, unixMs))
    }

    /// Moves both clocks forward by `ms`.
    public func advance(by ms: Int64) {
        state.withLock {
            $0.monotonic += ms
            $0.unix += ms
        }
    }

    public func monotonicMs() -> Int64 { state.withLock { $0.monotonic } }
    public func unixMs() -> Int64 { state.withLock { $0.unix } }
}
