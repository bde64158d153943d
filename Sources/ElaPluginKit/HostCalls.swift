internal import ElaPluginProtocol
internal import Synchronization

/// The plugin's own requests to the host (`context.call`): numbered, matched to the host's answers by id.
/// The host numbers its requests separately; the two id spaces never meet.
final class HostCalls: Sendable {
    private struct State {
        var nextID: Int64 = 1
        var pending: [Int64: CheckedContinuation<Result<JSONValue, PluginError>, Never>] = [:]
        var closed = false
    }
    private let state = Mutex(State())
    private let outbound: OutboundQueue

    init(outbound: OutboundQueue) { self.outbound = outbound }

    func call(_ method: String, _ params: JSONObject, timeout: Duration) async -> Result<JSONValue, PluginError> {
        let id: Int64? = state.withLock { s in
            guard !s.closed else { return nil }
            defer { s.nextID += 1 }
            return s.nextID
        }
        guard let id else { return .failure(.failed("\(method): the connection to the host is closed")) }
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { resolve(id, .failure(.failed("\(method): the host did not answer within \(timeout)"))) }
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { (c: CheckedContinuation<Result<JSONValue, PluginError>, Never>) in
            let registered = state.withLock { s -> Bool in
                guard !s.closed else { return false }
                s.pending[id] = c
                return true
            }
            guard registered else { return c.resume(returning: .failure(.failed("\(method): the connection to the host is closed"))) }
            if !outbound.enqueueRequest(PluginMessage.request(id: id, method: method, params: params).encoded()) {
                resolve(id, .failure(.failed("\(method): the connection to the host is closed")))
            }
        }
    }

    /// An answer from the host; false when nobody waits for `id` (late after a timeout, or bogus).
    @discardableResult
    func resolve(_ id: Int64, _ result: Result<JSONValue, PluginError>) -> Bool {
        let c = state.withLock { $0.pending.removeValue(forKey: id) }
        c?.resume(returning: result)
        return c != nil
    }

    /// Fails every waiting call (the session is ending).
    func closeAll() {
        let waiting = state.withLock { s in
            s.closed = true
            defer { s.pending.removeAll() }
            return Array(s.pending.values)
        }
        for c in waiting { c.resume(returning: .failure(.failed("the connection to the host closed"))) }
    }
}
