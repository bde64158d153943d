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
///   pinned or SPV-verified, at least one grant or an announced owner's credential); the nonce is also recorded in the
///   gate's nonce table, so a hello cannot be replayed after a restart either. Every decision is audited
///   (rate-limited floods once).
/// - Accepted friends are stored (`settings` rows `carrier.friend.<hex key>` = DID) and handed to every fresh
///   ela-carrier (`carrier.started`), so a killed or upgraded carrier keeps its friends without new requests.
/// - When a friend's link comes up, it gets a fresh challenge and an ephemeral X25519 key; a `carrier.session` proof
///   signed by the admitted DID (carrying the DApp's ephemeral key) opens the session. Then calls and subscriptions
///   are sealed with the session's MAC key (``SessionSeal``; neither ela-carrier knows it) and pass a replay window,
///   or are signed requests of the session's DID; either way gated against the DID's grants (and the owner's
///   credential the proof presented) and audited like `elactl call --as`. A friend whose proof shows no access (no
///   grant, no good credential) is dropped: it was let in on a credential it did not present, or lost its grants.
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
        /// Ours for this session; its public half goes out with the challenge.
        var keyPair = SessionKeyPair()
        /// Set when the DApp's proof carried its session key.
        var macKey: SessionMACKey?
        var window = ReplayWindow()
        /// How audit rows of its calls name the session: the audit row that opened it.
        var name = "carrier session"
        var ready = false
        /// The owner-issued credential its proof presented (verified then), for its sealed calls.
        var credential: DeviceAccessCredential?
        var subscriptions: [Int64: EventBus.Subscription] = [:]
        /// Subscribes being judged by the gate: each holds a slot, so subscribes handled at once cannot pass the
        /// limit together (and none is refused for it after the gate allowed and audited it).
        var reserved: Set<Int64> = []

        /// Slots held by subscriptions and subscribes being judged, not counting `id` (renewing an id is not a new one).
        func slotsHeld(except id: Int64) -> Int {
            subscriptions.keys.count { $0 != id } + reserved.count { $0 != id }
        }
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

        /// Forgets the friend's session; its subscriptions stop.
        mutating func endSession(_ keyHex: String) {
            if let old = sessions.removeValue(forKey: keyHex) { for sub in old.subscriptions.values { sub.cancel() } }
        }
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

        mutating func takeAll() -> Set<String> {
            defer { (keys, order) = ([:], []) }
            return keys.values.reduce(into: Set<String>()) { $0.formUnion($1) }
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

    /// DIDs an admin pinned (`elactl peer pin`): admitted without a chain proof.
    func pinnedDIDs() throws -> Set<String> {
        Set(try store.settings(withPrefix: Self.pinPrefix).map { String($0.key.dropFirst(Self.pinPrefix.count)) })
    }

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
        let hasOwner = ((try? store.owner()) ?? nil) != nil
        return PeerFacts(verification: verification, grants: grants, nonceSeenBefore: fresh == false, hasOwner: hasOwner)
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
            // Fail-closed, as the gate: no admission without its audit row.
            guard audit(subject: did.description, allow: true, reason: "admitted friend \(sender) (\(verification))", request: text) != nil
            else {
                logger.error("carrier friend not admitted: its audit row could not be written", metadata: ["did": "\(did)"])
                return .success(.object(["accepted": false]))
            }
            let evicted = storeFriend(keyHex, did: did, now: now)
            state.withLock { $0.admitted += 1 }
            logger.notice("carrier friend admitted", metadata: ["did": "\(did)", "userId": "\(sender)"])
            _ = await supervisor?.call("carrier.accept", ["keys": [.string(keyHex)]])
            for old in evicted { _ = await supervisor?.call("carrier.remove", ["key": .string(old)]) }
            if !evicted.isEmpty {
                logger.info("carrier: older Tox keys of the DID dropped", metadata: ["did": "\(did)", "keys": "\(evicted.count)"])
            }
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

    /// A DApp that makes a new Tox identity per session (as any client may) would otherwise add a friend each time,
    /// kept for good: every friend costs toxcore lookups on the network, and the store a row. A DID keeps its most
    /// recently used keys (admitted or with a session opened) up to this many.
    static let maxFriendKeysPerDID = 8
    /// A key this recent is not evicted: admissions of one DID may run at once (a key admitted a moment ago may not
    /// even be accepted by ela-carrier yet), and stamps are whole seconds.
    static let friendKeyGraceSeconds: Int64 = 60

    /// Stores the admitted friend and returns the keys of the same DID past ``maxFriendKeysPerDID``, least recently
    /// used first, removed from the store in the same transaction. Never the key just admitted, one with a session
    /// or a link up (a long subscription on one key outlives many short runs on others), or one used within
    /// ``friendKeyGraceSeconds``: the DID then keeps more for a while.
    func storeFriend(_ keyHex: String, did: DID, now: Int64) -> [String] {
        let busy = state.withLock { s in Set(s.sessions.keys).union(s.links.filter { $0.value != "none" }.keys) }
        let evicted = try? store.write { tx -> [String] in
            try store.setSetting(Self.friendPrefix + keyHex, did.description, now: now, in: tx)
            let keys = try store.settings(withPrefix: Self.friendPrefix, value: did.description, in: tx)
            let idle = keys.filter { key, usedAt in
                let hex = String(key.dropFirst(Self.friendPrefix.count))
                return hex != keyHex && !busy.contains(hex) && now - usedAt >= Self.friendKeyGraceSeconds
            }
            let old = idle.prefix(max(0, keys.count - Self.maxFriendKeysPerDID)).map(\.key)
            for key in old { try store.removeSetting(key, in: tx) }
            return old.map { String($0.dropFirst(Self.friendPrefix.count)) }
        }
        return evicted ?? []
    }

    /// A session opened on this key: it counts as used now (the keys a DID keeps are its most recently used). Only
    /// a friend still stored: one dropped meanwhile stays dropped.
    func touchFriend(_ keyHex: String) {
        _ = try? store.touchSetting(Self.friendPrefix + keyHex, now: Int64(time(nil)))
    }

    /// An admin granted or pinned `did`: toxcore ignores a key whose request it already reported, so the keys this DID
    /// was refused from are forgotten there, and the DApp's pending (resent) or next request is judged again.
    /// `did` nil: every DID's (an owner was set, and hellos announcing its credentials were refused for want of one).
    func retryRefused(_ did: String?) async {
        let keys = state.withLock { s in did.map { s.awaitingAdmin.take($0) } ?? s.awaitingAdmin.takeAll() }
        for key in keys { _ = await supervisor?.call("carrier.forget", ["key": .string(key)]) }
        if !keys.isEmpty { logger.info("carrier: refused requests may come in again", metadata: ["did": "\(did ?? "any")", "keys": "\(keys.count)"]) }
    }

    @discardableResult
    func audit(
        subject: String, allow: Bool, reason: String, request: String, method: String = CarrierHello.method, caller: AuditCaller = .signed
    ) -> Int64? {
        guard let gate = late.gate else { return nil }
        return (try? gate.audit.append(
            AuditEntry(
                at: wallMillis(), subject: subject, caller: caller, method: method, capability: "", decision: allow ? .allow : .deny,
                reason: reason, request: Gate.clipped(request))))?.seq
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
        let session = state.withLock { s -> Session? in
            s.endSession(keyHex)
            guard online, let did else { return nil }
            let session = Session(did: did, challenge: challenge)
            s.sessions[keyHex] = session
            return session
        }
        guard let session else { return false }
        await send(keyHex, challengeMessage(session))
        return true
    }

    /// The challenge of `session` with its key (sent again, unchanged, when the DApp asks to resume a pending one).
    func challengeMessage(_ session: Session) -> SessionMessage {
        .challenge(session.challenge, device: deviceDID.description, sessionKey: Hex.encode(session.keyPair.publicKey))
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
            switch open(session, keyHex: keyHex, toxKey: key, proof: proof) {
            case .failure(let e):
                audit(subject: session.did.description, allow: false, reason: e.message, request: proof, method: CarrierSessionProof.method)
                await send(keyHex, .denied(e.message))
                if e.noAccess { await dropFriend(keyHex, session.did) }
            case .success:
                touchFriend(keyHex)
                logger.info("carrier session opened", metadata: ["did": "\(session.did)"])
                await send(keyHex, .ready(challenge: session.challenge))
            }
        case .call(let id, let request):
            let result = await call(keyHex, session, id, request)
            await send(keyHex, .reply(id: id, result: result))
        case .subscribe(let id, let request):
            let result = subscribe(keyHex, session, id, request)
            await send(keyHex, .reply(id: id, result: result))
        case .unsubscribe(let sub):
            unsubscribe(keyHex, sub)
        case .resume:
            // The DApp lost track of its session while the link stayed up (or came back before we noticed): confirm a
            // live session, repeat a pending challenge, or start a new one.
            if let session, session.ready {
                await send(keyHex, .ready(challenge: session.challenge))
            } else if let session {
                await send(keyHex, challengeMessage(session))
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

    /// Checks the proof; on success the session is ready, keyed when the DApp offered its session key, and named by
    /// the audit row that opened it.
    func open(_ session: Session, keyHex: String, toxKey: [UInt8], proof: String) -> Result<Void, SessionRefused> {
        let device = state.withLock { $0.admission?.deviceUserID } ?? ""
        let now = Int64(time(nil))
        let verified: CarrierSessionProof.Verified
        switch CarrierSessionProof.verify(
            proof, did: session.did, challenge: session.challenge, toxUserID: CarrierAddress.userID(publicKey: toxKey),
            deviceUserID: device, deviceKey: session.keyPair.publicKey, now: now, windowSeconds: Self.windowSeconds)
        {
        case .failure(let e): return .failure(SessionRefused(e.message))
        case .success(let v): verified = v
        }
        let dappKey = verified.sessionKey
        // Access comes from a grant or from the credential the proof presents (admission let a DApp in without a
        // grant only if its hello announced one).
        guard let gate = late.gate else { return .failure(SessionRefused("the agent is starting")) }
        // nil: the lookup failed, which says nothing about the DApp's access (it keeps its friendship).
        let grants = try? gate.grants.list(subject: session.did.description, includeExpired: false, now: now).count
        var credential: DeviceAccessCredential?
        var credentialRefused: CredentialError?
        if let vc = verified.credential {
            switch gate.verifyCredential(vc, caller: session.did, now: now) {
            case .success(let c): credential = c
            case .failure(let e) where (grants ?? 0) > 0:
                // Its grants still stand (as `credential revoke` promises): the session opens on them alone.
                credentialRefused = e
            case .failure(let e): return .failure(SessionRefused("\(e)", noAccess: grants == 0 && !e.isStorageFailure))
            }
        }
        guard (grants ?? 0) > 0 || credential != nil else {
            return .failure(SessionRefused("\(session.did) holds no grant and presented no credential from the owner", noAccess: grants == 0))
        }
        var macKey: SessionMACKey?
        if let dappKey {
            do {
                macKey = try SessionSeal.derive(
                    own: session.keyPair, peer: dappKey, challenge: session.challenge, dappKey: dappKey, deviceKey: session.keyPair.publicKey)
            } catch {
                return .failure(SessionRefused("session key refused: \(error)"))
            }
        }
        let opened = state.withLock { s -> Bool in
            // Still the same session, and not opened meanwhile by a copy of this proof.
            guard let current = s.sessions[keyHex], current.challenge == session.challenge, !current.ready else { return false }
            s.sessions[keyHex]?.ready = true
            s.sessions[keyHex]?.macKey = macKey
            s.sessions[keyHex]?.credential = credential
            return true
        }
        guard opened else { return .failure(SessionRefused("the session was replaced or opened meanwhile")) }
        let calls = macKey == nil ? "signed calls" : "sealed calls"
        let seq = audit(
            subject: session.did.description, allow: true,
            reason: "session opened (\(calls)\(credential.map { ", credential \($0.id)" } ?? "")\(credentialRefused.map { "; on its grants alone, \($0)" } ?? ""))",
            request: proof, method: CarrierSessionProof.method, caller: credential == nil ? .signed : .credential)
        guard seq != nil else {
            // Fail-closed: a session without its audit row does not open.
            state.withLock { s in if s.sessions[keyHex]?.challenge == session.challenge { s.sessions[keyHex]?.ready = false } }
            return .failure(SessionRefused("the audit log is unavailable; the session was not opened"))
        }
        state.withLock { s in
            // Names the session in its calls' audit rows (a call before this line says just "carrier session").
            if s.sessions[keyHex]?.challenge == session.challenge { s.sessions[keyHex]?.name = "carrier session #\(seq.map(String.init) ?? "-")" }
        }
        return .success(())
    }

    /// Why a session proof did not open the session; `noAccess`: the DID holds no grant and presented no good
    /// credential (whatever else is wrong can be the link's or a race's, and does not cost the DApp its friendship).
    struct SessionRefused: Error {
        var message: String
        var noAccess = false
        init(_ message: String, noAccess: Bool = false) {
            self.message = message
            self.noAccess = noAccess
        }
    }

    /// After a session proof that showed no access: the friend (let in on a credential it did not present, or whose
    /// grants went) is forgotten here and in ela-carrier instead of keeping a friend slot and answering challenges.
    /// Its next friend request is judged afresh.
    func dropFriend(_ keyHex: String, _ did: DID) async {
        _ = try? store.removeSetting(Self.friendPrefix + keyHex)
        state.withLock { $0.endSession(keyHex) }
        _ = await supervisor?.call("carrier.remove", ["key": .string(keyHex)])
        logger.notice("carrier friend dropped: no grant and no credential", metadata: ["did": "\(did)"])
    }

    /// The method and params of a session message that may go ahead: sealed with the session key and not seen
    /// before, or signed by the session's DID; either way allowed by the gate (which audits it).
    func authorize(_ keyHex: String, _ session: Session?, kind: String, id: Int64, _ request: SessionRequest)
        -> Result<(method: String, params: JSONObject, decision: GateDecision), RemoteError>
    {
        guard let session, session.ready else {
            return .failure(RemoteError(code: -32001, message: "no session: answer the device's challenge first"))
        }
        guard let gate = late.gate else { return .failure(RemoteError(code: -32002, message: "the agent is starting")) }
        let action: GateAction = kind == "subscribe" ? .subscribe : .call
        func denied(_ d: GateDecision) -> RemoteError {
            // No audit row: the gate could not decide (its log is unavailable), which is no verdict on the DApp.
            RemoteError(
                code: d.auditSeq == nil ? RemoteError.unavailable : RemoteError.denied,
                message: "denied: \(d.reason) (audit #\(d.auditSeq.map(String.init) ?? "-"))")
        }
        switch request {
        case .sealed(let body, let tag):
            guard let key = session.macKey else {
                return .failure(RemoteError(code: RemoteError.messageRefused, message: "this session has no session key: send signed requests"))
            }
            // Not from the session's DApp (its key is in neither carrier): not a caller's request, so logged, not audited.
            let opened: (method: String, params: JSONObject)
            switch SessionSeal.open(key, kind: kind, id: id, body: body, tag: tag) {
            case .success(let o): opened = o
            case .failure(let e):
                logger.warning("carrier: refused a sealed message", metadata: ["did": "\(session.did)", "error": "\(e)"])
                return .failure(RemoteError(code: RemoteError.messageRefused, message: e.message))
            }
            let fresh = state.withLock { s -> Bool in
                guard s.sessions[keyHex]?.challenge == session.challenge else { return false }
                return s.sessions[keyHex]?.window.accept(id) ?? false
            }
            guard fresh else {
                logger.warning("carrier: refused a replayed or stale message id", metadata: ["did": "\(session.did)", "id": "\(id)"])
                return .failure(RemoteError(code: RemoteError.messageRefused, message: "message id \(id) replayed, too old, or from an ended session"))
            }
            let decision = gate.authorize(
                .session(did: session.did, method: opened.method, params: opened.params, request: body, session: "\(session.name), message \(id)",
                    credential: session.credential),
                nowMillis: wallMillis(), action: action)
            return decision.allowed ? .success((opened.method, opened.params, decision)) : .failure(denied(decision))
        case .signed(let text):
            let decision: GateDecision
            let signed: SignedRequest?
            if let claimed = try? SignedRequest(text: text) {
                guard claimed.did == session.did else {
                    let reason = "request signed by \(claimed.did), but this session belongs to \(session.did)"
                    audit(subject: claimed.did.description, allow: false, reason: reason, request: text, method: claimed.method)
                    return .failure(RemoteError(code: RemoteError.denied, message: "denied: \(reason)"))
                }
                (decision, signed) = (gate.authorize(.signed(claimed, rawJSON: text), nowMillis: wallMillis(), action: action), claimed)
            } else {
                // Malformed: the gate denies and audits it with what can be read of it.
                (decision, signed) = gate.authorize(signedText: text, nowMillis: wallMillis(), action: action)
            }
            guard decision.allowed, let signed else { return .failure(denied(decision)) }
            return .success((signed.method, signed.params, decision))
        }
    }

    func call(_ keyHex: String, _ session: Session?, _ id: Int64, _ request: SessionRequest) async -> Result<JSONValue, RemoteError> {
        let call: (method: String, params: JSONObject, decision: GateDecision)
        switch authorize(keyHex, session, kind: "call", id: id, request) {
        case .success(let c): call = c
        case .failure(let e): return .failure(e)
        }
        guard let route = late.plugins?.route(call.method) else {
            return .failure(RemoteError(code: -32601, message: "no plugin serves \(call.method)"))
        }
        switch await route.supervisor.call(call.method, call.params) {
        case .success(let v): return .success(v)
        case .failure(.remote(let e)): return .failure(RemoteError(code: RemoteError.fromPlugin(e.kind.code), message: e.message))
        case .failure(let e): return .failure(RemoteError(code: -32003, message: e.description))
        }
    }

    /// Subscriptions one session may hold at once: each is a queue of up to 256 events and a task, and every
    /// published event is matched against all of them.
    static let maxSubscriptionsPerSession = 32

    static func tooManySubscriptions(_ held: Int) -> RemoteError {
        RemoteError(
            code: RemoteError.tooManySubscriptions,
            message: "this session holds \(held) subscriptions, the most the device keeps for one (unsubscribe one, or they end with the session)")
    }

    /// The DApp stopped reading a stream: its events stop and its slot is free. Not an answer: the DApp forgot it.
    func unsubscribe(_ keyHex: String, _ id: Int64) {
        let (sub, did) = state.withLock { s in
            // One still before the gate loses its reservation, so it is not added when the gate allows it.
            s.sessions[keyHex]?.reserved.remove(id)
            return (s.sessions[keyHex]?.subscriptions.removeValue(forKey: id), s.sessions[keyHex]?.did)
        }
        guard let sub else { return }
        sub.cancel()
        logger.debug("carrier: unsubscribed", metadata: ["did": "\(did.map(\.description) ?? "-")", "subscription": "\(id)"])
    }

    func subscribe(_ keyHex: String, _ session: Session?, _ id: Int64, _ request: SessionRequest) -> Result<JSONValue, RemoteError> {
        // Before the gate: a DApp looping subscriptions gets no audit row per attempt either. The slot is reserved in
        // the session the message came in (a replaced one gets nothing, and the subscription is not added below).
        let challenge = session?.challenge
        let held = state.withLock { s -> Int in
            guard let current = s.sessions[keyHex], current.challenge == challenge else { return 0 }
            let held = current.slotsHeld(except: id)
            if held < Self.maxSubscriptionsPerSession { s.sessions[keyHex]?.reserved.insert(id) }
            return held
        }
        guard held < Self.maxSubscriptionsPerSession else { return .failure(Self.tooManySubscriptions(held)) }
        // Released unless the subscription took it (below); only in the session it was made in.
        defer {
            state.withLock { s in if s.sessions[keyHex]?.challenge == challenge { s.sessions[keyHex]?.reserved.remove(id) } }
        }
        let event: String
        let decision: GateDecision
        switch authorize(keyHex, session, kind: "subscribe", id: id, request) {
        case .success(let c): (event, decision) = (c.method, c.decision)
        case .failure(let e): return .failure(e)
        }
        // Allowed, so some manifest declares the event (the gate denies an unknown one).
        guard let host = late.plugins, let gate = late.gate else {
            return .failure(RemoteError(code: -32002, message: "the agent is starting"))
        }
        let sub = host.events.subscribe(patterns: [event], capacity: 256)
        let added = state.withLock { s -> Bool in
            // Still the session it was judged in, and not unsubscribed meanwhile (which took the reservation).
            guard s.sessions[keyHex]?.challenge == challenge, s.sessions[keyHex]?.reserved.remove(id) != nil else { return false }
            s.sessions[keyHex]?.subscriptions[id]?.cancel()
            s.sessions[keyHex]?.subscriptions[id] = sub
            return true
        }
        guard added else {
            sub.cancel()
            return .failure(RemoteError(code: -32001, message: "the session ended, or the subscription was dropped before it began"))
        }
        Task { [self] in
            while let e = await sub.next() {
                // A grant revoked or expired since the subscription ends it: no event goes out past that.
                guard gate.stillAllows(decision, now: Int64(time(nil))) else {
                    sub.cancel()
                    state.withLock { s in
                        if s.sessions[keyHex]?.subscriptions[id] === sub { s.sessions[keyHex]?.subscriptions[id] = nil }
                    }
                    logger.info("carrier: subscription ended", metadata: ["did": "\(decision.subject)", "event": "\(event)"])
                    let ended = RemoteError(code: RemoteError.subscriptionEnded, message: "subscription ended: \(decision.reason) no longer allows \(event)")
                    await send(keyHex, .reply(id: id, result: .failure(ended)))
                    return
                }
                await send(keyHex, .event(sub: id, plugin: e.plugin, event: e.name, params: e.params, atMs: e.receivedAtMs))
            }
        }
        return .success(.object(["subscription": .number(JSONNumber(id)), "event": .string(event)]))
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
                    "credential": session?.credential.map { .string($0.id.description) } ?? .null,
                ])
            })
        return .object(o)
    }
}
