public import ElaJSON
public import ElaPluginProtocol
public import NIOCore
import NIOPosix
import Synchronization

/// Why a call to a plugin did not return a result.
public enum PluginCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The plugin is not running (state given).
    case notRunning(plugin: String, state: String)
    case timeout(plugin: String, method: String, seconds: Double)
    case disconnected(plugin: String)
    /// Too many calls already waiting on this plugin.
    case busy(plugin: String)
    /// The plugin answered with a JSON-RPC error.
    case remote(PluginProtocolError)
    /// The request would be a frame larger than the plugin accepts (it would drop the stream and exit).
    case tooLarge(plugin: String, bytes: Int, max: Int)

    public var description: String {
        switch self {
        case .notRunning(let p, let s): "plugin \(p) is not running (\(s))"
        case .timeout(let p, let m, let s): "plugin \(p) did not answer \(m) within \(s) s"
        case .disconnected(let p): "plugin \(p) disconnected"
        case .busy(let p): "plugin \(p) has too many calls in flight"
        case .remote(let e): e.description
        case .tooLarge(let p, let n, let m): "a request of \(n) bytes is larger than plugin \(p) accepts (\(m))"
        }
    }
}

/// Something a plugin did wrong on the wire. The supervisor counts these and kills a plugin that keeps at it.
public enum PluginViolation: Sendable, Equatable {
    case malformedFrame(String)
    case oversizeFrame(String)
    case unexpectedResponse(Int64?)
}

/// What the connection reports upwards (from event-loop threads; must not block).
public struct PluginConnectionCallbacks: Sendable {
    /// An event: its name, params and the size of its frame in bytes.
    public var notification: @Sendable (String, JSONObject, Int) -> Void
    public var violation: @Sendable (PluginViolation) -> Void
    public var request: @Sendable (Int64, String, JSONObject) -> Void
    public var closed: @Sendable () -> Void

    public init(
        notification: @escaping @Sendable (String, JSONObject, Int) -> Void, violation: @escaping @Sendable (PluginViolation) -> Void,
        request: @escaping @Sendable (Int64, String, JSONObject) -> Void, closed: @escaping @Sendable () -> Void
    ) {
        self.notification = notification
        self.violation = violation
        self.request = request
        self.closed = closed
    }
}

/// The host's side of one plugin socket: numbered requests matched to answers, notifications passed up.
/// Writes go through NIO from any thread; answers resume the waiting caller.
public final class PluginConnection: Sendable {
    public let plugin: String
    let channel: any Channel
    public let maxInFlight: Int
    private struct Pending {
        var completion: @Sendable (Result<JSONValue, PluginCallError>) -> Void
        /// Cancelled when the answer comes, so timers of answered calls do not pile up in the loop's timer heap.
        var timeout: Scheduled<Void>?
    }
    private struct State {
        var nextID: Int64 = 1
        var pending: [Int64: Pending] = [:]
        var closed = false
        /// The host closed it (a stop), as opposed to the plugin closing its end.
        var closedByHost = false
        /// Ids of calls that timed out, most recent last: a slow plugin's late answer to one is not a violation.
        var timedOut: [Int64] = []
        var answers = 0
    }
    /// How many timed-out ids are remembered.
    static let rememberedTimeouts = 256
    let maxFrame: Int
    private let state = Mutex(State())

    private init(plugin: String, channel: any Channel, maxInFlight: Int, maxFrame: Int) {
        self.plugin = plugin
        self.channel = channel
        self.maxInFlight = maxInFlight
        self.maxFrame = maxFrame
    }

