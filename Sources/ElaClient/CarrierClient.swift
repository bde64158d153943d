#if canImport(Glibc)
import Glibc
#endif
public import ElaCarrier
public import ElaConfig
public import ElaCrypto
public import ElaIdentity
public import ElaJSON
import ElaFileSystem
import ElaGate
import ElaPluginHost
import ElaPluginProtocol
public import Logging
import Synchronization

/// A DApp's connection to one device over the carrier. It spawns its own `ela-carrier` (the only program that links
/// libtoxcore) as a child speaking the plugin protocol, sends the device a friend request whose hello is signed by
/// the DApp's DID key, answers the device's challenge (with its half of the session key), then sends calls and
/// subscriptions sealed with the session key, or each signed by the DID key with `signEachCall`.
///
/// Recovery: whenever the session is not ready it re-handshakes by itself. A new challenge (the device's link came
/// back, e.g. after its ela-carrier restarted) is answered at once; if none arrives within `helloRetrySeconds`, the
/// hello is sent again with a fresh timestamp and nonce. Active subscriptions are renewed on every new session.
public final class CarrierClient: Sendable {
    public struct Options: Sendable {
        /// The `ela-carrier` program (default: next to this executable, else /usr/lib/ela-agent).
        public var carrierExecutable: String?
        public var network = CarrierSettings()
        public var helloRetrySeconds: Double = 15
        /// While a session is up, a ping goes out this often; no pong for `pingTimeoutSeconds` ends the session and
        /// sends the hello again (toxcore itself notices a dead peer only after about 32 s).
        public var pingSeconds: Double = 2
        public var pingTimeoutSeconds: Double = 8
        /// The DApp's Tox secret key (32 bytes); nil: a new Tox identity per client. With the same key every time
        /// (``toxSecretKey(derivedFrom:)``) the device knows the DApp as a friend already: a session opens without a
        /// friend request, and the device keeps one friend for it rather than one per session.
        public var secretKey: [UInt8]?
        /// Tests only: rewrites the hello before it is sent (attempt number from 1, the hello as made).
        public var helloTransform: (@Sendable (Int, [UInt8]) -> [UInt8])?
        public var callTimeoutSeconds: Double = 30
        /// Sign every call and subscription with the DID key (each audit row then holds a signature the DApp cannot
        /// deny; about 0.2 ms more per call on both ends) instead of sealing them with the session key.
        public var signEachCall = false
        /// A `DeviceAccessCredential` the device's owner issued to this DApp, for a DApp that holds no grant on the
        /// device: the hello announces it, the session proof presents it (sealed calls then rely on it), and signed
        /// calls carry it.
        public var credential: VerifiableCredential?

        public init() {}
    }

    public struct Event: Sendable, Equatable {
        public var plugin: String
        public var event: String
        public var params: JSONObject
        public var atMs: Int64
    }

    /// The Tox secret key a DApp's DID key derives (HKDF-SHA256 with a purpose of its own, so it tells nothing about
    /// the DID key): the same Tox identity in every session of that DID. Two clients must not be online with one
    /// Tox key at once (the network would see one peer flapping between them).
    public static func toxSecretKey(derivedFrom key: ElaPrivateKey) -> [UInt8] {
        key.derivedSecret(purpose: "carrier-tox-dapp", count: 32)
    }

    let did: DID
    let key: ElaPrivateKey
    let device: CarrierAddress
    let options: Options
    let logger: Logger
    let supervisor: PluginSupervisor
    let stateRoot: String
    private let watchdog = Mutex<Task<Void, Never>?>(nil)

    struct Pending {
        var continuation: CheckedContinuation<Result<JSONValue, RemoteError>, Never>
        /// `monotonic()` past which the watch loop fails the call.
        var deadline: Double
        var timeoutSeconds: Double
    }
    struct Subscription {
        var event: String
        var continuation: AsyncStream<Event>.Continuation
        /// The id it was first made under: renewals move it to new ids, this names it for good.
        var token: Int64 = 0
    }
    struct State {
        var ownKey: [UInt8]?
        /// Toxcore's self connection (ela-carrier reports it without a key).
        var selfOnline = false
        var linkOnline = false
        var ready = false
        /// The key of the session being opened (set when answering a challenge), then of the open session.
        var sessionKey: SessionMACKey?
        /// The challenge answered last and our key pair for it: the device repeats a challenge (after `resume`), and
        /// every answer to it must carry the same key, since the device keeps the first it accepts.
        var challenge: String?
        var sessionPair: SessionKeyPair?
        var lastHelloAt: Double = 0
        var helloCount = 0
        var sessions = 0
        var nextID: Int64 = 1
        var pending: [Int64: Pending] = [:]
        var subscriptions: [Int64: Subscription] = [:]
        var readyWaiters: [CheckedContinuation<Void, Never>] = []
        var lastDenial: String?
        /// Why the device last ended (or refused to renew) a subscription.
        var lastSubscriptionEnd: String?
        var closed = false
        var lastPingAt: Double = 0
        var lastPongAt: Double = 0
        var pingCounter: Int64 = 0
        var lastResumeAt: Double = 0
        var resumesUnanswered = 0
        var helloInterval: Double
    }
    let state: Mutex<State>

