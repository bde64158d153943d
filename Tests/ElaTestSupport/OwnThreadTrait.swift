#if canImport(Glibc)
import Glibc
#endif
public import Testing
import Synchronization

/// `@Suite(.ownThread)`: each test of the suite runs on a thread of its own instead of Swift's concurrency pool.
///
/// For tests that block (waiting for a child process, `sleep`, blocking sockets). The pool has only as many threads
/// as cores; two blocking tests on a two-core machine would otherwise hold every pool thread, and the in-process
/// suites that need the pool (plugin sessions, control servers) would stall until their timeouts.
public struct OwnThreadTrait: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // The suite itself needs no thread; each of its test cases gets one.
        guard testCase != nil else { return try await function() }
        // A few at a time: dozens of CPU-bound threads at once would slice the cores so thin that the suites left on
        // the pool miss their timeouts all the same.
        await OwnThreadSlots.shared.acquire()
        defer { OwnThreadSlots.shared.release() }
        let executor = ThreadTaskExecutor()
        defer { executor.finish() }
        try await withTaskExecutorPreference(executor) { try await function() }
    }
}

/// Counts the own-thread tests running at once.
final class OwnThreadSlots: Sendable {
    static let shared = OwnThreadSlots(limit: 3)
    private struct State {
        var free: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(limit: Int) { state = Mutex(State(free: limit)) }

    func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.free > 0 {
                    s.free -= 1
                    return true
                }
                s.waiting.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiting.isEmpty {
                s.free += 1
                return nil
            }
            return s.waiting.removeFirst()
        }
        next?.resume()
    }
}

extension Trait where Self == OwnThreadTrait {
    /// Runs each test on a thread of its own (see `OwnThreadTrait`).
    public static var ownThread: Self { OwnThreadTrait() }
}

/// A task executor with one dedicated thread. After `finish`, jobs that still arrive (an unstructured task the test
/// left behind) each get a thread of their own, so nothing is stranded.
public final class ThreadTaskExecutor: TaskExecutor, @unchecked Sendable {  // state is in `queue`; cond/mutex are pthread's
    private struct Queue {
        var jobs: [UnownedJob] = []
        var finished = false
    }
    private let queue = Mutex(Queue())
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
        // The thread keeps the executor alive until it has run the last job.
        let me = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        if pthread_create(&thread, nil, { arg in
            let executor = Unmanaged<ThreadTaskExecutor>.fromOpaque(arg!).takeRetainedValue()
            executor.runLoop()
            return nil
        }, me) == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<ThreadTaskExecutor>.fromOpaque(me).release()
            queue.withLock { $0.finished = true }
        }
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(lock)
        wake.deallocate()
        lock.deallocate()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let queued = queue.withLock { q -> Bool in
            guard !q.finished else { return false }
            q.jobs.append(job)
            return true
        }
        guard queued else {
            let executor = asUnownedTaskExecutor()
            detachThread { job.runSynchronously(on: executor) }
            return
        }
        pthread_mutex_lock(lock)
        pthread_cond_signal(wake)
        pthread_mutex_unlock(lock)
    }

    /// No more jobs after the ones queued; the thread exits once they ran.
    public func finish() {
        queue.withLock { $0.finished = true }
        pthread_mutex_lock(lock)
        pthread_cond_signal(wake)
        pthread_mutex_unlock(lock)
    }

    private func runLoop() {
        let executor = asUnownedTaskExecutor()
        while true {
            pthread_mutex_lock(lock)
            var batch: [UnownedJob] = []
            var finished = false
            while true {
                (batch, finished) = queue.withLock { q in
                    defer { q.jobs.removeAll() }
                    return (q.jobs, q.finished)
                }
                if !batch.isEmpty || finished { break }
                pthread_cond_wait(wake, lock)
            }
            pthread_mutex_unlock(lock)
            for job in batch { job.runSynchronously(on: executor) }
            if finished && batch.isEmpty { return }
        }
    }
}

/// Runs `body` on a thread of its own, or right here if no thread can be had.
private func detachThread(_ body: @escaping @Sendable () -> Void) {
    if startDetachedThread(body) != 0 { body() }
}
