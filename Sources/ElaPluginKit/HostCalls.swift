#if canImport(Glibc)
import Glibc
#endif
internal import ElaPluginProtocol
internal import Synchronization

/// The plugin's own requests to the host (`context.call`): numbered, matched to the host's answers by id.
/// The host numbers its requests separately; the two id spaces never meet.
///
/// Timeouts are checked by one sweeper that wakes about every 100 ms while calls wait, not by a timer per call: a
/// per-call timer task is a thread wake-up when it is cancelled, on every call.
final class HostCalls: Sendable {
    typealias Completion = @Sendable (Result<JSONValue, PluginError>) -> Void
    private struct Pending {
        var method: String
        var timeout: Duration
        var deadline: ContinuousClock.Instant
        var completion: Completion
    }
    private struct State {
        var nextID: Int64 = 1
        var pending: [Int64: Pending] = [:]
        var closed = false
        var sweeping = false
    }
    private let state = Mutex(State())
    private let outbound: OutboundQueue

    init(outbound: OutboundQueue) { self.outbound = outbound }

    func call(_ method: String, _ params: JSONObject, timeout: Duration) async -> Result<JSONValue, PluginError> {
        await withCheckedContinuation { (c: CheckedContinuation<Result<JSONValue, PluginError>, Never>) in
            send(method, params, timeout: timeout) { c.resume(returning: $0) }
        }
    }

    /// Sends a request now, from the calling thread, and runs `completion` once with the answer, the timeout or
    /// the connection's end (on whichever thread learns it; it must not block).
    func send(_ method: String, _ params: JSONObject, timeout: Duration, completion: @escaping Completion) {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let (id, startSweeper): (Int64?, Bool) = state.withLock { s in
            guard !s.closed else { return (nil, false) }
            let id = s.nextID
            s.nextID += 1
            s.pending[id] = Pending(method: method, timeout: timeout, deadline: deadline, completion: completion)
            defer { s.sweeping = true }
            return (id, !s.sweeping)
        }
        guard let id else { return completion(.failure(.failed("\(method): the connection to the host is closed"))) }
        if startSweeper { Task { await sweep() } }
        switch outbound.enqueueRequest(PluginMessage.request(id: id, method: method, params: params).encoded()) {
        case .success: break
        case .failure(.tooLarge(let bytes, let limit)):
            resolve(id, .failure(.failed("\(method): a request of \(bytes) bytes is larger than the host takes (\(limit))")))
        case .failure:
            resolve(id, .failure(.failed("\(method): the connection to the host is closed")))
        }
    }

    /// Fails calls past their deadline; ends when none waits (the next call starts it again).
    private func sweep() async {
        while true {
            try? await Task.sleep(for: .milliseconds(100))
            let now = ContinuousClock.now
            let (expired, done) = state.withLock { s -> ([Pending], Bool) in
                let late = s.pending.filter { $0.value.deadline <= now }
                for id in late.keys { s.pending[id] = nil }
                if s.pending.isEmpty { s.sweeping = false }
                return (Array(late.values), !s.sweeping)
            }
            for p in expired { p.completion(.failure(.failed("\(p.method): the host did not answer within \(p.timeout)"))) }
            if done { return }
        }
    }

    /// An answer from the host; false when nobody waits for `id` (late after a timeout, or bogus).
    @discardableResult
    func resolve(_ id: Int64, _ result: Result<JSONValue, PluginError>) -> Bool {
        let p = state.withLock { $0.pending.removeValue(forKey: id) }
        p?.completion(result)
        return p != nil
    }

    /// Fails every waiting call (the session is ending).
    func closeAll() {
        let waiting = state.withLock { s in
            s.closed = true
            defer { s.pending.removeAll() }
            return Array(s.pending.values)
        }
        for p in waiting { p.completion(.failure(.failed("the connection to the host closed"))) }
    }
}
