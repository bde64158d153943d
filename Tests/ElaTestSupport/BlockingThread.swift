#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (a synchronous socket client, say) on a thread of its own and awaits its result, so tests
/// that block never starve Swift's concurrency pool, which has only as many threads as cores.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let job = ThreadJob { continuation.resume(with: Result { try body() }) }
        let box = Unmanaged.passRetained(job).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { arg in
                Unmanaged<ThreadJob>.fromOpaque(arg!).takeRetainedValue().run()
                return nil
            }, box)
        if rc == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<ThreadJob>.fromOpaque(box).release()
            continuation.resume(throwing: ThreadStartError(code: rc))
        }
    }
}

private final class ThreadJob: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

public struct ThreadStartError: Error, CustomStringConvertible {
    public var code: Int32
    public var description: String { "pthread_create failed with \(code)" }
}
