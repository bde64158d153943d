internal import ElaChain
internal import Logging
public import ElaP2P
internal import ElaWire

/// What the connection task of one peer has to do next.
public enum PeerOutput: Sendable, Equatable {
    /// Write these bytes (one encoded message).
    case message([UInt8])
    /// Flush and close the connection.
    case close(reason: String)
}

struct ConnectedPeer {
    var session: PeerSession
    let address: String
    let outbox: AsyncStream<PeerOutput>.Continuation
}

extension RegtestNode {
    /// Most peers connected at once.
    public static let maxPeers = 64
    /// Messages queued for a peer that does not read; beyond this the peer is dropped.
    public static let maxQueuedMessages = 4096

    public var peerCount: Int { peers.count }

    /// Registers a new connection; nil when the node is full. The stream yields what to write, in order.
    public func connectPeer(address: String) -> (id: Int, outbox: AsyncStream<PeerOutput>)? {
        guard peers.count < Self.maxPeers else {
            logger.warning("refusing peer: too many connections", metadata: ["peer": "\(address)"])
            return nil
        }
        let (stream, continuation) = AsyncStream.makeStream(
            of: PeerOutput.self, bufferingPolicy: .bufferingOldest(Self.maxQueuedMessages))
        let id = nextPeerID
        nextPeerID += 1
        peers[id] = ConnectedPeer(
            session: PeerSession(listeningPort: listeningPort, nonce: .random(in: 0 ... .max)), address: address,
            outbox: continuation)
        logger.info("peer connected", metadata: ["peer": "\(address)", "id": "\(id)"])
        return (id, stream)
    }

    /// Handles one frame from peer `id`.
    public func receive(_ frame: MessageFrame, from id: Int) {
        guard var peer = peers[id] else { return }
        let actions = peer.session.handle(frame, chain: chain, now: clock())
        peers[id] = peer
        perform(actions, for: id)
    }

    /// Forgets peer `id` and tells its connection to close (no-op if already gone).
    public func disconnectPeer(_ id: Int, reason: String) {
        guard let peer = peers.removeValue(forKey: id) else { return }
        logger.info("peer disconnected", metadata: ["peer": "\(peer.address)", "reason": "\(reason)"])
        peer.outbox.yield(.close(reason: reason))
        peer.outbox.finish()
    }

    func announce(_ tip: Hash256) {
        for (id, peer) in peers { perform(peer.session.announcement(of: tip), for: id) }
    }

    func perform(_ actions: [PeerSession.Action], for id: Int) {
        let magic = chain.parameters.p2pMagic
        for action in actions {
            guard let peer = peers[id] else { return }
            switch action {
            case .send(let message):
                if case .dropped = peer.outbox.yield(.message(message.encoded(magic: magic))) {
                    disconnectPeer(id, reason: "peer is not reading (\(Self.maxQueuedMessages) messages queued)")
                }
            case .disconnect(let reason):
                disconnectPeer(id, reason: reason)
            case .accept(let tx):
                do { _ = try submit(transaction: tx) } catch {
                    logger.info("refused a relayed transaction", metadata: ["peer": "\(id)", "reason": "\(error)"])
                    perform([.send(.reject(RejectMessage(command: "tx", code: 0x10, reason: "\(error)", hash: tx.txid)))], for: id)
                }
            }
        }
    }
}
