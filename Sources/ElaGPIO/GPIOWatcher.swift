#if canImport(Glibc)
import Glibc
#endif

/// A thread that waits on one event request's descriptor and hands the events on. Blocking waits live on their
/// own thread so they never occupy the Swift concurrency pool; `stop()` wakes it through a pipe and joins it, so
/// once `stop` returns the request can be released safely.
final class GPIOWatcher: @unchecked Sendable {  // `thread` is written once in init and read only by `stop`
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var thread = pthread_t()
    private var stopped = false

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts watching `handle`; `deliver` runs on the watcher thread for each batch of events, `failed` once if
    /// reading fails (the watcher then ends).
    init(
        backend: any GPIOBackend, handle: GPIOLineHandle, deliver: @escaping @Sendable ([GPIOEdgeEvent]) -> Void,
        failed: @escaping @Sendable (GPIOError) -> Void
    ) throws(GPIOError) {
        let eventFD = try backend.eventDescriptor(handle)
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw GPIOError(.io, "cannot create a pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        let wake = fds[0]
        let body = Body {
            var p = [pollfd(fd: eventFD, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            while true {
                p[0].revents = 0
                p[1].revents = 0
                let rc = poll(&p, 2, -1)
                if rc < 0 && errno == EINTR { continue }
                if rc < 0 || p[1].revents != 0 { return }
                if p[0].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                    return failed(GPIOError(.io, "the event descriptor of \(handle) failed"))
                }
                do throws(GPIOError) {
                    let events = try backend.readEvents(handle)
                    if !events.isEmpty { deliver(events) }
                } catch {
                    return failed(error)
                }
            }
        }
        let box = Unmanaged.passRetained(body).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { arg in
                guard let arg else { return nil }
                Unmanaged<Body>.fromOpaque(arg).takeRetainedValue().run()
                return nil
            }, box)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            close(fds[0])
            close(fds[1])
            throw GPIOError(.io, "cannot start a watcher thread: \(String(cString: strerror(rc)))")
        }
    }

    /// Wakes the thread and waits for it to end. Idempotent.
    func stop() {
        guard !stopped else { return }
        stopped = true
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        pthread_join(thread, nil)
        close(wakeRead)
        close(wakeWrite)
    }

    deinit { stop() }
}