    public init(did: DID, key: ElaPrivateKey, device: CarrierAddress, options: Options = Options(), logger: Logger) throws {
        self.did = did
        self.key = key
        self.device = device
        self.options = options
        self.logger = logger
        state = Mutex(State(helloInterval: options.helloRetrySeconds))
        guard let exe = options.carrierExecutable ?? Self.defaultExecutable() else {
            throw CarrierProtocolError("ela-carrier not found next to this program or in /usr/lib/ela-agent")
        }
        let manifest = try PluginManifest.parse(
            """
            name = "carrier"
            version = "0.1.0"
            executable = "\(exe)"
            \(["carrier.status", "carrier.add", "carrier.accept", "carrier.remove", "carrier.forget", "carrier.send"].map {
                "[[method]]\nname = \"\($0)\"\ncapability = \"\($0)\"\n" }.joined())
            [sandbox]
            network = true
            state_dir = false
            """)
        var template = "/tmp/ela-client-XXXXXX".utf8CString
        stateRoot = template.withUnsafeMutableBufferPointer { p in mkdtemp(p.baseAddress!).map { String(cString: $0) } } ?? "/tmp"
        var settings = PluginHostSettings(launcher: nil, stateRoot: stateRoot, readOnlyPaths: [], hostName: "ela-client")
        settings.pingInterval = 5
        // ela-carrier's reports (messages, links) are its transport: not metered like calls through a gate.
        settings.unmeteredRequest = { _, method in method.hasPrefix("carrier.") }
        let network = options.network
        let box = HandlerBox()
        supervisor = PluginSupervisor(
            descriptor: PluginDescriptor(manifest: manifest, directory: stateRoot, executable: exe), settings: settings, uid: 0,
            config: Self.carrierConfig(network, secretKey: options.secretKey), logger: logger, eventSink: { _ in },
            requestHandler: { _, method, params in await box.client.withLock { $0 }?.handle(method, params) ?? .success(.null) })
        box.client.withLock { $0 = self }
    }

    final class HandlerBox: Sendable {
        let client = Mutex<CarrierClient?>(nil)
    }

    static func carrierConfig(_ s: CarrierSettings, secretKey: [UInt8]?) -> JSONObject {
        func nodes(_ list: [CarrierSettings.Node]) -> JSONValue {
            .array(list.map { .object(["host": .string($0.host), "port": .number(JSONNumber($0.port)), "key": .string($0.publicKey)]) })
        }
        var o: JSONObject = [
            "udp": .bool(s.udp), "lan": .bool(s.lanDiscovery), "window": .number(JSONNumber(s.window)),
            "udpWindow": .number(JSONNumber(s.udpWindow)), "bootstrap": nodes(s.bootstrap),
            "relays": nodes(s.relays),
        ]
        if let secretKey { o["secretKey"] = .string(Hex.encode(secretKey)) }
        return o
    }

    static func defaultExecutable() -> String? {
        var candidates: [String] = []
        if let exe = FileSystem.currentExecutable(), let slash = exe.lastIndex(of: "/") { candidates.append(String(exe[..<slash]) + "/ela-carrier") }
        candidates.append("/usr/lib/ela-agent/ela-carrier")
        return candidates.first { access($0, X_OK) == 0 }
    }

    // MARK: public API

    /// Starts the transport and waits until the device accepted us and the session is open.
    public func connect(timeoutSeconds: Double = 60) async throws(CarrierProtocolError) {
        await supervisor.start()
        let task = Task { [self] in await self.watch() }
        watchdog.withLock { $0 = task }
        try await waitReady(timeoutSeconds: timeoutSeconds)
    }

