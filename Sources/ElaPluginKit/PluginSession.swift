#if canImport(Glibc)
import Glibc
#endif
internal import ElaPluginProtocol
internal import Synchronization

/// One connection to the host. A reader thread decodes frames and answers the protocol's own requests (hello,
/// ping, errors) inline; plugin methods run as tasks, at most `maxInFlight` at once. Answers and events leave through
/// the `OutboundQueue`'s writer thread.
final class PluginSession: Sendable {
    private enum Phase: Equatable {
        case awaitingHello
        case starting
        case ready
        case stopping
    }

    private struct State {
        var phase = Phase.awaitingHello
        var context: PluginContext?
        var started = false
        var startTask: Task<Void, Never>?
        var inFlight = 0
        var nextTaskKey = 0
        var tasks: [Int: Task<Void, Never>] = [:]
    }

    private let definition: PluginDefinition
    private let fd: Int32
    private let options: PluginMain.Options
    private let stateDirectory: String?
    private let outbound: OutboundQueue
    private let hostCalls: HostCalls
    private let state = Mutex(State())
    /// The exit status, set by whoever first decides the session is over.
    private let termination = OneShot<Int32>()
    private let readerExited = OneShot<Bool>()
    private let writerExited = OneShot<Bool>()
    /// Runs `.nonBlocking` handlers on the reader thread; nil if no eventfd could be had (they then use the pool).
    private let readerExecutor = ReaderThreadExecutor()

    init(definition: PluginDefinition, fd: Int32, options: PluginMain.Options, stateDirectory: String?) {
        self.definition = definition
        self.fd = fd
        self.options = options
        self.stateDirectory = stateDirectory
        self.outbound = OutboundQueue(fd: fd, eventCapacity: options.eventQueueCapacity, maxFrame: options.maxFrame)
        self.hostCalls = HostCalls(outbound: outbound)
    }

    func run() async -> Int32 {
        let signalDescriptor = options.handleSignals ? TerminationSignals.install() : nil
        var wake: [Int32] = [-1, -1]
        guard Pipe.make(&wake, nonBlocking: false) else {
            PluginLog.write("\(definition.name): cannot create a pipe: \(SocketIO.errorText(errno))")
            return 1
        }
        defer {
            close(wake[0])
            close(wake[1])
        }
        guard outbound.start(onExit: { [writerExited] in writerExited.fulfill(true) }) else {
            PluginLog.write("\(definition.name): cannot start the writer thread")
            return 1
        }
        let wakeRead = wake[0]
        let readerStarted = PosixThread.detach { [self] in
            readerExecutor?.attachCurrentThread()
            readLoop(wakeDescriptor: wakeRead, signalDescriptor: signalDescriptor)
            readerExecutor?.shutDown()
            readerExited.fulfill(true)
        }
        if !readerStarted {
            PluginLog.write("\(definition.name): cannot start the reader thread")
            readerExited.fulfill(true)
            finish(1)
        }

        let status = await termination.wait()
        var byte: UInt8 = 1
        _ = write(wake[1], &byte, 1)
        await readerExited.wait()
        await stop()
        return status
    }

    /// Ends the session with `status` (first caller wins).
    private func finish(_ status: Int32) {
        state.withLock { $0.phase = .stopping }
        termination.fulfill(status)
    }

    private func stop() async {
        let startTask = state.withLock { $0.startTask }
        startTask?.cancel()
        await startTask?.value
        let running = state.withLock { Array($0.tasks.values) }
        for t in running { t.cancel() }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: options.shutdownGrace)
        while state.withLock({ $0.inFlight }) > 0 && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let (started, context) = state.withLock { ($0.started, $0.context) }
        if started, let context, let onStop = definition.onStop { await onStop(context) }
        hostCalls.closeAll()

