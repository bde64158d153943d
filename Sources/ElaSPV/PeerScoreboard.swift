/// Misbehaviour scores per chain peer, Bitcoin Core style: offences add points; at 100 a peer is banned for a while.
/// A value type with the time passed in, so it is tested without clocks or sockets.
public struct PeerScoreboard: Sendable {
    public static let banThreshold = 100
    public static let banSeconds: Double = 600

    var scores: [String: Int] = [:]
    var bannedUntil: [String: Double] = [:]

    public init() {}

    /// Adds `penalty` for `peer`; returns true when this bans it.
    @discardableResult
    public mutating func record(_ peer: String, penalty: Int, now: Double) -> Bool {
        guard penalty > 0 else { return false }
        let score = scores[peer, default: 0] + penalty
        if score >= Self.banThreshold {
            scores[peer] = 0
            bannedUntil[peer] = now + Self.banSeconds
            return true
        }
        scores[peer] = score
        return false
    }

    public func isBanned(_ peer: String, now: Double) -> Bool { (bannedUntil[peer] ?? 0) > now }

    public func score(_ peer: String) -> Int { scores[peer, default: 0] }

    /// When the earliest ban among `peers` ends (for waiting when every peer is banned).
    public func earliestUnban(of peers: [String], now: Double) -> Double? {
        peers.compactMap { bannedUntil[$0] }.filter { $0 > now }.min()
    }
}

/// When to give up on a silent peer, and when to ping an idle one.
public struct PeerTimeouts: Sendable, Equatable {
    public var handshake: Double = 30
    /// No message at all while blocks or transactions are outstanding.
    public var stall: Double = 60
    /// Ping an idle synced peer after this long; drop it if nothing arrives for twice as long.
    public var keepAlive: Double = 120

    public init(handshake: Double = 30, stall: Double = 60, keepAlive: Double = 120) {
        self.handshake = handshake
        self.stall = stall
        self.keepAlive = keepAlive
    }

    public enum Verdict: Sendable, Equatable {
        case fine
        case ping
        case disconnect(String)
    }

    /// `connectedAt` and `lastReceived` are seconds on the same monotonic clock as `now`.
    public func check(phase: SPVSync.Phase, waiting: Bool, connectedAt: Double, lastReceived: Double, lastPing: Double, now: Double) -> Verdict {
        if phase == .handshaking, now - connectedAt > handshake { return .disconnect("no handshake within \(Int(handshake)) s") }
        if waiting, now - lastReceived > stall { return .disconnect("no answer for \(Int(stall)) s while blocks are outstanding") }
        if now - lastReceived > 2 * keepAlive { return .disconnect("silent for \(Int(2 * keepAlive)) s") }
        if now - lastReceived > keepAlive, now - lastPing > keepAlive { return .ping }
        return .fine
    }
}
