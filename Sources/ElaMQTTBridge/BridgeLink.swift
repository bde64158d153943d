public import ElaMosquitto

/// Delay before reconnect attempt n (1, 2, ...): `minimum * 2^(n-1)`, capped at `maximum`.
public struct ReconnectBackoff: Sendable, Equatable {
    public var minimumMs: Int
    public var maximumMs: Int

    public init(minimumMs: Int, maximumMs: Int) {
        self.minimumMs = max(1, minimumMs)
        self.maximumMs = max(self.minimumMs, maximumMs)
    }

    public func delayMs(attempt: Int) -> Int {
        guard attempt > 1 else { return minimumMs }
        let shift = min(attempt - 1, 30)
        let (scaled, overflow) = minimumMs.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? maximumMs : min(scaled, maximumMs)
    }
}

/// The connection as the bridge sees it: a value-type state machine fed with the network loop's events and the
/// time (unix ms, passed in so tests need no clock). It says what to do on each change.
public struct BridgeLink: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case connecting, online, offline
    }

    public enum Action: Sendable, Equatable {
        /// Accepted by the broker: subscribe to commands, announce `online`, resume publishing from the outbox.
        case cameOnline
        /// Lost: stop handing messages to the client (in-flight ones stay with libmosquitto, which resends them).
        case wentOffline
    }

    public private(set) var state = State.connecting
    public private(set) var sinceMs: Int64
    public private(set) var connects = 0
    public private(set) var losses = 0
    public private(set) var lastError: String?

    public init(nowMs: Int64) { sinceMs = nowMs }

    public var isOnline: Bool { state == .online }

    public mutating func handle(_ event: MosquittoEvent, nowMs: Int64) -> Action? {
        switch event {
        case .connected(let code, let reason):
            guard code == 0 else {
                lastError = "broker refused the connection: \(reason) (\(code))"
                return move(.offline, nowMs)
            }
            connects += 1
            lastError = nil
            let wasOnline = state == .online
            state = .online
            sinceMs = nowMs
            return wasOnline ? nil : .cameOnline
        case .connectFailed(let error, let attempt):
            lastError = "\(error) (attempt \(attempt))"
            return move(.offline, nowMs)
        case .disconnected(let code):
            if code != 0 { lastError = "connection lost (\(code))" }
            if state == .online { losses += 1 }
            return move(.offline, nowMs)
        case .published, .subscribed, .message:
            return nil
        }
    }

    private mutating func move(_ next: State, _ nowMs: Int64) -> Action? {
        let wasOnline = state == .online
        if state != next { sinceMs = nowMs }
        state = next
        return wasOnline ? .wentOffline : nil
    }
}
