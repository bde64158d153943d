#if canImport(Glibc)
import Glibc
#endif
internal import ElaControl
@_exported public import ElaLoopExecutor
public import Logging
public import NIOCore
internal import NIOPosix
import Synchronization
public import ServiceLifecycle

/// The control socket: a unix stream socket speaking newline-delimited JSON-RPC (`ElaControl`).
/// A connection may send many requests; they are handled one at a time and answered in order; an oversize frame
/// closes it.
///
/// Every connection lives on one event loop, `eventLoop`. With `handlersOnEventLoop` handlers run there too (a
/// task executor over the loop): a request is read, handled and answered without waking another thread, and with
/// plugin connections on the same loop a plugin call stays on it as well. Handlers must then never block for long
/// (slow ones run `offLoop`), since everything on the loop waits for them. Without it (the regtest node, whose
/// handlers mine blocks), handlers run on Swift's pool.
public final class ControlServer: Service {
    /// Open connections at most (a CLI opens one per command; a DApp bridge or dashboard keeps one).
    public static let maxConnections = 128
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

    /// Throws when a process answers on `path` already: another agent (same runtime dir, another state dir) whose
    /// socket taking the path over would cut off, and removing it at our stop would leave unreachable. A stale socket
    /// file is fine (it is replaced).
    public static func ensureNotServed(_ path: String) throws {
        guard access(path, F_OK) == 0 else { return }
        // Only a refused connection (nobody listens) or a vanished file means stale; anything else, a full backlog
        // (EAGAIN) or a socket we may not use (EACCES) included, may be a live agent's.
        let failure: Int32
        do {
            close(try ControlClient.connect(socketPath: path, timeoutSeconds: 2))
            failure = 0
        } catch {
            // 0: no connect was tried (the socket could not be made, the path is too long): not known to be stale.
            let code = (error as? ControlClientError)?.code ?? 0
            failure = code == 0 ? EIO : code
        }
        guard failure != ECONNREFUSED && failure != ENOENT else { return }
        let why = failure == 0 ? "another process serves it" : "it may be in use (\(String(cString: strerror(failure))))"
        throw ControlServerError(message: "control socket \(path): \(why) (a second agent?): stop it, or give this one another runtime_dir")
    }

    public func run() async throws {
        try Self.ensureNotServed(path)
        let connections = OpenConnections()
        let handler = self.handler
        let executor: (any TaskExecutor)? = handlersOnEventLoop ? EventLoopTaskExecutor(eventLoop) : nil
        let server = try await ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Local clients only, but each costs buffers: past the cap a new one is told why and closed.
                    guard connections.add(channel, limit: Self.maxConnections) else {
                        let reply = ControlResponse(
                            id: nil,
                            outcome: .failure(
                                ControlError(code: ControlError.unavailable, message: "too many control connections (\(Self.maxConnections)); retry later")))
                        channel.writeAndFlush(ByteBuffer(bytes: reply.encoded())).whenComplete { _ in channel.close(promise: nil) }
                        return
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LineFrameDecoder(maxFrameBytes: ControlProtocol.maxFrameBytes)))
                    try channel.pipeline.syncOperations.addHandler(
                        ControlConnectionHandler(handler: handler, executor: executor, connections: connections))
                    channel.closeFuture.whenComplete { _ in connections.remove(channel) }
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        if let group, chown(path, uid_t.max, gid_t(group)) != 0 {
            let reason = String(cString: strerror(errno))
            try? await server.close()
            throw ControlServerError(message: "cannot give \(path) to group \(group): \(reason)")
        }
        guard chmod(path, mode_t(mode)) == 0 else {
            let reason = String(cString: strerror(errno))
            try? await server.close()
            throw ControlServerError(message: "cannot set mode \(String(mode, radix: 8)) on \(path): \(reason)")
        }
        logger.info("control socket listening", metadata: ["path": "\(path)"])
        onReady()
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await server.closeFuture.get()
            } onCancel: {
                server.close(promise: nil)
            }
        } onGracefulShutdown: {
            server.close(promise: nil)
        }
        connections.closeAll()
        // Let handlers still running finish (what they touch is torn down after we return), within a grace period.
        for _ in 0..<500 where connections.handlersRunning > 0 { try? await Task.sleep(for: .milliseconds(10)) }
        unlink(path)
    }

    /// The connecting process's uid (SO_PEERCRED): local admin calls are audited under it.
    static func peerUID(_ channel: any Channel) -> EventLoopFuture<UInt32?> {
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let cred: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(level: .socket, name: .init(rawValue: soPeerCred))
        return cred.map { Optional($0.uid) }.recover { _ in nil }
    }

    /// `struct ucred` and SO_PEERCRED, which Swift's Glibc view hides behind _GNU_SOURCE. The option's number is the
    /// asm-generic 17 on the boards' architectures but 21 on PowerPC: there 17 (SO_SNDLOWAT) would read an int into
    /// `pid` and leave `uid` 0, making every client root. An architecture not listed here does not build.
    struct PeerCredentials {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }
    #if arch(x86_64) || arch(i386) || arch(arm64) || arch(arm) || arch(riscv64) || arch(s390x)
    static let soPeerCred: Int32 = 17
    #elseif arch(powerpc64le) || arch(powerpc64) || arch(powerpc)
    static let soPeerCred: Int32 = 21
    #else
    #error("SO_PEERCRED: look up its number in <asm/socket.h> for this architecture")
    #endif
}

