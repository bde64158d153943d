#if canImport(Glibc)
import Glibc
#endif
internal import ElaPluginProtocol
internal import Synchronization

/// Everything the plugin sends goes through here: a writer thread takes frames in the order they were queued and
/// writes them to the socket, so no task ever blocks on the host. Answers are never dropped; events are bounded
/// (`eventCapacity` waiting at once) and dropped, counted, when the host reads too slowly. Events are held back until
/// the handshake answer is queued, as the protocol wants nothing before it.
final class OutboundQueue: @unchecked Sendable {  // state is in `state` (Mutex); the semaphore is thread-safe by itself
    private struct State {
        /// Frames ready to write, in order.
        var ready: [[UInt8]] = []
        /// Events among `ready` plus those held back before the handshake.
        var queuedEvents = 0
        /// Events emitted before the handshake answer.
        var heldEvents: [[UInt8]] = []
        var eventsOpen = false
        var closed = false
        var dropped = 0
        /// For each frame in `ready`, whether it is an event (to keep `queuedEvents` right when the writer takes them).
        var readyIsEvent: [Bool] = []
        /// Someone (the writer thread or an answering task) is writing to the socket right now.
        var writing = false
    }

    private let fd: Int32
    private let eventCapacity: Int
    /// The largest frame payload the host takes; it drops the stream (and kills the plugin) on a larger one.
    private let maxFrame: Int
    private let state = Mutex(State())
    /// Counts wake-ups for the writer thread.
    private let wakeups: UnsafeMutablePointer<sem_t>

    init(fd: Int32, eventCapacity: Int, maxFrame: Int = PluginFraming.defaultMaxFrame) {
        self.fd = fd
        self.eventCapacity = max(1, eventCapacity)
        self.maxFrame = maxFrame
        wakeups = .allocate(capacity: 1)
        sem_init(wakeups, 0, 0)
    }

    deinit {
        sem_destroy(wakeups)
        wakeups.deallocate()
    }

    var droppedEvents: Int { state.withLock { $0.dropped } }

    /// Sends an answer (response or failure). Ignored once closed. Never dropped: one larger than the host takes goes
    /// out as an error answer saying so (the host would drop the stream and kill the plugin over it).
    func enqueueAnswer(_ message: PluginMessage) {
        var frame = message.encoded()
        if frame.count - 4 > maxFrame {
            guard case .response(let id, _) = message else {
                // An error answer that large is a message the plugin built from something huge: a short one instead.
                if case .failure(let id?, let error) = message {
                    frame = PluginMessage.failure(id: id, PluginProtocolError(error.kind, "(an error message of \(frame.count - 4) bytes)")).encoded()
                    _ = submit(frame, isEvent: false)
                } else {
                    PluginLog.write("an error report of \(frame.count - 4) bytes was not sent: larger than the host takes (\(maxFrame))")
                }
                return
            }
            let error = PluginProtocolError(.frameTooLarge, "the answer is \(frame.count - 4) bytes, more than a frame may hold (\(maxFrame))")
            frame = PluginMessage.failure(id: id, error).encoded()
        }
        _ = submit(frame, isEvent: false)
    }

    /// Queues the handshake answer and lets the events held so far follow it.
    func enqueueHandshakeAnswer(_ message: PluginMessage) {
        let frame = message.encoded()
        state.withLock { s in
            guard !s.closed else { return }
            s.ready.append(frame)
            s.readyIsEvent.append(false)
            s.ready.append(contentsOf: s.heldEvents)
            s.readyIsEvent.append(contentsOf: repeatElement(true, count: s.heldEvents.count))
            s.heldEvents = []
            s.eventsOpen = true
        }
        sem_post(wakeups)
    }

    /// Why a frame was not queued.
    enum Refusal: Error, Equatable {
        case closed
        /// Larger than the host takes (payload bytes, the limit).
        case tooLarge(Int, Int)
        /// The event queue is full (the event is counted as dropped).
        case full
    }

