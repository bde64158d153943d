#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (a synchronous socket client, say) on a thread of its own and awaits its result, so tests
/// that block never starve Swift's concurrency pool, which has only as many threads as cores.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let rc = startDetachedThread { continuation.resume(with: Result { try body() }) }
        if rc != 0 { continuation.resume(throwing: ThreadStartError(code: rc)) }
    }
}

private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Runs `body` on a new detached thread; returns pthread_create's result (0 when it started; else `body` never runs).
func startDetachedThread(_ body: @escaping @Sendable () -> Void) -> Int32 {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { arg in
        Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue().run()
        return nil
    }, box)
    if rc == 0 { pthread_detach(thread) } else { Unmanaged<ThreadBody>.fromOpaque(box).release() }
    return rc
}

public struct ThreadStartError: Error, CustomStringConvertible {
    public var code: Int32
    public var description: String { "pthread_create failed with \(code)" }
}
