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
    }

    let peers: [PeerAddress]
    let logger: Logger
    let magic: UInt32
    private let state: Mutex<State>

    public init(chain: SPVChain, peers: [PeerAddress], logger: Logger) {
        self.peers = peers
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
        let chain = state.withLock { $0.chain }
        return try DIDRegistry.status(of: did, chain: chain, store: chain.store, minConfirmations: minConfirmations, now: now)
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
            let peer = peers[index % peers.count]
            index += 1
            do {
                try await cancelWhenGracefulShutdown { try await self.session(with: peer) }
                backoff = 1.0
            } catch {
                state.withLock {
                    $0.lastError = "\(peer): \(error)"
                    $0.session = nil
                    $0.outbound = nil
                }
                logger.info("chain peer disconnected", metadata: ["peer": "\(peer)", "reason": "\(error)"])
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
                return first
            }
            logger.info("connected to chain peer", metadata: ["peer": "\(peer)"])
            for m in start { try await outbound.write(ByteBuffer(bytes: m.encoded(magic: magic))) }
            for try await frame in inbound {
                let message = try P2PMessage(frame: frame)
                let result: Result<(send: [P2PMessage], events: [SPVEvent]), SPVPeerError> = state.withLock { s in
                    guard var session = s.session else { return .failure(SPVPeerError("session ended")) }
                    defer { s.session = session }
                    do throws(SPVPeerError) {
                        return .success(try session.handle(message, chain: &s.chain, now: Self.now()))
                    } catch {
                        return .failure(error)
                    }
                }
                let (send, events) = try result.get()
                for e in events { logger.info("spv", metadata: ["event": "\(e)"]) }
                for m in send { try await outbound.write(ByteBuffer(bytes: m.encoded(magic: magic))) }
            }
        }
    }

    static func now() -> UInt32 { UInt32(truncatingIfNeeded: time(nil)) }
}
