#if canImport(Glibc)
import Glibc
#endif
internal import CMosquitto
import Synchronization

/// libmosquitto needs one process-wide init; a global `let` runs it once, thread-safely, on first use.
private let libraryInitialized: Bool = {
    mosquitto_lib_init()
    return true
}()

/// The version of the linked libmosquitto, e.g. "2.0.11".
public func mosquittoLibraryVersion() -> String {
    var major: Int32 = 0
    var minor: Int32 = 0
    var revision: Int32 = 0
    _ = mosquitto_lib_version(&major, &minor, &revision)
    return "\(major).\(minor).\(revision)"
}

/// What the C callbacks reach through libmosquitto's userdata pointer. They only yield into the continuation
/// (Sendable), so no Swift state is shared with the network thread beyond it and an atomic.
final class CallbackBox: Sendable {
    let continuation: AsyncStream<MosquittoEvent>.Continuation
    let handler: (@Sendable (MosquittoEvent) -> Void)?
    let version5: Bool
    /// Set when the broker accepts a connection: the loop then starts its backoff from scratch.
    let accepted = Atomic<Bool>(false)

    init(continuation: AsyncStream<MosquittoEvent>.Continuation, handler: (@Sendable (MosquittoEvent) -> Void)?, version5: Bool) {
        self.continuation = continuation
        self.handler = handler
        self.version5 = version5
    }

    /// To the handler on the network thread when there is one (no hop through the concurrency pool), else the stream.
    func deliver(_ event: MosquittoEvent) {
        if let handler { handler(event) } else { continuation.yield(event) }
    }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> CallbackBox? {
        pointer.map { Unmanaged<CallbackBox>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// One MQTT client on libmosquitto. Its network loop runs on its own thread (`start`), which connects,
/// reconnects after losses with the delays the caller's policy gives, and reports everything as `events`.
/// `publish` and `subscribe` may be called from any thread (libmosquitto runs in threaded mode and its loop
/// thread does the writing).
public final class MosquittoClient: @unchecked Sendable {  // `handle` is used under libmosquitto's own locks; `loop` under `lock`
    /// Everything the network loop reports (unless a handler takes it). One consumer; unbounded, so PUBACKs are never
    /// lost.
    public let events: AsyncStream<MosquittoEvent>
    public let options: MosquittoOptions
    private let handle: OpaquePointer
    private let box: CallbackBox
    private let boxPointer: UnsafeMutableRawPointer
    private let stopRequested = Atomic<Bool>(false)
    private let lock = Mutex<pthread_t?>(nil)

    /// Creates the client and applies `options`. Errors name the option (an unreadable CA file is `.invalidArgument`
    /// from `mosquitto_tls_set` with the file in the context).
    ///
    /// With `handler`, events are passed to it on the network thread, in order, instead of to `events`: it must be
    /// quick and must not block (queue the work). That keeps PUBACK handling independent of a busy concurrency pool.
    public init(options: MosquittoOptions, handler: (@Sendable (MosquittoEvent) -> Void)? = nil) throws(MosquittoError) {
        _ = libraryInitialized
        self.options = options
        let (stream, continuation) = AsyncStream<MosquittoEvent>.makeStream(bufferingPolicy: .unbounded)
        events = stream
        box = CallbackBox(continuation: continuation, handler: handler, version5: options.protocolVersion == .v5)
        boxPointer = Unmanaged.passRetained(box).toOpaque()
        guard let h = mosquitto_new(options.clientID, options.cleanSession, boxPointer) else {
            Unmanaged<CallbackBox>.fromOpaque(boxPointer).release()
            throw MosquittoError(code: errno == EINVAL ? .invalidArgument : .outOfMemory, operation: "mosquitto_new",
                                 context: options.clientID == nil ? "random client id" : "client id \(options.clientID!)")
        }
        handle = h
        // Throwing from here on runs deinit (every stored property is set), which destroys the handle and the box.
        try configure(options)
        installCallbacks()
    }

    deinit {
        stop()
        mosquitto_destroy(handle)
        box.continuation.finish()
        Unmanaged<CallbackBox>.fromOpaque(boxPointer).release()
    }

    private func configure(_ o: MosquittoOptions) throws(MosquittoError) {
        try check(mosquitto_threaded_set(handle, true), "mosquitto_threaded_set")
        let version = o.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, version), "mosquitto_int_option", context: "protocol \(o.protocolVersion.rawValue)")
        try check(mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, o.tcpNoDelay ? 1 : 0), "mosquitto_int_option", context: "TCP_NODELAY")
        try check(mosquitto_max_inflight_messages_set(handle, UInt32(max(0, o.maxInflight))), "mosquitto_max_inflight_messages_set")
        if o.username != nil || o.password != nil {
            try check(mosquitto_username_pw_set(handle, o.username, o.password), "mosquitto_username_pw_set", context: "username and password")
        }
        if let tls = o.tls {
            let files = [tls.caFile.map { "CA file \($0)" }, tls.caPath.map { "CA path \($0)" }, tls.certFile.map { "certificate \($0)" },
                         tls.keyFile.map { "key \($0)" }].compactMap { $0 }.joined(separator: ", ")
            for path in [tls.caFile, tls.certFile, tls.keyFile].compactMap({ $0 }) where access(path, R_OK) != 0 {
                throw MosquittoError(code: .invalidArgument, operation: "mosquitto_tls_set", systemError: errno, context: "cannot read \(path)")
            }
            try check(mosquitto_tls_set(handle, tls.caFile, tls.caPath, tls.certFile, tls.keyFile, nil), "mosquitto_tls_set", context: files)
            if tls.insecure { try check(mosquitto_tls_insecure_set(handle, true), "mosquitto_tls_insecure_set") }
        }
        if let will = o.will {
            let rc = will.payload.withUnsafeBytes { raw in
                mosquitto_will_set(handle, will.topic, Int32(raw.count), raw.baseAddress, will.qos, will.retain)
            }
            try check(rc, "mosquitto_will_set", context: "will topic \(will.topic)")
        }
    }