        // Let the writer send what is queued, but never wait forever on a host that stopped reading.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        outbound.close()
        let fd = self.fd
        let writerExited = self.writerExited
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(3))
            if writerExited.value == nil { shutdown(fd, Int32(SHUT_WR)) }
        }
        await writerExited.wait()
        watchdog.cancel()
    }

    // MARK: Reading (reader thread)

    private func readLoop(wakeDescriptor: Int32, signalDescriptor: Int32?) {
        var decoder = PluginFrameDecoder(maxFrame: options.maxFrame)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var fds = [
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signalDescriptor ?? -1, events: Int16(POLLIN), revents: 0),
            pollfd(fd: readerExecutor?.wakeDescriptor ?? -1, events: Int16(POLLIN), revents: 0),
        ]
        while termination.value == nil {
            for i in fds.indices { fds[i].revents = 0 }
            let rc = poll(&fds, nfds_t(fds.count), -1)
            if rc < 0 {
                if errno == EINTR { continue }
                PluginLog.write("\(definition.name): poll failed: \(SocketIO.errorText(errno))")
                return finish(1)
            }
            if fds[1].revents != 0 { return }
            if fds[2].revents != 0 { return finish(0) }
            if fds[3].revents != 0 { readerExecutor?.runPending(drainingDoorbell: true) }
            let events = Int32(fds[0].revents)
            if events & Int32(POLLNVAL) != 0 {
                PluginLog.write("\(definition.name): the host socket (fd \(fd)) was closed under the plugin")
                return finish(1)
            }
            guard events != 0 else { continue }
            switch SocketIO.read(fd, into: &buffer) {
            case .endOfStream: return finish(0)
            case .failed(let code):
                PluginLog.write("\(definition.name): reading from the host failed: \(SocketIO.errorText(code))")
                return finish(1)
            case .bytes(let n): decoder.append(buffer[0..<n])
            }
            do {
                while termination.value == nil, let payload = try decoder.next() {
                    handle(payload)
                    // A `.nonBlocking` handler started by this frame runs now, before the next frame.
                    readerExecutor?.runPending()
                }
            } catch {
                // The length prefix is garbage: nothing after it can be trusted.
                outbound.enqueueAnswer(.failure(id: nil, error))
                PluginLog.write("\(definition.name): \(error); closing")
                return finish(2)
            }
        }
    }

    private func handle(_ payload: [UInt8]) {
        let message: PluginMessage
        do { message = try PluginMessage(payload: payload) } catch {
            outbound.enqueueAnswer(.failure(id: nil, error))
            return
        }
        let id: Int64
        let method: String
        let params: JSONObject
        switch message {
        case .request(let i, let m, let p):
            (id, method, params) = (i, m, p)
        case .response(let i, let result):
            hostCalls.resolve(i, .success(result))
            return
        case .failure(let i, let error):
            // An error without an id answers something we could not send: nobody to tell.
            if let i { hostCalls.resolve(i, .failure(PluginError(PluginError.Kind(code: error.kind.code, name: error.kind.description), error.message))) }
            return
        case .notification(let m, let p):
            let (phase, context) = state.withLock { ($0.phase, $0.context) }
            if phase == .ready || phase == .starting, let context, let handler = definition.notificationHandlers[m] { handler(p, context) }
            return
        }
        let phase = state.withLock { $0.phase }
        switch phase {
        case .awaitingHello:
            if method == PluginHandshake.method {
                hello(id: id, params: params)
            } else {
                fail(id, .notReady, "call \(PluginHandshake.method) first")
            }
        case .starting:
            fail(id, method == PluginHandshake.method ? .invalidRequest : .notReady, "the plugin is still starting")
        case .stopping:
            fail(id, .pluginError, "the plugin is stopping")
        case .ready:
            if method == PluginHandshake.method {
                fail(id, .invalidRequest, "the handshake is already done")
            } else if method == PluginHandshake.pingMethod {
                outbound.enqueueAnswer(.response(id: id, result: pingResult()))
            } else if let handler = definition.handlers[method] {
                dispatch(id: id, call: PluginCall(method: method, params: params), handler: handler)
            } else {
                let offered = definition.methods.joined(separator: ", ")
                fail(id, .methodNotFound, "unknown method '\(method)'; \(definition.name) offers: \(offered)")
            }
        }
    }

    private func fail(_ id: Int64, _ kind: PluginProtocolError.Kind, _ message: String) {
        outbound.enqueueAnswer(.failure(id: id, PluginProtocolError(kind, message)))
    }

    private func hello(id: Int64, params: JSONObject) {
        let hello: PluginHandshake.Hello
        do { hello = try PluginHandshake.Hello(params: params) } catch {
            outbound.enqueueAnswer(.failure(id: id, error))
            return
        }
        let spoken = PluginHandshake.supportedVersions
        guard let version = spoken.first(where: hello.versions.contains) else {
            fail(id, .versionMismatch, "\(definition.name) speaks protocol version \(spoken); the host offered \(hello.versions)")
            return finish(1)
        }
        let context = PluginContext(config: hello.config, stateDirectory: stateDirectory, outbound: outbound, hostCalls: hostCalls)
        let welcome = PluginHandshake.Welcome(
            version: version, name: definition.name, pluginVersion: definition.version, methods: definition.methods,
            events: definition.events)
        let onStart = definition.onStart
        let name = definition.name
        state.withLock { s in
            s.phase = .starting
            s.context = context
            s.startTask = Task { [self] in
                if let onStart {
                    do { try await onStart(context) } catch {
                        let reason = (error as? PluginError)?.message ?? String(describing: error)
                        fail(id, .pluginError, "start failed: \(reason)")
                        PluginLog.write("\(name): start failed: \(reason)")
                        return finish(1)
                    }
                }
                let ready = state.withLock { s -> Bool in
                    s.started = true
                    guard s.phase == .starting else { return false }
                    s.phase = .ready
                    return true
                }
                if ready { outbound.enqueueHandshakeAnswer(.response(id: id, result: welcome.result)) }
            }
        }
    }

    private func dispatch(id: Int64, call: PluginCall, handler: @escaping PluginDefinition.Handler) {
        let limit = options.maxInFlight
        let admitted = state.withLock { s -> Bool in
            guard let context = s.context, s.inFlight < limit else { return false }
            s.inFlight += 1
            let key = s.nextTaskKey
            s.nextTaskKey += 1
            // Created under the lock, so the task cannot remove its entry before it is stored. A `.nonBlocking`
            // handler's task only joins the reader's queue here; it runs once the lock is released.
            let executor = definition.nonBlockingMethods.contains(call.method) ? readerExecutor : nil
            s.tasks[key] = Task(executorPreference: executor) { [self] in
                let answer: PluginMessage
                do {
                    answer = .response(id: id, result: try await handler(call, context))
                } catch let error as PluginError {
                    answer = .failure(id: id, PluginProtocolError(Self.kind(of: error), error.message))
                } catch let error as PluginProtocolError {
                    answer = .failure(id: id, error)
                } catch is CancellationError {
                    answer = .failure(id: id, PluginProtocolError(.internalError, "\(call.method) was cancelled: the plugin is stopping"))
                } catch {
                    answer = .failure(id: id, PluginProtocolError(.internalError, String(describing: error)))
                }
                outbound.enqueueAnswer(answer)
                state.withLock { s in
                    s.inFlight -= 1
                    s.tasks[key] = nil
                }
            }
            return true
        }
        if !admitted {
            fail(id, .pluginError, "busy: \(limit) requests are in flight; retry later")
        }
    }

    private static func kind(of error: PluginError) -> PluginProtocolError.Kind {
        switch error.kind.code {
        case PluginError.Kind.invalidParams.code: .invalidParams
        case PluginError.Kind.failed.code: .pluginError
        // A host error passed on by a handler (`try await context.call(...)`) keeps its code.
        case PluginProtocolError.Kind.methodNotFound.code: .methodNotFound
        case PluginProtocolError.Kind.notReady.code: .notReady
        default: .internalError
        }
    }

    private func pingResult() -> JSONValue {
        let inFlight = state.withLock { $0.inFlight }
        return .object(
            JSONObject([
                ("rssKB", .number(JSONNumber(ProcessStats.residentKB()))),
                ("droppedEvents", .number(JSONNumber(outbound.droppedEvents))),
                ("inFlight", .number(JSONNumber(inFlight))),
            ]))
    }
}
