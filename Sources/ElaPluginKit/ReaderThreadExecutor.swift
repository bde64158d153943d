#if canImport(Glibc)
import Glibc
#endif
internal import Synchronization

/// Runs the jobs of `.nonBlocking` handlers on the session's reader thread. A request's task is enqueued while the
/// reader handles its frame and runs right after, on the same thread; when the handler does not suspend, its answer
/// is written from there too. A call then costs no thread wake-up in the plugin, which is most of a call's latency
/// on a small board.
///
/// Jobs enqueued from other threads (a handler resuming after an await) wake the reader through a pipe. Once
/// the reader thread is gone (`shutDown`), stray jobs each get a thread of their own, so no task is stranded.
final class ReaderThreadExecutor: TaskExecutor, @unchecked Sendable {  // state is in Mutex/Atomic; the fd never changes
    private struct Queue {
        var jobs: [UnownedJob] = []
        var shutDown = false
    }
    private let queue = Mutex(Queue())
    /// The reader thread's `pthread_self()`, 0 before it starts.
    private let readerThread = Atomic<UInt>(0)
    /// Readable when jobs came from another thread.
    let wakeDescriptor: Int32
    private let wakeWriter: Int32

    init?() {
        var fds: [Int32] = [-1, -1]
        guard Pipe.make(&fds, nonBlocking: true) else { return nil }
        wakeDescriptor = fds[0]
        wakeWriter = fds[1]
    }

    deinit {
        close(wakeDescriptor)
        close(wakeWriter)
    }

    /// Called on the reader thread before it reads.
    func attachCurrentThread() {
        readerThread.store(UInt(pthread_self()), ordering: .releasing)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let queued = queue.withLock { q -> Bool in
            guard !q.shutDown else { return false }
            q.jobs.append(job)
            return true
        }
        guard queued else {
            let executor = asUnownedTaskExecutor()
            // A thread of its own: running it here, inside whoever enqueued it, could re-enter that code.
            while !PosixThread.detach({ job.runSynchronously(on: executor) }) { usleep(1000) }
            return
        }
        if pthread_equal(pthread_self(), pthread_t(readerThread.load(ordering: .acquiring))) == 0 {
            // A full pipe already wakes the reader; the byte is only a doorbell.
            var one: UInt8 = 1
            _ = write(wakeWriter, &one, 1)
        }
    }

    /// Runs every queued job, including those they queue in turn (reader thread only). `drainingDoorbell` when poll
    /// said the pipe is readable: after a frame, the reader's own jobs rang nothing, and an empty pipe's read would
    /// be a wasted system call per call (a byte left there only makes the next poll return at once).
    func runPending(drainingDoorbell: Bool = false) {
        if drainingDoorbell {
            var doorbell = [UInt8](repeating: 0, count: 64)
            while read(wakeDescriptor, &doorbell, doorbell.count) == doorbell.count {}
        }
        while true {
            let batch = queue.withLock { q -> [UnownedJob] in
                defer { q.jobs.removeAll(keepingCapacity: true) }
                return q.jobs
            }
            if batch.isEmpty { return }
            let executor = asUnownedTaskExecutor()
            for job in batch { job.runSynchronously(on: executor) }
        }
    }

    /// The reader thread is leaving: run what is queued; later jobs get threads of their own.
    func shutDown() {
        let left = queue.withLock { q -> [UnownedJob] in
            q.shutDown = true
            defer { q.jobs = [] }
            return q.jobs
        }
        let executor = asUnownedTaskExecutor()
        for job in left { job.runSynchronously(on: executor) }
    }
}