    /// Wraps the host's end of a socketpair (takes ownership of the descriptor).
    /// `eventLoop` should be the loop that serves the callers (the control socket's): then a call is written and its
    /// answer delivered on the caller's own thread, with no wake-up of another.
    public static func open(
        socket: Int32, plugin: String, maxFrame: Int = PluginFraming.defaultMaxFrame, maxInFlight: Int = 256,
        eventLoop: (any EventLoop)? = nil, callbacks: PluginConnectionCallbacks
    ) async throws -> PluginConnection {
        let box = ConnectionBox()
        let group: any EventLoopGroup = eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PluginFrameHandler(maxFrame: maxFrame, box: box, callbacks: callbacks))
                }
            }
            .withConnectedSocket(socket).get()
        let connection = PluginConnection(plugin: plugin, channel: channel, maxInFlight: maxInFlight, maxFrame: maxFrame)
        box.connection.withLock { $0 = connection }
        return connection
    }

    /// Sends a request and waits for its answer (or the timeout, or the plugin going away).
    public func call(_ method: String, _ params: JSONObject, timeoutSeconds: Double) async -> Result<JSONValue, PluginCallError> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<JSONValue, PluginCallError>, Never>) in
            send(method, params, timeoutSeconds: timeoutSeconds) { continuation.resume(returning: $0) }
        }
    }

    /// Sends a request without waiting: `completion` runs once with the answer, the timeout or the plugin going
    /// away, on the connection's loop (or at once on the calling thread when the request cannot go out). It must not
    /// block.
    public func send(
        _ method: String, _ params: JSONObject, timeoutSeconds: Double,
        completion: @escaping @Sendable (Result<JSONValue, PluginCallError>) -> Void
    ) {
        let outcome: Result<Int64, PluginCallError> = state.withLock { s in
            if s.closed { return .failure(.disconnected(plugin: plugin)) }
            if s.pending.count >= maxInFlight { return .failure(.busy(plugin: plugin)) }
            let id = s.nextID
            s.nextID += 1
            s.pending[id] = Pending(completion: completion)
            return .success(id)
        }
        switch outcome {
        case .failure(let e): completion(.failure(e))
        case .success(let id):
            // On the channel's own loop (the usual case: the control socket shares it) this writes at once;
            // from elsewhere NIO hops to the loop.
            let frame = PluginMessage.request(id: id, method: method, params: params).encoded()
            guard frame.count - 4 <= maxFrame else {
                // The plugin would drop a stream with an oversize length and exit: refuse it here instead.
                let pending = state.withLock { $0.pending.removeValue(forKey: id) }
                pending?.completion(.failure(.tooLarge(plugin: plugin, bytes: frame.count - 4, max: maxFrame)))
                return
            }
            channel.writeAndFlush(ByteBuffer(bytes: frame), promise: nil)
            let plugin = self.plugin
            let timeout = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(max(0, timeoutSeconds) * 1e9))) { [weak self] in
                guard let self, self.finish(id, .failure(.timeout(plugin: plugin, method: method, seconds: timeoutSeconds))) else { return }
                self.state.withLock { s in
                    s.timedOut.append(id)
                    if s.timedOut.count > Self.rememberedTimeouts { s.timedOut.removeFirst(s.timedOut.count - Self.rememberedTimeouts) }
                }
            }
            // An answer that already came took the entry; its timer then finds nothing and does nothing.
            let answered = state.withLock { s -> Bool in
                guard s.pending[id] != nil else { return true }
                s.pending[id]?.timeout = timeout
                return false
            }
            if answered { timeout.cancel() }
        }
    }

    /// Sends a notification or an answer to a plugin's own request; false (nothing sent) if the frame would be larger
    /// than the plugin accepts, as a plugin drops a stream with an oversize length and exits.
    @discardableResult
    public func send(_ message: PluginMessage) -> Bool {
        let frame = message.encoded()
        guard frame.count - 4 <= maxFrame else { return false }
        channel.writeAndFlush(ByteBuffer(bytes: frame), promise: nil)
        return true
    }

    /// Whether `id` was a call that timed out (its late answer is then dropped quietly); forgets it.
    func forgetTimedOut(_ id: Int64) -> Bool {
        state.withLock { s in
            guard let at = s.timedOut.firstIndex(of: id) else { return false }
            s.timedOut.remove(at: at)
            return true
        }
    }

    public var inFlight: Int { state.withLock { $0.pending.count } }

    /// Calls the plugin has answered (results and errors, not timeouts) since the connection opened.
    public var answersReceived: Int { state.withLock { $0.answers } }

    /// Whether the plugin's end went away (no more writes will arrive).
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Whether the host closed the socket (`close()`), rather than the plugin.
    public var wasClosedByHost: Bool { state.withLock { $0.closedByHost } }

    public func close() {
        state.withLock { $0.closedByHost = true }
        channel.close(promise: nil)
    }

    /// Resolves a pending call; answers for ids nobody waits for are reported as violations by the caller.
    @discardableResult
    func finish(_ id: Int64, _ result: Result<JSONValue, PluginCallError>) -> Bool {
        let pending = state.withLock { s in
            let p = s.pending.removeValue(forKey: id)
            if p != nil, !result.isTimeout { s.answers &+= 1 }
            return p
        }
        pending?.timeout?.cancel()
        pending?.completion(result)
        return pending != nil
    }

    func closedByPeer() {
        let waiting = state.withLock { s in
            s.closed = true
            defer { s.pending.removeAll() }
            return Array(s.pending.values)
        }
        for p in waiting {
            p.timeout?.cancel()
            p.completion(.failure(.disconnected(plugin: plugin)))
        }
    }
}

