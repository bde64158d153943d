#if canImport(Glibc)
import Glibc
#endif
import ElaCarrier
import ElaCrypto
import ElaGate
@testable import ElaDaemon
import ElaIdentity
import ElaJSON
import ElaPluginHost
import ElaStorage
import ElaTestSupport
import Logging
import Synchronization
import Testing

/// A carrier service on a fresh database, without a running carrier (what it would send goes nowhere).
struct ServiceFixture {
    let dir = TemporaryDirectory(prefix: "ela-carrier-service")
    let store: AgentStore
    let device: DID
    let late = LateBinding()
    let service: CarrierService

    /// `withGate`: with a gate (the device DID configured) for what needs one; else the service's gate is missing.
    init(withGate: Bool = false) throws {
        store = try AgentStore(path: dir.path + "/agent.db")
        device = try DID(ElaAddress.did(for: ElaPrivateKey.generate().publicKey))
        if withGate {
            late.set(gate: Gate(store: store, configuration: GateConfiguration(deviceDID: device), capabilityOf: { _ in "gpio.read" }), plugins: nil)
        }
        service = CarrierService(deviceDID: device, store: store, late: late, spvVerified: { _ in false }, logger: Logger(label: "test"))
    }

    func remove() {
        store.close()
        dir.remove()
    }
}

@Suite struct CarrierServiceTests {
    /// Each subscription is a queue and a task, and every event is matched against all of them: a DApp looping
    /// subscribe gets a typed refusal past 32, before the gate (no audit row per attempt). Renewing an id it holds is
    /// not a new one.
    @Test func aSessionHoldsAtMostThirtyTwoSubscriptions() throws {
        let f = try ServiceFixture()
        defer { f.remove() }
        let (did, service) = (f.device, f.service)
        let bus = EventBus()
        var session = CarrierService.Session(did: did, challenge: "c")
        for id in 1...Int64(CarrierService.maxSubscriptionsPerSession) {
            session.subscriptions[id] = bus.subscribe(patterns: ["sensors.reading"], capacity: 1)
        }
        service.state.withLock { $0.sessions["k"] = session }
        let request = SessionRequest.signed("{}")
        guard case .failure(let refused) = service.subscribe("k", session, 99, request) else {
            Issue.record("a 33rd subscription was taken")
            return
        }
        #expect(refused.code == RemoteError.tooManySubscriptions)
        #expect(refused.message.contains("holds 32 subscriptions"))
        // An id the session holds passes the count (and goes on to the gate, which this bare service lacks).
        guard case .failure(let renewed) = service.subscribe("k", session, 5, request) else { return }
        #expect(renewed.code != RemoteError.tooManySubscriptions)
        // A subscribe still before the gate holds a slot too: two at once cannot both take the last one.
        service.state.withLock { s in
            s.sessions["k"]?.subscriptions.removeValue(forKey: 1)?.cancel()
            s.sessions["k"]?.reserved = [40]
        }
        guard case .failure(let racing) = service.subscribe("k", session, 99, request) else { return }
        #expect(racing.code == RemoteError.tooManySubscriptions)
        service.state.withLock { $0.sessions["k"]?.reserved = [] }
        guard case .failure(let judged) = service.subscribe("k", session, 99, request) else { return }
        #expect(judged.code != RemoteError.tooManySubscriptions)
        #expect(service.state.withLock { $0.sessions["k"]?.reserved } == [], "a subscribe the gate refused gives its slot back")
    }

