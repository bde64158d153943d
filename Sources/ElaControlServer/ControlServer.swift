#if canImport(Glibc)
import Glibc
#endif
internal import ElaControl
public import Logging
public import NIOCore
internal import NIOPosix
public import ServiceLifecycle

/// The control socket: a unix stream socket speaking newline-delimited JSON-RPC (`ElaControl`).
/// One task per connection; a connection may send many requests; oversize frames close it.
///
/// Every connection lives on one event loop, `eventLoop`. With `handlersOnEventLoop` its task runs there too (a
/// task executor over the loop): a request is read, handled and answered without waking another thread, and with
/// plugin connections on the same loop a plugin call stays on it as well. Handlers must then never block for long
/// (slow ones run `offLoop`), since everything on the loop waits for them. Without it (the regtest node, whose
/// handlers mine blocks), handlers run on Swift's pool.
public final class ControlServer: Service {
    let path: String
    let mode: UInt32
    /// gid the socket is handed to after bind (nil: the process's own group).
    let group: UInt32?
    let handler: ControlHandler
    let logger: Logger
    public let eventLoop: any EventLoop
    let handlersOnEventLoop: Bool
    /// Called once the socket accepts connections (the agent prints "ready" then).
    let onReady: @Sendable () -> Void

    public init(
        path: String, mode: UInt32, group: UInt32? = nil, handler: ControlHandler, logger: Logger, eventLoop: (any EventLoop)? = nil,
        handlersOnEventLoop: Bool = false, onReady: @escaping @Sendable () -> Void
    ) {
        self.handlersOnEventLoop = handlersOnEventLoop
        self.path = path
        self.mode = mode
        self.group = group
        self.handler = handler
        self.logger = logger
        self.eventLoop = eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        self.onReady = onReady
    }

    public func run() async throws {
        let server = try await ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 64)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LineFrameDecoder(maxFrameBytes: ControlProtocol.maxFrameBytes)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        if let group, chown(path, uid_t.max, gid_t(group)) != 0 {
            let reason = String(cString: strerror(errno))
            try? await server.channel.close()
            throw ControlServerError(message: "cannot give \(path) to group \(group): \(reason)")
        }
        guard chmod(path, mode_t(mode)) == 0 else {
            let reason = String(cString: strerror(errno))
            try? await server.channel.close()
            throw ControlServerError(message: "cannot set mode \(String(mode, radix: 8)) on \(path): \(reason)")
        }
        logger.info("control socket listening", metadata: ["path": "\(path)"])
        onReady()
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        unlink(path)
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let executor = handlersOnEventLoop ? EventLoopTaskExecutor(connection.channel.eventLoop) : nil
        await withTaskExecutorPreference(executor) {
            await serveOnLoop(connection)
        }
    }

    private func serveOnLoop(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let peer = await Self.peerUID(connection.channel)
        do {
            try await connection.executeThenClose { inbound, outbound in
                do {
                    for try await frame in inbound {
                        let reply = await ControlPeer.$uid.withValue(peer) { await handler.respond(to: Array(frame.readableBytesView)) }
                        try await outbound.write(ByteBuffer(bytes: reply))
                    }
                } catch is FrameTooLargeError {
                    let reply = ControlResponse(
                        id: nil,
                        outcome: .failure(ControlError(code: ControlError.frameTooLarge, message: "request larger than \(ControlProtocol.maxFrameBytes) bytes")))
                    try? await outbound.write(ByteBuffer(bytes: reply.encoded()))
                }
            }
        } catch {
            logger.debug("control connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// The connecting process's uid (SO_PEERCRED): local admin calls are audited under it.
    static func peerUID(_ channel: any Channel) async -> UInt32? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let cred: PeerCredentials? = try? await provider.unsafeGetSocketOption(level: .socket, name: .init(rawValue: soPeerCred)).get()
        return cred?.uid
    }

    /// `struct ucred` and SO_PEERCRED, which Swift's Glibc view hides behind _GNU_SOURCE (same on every Linux arch).
    struct PeerCredentials {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }
    static let soPeerCred: Int32 = 17
}

/// Runs a task's jobs on one NIO event loop. A job enqueued from the loop itself only joins its queue (no
/// wake-up), which is what keeps a control request and its plugin call on one thread.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop
    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}

/// Runs `body` on the shared concurrent pool instead of the control socket's event loop: for handlers that may
/// take long (hashing the whole audit chain, network round trips), so the loop keeps serving plugins and others.
public func offLoop<T: Sendable, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
    try await withTaskExecutorPreference(globalConcurrentExecutor, operation: body)
}

/// Who is on the other end of the control connection serving the current request.
public enum ControlPeer {
    @TaskLocal public static var uid: UInt32?
}

struct ControlServerError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

struct FrameTooLargeError: Error {}

/// Splits the byte stream at '\n'; refuses to buffer more than `maxFrameBytes` without one.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let nl = buffer.readableBytesView.firstIndex(of: 0x0A) {
            let length = nl - buffer.readerIndex
            let frame = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            context.fireChannelRead(Self.wrapInboundOut(frame))
            return .continue
        }
        if buffer.readableBytes > maxFrameBytes { throw FrameTooLargeError() }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
