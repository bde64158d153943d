#if canImport(Glibc)
import Glibc
#endif

/// Where GPIO lines come from: real chips through libgpiod, or simulated ones. Line ownership is the kernel's:
/// a line requested once is busy for every further request until released.
public protocol GPIOBackend: Sendable {
    /// `gpiod` or `sim`.
    var kind: String { get }
    /// The chips present.
    func chips() -> [GPIOChipInfo]
    /// A line's current state; `chip` is a label (or a device name or path on real hardware).
    func lineInfo(chip: String, line: Int) throws(GPIOError) -> GPIOLineInfo
    /// Requests a line; fails `busy` (naming the holder) when someone holds it.
    func request(chip: String, line: Int, consumer: String, mode: GPIORequestMode) throws(GPIOError) -> GPIOLineHandle
    func read(_ handle: GPIOLineHandle) throws(GPIOError) -> GPIOLevel
    func write(_ handle: GPIOLineHandle, _ level: GPIOLevel) throws(GPIOError)
    /// A descriptor that becomes readable when events are pending on an `.events` request; poll it, never read it.
    func eventDescriptor(_ handle: GPIOLineHandle) throws(GPIOError) -> Int32
    /// The events pending now, without blocking.
    func readEvents(_ handle: GPIOLineHandle) throws(GPIOError) -> [GPIOEdgeEvent]
    /// Gives the line back; unknown handles are ignored.
    func release(_ handle: GPIOLineHandle)
    /// Drives a simulated input from outside; real hardware throws `unsupported`.
    func simulatePull(chip: String, line: Int, pull: GPIOPull) throws(GPIOError)
}

extension GPIOBackend {
    public func simulatePull(chip: String, line: Int, pull: GPIOPull) throws(GPIOError) {
        throw GPIOError(.unsupported, "pulls can only be simulated on the sim backend; this is \(kind)")
    }

    /// Waits up to `timeoutNanoseconds` for events on an `.events` request and returns them (empty on timeout).
    public func waitForEvents(_ handle: GPIOLineHandle, timeoutNanoseconds: Int64) throws(GPIOError) -> [GPIOEdgeEvent] {
        let fd = try eventDescriptor(handle)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .nanoseconds(max(0, timeoutNanoseconds)))
        while true {
            let left = clock.now.duration(to: deadline)
            let ms = max(0, Int32(clamping: (left.components.seconds * 1000) + (left.components.attoseconds / 1_000_000_000_000_000)))
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let rc = poll(&p, 1, ms)
            if rc < 0 && errno == EINTR { continue }
            if rc < 0 { throw GPIOError(.io, "waiting for events failed: \(String(cString: strerror(errno)))") }
            if rc > 0 && p.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                throw GPIOError(.io, "the event descriptor of \(handle) failed")
            }
            if rc > 0 {
                let events = try readEvents(handle)
                if !events.isEmpty { return events }
            }
            if clock.now >= deadline { return [] }
        }
    }
}
