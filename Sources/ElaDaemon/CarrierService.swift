#if canImport(Glibc)
import Glibc
#endif
import ElaCarrier
import ElaCrypto
import ElaGate
import ElaIdentity
import ElaJSON
import ElaPluginHost
import ElaPluginProtocol
import ElaStorage
import Logging
import Synchronization

/// The device side of the carrier: ela-carrier (the `carrier` plugin) moves bytes; this decides.
///
/// - Friend requests (`carrier.request`) go through ``Admission`` (hello signature, binding, freshness, nonce, DID
///   pinned or SPV-verified, at least one grant); the nonce is also recorded in the gate's nonce table, so a hello
///   cannot be replayed after a restart either. Every decision is audited (rate-limited floods once).
/// - Accepted friends are stored (`settings` rows `carrier.friend.<hex key>` = DID) and handed to every fresh
///   ela-carrier (`carrier.started`), so a killed or upgraded carrier keeps its friends without new requests.
/// - When a friend's link comes up, it gets a fresh challenge; a `carrier.session` proof signed by the admitted DID
///   opens the session. Then calls and subscriptions are signed requests, gated and audited exactly like
///   `elactl call --as`, and must be signed by the session's DID.
final class CarrierService: Sendable {
    static let friendPrefix = "carrier.friend."
    static let pinPrefix = "peer.pin."
    static let windowSeconds: Int64 = 300

    let deviceDID: DID
    let store: AgentStore
    let late: LateBinding
    let spvVerified: @Sendable (DID) -> Bool
    let logger: Logger

    struct Session {
        var did: DID
        var challenge: String
        var ready = false
        var subscriptions: [Int64: EventBus.Subscription] = [:]
    }

    struct State {
        var admission: Admission?
        var publicKeyHex: String?
        var addressHex: String?
        var selfConnection = "none"
        var starts = 0
        var links: [String: String] = [:]
        var sessions: [String: Session] = [:]
        var refused = 0
        var admitted = 0
        var awaitingAdmin = RefusedKeys()
    }

    /// DID -> Tox keys whose authentic hello was refused for want of a pin or grant; a grant or pin for the DID lets
    /// them be heard again. Bounded (Tox keys and DIDs cost nothing to make): 16 keys per DID, 1024 DIDs, the oldest
    /// DID goes first.
    struct RefusedKeys {
        private var keys: [String: Set<String>] = [:]
        private var order: [String] = []

        mutating func remember(_ key: String, for did: String) {
            if keys[did] == nil {
                if keys.count >= 1024, let oldest = order.first {
                    keys[oldest] = nil
                    order.removeFirst()
                }
                order.append(did)
            }
            if (keys[did]?.count ?? 0) < 16 { keys[did, default: []].insert(key) }
        }

        mutating func take(_ did: String) -> Set<String> {
            order.removeAll { $0 == did }
            return keys.removeValue(forKey: did) ?? []
        }
    }
    let state = Mutex(State())

    init(deviceDID: DID, store: AgentStore, late: LateBinding, spvVerified: @escaping @Sendable (DID) -> Bool, logger: Logger) {
        self.deviceDID = deviceDID
        self.store = store
        self.late = late
        self.spvVerified = spvVerified
        self.logger = logger
    }

    var supervisor: PluginSupervisor? { late.plugins?.supervisors["carrier"] }

    /// Requests from the carrier plugin.
    func handle(_ method: String, _ params: JSONObject) async -> Result<JSONValue, PluginProtocolError> {
        switch method {
        case "carrier.started": return started(params)
        case "carrier.request": return await request(params)
        case "carrier.connection": return await connection(params)
        case "carrier.message": return await message(params)
        default: return .failure(PluginProtocolError(.methodNotFound, "the agent does not serve \(method) for the carrier"))
        }
    }

    // MARK: lifecycle

    func started(_ params: JSONObject) -> Result<JSONValue, PluginProtocolError> {
        guard let pk = params["publicKey"]?.stringValue, let key = try? Hex.decode(pk), key.count == 32,
            let address = params["address"]?.stringValue
        else { return .failure(PluginProtocolError(.invalidParams, "carrier.started needs publicKey and address (hex)")) }
        let device = CarrierAddress.userID(publicKey: key)
        state.withLock { s in
            s.publicKeyHex = pk
            s.addressHex = address
            s.starts += 1
            s.links = [:]
            for (_, session) in s.sessions { for sub in session.subscriptions.values { sub.cancel() } }
            s.sessions = [:]
            if s.admission == nil { s.admission = Admission(deviceUserID: device, clock: { Int64(time(nil)) }) }
        }
        let friends = storedFriends().map(\.key)
        logger.info("carrier started", metadata: ["userId": "\(device)", "friends": "\(friends.count)"])
        // In the answer, not a carrier.accept call: the carrier may still be in its handshake, not yet callable.
        return .success(.object(["friends": .number(JSONNumber(friends.count)), "accept": .array(friends.map(JSONValue.string))]))
    }