/// One connection: frames in, one request handled at a time (answers keep the requests' order), answers out.
/// A plain channel handler rather than an async channel: per request that saves the async sequence and writer
/// machinery, a good part of a short call's cost. Runs on the connection's loop; each request's handler runs as a
/// task on `executor` (the loop itself when the server keeps handlers there, else the pool).
final class ControlConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: every mutable field is touched on the channel's event loop only.
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Requests read ahead of the one being handled, and their bytes; past either the connection stops reading until
    /// they drain (64 frames of up to 1 MiB each would be 64 MiB per connection).
    static let maxWaiting = 64
    static let maxWaitingBytes = 4 << 20

    let handler: ControlHandler
    let executor: (any TaskExecutor)?
    let connections: OpenConnections
    private var waiting: [[UInt8]] = []
    private var waitingBytes = 0
    private var busy = false
    private var readingPaused = false
    private var peer: UInt32?
    private var peerKnown = false
    private var context: ChannelHandlerContext?
    private let life = ControlConnectionLife()
    /// The last answer, sent after the requests before it were answered; then the connection closes.
    private var closingAnswer: [UInt8]?

    init(handler: ControlHandler, executor: (any TaskExecutor)?, connections: OpenConnections) {
        self.handler = handler
        self.executor = executor
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        ControlServer.peerUID(context.channel).whenComplete { [self] result in
            peer = (try? result.get()) ?? nil
            peerKnown = true
            next()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        waiting = []
        waitingBytes = 0
        life.close()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard closingAnswer == nil else { return }
        let frame = Array(unwrapInboundIn(data).readableBytesView)
        waiting.append(frame)
        waitingBytes += frame.count
        if (waiting.count >= Self.maxWaiting || waitingBytes >= Self.maxWaitingBytes) && !readingPaused {
            readingPaused = true
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        }
        next()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is FrameTooLargeError else {
            context.close(promise: nil)
            return
        }
        // Answer what came before the oversize frame, then say why and close.
        let reply = ControlResponse(
            id: nil,
            outcome: .failure(ControlError(code: ControlError.frameTooLarge, message: "request larger than \(ControlProtocol.maxFrameBytes) bytes")))
        closingAnswer = reply.encoded()
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        next()
    }

    /// Starts the oldest waiting request unless one is being handled.
    private func next() {
        guard !busy, peerKnown, let context else { return }
        guard !waiting.isEmpty else {
            if let last = closingAnswer {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: last)), promise: nil)
                context.close(promise: nil)
            }
            return
        }
        busy = true
        let frame = waiting.removeFirst()
        waitingBytes -= frame.count
        if readingPaused && closingAnswer == nil && waiting.count < Self.maxWaiting / 2 && waitingBytes < Self.maxWaitingBytes / 2 {
            readingPaused = false
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        }
        let (handler, peer, loop, connections, life) = (self.handler, self.peer, context.eventLoop, self.connections, self.life)
        let bound = NIOLoopBound(self, eventLoop: loop)
        connections.handlerStarted()
        Task(executorPreference: executor) {
            let reply = await ControlPeer.$uid.withValue(peer) {
                await ControlPeer.$connection.withValue(life) { await handler.respond(to: frame) }
            }
            // On the loop executor this is the loop already: the answer is written without a hop.
            if loop.inEventLoop {
                bound.value.answer(reply)
            } else {
                loop.execute { bound.value.answer(reply) }
            }
            connections.handlerFinished()
        }
    }

    private func answer(_ reply: [UInt8]) {
        busy = false
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: reply.count)
        buffer.writeBytes(reply)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        next()
    }
}

