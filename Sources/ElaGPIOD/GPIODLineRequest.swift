#if canImport(Glibc)
import Glibc
#endif
internal import CGPIOD

/// A line this process holds. Released by `release()` or when the last reference goes.
/// Not thread-safe (see `GPIODChip`); `eventDescriptor` may be polled from another thread.
public final class GPIODLineRequest: @unchecked Sendable {
    /// Kept so the chip (which owns the line object) stays open while the line is held.
    public let chip: GPIODChip
    public let offset: Int
    private let line: OpaquePointer
    private var released = false

    init(chip: GPIODChip, line: OpaquePointer, offset: Int) {
        self.chip = chip
        self.line = line
        self.offset = offset
    }

    deinit { release() }

    private func failure(_ operation: String) -> GPIODError {
        GPIODError(operation: operation, chip: chip.spec, line: offset, errno: released ? EBADF : errno)
    }

    /// The line's logical value (0 or 1).
    public func value() throws(GPIODError) -> Bool {
        guard !released else { throw failure("read line") }
        let v = gpiod_line_get_value(line)
        guard v >= 0 else { throw failure("read line") }
        return v != 0
    }

    /// Drives an output line.
    public func setValue(_ value: Bool) throws(GPIODError) {
        guard !released, gpiod_line_set_value(line, value ? 1 : 0) == 0 else { throw failure("set line") }
    }

    /// The descriptor that becomes readable when edge events are pending; -1 unless requested for events.
    public var eventDescriptor: Int32 { released ? -1 : gpiod_line_event_get_fd(line) }

    /// Waits up to `timeoutNanoseconds` for an edge event; true when one is pending.
    public func waitForEvent(timeoutNanoseconds: Int64) throws(GPIODError) -> Bool {
        guard !released else { throw failure("wait for events on line") }
        let t = max(0, timeoutNanoseconds)
        var ts = timespec(tv_sec: Int(t / 1_000_000_000), tv_nsec: Int(t % 1_000_000_000))
        let rc = gpiod_line_event_wait(line, &ts)
        guard rc >= 0 else { throw failure("wait for events on line") }
        return rc == 1
    }

    /// The events pending now, without blocking (at most `maximum`); empty when none are.
    public func readEvents(maximum: Int = 16) throws(GPIODError) -> [GPIODEvent] {
        let fd = eventDescriptor
        guard fd >= 0 else { throw GPIODError(operation: "read events of line", chip: chip.spec, line: offset, errno: EINVAL) }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) > 0, p.revents & Int16(POLLIN) != 0 else { return [] }
        var buffer = [gpiod_line_event](repeating: gpiod_line_event(), count: max(1, maximum))
        let n = gpiod_line_event_read_multiple(line, &buffer, UInt32(buffer.count))
        guard n >= 0 else { throw failure("read events of line") }
        return buffer.prefix(Int(n)).map { e in
            GPIODEvent(
                rising: e.event_type == Int32(GPIOD_LINE_EVENT_RISING_EDGE),
                timestampNanoseconds: Int64(e.ts.tv_sec) * 1_000_000_000 + Int64(e.ts.tv_nsec))
        }
    }

    /// Gives the line back to the kernel; later calls fail with EBADF.
    public func release() {
        guard !released else { return }
        released = true
        gpiod_line_release(line)
    }
}

/// One edge seen by the kernel. The timestamp is CLOCK_MONOTONIC on Linux 5.7 and later (CLOCK_REALTIME before).
public struct GPIODEvent: Sendable, Equatable {
    public var rising: Bool
    public var timestampNanoseconds: Int64
}