    private func installCallbacks() {
        mosquitto_connect_callback_set(handle) { _, userdata, rc in
            guard let box = CallbackBox.from(userdata) else { return }
            if rc == 0 { box.accepted.store(true, ordering: .relaxed) }
            box.deliver(.connected(code: rc, reason: connackText(rc, version5: box.version5)))
        }
        mosquitto_disconnect_callback_set(handle) { _, userdata, rc in
            CallbackBox.from(userdata)?.deliver(.disconnected(code: rc))
        }
        mosquitto_publish_callback_set(handle) { _, userdata, mid in
            CallbackBox.from(userdata)?.deliver(.published(mid: mid))
        }
        mosquitto_subscribe_callback_set(handle) { _, userdata, mid, count, granted in
            var qos: [Int32] = []
            if let granted { qos = (0..<Int(count)).map { granted[$0] } }
            CallbackBox.from(userdata)?.deliver(.subscribed(mid: mid, grantedQoS: qos))
        }
        mosquitto_message_callback_set(handle) { _, userdata, message in
            guard let box = CallbackBox.from(userdata), let m = message?.pointee else { return }
            let topic = m.topic.map { String(cString: $0) } ?? ""
            var payload: [UInt8] = []
            if let p = m.payload, m.payloadlen > 0 {
                payload = Array(UnsafeRawBufferPointer(start: p, count: Int(m.payloadlen)))
            }
            box.deliver(.message(MosquittoMessage(topic: topic, payload: payload, qos: m.qos, retain: m.retain)))
        }
    }

    // MARK: Network loop

    /// Starts the network thread: connect to `host:port`, run the loop, and after every failure or loss wait
    /// `retryDelay(attempt)` (attempt 1, 2, ... since the last accepted connection) before reconnecting.
    /// A no-op when already started.
    public func start(host: String, port: Int, retryDelay: @escaping @Sendable (_ attempt: Int) -> Duration) throws(MosquittoError) {
        let job = LoopJob(client: self, host: host, port: Int32(clamping: port), retryDelay: retryDelay)
        let started: Int32 = lock.withLock { thread in
            guard thread == nil else { return 0 }
            stopRequested.store(false, ordering: .relaxed)
            let arg = Unmanaged.passRetained(job).toOpaque()
            var t = pthread_t()
            let rc = pthread_create(&t, nil, { arg in
                guard let arg else { return nil }
                Unmanaged<LoopJob>.fromOpaque(arg).takeRetainedValue().run()
                return nil
            }, arg)
            if rc != 0 {
                Unmanaged<LoopJob>.fromOpaque(arg).release()
                return rc
            }
            thread = t
            return 0
        }
        guard started == 0 else { throw MosquittoError(code: .system, operation: "pthread_create", systemError: started) }
    }