    /// Sends a request to the host. Never dropped, and sent at once: the host answers a plugin's requests from the
    /// moment it sent `ela.hello`, so `onStart` may call it. Refused once closed or when larger than the host takes.
    func enqueueRequest(_ frame: [UInt8]) -> Result<Void, Refusal> {
        guard frame.count - 4 <= maxFrame else { return .failure(.tooLarge(frame.count - 4, maxFrame)) }
        return submit(frame, isEvent: false)
    }

    /// Sends an event frame; refused (and counted as dropped) when the queue is full, or when it leaves the host no
    /// room to relay it.
    @discardableResult
    func enqueueEvent(_ frame: [UInt8]) -> Result<Void, Refusal> {
        let limit = maxFrame - PluginFraming.eventWrapperRoom
        guard frame.count - 4 <= limit else {
            state.withLock { $0.dropped += 1 }
            return .failure(.tooLarge(frame.count - 4, limit))
        }
        return submit(frame, isEvent: true)
    }

    /// Writes `frame` on the caller's thread when nothing is queued or being written, else queues it for the writer
    /// thread. A hand-off to the writer costs a thread wake-up per frame, which is most of a call's latency on a small
    /// board. The inline write never waits on the host: what the socket does not take at once goes to the writer,
    /// ahead of anything queued meanwhile, so order is kept and no handler or emitting thread ever blocks.
    private func submit(_ frame: [UInt8], isEvent: Bool) -> Result<Void, Refusal> {
        enum Path { case inline, queued, refused(Refusal) }
        let path = state.withLock { s -> Path in
            guard !s.closed else { return .refused(.closed) }
            if isEvent {
                guard s.queuedEvents < eventCapacity else {
                    s.dropped += 1
                    return .refused(.full)
                }
                guard s.eventsOpen else {
                    s.queuedEvents += 1
                    s.heldEvents.append(frame)
                    return .queued
                }
            }
            if s.ready.isEmpty && !s.writing {
                s.writing = true
                return .inline
            }
            if isEvent { s.queuedEvents += 1 }
            s.ready.append(frame)
            s.readyIsEvent.append(isEvent)
            return .queued
        }
        switch path {
        case .refused(let why): return .failure(why)
        case .queued: sem_post(wakeups)
        case .inline:
            let written = SocketIO.writeWithoutWaiting(fd, frame)
            let more = state.withLock { s -> Bool in
                s.writing = false
                if written < frame.count {
                    // The rest (all of it on a full socket or a failed write, which the writer then reports) goes first.
                    s.ready.insert(Array(frame[max(0, written)...]), at: 0)
                    s.readyIsEvent.insert(false, at: 0)
                }
                return !s.ready.isEmpty || s.closed
            }
            if more { sem_post(wakeups) }
        }
        return .success(())
    }

    /// Starts the writer thread; `onExit` runs on it after the last frame was written (or writing failed).
    func start(onExit: @escaping @Sendable () -> Void) -> Bool {
        PosixThread.detach { [self] in
            writeUntilClosed()
            onExit()
        }
    }

    /// Stops taking frames; the writer sends what is queued, then exits.
    func close() {
        state.withLock { $0.closed = true }
        sem_post(wakeups)
    }

    private func writeUntilClosed() {
        var broken = false
        while true {
            while sem_wait(wakeups) != 0 && errno == EINTR {}
            let taken = state.withLock { s -> (batch: [[UInt8]], finished: Bool)? in
                // An answering task is writing inline; it wakes us again when it is done.
                if s.writing { return nil }
                let out = s.ready
                s.queuedEvents -= s.readyIsEvent.lazy.filter { $0 }.count
                s.ready.removeAll(keepingCapacity: true)
                s.readyIsEvent.removeAll(keepingCapacity: true)
                s.writing = !out.isEmpty
                return (out, s.closed && out.isEmpty)
            }
            guard let (batch, finished) = taken else { continue }
            for frame in batch where !broken {
                broken = !SocketIO.writeAll(fd, frame)
            }
            let again = state.withLock { s -> Bool in
                if !batch.isEmpty { s.writing = false }
                return !s.ready.isEmpty || (s.closed && !batch.isEmpty)
            }
            if again { sem_post(wakeups) }
            if finished { return }
        }
    }
}
