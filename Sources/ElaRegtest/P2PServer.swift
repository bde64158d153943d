internal import ElaChain
internal import ElaP2P
public import Logging
internal import NIOCore
internal import NIOPosix
public import ServiceLifecycle

/// The P2P listener: one task per peer, each running a `PeerSession` through the node. Bound before the
/// service starts, so the port (possibly ephemeral) is known up front.
public final class P2PServer: Service, Sendable {
    typealias PeerChannel = NIOAsyncChannel<MessageFrame, ByteBuffer>
    let listener: NIOAsyncChannel<PeerChannel, Never>
    let node: RegtestNode
    let logger: Logger
    /// The bound port.
    public let port: Int

    /// Binds `host:port` (port 0: an ephemeral port).
    public static func bind(host: String, port: Int, node: RegtestNode, logger: Logger) async throws(RegtestError) -> P2PServer {
        let magic = await node.chainSnapshot.parameters.p2pMagic
        let listener: NIOAsyncChannel<PeerChannel, Never>
        do {
            listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(P2PFrameDecoder(magic: magic)))
                        return try PeerChannel(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw RegtestError(.network, "cannot listen for P2P on \(host):\(port): \(error)")
        }
        guard let bound = listener.channel.localAddress?.port else {
            try? await listener.channel.close()
            throw RegtestError(.network, "P2P listener on \(host):\(port) has no local port")
        }
        await node.setListeningPort(UInt16(clamping: bound))
        logger.info("P2P listening", metadata: ["address": "\(host):\(bound)"])
        return P2PServer(listener: listener, node: node, logger: logger, port: bound)
    }

    init(listener: NIOAsyncChannel<PeerChannel, Never>, node: RegtestNode, logger: Logger, port: Int) {
        self.listener = listener
        self.node = node
        self.logger = logger
        self.port = port
    }

    /// Accepts peers until a graceful shutdown, which closes the listener and every peer connection.
    public func run() async throws {
        let (listener, node, logger) = (self.listener, self.node, self.logger)
        try await cancelWhenGracefulShutdown {
            do {
                try await withThrowingDiscardingTaskGroup { group in
                    try await listener.executeThenClose { peers in
                        for try await peer in peers {
                            group.addTask { await PeerConnection.serve(peer, node: node, logger: logger) }
                        }
                    }
                }
            } catch is CancellationError {
                // shutting down
            }
        }
    }
}

/// Runs one peer connection: a reader feeding frames to the node and a writer draining the peer's outbox.
/// Whichever ends first (peer closed, bad bytes, node said close) ends the other.
enum PeerConnection {
    static func serve(_ peer: P2PServer.PeerChannel, node: RegtestNode, logger: Logger) async {
        let address = peer.channel.remoteAddress?.description ?? "unknown peer"
        guard let (id, outbox) = await node.connectPeer(address: address) else {
            try? await peer.channel.close()
            return
        }
        do {
            try await peer.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        writing: for await item in outbox {
                            switch item {
                            case .message(let bytes): try await outbound.write(ByteBuffer(bytes: bytes))
                            case .close: break writing
                            }
                        }
                    }
                    group.addTask {
                        do {
                            for try await frame in inbound { await node.receive(frame, from: id) }
                            await node.disconnectPeer(id, reason: "peer closed the connection")
                        } catch is CancellationError {
                            // the writer ended first
                        } catch {
                            await node.disconnectPeer(id, reason: "\(error)")
                        }
                    }
                    _ = try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            logger.debug("peer connection ended", metadata: ["peer": "\(address)", "error": "\(error)"])
        }
        await node.disconnectPeer(id, reason: "connection closed")
    }
}
