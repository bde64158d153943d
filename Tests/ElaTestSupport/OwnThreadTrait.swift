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
///
/// One pthread mutex guards the queue, and `enqueue` touches nothing of the executor after unlocking it: a job queued
/// from another thread (a continuation resumed by a NIO loop) may run, end the test and let the thread exit and free
/// the executor the moment the lock is released. (With the queue under a second lock, an enqueuer could still be
/// signalling while the executor was freed: a heap corruption seen once in a test run.)
public final class ThreadTaskExecutor: TaskExecutor, @unchecked Sendable {  // `jobs` and `finished`: under `lock` only
    private var jobs: [UnownedJob] = []
    private var finished = false
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
            finished = true
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
        let executor = asUnownedTaskExecutor()
        pthread_mutex_lock(lock)
        guard !finished else {
            pthread_mutex_unlock(lock)
            detachThread { job.runSynchronously(on: executor) }
            return
        }
        jobs.append(job)
        pthread_cond_signal(wake)
        // The last touch of `self`: from here the job may run and the executor go away.
        pthread_mutex_unlock(lock)
    }

    /// No more jobs after the ones queued; the thread exits once they ran.
    public func finish() {
        pthread_mutex_lock(lock)
        finished = true
        pthread_cond_signal(wake)
        pthread_mutex_unlock(lock)
    }

    private func runLoop() {
        let executor = asUnownedTaskExecutor()
        while true {
            pthread_mutex_lock(lock)
            while jobs.isEmpty && !finished { pthread_cond_wait(wake, lock) }
            let batch = jobs
            jobs.removeAll()
            let done = batch.isEmpty && finished
            pthread_mutex_unlock(lock)
            if done { return }
            for job in batch { job.runSynchronously(on: executor) }
        }
    }
}

/// Runs `body` on a thread of its own, or right here if no thread can be had.
private func detachThread(_ body: @escaping @Sendable () -> Void) {
    if startDetachedThread(body) != 0 { body() }
}