    /// Sends DISCONNECT (the broker drops the will), stops the network thread and waits for it. Idempotent.
    public func stop() {
        let thread = lock.withLock { t -> pthread_t? in
            defer { t = nil }
            return t
        }
        guard let thread else { return }
        stopRequested.store(true, ordering: .relaxed)
        mosquitto_disconnect(handle)
        pthread_join(thread, nil)
    }

    /// The loop body, on the network thread.
    fileprivate func runLoop(host: String, port: Int32, retryDelay: @Sendable (Int) -> Duration) {
        var attempt = 0
        var socketUp = false
        var everConnected = false
        let keepalive = max(5, options.keepaliveSeconds)
        while !stopRequested.load(ordering: .relaxed) {
            if !socketUp {
                let rc = everConnected ? mosquitto_reconnect(handle) : mosquitto_connect(handle, host, port, keepalive)
                if rc == MOSQ_ERR_SUCCESS.rawValue {
                    socketUp = true
                    everConnected = true
                } else {
                    attempt += 1
                    box.deliver(.connectFailed(MosquittoError(rc, "mosquitto_connect", context: "\(host):\(port)"), attempt: attempt))
                    pause(retryDelay(attempt))
                    continue
                }
            }
            let rc = mosquitto_loop(handle, 100, 1)
            if box.accepted.exchange(false, ordering: .relaxed) { attempt = 0 }
            if rc != MOSQ_ERR_SUCCESS.rawValue {
                socketUp = false
                if stopRequested.load(ordering: .relaxed) { break }
                attempt += 1
                pause(retryDelay(attempt))
            }
        }
        // Let a DISCONNECT queued by `stop` leave before the thread ends.
        if socketUp { _ = mosquitto_loop(handle, 50, 1) }
    }

    /// Sleeps up to `delay`, waking early when stop is requested.
    private func pause(_ delay: Duration) {
        var leftMs = Int(delay.components.seconds) * 1000 + Int(delay.components.attoseconds / 1_000_000_000_000_000)
        while leftMs > 0 && !stopRequested.load(ordering: .relaxed) {
            let step = min(leftMs, 20)
            usleep(UInt32(step * 1000))
            leftMs -= step
        }
    }

    // MARK: Publishing and subscribing

    /// Queues `payload` for `topic`; returns the message id that `.published(mid:)` will report. libmosquitto keeps
    /// QoS 1 messages until their PUBACK, across reconnects, and sends them in order.
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false) throws(MosquittoError) -> Int32 {
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { raw in
            mosquitto_publish(handle, &mid, topic, Int32(raw.count), raw.baseAddress, qos, retain)
        }
        try check(rc, "mosquitto_publish", context: topic)
        return mid
    }

    /// Subscribes to `pattern` (`+` and `#` wildcards); returns the id `.subscribed(mid:)` will report.
    @discardableResult
    public func subscribe(_ pattern: String, qos: Int32 = 1) throws(MosquittoError) -> Int32 {
        var mid: Int32 = 0
        try check(mosquitto_subscribe(handle, &mid, pattern, qos), "mosquitto_subscribe", context: pattern)
        return mid
    }

    /// Whether `topic` is a valid topic to publish to (no wildcards, valid UTF-8, not too long).
    public static func isValidPublishTopic(_ topic: String) -> Bool {
        _ = libraryInitialized
        return mosquitto_pub_topic_check(topic) == MOSQ_ERR_SUCCESS.rawValue
    }

    /// Whether `pattern` is a valid subscription pattern.
    public static func isValidSubscription(_ pattern: String) -> Bool {
        _ = libraryInitialized
        return mosquitto_sub_topic_check(pattern) == MOSQ_ERR_SUCCESS.rawValue
    }
}

/// What the network thread runs; holds the client strongly until the loop ends (`stop` joins it first).
private final class LoopJob {
    let client: MosquittoClient
    let host: String
    let port: Int32
    let retryDelay: @Sendable (Int) -> Duration

    init(client: MosquittoClient, host: String, port: Int32, retryDelay: @escaping @Sendable (Int) -> Duration) {
        self.client = client
        self.host = host
        self.port = port
        self.retryDelay = retryDelay
    }

    func run() { client.runLoop(host: host, port: port, retryDelay: retryDelay) }
}