    func storedFriends() -> [(key: String, did: String)] {
        ((try? store.settings(withPrefix: Self.friendPrefix)) ?? []).map { (String($0.key.dropFirst(Self.friendPrefix.count)), $0.value) }
    }

    // MARK: admission

    /// Grants, verification, and the nonce recorded in the gate's durable nonce table (so a hello cannot be replayed
    /// after a restart either).
    func facts(_ did: DID, _ nonce: String) -> PeerFacts {
        let now = Int64(time(nil))
        let fresh = (try? late.gate?.nonces.insert(subject: did.description, nonce: "hello:" + nonce, seenAt: now)) ?? true
        let grants = (try? late.gate?.grants.list(subject: did.description, includeExpired: false, now: now).count) ?? 0
        let verification: PeerVerification
        if (try? store.setting(Self.pinPrefix + did.description)) != nil {
            verification = .pinned
        } else if spvVerified(did) {
            verification = .spvVerified
        } else {
            verification = .unverified("neither pinned nor SPV-verified")
        }
        return PeerFacts(verification: verification, grants: grants, nonceSeenBefore: fresh == false)
    }

    func request(_ params: JSONObject) async -> Result<JSONValue, PluginProtocolError> {
        guard let keyHex = params["key"]?.stringValue, let key = try? Hex.decode(keyHex), key.count == 32 else {
            return .failure(PluginProtocolError(.invalidParams, "carrier.request needs key (hex)"))
        }
        let text = params["message"]?.stringValue ?? ""
        let sender = CarrierAddress.userID(publicKey: key)
        let decision = state.withLock { s -> AdmissionDecision in
            guard s.admission != nil else { return .refuse(reason: "carrier not started", did: nil, audit: true) }
            let d = s.admission!.evaluate(sender: sender, message: Array(text.utf8), facts: facts)
            // Remembered under the same lock, so a grant arriving right now cannot miss it. Only authentic hellos
            // awaiting a pin or grant count (nobody else can claim a DID's slot).
            if case .refuse(_, let did?, _) = d, s.admission!.lastRefusalAwaitsAdmin { s.awaitingAdmin.remember(keyHex, for: did) }
            return d
        }
        let now = Int64(time(nil))
        switch decision {
        case .accept(let did, _, let verification):
            try? store.setSetting(Self.friendPrefix + keyHex, did.description, now: now)
            state.withLock { $0.admitted += 1 }
            audit(subject: did.description, allow: true, reason: "admitted friend \(sender) (\(verification))", request: text)
            logger.notice("carrier friend admitted", metadata: ["did": "\(did)", "userId": "\(sender)"])
            _ = await supervisor?.call("carrier.accept", ["keys": [.string(keyHex)]])
            return .success(.object(["accepted": true]))
        case .refuse(let reason, let did, let shouldAudit):
            state.withLock { $0.refused += 1 }
            // A rate-limited flood is audited and logged once.
            if shouldAudit {
                audit(subject: did ?? "carrier:\(sender)", allow: false, reason: reason, request: text)
                logger.info("carrier friend request ignored", metadata: ["from": "\(sender)", "reason": "\(reason)"])
            }
            return .success(.object(["accepted": false]))
        }
    }

    /// An admin granted or pinned `did`: toxcore ignores a key whose request it already reported, so the keys this DID
    /// was refused from are forgotten there, and the DApp's pending (resent) or next request is judged again.
    func retryRefused(_ did: String) async {
        let keys = state.withLock { $0.awaitingAdmin.take(did) }
        for key in keys { _ = await supervisor?.call("carrier.forget", ["key": .string(key)]) }
        if !keys.isEmpty { logger.info("carrier: refused requests may come in again", metadata: ["did": "\(did)", "keys": "\(keys.count)"]) }
    }

    func audit(subject: String, allow: Bool, reason: String, request: String, method: String = CarrierHello.method) {
        guard let gate = late.gate else { return }
        let clipped = request.utf8.count > 4096 ? String(decoding: Array(request.utf8.prefix(4096)), as: UTF8.self) : request
        _ = try? gate.audit.append(
            AuditEntry(
                at: wallMillis(), subject: subject, caller: .signed, method: method, capability: "", decision: allow ? .allow : .deny,
                reason: reason, request: clipped))
    }

    // MARK: sessions

