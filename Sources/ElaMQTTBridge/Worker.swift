#if canImport(Glibc)
import Glibc
#endif

/// A joinable POSIX thread for the outbox's blocking SQLite work (kept off the Swift concurrency pool, which has
/// only as many threads as cores), woken through a counting semaphore.
final class Worker: @unchecked Sendable {  // `thread` is written once before any other thread can see it
    private let wake: UnsafeMutablePointer<sem_t>
    private var thread = pthread_t()
    private var started = false

    init() {
        wake = .allocate(capacity: 1)
        sem_init(wake, 0, 0)
    }

    deinit {
        sem_destroy(wake)
        wake.deallocate()
    }

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        let rc = pthread_create(&thread, nil, { arg in
            guard let arg else { return nil }
            Unmanaged<Body>.fromOpaque(arg).takeRetainedValue().run()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            return false
        }
        started = true
        return true
    }

    func signal() { sem_post(wake) }

    /// Waits for a signal or `timeoutMs`; true when signalled.
    func wait(timeoutMs: Int) -> Bool {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ns = Int(ts.tv_nsec) + (timeoutMs % 1000) * 1_000_000
        ts.tv_sec += timeoutMs / 1000 + ns / 1_000_000_000
        ts.tv_nsec = ns % 1_000_000_000
        while true {
            if sem_timedwait(wake, &ts) == 0 { return true }
            if errno != EINTR { return false }
        }
    }

    /// Takes every pending signal without waiting (one pass handles them all).
    func drain() { while sem_trywait(wake) == 0 {} }

    func join() {
        guard started else { return }
        started = false
        pthread_join(thread, nil)
    }
}

func wallClockMs() -> Int64 { clockMs(CLOCK_REALTIME) }

/// For intervals (unaffected by clock steps).
func monotonicMs() -> Int64 { clockMs(CLOCK_MONOTONIC) }

private func clockMs(_ clock: clockid_t) -> Int64 {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
