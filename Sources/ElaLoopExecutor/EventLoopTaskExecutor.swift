public import NIOCore

/// Runs a task's jobs on one NIO event loop. A job enqueued from the loop itself only joins its queue (no wake-up),
/// so a request read on the loop, its handler and the plugin call it makes (whose socket is on the same loop) all
/// stay on one thread. Whatever runs here must never block for long: everything on the loop waits for it (slow work
/// goes `offLoop`).
public final class EventLoopTaskExecutor: TaskExecutor {
    public let loop: any EventLoop

    public init(_ loop: any EventLoop) { self.loop = loop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}

/// Runs `body` on the shared concurrent pool instead of an event loop: for handlers that may take long (hashing the
/// whole audit chain, network round trips), so the loop keeps serving plugins and others.
public func offLoop<T: Sendable, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
    try await withTaskExecutorPreference(globalConcurrentExecutor, operation: body)
}