    public func waitReady(timeoutSeconds: Double) async throws(CarrierProtocolError) {
        let deadline = monotonic() + timeoutSeconds
        while monotonic() < deadline {
            if state.withLock({ $0.ready }) { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let why = state.withLock { $0.lastDenial }
        // Whole seconds when it is one (Int() of a NaN or huge value would trap).
        let seconds = timeoutSeconds == timeoutSeconds.rounded() && abs(timeoutSeconds) < 1e15 ? "\(Int64(timeoutSeconds))" : "\(timeoutSeconds)"
        throw CarrierProtocolError("no session with \(device.userID) within \(seconds) s" + (why.map { ": \($0)" } ?? ""))
    }

    public var isReady: Bool { state.withLock { $0.ready } }
    /// Whether this client's own Tox instance is connected to the network (toxcore's self connection).
    public var isSelfOnline: Bool { state.withLock { $0.selfOnline } }
    /// Whether toxcore has a link to the device (a session may not be open on it yet).
    public var isLinkOnline: Bool { state.withLock { $0.linkOnline } }
    /// Sessions opened so far (more than one after the device's carrier restarted).
    public var sessionCount: Int { state.withLock { $0.sessions } }
    public var helloCount: Int { state.withLock { $0.helloCount } }

    /// Calls `method` on the device, where it is gated against our DID's grants and audited. Sealed with the
    /// session key, or signed by our DID key when `signed` (default: `options.signEachCall`) or the session has no key.
    public func call(_ method: String, _ params: JSONObject = JSONObject(), timeoutSeconds: Double? = nil, signed: Bool? = nil)
        async throws(RemoteError) -> JSONValue
    {
        let request = try request(kind: "call", method: method, params: params, signed: signed ?? options.signEachCall).get()
        return try await exchange(timeoutSeconds: timeoutSeconds ?? options.callTimeoutSeconds) { .call(id: $0, request($0)) }.get()
    }

    /// Subscribes to `event` (e.g. `sensors.reading`); needs the event's capability on the device.
    public func subscribe(_ event: String) async throws(RemoteError) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(1000))
        let id = state.withLock { s -> Int64 in
            defer { s.nextID += 1 }
            return s.nextID
        }
        state.withLock { $0.subscriptions[id] = Subscription(event: event, continuation: continuation, token: id) }
        // A stream its reader dropped is forgotten, so the next session does not renew it, and the device is told,
        // so it stops sending its events and frees its slot (it keeps at most 32 per session). A stream that ended
        // otherwise (the device ended it, the client closed) was removed before, so nothing is sent for it.
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            let dropped = state.withLock { s -> Int64? in
                guard let key = s.subscriptions.first(where: { $0.value.token == id })?.key else { return nil }
                s.subscriptions[key] = nil
                return s.ready ? key : nil
            }
            if let dropped { send(.unsubscribe(sub: dropped)) { _ in } }
        }
        switch await sendSubscribe(id: id, event: event) {
        case .success: return stream
        case .failure(let e):
            _ = state.withLock { $0.subscriptions.removeValue(forKey: id) }
            continuation.finish()
            throw e
        }
    }

    public func close() async {
        watchdog.withLock { $0?.cancel() }
        let (pending, subs) = state.withLock { s in
            s.closed = true
            defer {
                s.pending = [:]
                s.subscriptions = [:]
            }
            return (Array(s.pending.values), Array(s.subscriptions.values))
        }
        for p in pending { p.continuation.resume(returning: .failure(RemoteError(code: -32005, message: "client closed"))) }
        for s in subs { s.continuation.finish() }
        await supervisor.stop()
        _ = rmdir(stateRoot)
    }

    // MARK: internals

    func sendSubscribe(id: Int64, event: String) async -> Result<JSONValue, RemoteError> {
        let request: (Int64) -> SessionRequest
        switch self.request(kind: "subscribe", method: event, params: JSONObject(), signed: options.signEachCall) {
        case .success(let r): request = r
        case .failure(let e): return .failure(e)
        }
        return await exchange(id: id, timeoutSeconds: options.callTimeoutSeconds) { .subscribe(id: $0, request($0)) }
    }

    /// A message id to the request carrying `method`: sealed with the session key, or signed when the session has
    /// none (`signEachCall`, or a device that offered no key).
    func request(kind: String, method: String, params: JSONObject, signed: Bool) -> Result<(Int64) -> SessionRequest, RemoteError> {
        if !signed, let key = state.withLock({ $0.ready ? $0.sessionKey : nil }) {
            let body = SessionSeal.body(method: method, params: params)
            return .success { id in .sealed(body: body, tag: SessionSeal.tag(key, kind: kind, id: id, body: body)) }
        }
        do {
            let text = try SignedRequest.sign(
                method: method, params: params, privateKey: key, did: did, credential: options.credential, now: Int64(time(nil))).text
            return .success { _ in .signed(text) }
        } catch {
            return .failure(RemoteError(code: -32602, message: "\(error)"))
        }
    }

    func exchange(id given: Int64? = nil, timeoutSeconds: Double, _ make: (Int64) -> SessionMessage) async -> Result<JSONValue, RemoteError> {
        guard state.withLock({ $0.ready }) else { return .failure(RemoteError(code: -32001, message: "no session with the device (yet)")) }
        let id = given ?? state.withLock { s -> Int64 in
            defer { s.nextID += 1 }
            return s.nextID
        }
        let message = make(id)
        // No task per call: the request leaves from this thread, the answer resumes us, and a 100 ms sweep fails a
        // call whose deadline passed.
        return await withCheckedContinuation { (c: CheckedContinuation<Result<JSONValue, RemoteError>, Never>) in
            state.withLock { $0.pending[id] = Pending(continuation: c, deadline: monotonic() + timeoutSeconds, timeoutSeconds: timeoutSeconds) }
            send(message) { [self] result in
                if case .failure(let e) = result { resolve(id, .failure(RemoteError(code: -32007, message: "send failed: \(e)"))) }
            }
        }
    }

    /// Fails calls whose deadline passed (every 100 ms while the client runs).
    func expireCalls(now: Double) {
        let late = state.withLock { s -> [(Int64, Pending)] in
            let late = s.pending.filter { $0.value.deadline <= now }
            for id in late.keys { s.pending[id] = nil }
            return late.map { ($0.key, $0.value) }
        }
        for (_, p) in late { p.continuation.resume(returning: .failure(RemoteError(code: -32006, message: "no reply within \(p.timeoutSeconds) s"))) }
    }

    /// Why the device last ended, or refused to renew, one of this client's subscriptions (its stream finished then).
    public var lastSubscriptionEnd: String? { state.withLock { $0.lastSubscriptionEnd } }

    func endSubscription(_ id: Int64, reason: String) {
        let ended = state.withLock { s -> Subscription? in
            guard let sub = s.subscriptions.removeValue(forKey: id) else { return nil }
            s.lastSubscriptionEnd = reason
            return sub
        }
        guard let ended else { return }
        logger.warning("the device ended a subscription", metadata: ["event": "\(ended.event)", "reason": "\(reason)"])
        ended.continuation.finish()
    }

    func resolve(_ id: Int64, _ r: Result<JSONValue, RemoteError>) {
        state.withLock { $0.pending.removeValue(forKey: id) }?.continuation.resume(returning: r)
    }

    func send(_ m: SessionMessage) async -> Result<JSONValue, PluginCallError> {
        await withCheckedContinuation { c in send(m) { c.resume(returning: $0) } }
    }

    func send(_ m: SessionMessage, completion: @escaping @Sendable (Result<JSONValue, PluginCallError>) -> Void) {
        supervisor.send("carrier.send", ["key": .string(Hex.encode(device.publicKey)), "text": .string(m.text)], completion: completion)
    }

    /// Sends the hello when the session is not ready and none went out recently (and at the start).
    func watch() async {
        // Deadlines on their own beat: the loop below can wait seconds on a hello or ping.
        let expiry = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                expireCalls(now: monotonic())
            }
        }
        defer { expiry.cancel() }
        while !Task.isCancelled {
            let now = monotonic()
            enum Step { case hello, ping(Int64), resume, none }
            let step = state.withLock { s -> Step in
                guard s.ownKey != nil, !s.closed else { return .none }
                if s.ready {
                    if now - s.lastPongAt > options.pingTimeoutSeconds {
                        // The device went quiet: ask it for a new challenge; if that stays unanswered, one hello
                        // (replacing the friend, a fresh link) follows a few seconds later.
                        logger.debug("no pong for \(Int(options.pingTimeoutSeconds)) s")
                        s.ready = false
                        s.resumesUnanswered = 0
                        s.lastResumeAt = 0
                        s.lastHelloAt = now - s.helloInterval + 4
                        return .none
                    }
                    guard now - s.lastPingAt >= options.pingSeconds else { return .none }
                    s.lastPingAt = now
                    s.pingCounter += 1
                    return .ping(s.pingCounter)
                }
                // Not in a session. While toxcore says the link is up, ask for a challenge (twice, 2 s apart). The
                // hello goes again only every `helloInterval` (doubling up to 60 s): replacing the friend restarts
                // toxcore's link, so doing it often would keep the link from ever forming.
                if s.linkOnline && s.resumesUnanswered < 2 {
                    guard now - s.lastResumeAt >= 2 else { return .none }
                    s.lastResumeAt = now
                    s.resumesUnanswered += 1
                    return .resume
                }
                guard now - s.lastHelloAt > s.helloInterval else { return .none }
                s.lastHelloAt = now
                if s.helloCount > 0 { s.helloInterval = min(s.helloInterval * 2, 60) }
                s.resumesUnanswered = 0
                s.lastResumeAt = now
                return .hello
            }
            switch step {
            case .hello: await sendHello()
            case .ping(let n): _ = await send(.ping(n))
            case .resume:
                logger.debug("session lost; asking the device to resume")
                _ = await send(.resume)
            case .none: break
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    func sendHello() async {
        guard let own = state.withLock({ $0.ownKey }) else { return }
        var hello: [UInt8]
        do {
            hello = try CarrierHello.make(
                did: did, key: key, toxUserID: CarrierAddress.userID(publicKey: own), deviceUserID: device.userID,
                credentialID: options.credential?.id.description, now: Int64(time(nil)))
        } catch {
            logger.error("cannot make the hello", metadata: ["error": "\(error)"])
            return
        }
        let count = state.withLock { s -> Int in
            s.helloCount += 1
            return s.helloCount
        }
        if let transform = options.helloTransform { hello = transform(count, hello) }
        let r = await supervisor.call(
            "carrier.add",
            ["address": .string(Hex.encode(device.bytes)), "message": .string(String(decoding: hello, as: UTF8.self)), "replace": .bool(count > 1)])
        logger.debug("hello sent", metadata: ["count": "\(count)", "result": "\(r)"])
    }

    func handle(_ method: String, _ params: JSONObject) async -> Result<JSONValue, PluginProtocolError> {
        let deviceHex = Hex.encode(device.publicKey)
        switch method {
        case "carrier.started":
            guard let pk = params["publicKey"]?.stringValue.flatMap({ try? Hex.decode($0) }) else { break }
            // A fresh transport: it knows no friends; the watchdog sends the hello now.
            state.withLock { s in
                s.ownKey = pk
                s.ready = false
                s.selfOnline = false
                s.linkOnline = false
                s.lastHelloAt = 0
            }
        case "carrier.connection":
            if params["key"] == nil {
                state.withLock { $0.selfOnline = params["connection"]?.stringValue != "none" }
                break
            }
            guard params["key"]?.stringValue == deviceHex else { break }
            let online = params["connection"]?.stringValue != "none"
            let failed = state.withLock { s -> [Pending] in
                s.linkOnline = online
                s.resumesUnanswered = 0
                // The device challenges a link that comes up; ask only if it does not.
                s.lastResumeAt = monotonic()
                guard !online else { return [] }
                s.ready = false
                // Give the device time to challenge us again before the watchdog re-sends the hello.
                s.lastHelloAt = monotonic()
                defer { s.pending = [:] }
                return Array(s.pending.values)
            }
            for p in failed { p.continuation.resume(returning: .failure(RemoteError(code: -32008, message: "link to the device lost"))) }
        case "carrier.message":
            guard params["key"]?.stringValue == deviceHex, let text = params["text"]?.stringValue,
                let m = try? SessionMessage(text: text)
            else { break }
            await received(m)
        default:
            break
        }
        return .success(.object([:]))
    }

    func received(_ m: SessionMessage) async {
        switch m {
        case .challenge(let challenge, _, let deviceKeyHex):
            guard let own = state.withLock({ $0.ownKey }) else { return }
            let (repeated, earlierPair) = state.withLock { s -> (Bool, SessionKeyPair?) in
                // The open session's own challenge again: a copy that crossed our answer (the device sends a new
                // session a new challenge, and repeats one only while it is not open).
                if s.ready && s.challenge == challenge { return (true, nil) }
                return (false, s.challenge == challenge ? s.sessionPair : nil)
            }
            if repeated { return }
            // Our half of the session key, unless every call is to be signed or the device offered none.
            var sessionKey: (pair: SessionKeyPair, mac: SessionMACKey, deviceKey: [UInt8])?
            if !options.signEachCall, let hex = deviceKeyHex, let deviceKey = try? Hex.decode(hex) {
                let pair = earlierPair ?? SessionKeyPair()
                if let mac = try? SessionSeal.derive(own: pair, peer: deviceKey, challenge: challenge, dappKey: pair.publicKey, deviceKey: deviceKey) {
                    sessionKey = (pair, mac, deviceKey)
                } else {
                    logger.warning("the device's session key is unusable; calls will be signed")
                }
            }
            state.withLock {
                $0.ready = false
                $0.challenge = challenge
                $0.sessionPair = sessionKey?.pair
                $0.sessionKey = sessionKey?.mac
                $0.lastHelloAt = monotonic()
                $0.resumesUnanswered = 0
                $0.linkOnline = true
            }
            do {
                let proof = try CarrierSessionProof.make(
                    did: did, key: key, challenge: challenge, toxUserID: CarrierAddress.userID(publicKey: own), deviceUserID: device.userID,
                    sessionKeys: sessionKey.map { ($0.pair.publicKey, $0.deviceKey) }, credential: options.credential, now: Int64(time(nil)))
                _ = await send(.auth(proof: proof))
            } catch {
                logger.error("cannot sign the session proof", metadata: ["error": "\(error)"])
            }
        case .ready(let challenge):
            enum Opened { case stale, confirmed, first, again([Int64]) }
            let opened = state.withLock { s -> Opened in
                // A ready for a challenge we no longer hold (the device replaced that session): ours is still to come.
                if let challenge, let ours = s.challenge, challenge != ours { return .stale }
                s.lastPongAt = monotonic()
                // The open session confirmed (the answer to a resume): nothing to renew.
                if s.ready { return .confirmed }
                s.ready = true
                s.sessions += 1
                s.helloInterval = options.helloRetrySeconds
                s.lastDenial = nil
                guard s.sessions > 1 else { return .first }
                // The device forgot the subscriptions with the old session: each is renewed below.
                return .again(s.subscriptions.keys.sorted())
            }
            if case .again(let renewed) = opened, !renewed.isEmpty {
                Task { [self] in
                    for old in renewed {
                        // A fresh id taken just before sending, in order: the new session's replay window refuses
                        // ids far below one it has seen (calls made meanwhile take ids too).
                        let moved = state.withLock { s -> (id: Int64, event: String)? in
                            guard let sub = s.subscriptions.removeValue(forKey: old) else { return nil }
                            defer { s.nextID += 1 }
                            s.subscriptions[s.nextID] = sub
                            return (s.nextID, sub.event)
                        }
                        guard let moved else { continue }
                        let (id, event) = moved
                        if case .failure(let e) = await sendSubscribe(id: id, event: event) {
                            logger.warning("subscription not renewed", metadata: ["event": "\(event)", "error": "\(e)"])
                            // Denied by the gate (the grant went meanwhile): the stream ends. Anything else (no session
                            // yet, a lost link, a timeout, a refused message) is renewed with the next session.
                            if e.code == RemoteError.denied { endSubscription(id, reason: e.message) }
                        }
                    }
                }
            }
        case .denied(let reason):
            state.withLock { $0.lastDenial = reason }
            logger.warning("device denied the session", metadata: ["reason": "\(reason)"])
        case .reply(let id, let result):
            // The device has no session for us (it restarted its side): ask for a new one.
            if case .failure(let e) = result, e.code == -32001 { state.withLock { $0.ready = false } }
            // The device ended a subscription it had accepted (its grant was revoked or expired), or denied a renewal
            // whose wait had already timed out here: either way no event will come for it any more.
            if case .failure(let e) = result, e.code == RemoteError.subscriptionEnded || e.code == RemoteError.denied,
                state.withLock({ $0.pending[id] == nil })
            {
                endSubscription(id, reason: e.message)
                break
            }
            resolve(id, result)
        case .pong:
            state.withLock { $0.lastPongAt = monotonic() }
        case .event(let sub, let plugin, let event, let params, let atMs):
            state.withLock { $0.subscriptions[sub] }?.continuation.yield(Event(plugin: plugin, event: event, params: params, atMs: atMs))
        default:
            break
        }
    }
}

func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