    func connection(_ params: JSONObject) async -> Result<JSONValue, PluginProtocolError> {
        let connection = params["connection"]?.stringValue ?? "none"
        guard let keyHex = params["key"]?.stringValue else {
            state.withLock { $0.selfConnection = connection }
            return .success(.object([:]))
        }
        let online = connection != "none"
        let wasOnline = state.withLock { s -> Bool in
            defer { s.links[keyHex] = connection }
            return (s.links[keyHex] ?? "none") != "none"
        }
        // TCP <-> UDP is the same link: the session stays.
        guard online != wasOnline else { return .success(.object([:])) }
        let start = await challenge(keyHex, online: online)
        logger.info("carrier link", metadata: ["friend": "\(keyHex.prefix(16))", "connection": "\(connection)", "challenge": "\(start)"])
        return .success(.object([:]))
    }

    /// Ends the friend's session; if the link is up and the friend was admitted, starts a new one with a fresh challenge.
    @discardableResult
    func challenge(_ keyHex: String, online: Bool) async -> Bool {
        let did = (try? store.setting(Self.friendPrefix + keyHex)).flatMap { $0 }.flatMap { try? DID($0) }
        let challenge = Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        let start = state.withLock { s -> Bool in
            if let old = s.sessions.removeValue(forKey: keyHex) { for sub in old.subscriptions.values { sub.cancel() } }
            guard online, let did else { return false }
            s.sessions[keyHex] = Session(did: did, challenge: challenge)
            return true
        }
        if start { await send(keyHex, .challenge(challenge, device: deviceDID.description)) }
        return start
    }

    func message(_ params: JSONObject) async -> Result<JSONValue, PluginProtocolError> {
        guard let keyHex = params["key"]?.stringValue, let key = try? Hex.decode(keyHex), let text = params["text"]?.stringValue else {
            return .failure(PluginProtocolError(.invalidParams, "carrier.message needs key and text"))
        }
        let m: SessionMessage
        do { m = try SessionMessage(text: text) } catch {
            logger.info("carrier: bad link message", metadata: ["from": "\(keyHex)", "error": "\(error)"])
            return .success(.object([:]))
        }
        let session = state.withLock { $0.sessions[keyHex] }
        switch m {
        case .auth(let proof):
            guard let session, !session.ready else { break }
            let device = state.withLock { $0.admission?.deviceUserID } ?? ""
            if let why = CarrierSessionProof.check(
                proof, did: session.did, challenge: session.challenge, toxUserID: CarrierAddress.userID(publicKey: key),
                deviceUserID: device, now: Int64(time(nil)), windowSeconds: Self.windowSeconds)
            {
                audit(subject: session.did.description, allow: false, reason: why, request: proof, method: CarrierSessionProof.method)
                await send(keyHex, .denied(why))
            } else {
                state.withLock { $0.sessions[keyHex]?.ready = true }
                logger.info("carrier session opened", metadata: ["did": "\(session.did)"])
                audit(subject: session.did.description, allow: true, reason: "session opened", request: proof, method: CarrierSessionProof.method)
                await send(keyHex, .ready)
            }
        case .call(let id, let request):
            let result = await call(session, request)
            await send(keyHex, .reply(id: id, result: result))
        case .subscribe(let id, let request):
            let result = subscribe(keyHex, session, id, request)
            await send(keyHex, .reply(id: id, result: result))
        case .resume:
            // The DApp lost track of its session while the link stayed up (or came back before we noticed): confirm a
            // live session, repeat a pending challenge, or start a new one.
            if let session, session.ready {
                await send(keyHex, .ready)
            } else if let session {
                await send(keyHex, .challenge(session.challenge, device: deviceDID.description))
            } else {
                await challenge(keyHex, online: true)
            }
        case .ping(let n):
            // Only for a live session: a DApp that gets no pong re-handshakes.
            if session?.ready == true { await send(keyHex, .pong(n)) }
        default:
            break
        }
        return .success(.object([:]))
    }

    /// A signed request relayed like `elactl call --as`; it must come from the session's DID.
    func authorize(_ session: Session?, _ request: String) -> Result<SignedRequest, RemoteError> {
        guard let session, session.ready else {
            return .failure(RemoteError(code: -32001, message: "no session: answer the device's challenge first"))
        }
        guard let gate = late.gate else { return .failure(RemoteError(code: -32002, message: "the agent is starting")) }
        let decision: GateDecision
        let signed: SignedRequest?
        if let claimed = try? SignedRequest(text: request) {
            guard claimed.did == session.did else {
                let reason = "request signed by \(claimed.did), but this session belongs to \(session.did)"
                audit(subject: claimed.did.description, allow: false, reason: reason, request: request, method: claimed.method)
                return .failure(RemoteError(code: -32000, message: "denied: \(reason)"))
            }
            (decision, signed) = (gate.authorize(.signed(claimed, rawJSON: request), nowMillis: wallMillis()), claimed)
        } else {
            // Malformed: the gate denies and audits it with what can be read of it.
            (decision, signed) = gate.authorize(signedText: request, nowMillis: wallMillis())
        }
        guard decision.allowed, let signed else {
            return .failure(RemoteError(code: -32000, message: "denied: \(decision.reason) (audit #\(decision.auditSeq.map(String.init) ?? "-"))"))
        }
        return .success(signed)
    }