/// The server's open connections, closed when it stops.
final class OpenConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let running = Atomic<Int>(0)
    var handlersRunning: Int { running.load(ordering: .relaxed) }
    func handlerStarted() { running.add(1, ordering: .relaxed) }
    func handlerFinished() { running.subtract(1, ordering: .relaxed) }
    /// False (not added) when `limit` connections are open already.
    func add(_ channel: any Channel, limit: Int) -> Bool {
        channels.withLock { c in
            guard c.count < limit else { return false }
            c[ObjectIdentifier(channel)] = channel
            return true
        }
    }
    func remove(_ channel: any Channel) { _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }
    func closeAll() { for c in channels.withLock({ Array($0.values) }) { c.close(promise: nil) } }
}

/// Who is on the other end of the control connection serving the current request.
public enum ControlPeer {
    @TaskLocal public static var uid: UInt32?
    @TaskLocal static var connection: ControlConnectionLife?

    /// Runs `body`; if the client hangs up meanwhile (or the server stops and closes it), `onHangUp` runs once, so
    /// a long wait in `body` can end early rather than hold its task, and the server's shutdown, to its timeout.
    /// `onHangUp` may run before `body` starts waiting: the wait it ends must take that into account.
    public static func whileConnected<T, E: Error>(
        onHangUp: @escaping @Sendable () -> Void, _ body: () async throws(E) -> T
    ) async throws(E) -> T {
        guard let connection else { return try await body() }
        let token = connection.onClose(onHangUp)
        defer { if let token { connection.forget(token) } }
        return try await body()
    }
}

/// Whether a control connection is still open, for handlers that wait long (``ControlPeer/whileConnected``).
final class ControlConnectionLife: Sendable {
    private struct State {
        var closed = false
        var nextToken = 0
        var actions: [Int: @Sendable () -> Void] = [:]
    }
    private let state = Mutex(State())

    /// Runs `action` when the connection closes; at once (returning nil) if it has.
    func onClose(_ action: @escaping @Sendable () -> Void) -> Int? {
        let token = state.withLock { s -> Int? in
            guard !s.closed else { return nil }
            s.nextToken += 1
            s.actions[s.nextToken] = action
            return s.nextToken
        }
        if token == nil { action() }
        return token
    }

    func forget(_ token: Int) { _ = state.withLock { $0.actions.removeValue(forKey: token) } }

    func close() {
        let actions = state.withLock { s -> [@Sendable () -> Void] in
            s.closed = true
            defer { s.actions = [:] }
            return Array(s.actions.values)
        }
        for action in actions { action() }
    }
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
    /// How many readable bytes were already searched for '\n': a frame fed a byte at a time is then scanned once,
    /// not once per byte (quadratic up to the 1 MiB limit, on the loop every call shares).
    private var scanned = 0

    init(maxFrameBytes: Int) { self.maxFrameBytes = maxFrameBytes }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let from = view.index(view.startIndex, offsetBy: min(scanned, view.count))
        if let nl = view[from...].firstIndex(of: 0x0A) {
            scanned = 0
            let length = nl - buffer.readerIndex
            let frame = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            context.fireChannelRead(Self.wrapInboundOut(frame))
            return .continue
        }
        scanned = view.count
        if buffer.readableBytes > maxFrameBytes { throw FrameTooLargeError() }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