/// Lets the channel handler reach the connection created after the channel.
final class ConnectionBox: Sendable {
    let connection = Mutex<PluginConnection?>(nil)
}

/// Frames in, messages up. Runs on the channel's event loop.
final class PluginFrameHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    var decoder: PluginFrameDecoder
    let box: ConnectionBox
    let callbacks: PluginConnectionCallbacks

    init(maxFrame: Int, box: ConnectionBox, callbacks: PluginConnectionCallbacks) {
        self.decoder = PluginFrameDecoder(maxFrame: maxFrame)
        self.box = box
        self.callbacks = callbacks
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        decoder.append(buffer.readableBytesView)
        let connection = box.connection.withLock { $0 }
        while true {
            let payload: [UInt8]
            do {
                guard let p = try decoder.next() else { return }
                payload = p
            } catch {
                // The length prefix cannot be trusted any more: drop the stream.
                callbacks.violation(.oversizeFrame(error.message))
                context.close(promise: nil)
                return
            }
            let message: PluginMessage
            do { message = try PluginMessage(payload: payload) } catch {
                callbacks.violation(.malformedFrame(error.description))
                continue
            }
            switch message {
            case .response(let id, let result):
                if connection?.finish(id, .success(result)) == true || connection?.forgetTimedOut(id) == true { continue }
                callbacks.violation(.unexpectedResponse(id))
            case .failure(let id, let error):
                if let id, connection?.finish(id, .failure(.remote(error))) == true || connection?.forgetTimedOut(id) == true { continue }
                callbacks.violation(.unexpectedResponse(id))
            case .notification(let method, let params):
                // Relayed to other plugins inside an `ela.event` wrapper: one that leaves no room for it would be a
                // frame they cannot take (they would drop the stream, restart, get it again...).
                guard payload.count <= decoder.maxFrame - PluginFraming.eventWrapperRoom else {
                    callbacks.violation(.malformedFrame("event \(method) of \(payload.count) bytes leaves no room to relay it"))
                    continue
                }
                callbacks.notification(method, params, payload.count)
            case .request(let id, let method, let params):
                callbacks.request(id, method, params)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        box.connection.withLock { $0 }?.closedByPeer()
        callbacks.closed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension Result<JSONValue, PluginCallError> {
    fileprivate var isTimeout: Bool {
        if case .failure(.timeout) = self { return true }
        return false
    }
}