    func call(_ session: Session?, _ request: String) async -> Result<JSONValue, RemoteError> {
        let signed: SignedRequest
        switch authorize(session, request) {
        case .success(let s): signed = s
        case .failure(let e): return .failure(e)
        }
        guard let route = late.plugins?.route(signed.method) else {
            return .failure(RemoteError(code: -32601, message: "no plugin serves \(signed.method)"))
        }
        switch await route.supervisor.call(signed.method, signed.params) {
        case .success(let v): return .success(v)
        case .failure(.remote(let e)): return .failure(RemoteError(code: Int64(e.kind.code), message: e.message))
        case .failure(let e): return .failure(RemoteError(code: -32003, message: e.description))
        }
    }

    func subscribe(_ keyHex: String, _ session: Session?, _ id: Int64, _ request: String) -> Result<JSONValue, RemoteError> {
        let signed: SignedRequest
        switch authorize(session, request) {
        case .success(let s): signed = s
        case .failure(let e): return .failure(e)
        }
        guard let host = late.plugins, host.capability(ofEvent: signed.method) != nil else {
            return .failure(RemoteError(code: -32602, message: "\(signed.method) is not an event"))
        }
        let sub = host.events.subscribe(patterns: [signed.method], capacity: 256)
        let kept = state.withLock { s -> Bool in
            guard s.sessions[keyHex] != nil else { return false }
            s.sessions[keyHex]?.subscriptions[id]?.cancel()
            s.sessions[keyHex]?.subscriptions[id] = sub
            return true
        }
        guard kept else {
            sub.cancel()
            return .failure(RemoteError(code: -32001, message: "the session ended"))
        }
        Task { [self] in
            while let e = await sub.next() {
                await send(keyHex, .event(sub: id, plugin: e.plugin, event: e.name, params: e.params, atMs: e.receivedAtMs))
            }
        }
        return .success(.object(["subscription": .number(JSONNumber(id)), "event": .string(signed.method)]))
    }

    func send(_ keyHex: String, _ m: SessionMessage) async {
        guard let supervisor else { return }
        if case .failure(let e) = await supervisor.call("carrier.send", ["key": .string(keyHex), "text": .string(m.text)]) {
            logger.debug("carrier send failed", metadata: ["to": "\(keyHex)", "error": "\(e)"])
        }
    }

    // MARK: control

    /// `elactl carrier show`: the device's carrier address and user id.
    func show() -> JSONValue {
        let (pk, address) = state.withLock { ($0.publicKeyHex, $0.addressHex) }
        guard let pk, let address, let key = try? Hex.decode(pk), let a = try? Hex.decode(address),
            let carrierAddress = try? CarrierAddress(bytes: a)
        else { return .object(["running": false, "did": .string(deviceDID.description)]) }
        return .object([
            "running": true, "did": .string(deviceDID.description), "address": .string(carrierAddress.description),
            "userId": .string(CarrierAddress.userID(publicKey: key)),
        ])
    }

    func status(plugin: JSONValue?) -> JSONValue {
        var o = show().objectValue ?? JSONObject()
        let s = state.withLock { $0 }
        o["connection"] = .string(plugin?["connection"]?.stringValue ?? s.selfConnection)
        o["carrierStarts"] = .number(JSONNumber(s.starts))
        o["admitted"] = .number(JSONNumber(s.admitted))
        o["refused"] = .number(JSONNumber(s.refused))
        var links: [String: String] = s.links
        for f in plugin?["friends"]?.arrayValue ?? [] {
            if let k = f["key"]?.stringValue, let c = f["connection"]?.stringValue { links[k] = c }
        }
        o["friends"] = .array(
            storedFriends().map { f in
                let key = (try? Hex.decode(f.key)).map { CarrierAddress.userID(publicKey: $0) } ?? f.key
                let session = s.sessions[f.key]
                return .object([
                    "userId": .string(key), "did": .string(f.did), "connection": .string(links[f.key] ?? "none"),
                    "session": .string(session.map { $0.ready ? "ready" : "challenged" } ?? "none"),
                    "subscriptions": .number(JSONNumber(session?.subscriptions.count ?? 0)),
                ])
            })
        return .object(o)
    }
}