    /// A session opens for a DID that holds a grant or presents a good credential from the owner; a friend without
    /// either is dropped.
    @Test func aSessionOpensOnlyWithAGrantOrAGoodOwnersCredential() async throws {
        let f = try ServiceFixture(withGate: true)
        defer { f.remove() }
        let (store, service, gate) = (f.store, f.service, try #require(f.late.gate))
        let now = Int64(time(nil))
        func identity() throws -> (key: ElaPrivateKey, did: DID, document: DIDDocument) {
            let key = ElaPrivateKey.generate()
            let doc = try DIDDocument.primitive(for: key.publicKey, now: DIDDate(secondsSince1970: now)).signed(with: key, created: DIDDate(secondsSince1970: now))
            return (key, doc.subject, doc)
        }
        let owner = try identity()
        let dapp = try identity()
        _ = try gate.setOwner(documentText: owner.document.normalizedString, uid: 0, now: now)
        func credential(to subject: DID? = nil, by issuer: (key: ElaPrivateKey, did: DID, document: DIDDocument)? = nil, expires: Int64 = 3600) throws -> VerifiableCredential {
            let signer = issuer ?? owner
            return try DeviceAccessCredential.issue(
                to: subject ?? dapp.did, capabilities: [try CapabilityPattern("gpio.read")], owner: signer.document, key: signer.key,
                issuanceDate: DIDDate(secondsSince1970: now - 7200), expirationDate: DIDDate(secondsSince1970: now + expires))
        }
        let toxKey = [UInt8](repeating: 5, count: 32)
        let keyHex = Hex.encode(toxKey)
        var attempt = 0
        /// A fresh session awaiting its proof, and a good proof for it.
        func awaitingProof(_ vc: VerifiableCredential?) throws -> (CarrierService.Session, String) {
            attempt += 1
            let session = CarrierService.Session(did: dapp.did, challenge: "c\(attempt)")
            service.state.withLock { $0.sessions[keyHex] = session }
            let proof = try CarrierSessionProof.make(
                did: dapp.did, key: dapp.key, challenge: session.challenge, toxUserID: CarrierAddress.userID(publicKey: toxKey), deviceUserID: "",
                sessionKeys: (SessionKeyPair().publicKey, session.keyPair.publicKey), credential: vc, now: now)
            return (session, proof)
        }
        func open(_ vc: VerifiableCredential?) throws -> Result<Void, CarrierService.SessionRefused> {
            let (session, proof) = try awaitingProof(vc)
            return service.open(session, keyHex: keyHex, toxKey: toxKey, proof: proof)
        }
        func refusal(_ r: Result<Void, CarrierService.SessionRefused>) -> String {
            if case .failure(let e) = r { return e.message }
            return "opened"
        }
        #expect(refusal(try open(nil)).contains("holds no grant and presented no credential"))
        let stranger = try identity()
        #expect(refusal(try open(try credential(to: stranger.did))).contains("is not the caller"))
        #expect(refusal(try open(try credential(by: stranger))).contains("is not the owner"))
        #expect(refusal(try open(try credential(expires: -60))).contains("expired"))
        let good = try credential()
        #expect(refusal(try open(good)) == "opened")
        #expect(service.state.withLock { $0.sessions[keyHex]?.credential?.id } == good.id)
        let opened = try #require(try gate.audit.list(AuditFilter(limit: 1)).first)
        #expect(opened.entry.caller == .credential && opened.entry.reason.contains("credential \(good.id)"), "\(opened.entry)")

        // Refused without access, the friend is forgotten; refused for something else, or with a grant, it stays.
        func deliver(_ proof: String) async {
            _ = await service.message(["key": .string(keyHex), "text": .string(SessionMessage.auth(proof: proof).text)])
        }
        func isFriend() throws -> Bool { try store.setting(CarrierService.friendPrefix + keyHex) != nil }
        try store.setSetting(CarrierService.friendPrefix + keyHex, dapp.did.description, now: now)
        _ = try awaitingProof(nil)
        await deliver("{}")
        #expect(try isFriend(), "a malformed proof says nothing about access")
        await deliver(try awaitingProof(nil).1)
        #expect(try !isFriend())
        #expect(service.state.withLock { $0.sessions[keyHex] } == nil)
        try store.setSetting(CarrierService.friendPrefix + keyHex, dapp.did.description, now: now)
        await deliver(try awaitingProof(try credential(expires: -60)).1)
        #expect(try !isFriend(), "a credential that does not hold is no access either")
        try store.setSetting(CarrierService.friendPrefix + keyHex, dapp.did.description, now: now)
        _ = try gate.addGrant(subject: dapp.did.description, capability: "gpio.read", constraints: .none, expiresAt: nil, note: "", uid: 0, now: now)
        await deliver(try awaitingProof(try credential(expires: -60)).1)
        #expect(try isFriend(), "its grant still gives it access")
        #expect(service.state.withLock { $0.sessions[keyHex]?.ready } == true, "the session opens on its grants alone")
        #expect(service.state.withLock { $0.sessions[keyHex]?.credential } == nil)
        let row = try #require(try gate.audit.list(AuditFilter(limit: 1)).first)
        #expect(row.entry.reason.contains("on its grants alone, credential: expired"), "\(row.entry.reason)")
    }

    /// An unsubscribe that overtakes its subscribe (the DApp dropped the stream before the answer): the subscription
    /// is not added when the gate allows it.
    @Test func anUnsubscribeBeforeTheGateAllowedTheSubscribeWins() async throws {
        let f = try ServiceFixture()
        defer { f.remove() }
        let (did, service) = (f.device, f.service)
        var session = CarrierService.Session(did: did, challenge: "c")
        session.reserved = [4]
        service.state.withLock { $0.sessions["0a"] = session }
        _ = await service.message(["key": "0a", "text": .string(SessionMessage.unsubscribe(sub: 4).text)])
        #expect(service.state.withLock { $0.sessions["0a"]?.reserved } == [], "the reservation went with the unsubscribe")
    }

    /// A DApp that drops a stream says so: the device stops its events and the slot is free for another.
    @Test func anUnsubscribeFreesTheSlotAndStopsTheEvents() async throws {
        let f = try ServiceFixture()
        defer { f.remove() }
        let (did, service) = (f.device, f.service)
        let bus = EventBus()
        var session = CarrierService.Session(did: did, challenge: "c")
        let dropped = bus.subscribe(patterns: ["sensors.reading"], capacity: 4)
        session.subscriptions[1] = dropped
        session.subscriptions[2] = bus.subscribe(patterns: ["sensors.reading"], capacity: 4)
        service.state.withLock { $0.sessions["k"] = session }
        let text = SessionMessage.unsubscribe(sub: 1).text
        _ = await service.message(["key": "0a", "text": .string(text)])
        // The session is keyed by the sender's key: "0a" is another DApp's, whose unsubscribe touches nothing here.
        #expect(service.state.withLock { $0.sessions["k"]?.subscriptions.count } == 2)
        service.state.withLock { $0.sessions["0a"] = $0.sessions.removeValue(forKey: "k") }
        _ = await service.message(["key": "0a", "text": .string(text)])
        #expect(service.state.withLock { $0.sessions["0a"].map { Array($0.subscriptions.keys) } } == [2])
        #expect(await dropped.next() == nil, "the dropped subscription's queue ended")
        // An id the session does not hold (already dropped, or never made) is ignored.
        _ = await service.message(["key": "0a", "text": .string(SessionMessage.unsubscribe(sub: 1).text)])
        #expect(service.state.withLock { $0.sessions["0a"]?.subscriptions.count } == 1)
    }

    /// A DApp with a new Tox identity per session does not pile up friends: a DID keeps its most recently used keys
    /// (admitted, or with a session opened since) up to eight, another DID's are untouched, and never dropped are the
    /// key just admitted, a key with a session (a long subscription outlives many short runs), or one used in the
    /// last minute (admissions of one DID may overlap; stamps are whole seconds).
    @Test func aDIDKeepsItsEightMostRecentlyUsedToxKeys() throws {
        let f = try ServiceFixture()
        defer { f.remove() }
        let a = try DID(ElaAddress.did(for: ElaPrivateKey.generate().publicKey))
        let b = try DID(ElaAddress.did(for: ElaPrivateKey.generate().publicKey))
        func key(_ i: Int) -> String { Hex.encode([UInt8](repeating: UInt8(i), count: 32)) }
        #expect(f.service.storeFriend(key(99), did: b, now: 1000) == [])
        var evicted: [String] = []
        for i in 0..<8 { evicted += f.service.storeFriend(key(i), did: a, now: 1000 + 100 * Int64(i)) }
        #expect(evicted.isEmpty)
        // Key 0 opens a session: it is used now, so key 1 is the least recently used.
        f.service.touchFriend(key(0))
        let now = Int64(time(nil))
        #expect(f.service.storeFriend(key(8), did: a, now: now) == [key(1)])
        // Key 2 has a live session: it stays, the next one goes.
        f.service.state.withLock { $0.sessions[key(2)] = CarrierService.Session(did: a, challenge: "c") }
        #expect(f.service.storeFriend(key(9), did: a, now: now) == [key(3)])
        // Admitted by a clock stepped back, older than all: every other key looks used later, so none goes (nor it).
        #expect(f.service.storeFriend(key(10), did: a, now: 500) == [])
        // Everything else used within the last minute: nothing goes, and the DID keeps nine for a while.
        let h = try ServiceFixture()
        defer { h.remove() }
        for i in 0..<9 { #expect(h.service.storeFriend(key(i), did: a, now: now) == []) }
        let stored = try f.store.settings(withPrefix: CarrierService.friendPrefix)
        #expect(stored.filter { $0.value == a.description }.count == 9)
        #expect(Set(stored.map(\.key)).isSuperset(of: [key(0), key(2), key(4), key(8), key(9), key(10), key(99)].map { CarrierService.friendPrefix + $0 }))
        // A dropped friend is not brought back by a late touch.
        f.service.touchFriend(key(1))
        #expect(try f.store.setting(CarrierService.friendPrefix + key(1)) == nil)
    }
}
