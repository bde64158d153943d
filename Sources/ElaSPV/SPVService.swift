#if canImport(Glibc)
import Glibc
#endif
public import ElaChain
public import ElaIdentity
internal import ElaP2P
internal import ElaStorage
public import ElaWire
public import Logging
internal import NIOCore
internal import NIOPosix
public import ServiceLifecycle
import Synchronization

/// A chain peer to sync from.
public struct PeerAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        host = String(text[..<colon])
        self.port = port
        if host.isEmpty { return nil }
    }

    public var description: String { "\(host):\(port)" }
}

/// Keeps the agent's header chain in sync with a chain peer and answers DID-verification questions from it.
/// One outbound connection at a time (peers tried in order), reconnecting with exponential backoff.
public final class SPVService: Service, Sendable {
    public struct Status: Sendable {
        public var network: String
        public var height: UInt32
        public var tipHash: Hash256
        public var peer: String?
        public var phase: String
        public var peerHeight: UInt64
        public var lastError: String?
    }

    struct State {
        var chain: SPVChain
        var session: SPVSync?
        var peer: PeerAddress?
        var outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>?
        var lastError: String?
        var scoreboard = PeerScoreboard()
        var connectedAt: Double = 0
        var lastReceived: Double = 0
        var lastPing: Double = 0
        /// What the chain proved about a DID (before the expiry check, the one part that depends on the time),
        /// valid until the chain or its anchors change: every gated call of a remote caller asks, and the answer
        /// replays the DID's requests with their signatures.
        var statuses: [StatusKey: DIDChainStatus] = [:]
        /// Counts handled messages: a status replayed across one is not cached.
        var generation = 0
    }

    struct StatusKey: Hashable {
        var did: String
        var minConfirmations: Int
    }
    /// More distinct DIDs than this and the cache starts over (a bound, not a policy: real devices see a few).
    static let maxCachedStatuses = 1024

    let peers: [PeerAddress]
    let timeouts: PeerTimeouts
    let logger: Logger
    let magic: UInt32
    private let state: Mutex<State>

    public init(chain: SPVChain, peers: [PeerAddress], logger: Logger, timeouts: PeerTimeouts = PeerTimeouts()) {
        self.peers = peers
        self.timeouts = timeouts
        self.logger = logger
        self.magic = chain.parameters.p2pMagic
        self.state = Mutex(State(chain: chain))
    }

    public func status() -> Status {
        state.withLock { s in
            Status(
                network: s.chain.chainName, height: s.chain.tip.height, tipHash: s.chain.tip.hash, peer: s.peer?.description,
                phase: s.session.map { "\($0.phase)" } ?? "disconnected", peerHeight: s.session?.peerHeight ?? 0,
                lastError: s.lastError)
        }
    }

    /// What the chain proves about `did`.
    public func didStatus(_ did: DID, minConfirmations: Int, now: DIDDate) throws -> DIDChainStatus {
        let key = StatusKey(did: did.description, minConfirmations: minConfirmations)
        let (chain, generation, cached) = state.withLock { ($0.chain, $0.generation, $0.statuses[key]) }
        if let cached { return DIDRegistry.checkingExpiry(cached, of: did, now: now) }
        let replayed = try DIDRegistry.replay(of: did, chain: chain, store: chain.store, minConfirmations: minConfirmations)
        state.withLock { s in
            // Not if a message was handled meanwhile: it may have moved the chain or added anchors.
            guard s.generation == generation else { return }
            if s.statuses.count >= Self.maxCachedStatuses { s.statuses.removeAll() }
            s.statuses[key] = replayed
        }
        return DIDRegistry.checkingExpiry(replayed, of: did, now: now)
    }

    /// Every DID with a request anchored in a block this agent has seen, with what the chain proves about it.
    public func knownDIDs(minConfirmations: Int, now: DIDDate) throws -> [(DID, DIDChainStatus)] {
        let chain = state.withLock { $0.chain }
        return try chain.store.anchoredDIDs(chain: chain.chainName).compactMap { text in
            guard let did = try? DID(text) else { return nil }
            return (did, try DIDRegistry.status(of: did, chain: chain, store: chain.store, minConfirmations: minConfirmations, now: now))
        }
    }

    /// Sends a transaction to the connected peer.
    public func broadcast(_ tx: ChainTransaction) async throws {
        guard let writer = state.withLock({ $0.outbound }) else {
            throw SPVPeerError("no chain peer is connected")
        }
        try await writer.write(ByteBuffer(bytes: P2PMessage.tx(tx.serialized).encoded(magic: magic)))
    }

    public func run() async throws {
        var backoff = 1.0
        var index = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            guard !peers.isEmpty else { return }
            let now = Self.monotonic()
            let names = peers.map(\.description)
            let candidates = state.withLock { s in peers.filter { !s.scoreboard.isBanned($0.description, now: now) } }
            guard !candidates.isEmpty else {
                // Every peer is banned: wait for the first ban to end.
                let until = state.withLock { $0.scoreboard.earliestUnban(of: names, now: now) } ?? now + 30
                try? await Task.sleep(for: .seconds(min(max(until - now, 1), 30)))
                continue
            }
            let peer = candidates[index % candidates.count]
            index += 1
            do {
                try await cancelWhenGracefulShutdown { try await self.session(with: peer) }
                backoff = 1.0
            } catch {
                let penalty = (error as? SPVPeerError)?.penalty ?? ((error is P2PError) ? 100 : 0)
                let banned = state.withLock { s in
                    s.lastError = "\(peer): \(error)"
                    s.session = nil
                    s.outbound = nil
                    return s.scoreboard.record(peer.description, penalty: penalty, now: Self.monotonic())
                }
                logger.info("chain peer disconnected", metadata: ["peer": "\(peer)", "reason": "\(error)", "penalty": "\(penalty)"])
                if banned { logger.warning("banned chain peer for misbehaviour", metadata: ["peer": "\(peer)", "seconds": "\(Int(PeerScoreboard.banSeconds))"]) }
            }
            if Task.isShuttingDownGracefully { return }
            try? await Task.sleep(for: .seconds(backoff))
            backoff = min(backoff * 2, 30)
        }
    }

    private func session(with peer: PeerAddress) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: peer.host, port: peer.port) { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(P2PFrameDecoder(magic: self.magic)))
                    return try NIOAsyncChannel<MessageFrame, ByteBuffer>(wrappingChannelSynchronously: ch)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            let nonce = UInt64.random(in: 1...UInt64.max)
            let start: [P2PMessage] = state.withLock { s in
                let session = SPVSync(filter: SPVSync.didRequestFilter(), nonce: nonce)
                let first = session.start(now: Self.now(), height: s.chain.tip.height)
                s.session = session
                s.peer = peer
                s.outbound = outbound
                s.lastError = nil
                let now = Self.monotonic()
                s.connectedAt = now
                s.lastReceived = now
                s.lastPing = now
                return first
            }
            logger.info("connected to chain peer", metadata: ["peer": "\(peer)"])
            for m in start { try await outbound.write(ByteBuffer(bytes: m.encoded(magic: magic))) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.receive(inbound, outbound) }
                group.addTask { try await self.watchdog(outbound) }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    private func receive(
        _ inbound: NIOAsyncChannelInboundStream<MessageFrame>, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws {
        for try await frame in inbound {
            let message = try P2PMessage(frame: frame)
            let result: Result<(send: [P2PMessage], events: [SPVEvent]), SPVPeerError> = state.withLock { s in
                s.lastReceived = Self.monotonic()
                guard var session = s.session else { return .failure(SPVPeerError("session ended", penalty: 0)) }
                defer {
                    s.session = session
                    // Headers, blocks and anchors change only here.
                    s.generation &+= 1
                    if !s.statuses.isEmpty { s.statuses.removeAll() }
                }
                do throws(SPVPeerError) {
                    let handled = try session.handle(message, chain: &s.chain, now: Self.now())
                    // Memory and the store stay bounded: the anchor follows the tip (a rebuild every ~reanchorDepth blocks).
                    do { if try s.chain.reanchorIfDeep() { logger.info("spv: re-anchored", metadata: ["height": "\(s.chain.anchorHeight)"]) } } catch {
                        logger.warning("spv: re-anchoring failed; the chain keeps its old anchor", metadata: ["error": "\(error)"])
                    }
                    return .success(handled)
                } catch {
                    return .failure(error)
                }
            }
            let (send, events) = try result.get()
            for e in events { logger.info("spv", metadata: ["event": "\(e)"]) }
            for m in send { try await outbound.write(ByteBuffer(bytes: m.encoded(magic: magic))) }
        }
        throw SPVPeerError("the peer closed the connection", penalty: 0)
    }

    /// Handshake and stall timeouts, keep-alive pings.
    private func watchdog(_ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        while true {
            try await Task.sleep(for: .seconds(1))
            let verdict = state.withLock { s -> PeerTimeouts.Verdict in
                guard let session = s.session else { return .disconnect("session ended") }
                let now = Self.monotonic()
                let v = timeouts.check(
                    phase: session.phase, waiting: session.isWaiting, connectedAt: s.connectedAt, lastReceived: s.lastReceived,
                    lastPing: s.lastPing, now: now)
                if v == .ping { s.lastPing = now }
                return v
            }
            switch verdict {
            case .fine: break
            case .ping: try await outbound.write(ByteBuffer(bytes: P2PMessage.ping(nonce: .random(in: 0...UInt64.max)).encoded(magic: magic)))
            case .disconnect(let reason): throw SPVPeerError(reason, penalty: 0)
            }
        }
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func now() -> UInt32 { UInt32(truncatingIfNeeded: time(nil)) }
}
