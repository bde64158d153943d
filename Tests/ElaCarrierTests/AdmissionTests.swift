import ElaCarrier
import ElaCrypto
import ElaGate
import ElaIdentity
import ElaJSON
import ElaTestSupport
import Synchronization
import Testing

/// The hello rules, one by one, on a manual clock: no Tox, no sockets.
@Suite struct AdmissionTests {
    final class ManualClock: Sendable {
        let seconds = Atomic<Int64>(1_800_000_000)
        func advance(_ s: Int64) { seconds.add(s, ordering: .relaxed) }
        var now: Int64 { seconds.load(ordering: .relaxed) }
    }

    struct Peer {
        let key = ElaPrivateKey.generate()
        var did: DID { try! DID(ElaAddress.did(for: key.publicKey)) }
    }

    let device = CarrierAddress.userID(publicKey: [UInt8](repeating: 7, count: 32))
    let toxKey = CarrierAddress.userID(publicKey: [UInt8](repeating: 9, count: 32))
    let clock = ManualClock()

    func machine(_ policy: AdmissionPolicy = AdmissionPolicy()) -> Admission {
        let c = clock
        return Admission(deviceUserID: device, policy: policy, clock: { c.now })
    }

    func hello(_ p: Peer, toxKey: String? = nil, device: String? = nil, at: Int64? = nil, nonce: String? = nil) throws -> [UInt8] {
        try CarrierHello.make(
            did: p.did, key: p.key, toxUserID: toxKey ?? self.toxKey, deviceUserID: device ?? self.device, now: at ?? clock.now, nonce: nonce)
    }

    let good: (DID, String) -> PeerFacts = { _, _ in PeerFacts(verification: .pinned, grants: 1) }

    func reason(_ d: AdmissionDecision) -> String {
        if case .refuse(let r, _, _) = d { return r }
        return "accepted"
    }

    @Test func aGoodHelloIsAcceptedAndFitsAFriendRequest() throws {
        var m = machine()
        let p = Peer()
        let h = try hello(p)
        #expect(h.count <= 1016)
        let d = m.evaluate(sender: toxKey, message: h, facts: good)
        guard case .accept(let did, _, .pinned) = d else { Issue.record("\(d)"); return }
        #expect(did == p.did)
    }

    @Test func tamperedHellosAreRefused() throws {
        var policy = AdmissionPolicy()
        policy.burst = 100  // every case from the same key; the rate limit has its own test
        var m = machine(policy)
        let p = Peer()
        let other = Peer()
        let text = String(decoding: try hello(p), as: UTF8.self)
        // Another DID claimed with the same key and signature.
        let otherDID = text.replacingFirst(p.did.description, with: other.did.description)
        #expect(reason(m.evaluate(sender: toxKey, message: Array(otherDID.utf8), facts: good)).contains("is not the DID"))
        // A changed param breaks the signature.
        let ts = try JSONParser.parse(text)["timestamp"]!.numberValue!.text
        let shifted = text.replacingFirst("\"timestamp\":\(ts)", with: "\"timestamp\":\(Int64(ts)! + 1)")
        #expect(reason(m.evaluate(sender: toxKey, message: Array(shifted.utf8), facts: good)) == "bad signature on the hello")
        // Made for another Tox key or another device.
        let theirs = CarrierAddress.userID(publicKey: [UInt8](repeating: 1, count: 32))
        #expect(reason(m.evaluate(sender: toxKey, message: try hello(p, toxKey: theirs), facts: good)).contains("binds Tox key"))
        #expect(reason(m.evaluate(sender: toxKey, message: try hello(p, device: theirs), facts: good)).contains("not this one"))
        #expect(reason(m.evaluate(sender: toxKey, message: Array("not json".utf8), facts: good)).hasPrefix("malformed hello"))
        #expect(reason(m.evaluate(sender: toxKey, message: [UInt8](repeating: 0x20, count: 1017), facts: good)).contains("exceeds"))
    }

    @Test func staleFutureAndReplayedHellosAreRefused() throws {
        var m = machine()
        let p = Peer()
        #expect(reason(m.evaluate(sender: toxKey, message: try hello(p, at: clock.now - 301), facts: good)).hasPrefix("stale hello"))
        #expect(reason(m.evaluate(sender: toxKey, message: try hello(p, at: clock.now + 301), facts: good)).contains("future"))
        // The device's own time is said too (either clock may be wrong); one before 2025 is not set yet.
        var other = machine()  // (m's rate limit is for the cases below)
        #expect(reason(other.evaluate(sender: toxKey, message: try hello(p, at: clock.now + 302), facts: good)).hasSuffix("(this device's clock reads 2027-01-15T08:00:00Z)"))
        var unset = Admission(deviceUserID: device, clock: { 60 })
        #expect(reason(unset.evaluate(sender: toxKey, message: try hello(p), facts: good)).hasSuffix("reads 1970-01-01T00:01:00Z, before 2025: not set yet?)"))
        let h = try hello(p, at: clock.now - 290)
        #expect(m.evaluate(sender: toxKey, message: h, facts: good).isAccepted)
        clock.advance(5)
        #expect(reason(m.evaluate(sender: toxKey, message: h, facts: good)) == "replayed hello nonce")
        clock.advance(20)
        #expect(reason(m.evaluate(sender: toxKey, message: h, facts: good)).hasPrefix("stale hello"), "and later it is stale anyway")
    }

    /// toxcore resends a pending request with the same hello. Refused for want of a grant or a pin, the same hello
    /// from the same key is judged again (an admin may have acted meanwhile) and accepted once; after that it is a
    /// replay. Another key cannot send it (the hello binds the key), and the window still makes it stale.
    @Test func aResentHelloRefusedForWantOfAGrantIsJudgedAgain() throws {
        var m = machine()
        let p = Peer()
        let h = try hello(p)
        let ungranted: (DID, String) -> PeerFacts = { _, _ in PeerFacts(verification: .pinned, grants: 0) }
        let seen: (DID, String) -> PeerFacts = { _, _ in PeerFacts(verification: .pinned, grants: 1, nonceSeenBefore: true) }
        #expect(reason(m.evaluate(sender: toxKey, message: h, facts: ungranted)).contains("holds no grant"))
        #expect(m.lastRefusalAwaitsAdmin)
        clock.advance(20)
        #expect(reason(m.evaluate(sender: toxKey, message: h, facts: ungranted)).contains("holds no grant"), "still no grant")
        clock.advance(20)
        // Granted now; the daemon's durable nonce table has seen this nonce, which for a resend does not count.
        #expect(m.evaluate(sender: toxKey, message: h, facts: seen).isAccepted)
        clock.advance(20)
        #expect(reason(m.evaluate(sender: toxKey, message: h, facts: good)) == "replayed hello nonce", "accepted once only")
        #expect(!m.lastRefusalAwaitsAdmin, "a replay is not for an admin to fix")

        // Not pinned, then pinned: the same.
        var pin = machine()
        let r = try hello(Peer())
        let unverified: (DID, String) -> PeerFacts = { _, _ in PeerFacts(verification: .unverified("not pinned"), grants: 1) }
        #expect(reason(pin.evaluate(sender: toxKey, message: r, facts: unverified)).hasPrefix("DID not verified"))
        #expect(pin.lastRefusalAwaitsAdmin)
        clock.advance(20)
        #expect(pin.evaluate(sender: toxKey, message: r, facts: good).isAccepted)

        var other = machine()
        let q = Peer()
        let g = try hello(q)
        #expect(reason(other.evaluate(sender: toxKey, message: g, facts: ungranted)).contains("holds no grant"))
        let stranger = CarrierAddress.userID(publicKey: (0..<32).map { UInt8($0) })
        #expect(reason(other.evaluate(sender: stranger, message: g, facts: good)).contains("binds Tox key"), "another key cannot resend it")
        clock.advance(20)
        #expect(reason(other.evaluate(sender: toxKey, message: try hello(q, at: clock.now - 400), facts: good)).hasPrefix("stale hello"))
    }

    @Test func aNonceTheDaemonRemembersIsAReplay() throws {
        var m = machine()
        let p = Peer()
        let h = try hello(p)
        let nonce = try JSONParser.parse(String(decoding: h, as: UTF8.self))["nonce"]?.stringValue
        var asked: String?
        let d = m.evaluate(sender: toxKey, message: h) { _, n in
            asked = n
            return PeerFacts(verification: .pinned, grants: 1, nonceSeenBefore: true)
        }
        #expect(reason(d).hasPrefix("replayed hello nonce") && asked == nonce?.lowercased())
    }

    @Test func unverifiedOrUngrantedDIDsAreRefused() throws {
        var m = machine()
        let p = Peer()
        #expect(
            reason(m.evaluate(sender: toxKey, message: try hello(p), facts: { _, _ in PeerFacts(verification: .unverified("not found on chain"), grants: 3) }))
                .contains("not verified"))
        #expect(
            reason(m.evaluate(sender: toxKey, message: try hello(p), facts: { _, _ in PeerFacts(verification: .spvVerified, grants: 0) }))
                .contains("holds no grant"))
        let d = m.evaluate(sender: toxKey, message: try hello(p), facts: { _, _ in PeerFacts(verification: .spvVerified, grants: 2) })
        guard case .accept(_, _, .spvVerified) = d else { Issue.record("\(d)"); return }
    }

    @Test func floodsFromOneKeyAreRateLimitedAndAuditedOnce() throws {
        var m = machine()
        let p = Peer()
        var decisions: [AdmissionDecision] = []
        for _ in 0..<8 { decisions.append(m.evaluate(sender: toxKey, message: try hello(p), facts: good)) }
        #expect(decisions.prefix(4).allSatisfy { $0.isAccepted })
        let limited = decisions.dropFirst(4)
        #expect(limited.allSatisfy { reason($0).hasPrefix("rate limited") })
        #expect(limited.map { if case .refuse(_, _, let audit) = $0 { audit } else { true } } == [true, false, false, false])
        // Another key is not affected; the limited key recovers over time.
        let other = CarrierAddress.userID(publicKey: [UInt8](repeating: 3, count: 32))
        #expect(m.evaluate(sender: other, message: try hello(p, toxKey: other), facts: good).isAccepted)
        clock.advance(15)
        #expect(m.evaluate(sender: toxKey, message: try hello(p), facts: good).isAccepted)
    }

    /// A DApp whose access is an owner-issued credential holds no grant: its hello announces the credential (too
    /// large for a friend request itself), and it gets in on a device with an owner; its session proof carries the
    /// credential, which the gate then checks.
    @Test func aHelloAnnouncingACredentialIsAdmittedWithoutAGrantOnADeviceWithAnOwner() throws {
        var m = machine()
        let p = Peer()
        let announcing = try CarrierHello.make(
            did: p.did, key: p.key, toxUserID: toxKey, deviceUserID: device, credentialID: p.did.description + "#access", now: clock.now)
        #expect(announcing.count <= CarrierHello.maxBytes)
        let owned: (DID, String) -> PeerFacts = { _, _ in PeerFacts(verification: .pinned, grants: 0, hasOwner: true) }
        let ownerless: (DID, String) -> PeerFacts = { _, _ in PeerFacts(verification: .pinned, grants: 0, hasOwner: false) }
        #expect(reason(m.evaluate(sender: toxKey, message: announcing, facts: ownerless)).contains("no owner to issue credentials"))
        #expect(m.lastRefusalAwaitsAdmin, "setting an owner would change the answer")
        clock.advance(20)
        #expect(m.evaluate(sender: toxKey, message: announcing, facts: owned).isAccepted)
        // Without the announcement an owner is no reason to let a DID without a grant in.
        clock.advance(20)
        #expect(reason(m.evaluate(sender: toxKey, message: try hello(Peer()), facts: owned)).hasSuffix("holds no grant"))
        // Unverified stays refused, credential or not.
        clock.advance(20)
        let unverified: (DID, String) -> PeerFacts = { _, _ in PeerFacts(verification: .unverified("x"), grants: 0, hasOwner: true) }
        let q = Peer()
        let other = try CarrierHello.make(did: q.did, key: q.key, toxUserID: toxKey, deviceUserID: device, credentialID: "x", now: clock.now)
        #expect(reason(m.evaluate(sender: toxKey, message: other, facts: unverified)).hasPrefix("DID not verified"))
    }

    @Test func sessionProofsBindTheChallengeToTheDIDKey() throws {
        let p = Peer()
        let other = Peer()
        let proof = try CarrierSessionProof.make(did: p.did, key: p.key, challenge: "abcd", toxUserID: toxKey, deviceUserID: device, now: clock.now)
        func check(_ text: String, did: DID? = nil, challenge: String = "abcd") -> String? {
            CarrierSessionProof.check(
                text, did: did ?? p.did, challenge: challenge, toxUserID: toxKey, deviceUserID: device, now: clock.now, windowSeconds: 300)
        }
        #expect(check(proof) == nil)
        #expect(check(proof, challenge: "abce")?.contains("another challenge") == true)
        #expect(check(proof, did: other.did)?.contains("the hello was from") == true)
        let forged = try CarrierSessionProof.make(did: other.did, key: other.key, challenge: "abcd", toxUserID: toxKey, deviceUserID: device, now: clock.now)
        #expect(check(forged)?.contains("the hello was from") == true)
    }

    @Test func sessionProofsCarryTheDAppsSessionKey() throws {
        let p = Peer()
        let key = SessionKeyPair().publicKey
        let deviceKey = SessionKeyPair().publicKey
        func verify(_ text: String, deviceKey: [UInt8]? = deviceKey) -> Result<[UInt8]?, CarrierProtocolError> {
            CarrierSessionProof.verify(
                text, did: p.did, challenge: "abcd", toxUserID: toxKey, deviceUserID: device, deviceKey: deviceKey, now: clock.now,
                windowSeconds: 300
            ).map(\.sessionKey)
        }
        let keyed = try CarrierSessionProof.make(
            did: p.did, key: p.key, challenge: "abcd", toxUserID: toxKey, deviceUserID: device, sessionKeys: (key, deviceKey), now: clock.now)
        #expect(try verify(keyed).get() == key)
        // The device key the DApp saw must be the one this device sent (a carrier in the middle swapped it).
        #expect(throws: CarrierProtocolError.self) { try verify(keyed, deviceKey: SessionKeyPair().publicKey).get() }
        #expect(throws: CarrierProtocolError.self) { try verify(keyed, deviceKey: nil).get() }
        let plain = try CarrierSessionProof.make(did: p.did, key: p.key, challenge: "abcd", toxUserID: toxKey, deviceUserID: device, now: clock.now)
        #expect(try verify(plain).get() == nil)
        // A key that is not 32 bytes of hex is refused, signature or not.
        let bad = try SignedRequest.sign(
            method: CarrierSessionProof.method,
            params: ["challenge": "abcd", "toxKey": .string(toxKey), "device": .string(device), "sessionKey": "abc", "deviceKey": .string(Hex.encode(deviceKey))],
            privateKey: p.key,
            did: p.did, now: clock.now
        ).text
        #expect(throws: CarrierProtocolError.self) { try verify(bad).get() }
        // The key is under the signature: swapping it breaks the proof.
        let swapped = keyed.replacingFirst(Hex.encode(key), with: Hex.encode(SessionKeyPair().publicKey))
        #expect(throws: CarrierProtocolError.self) { try verify(swapped).get() }
    }

    @Test func sealedRequestsOpenOnlyWithTheSessionKeyForTheirIdAndKind() throws {
        let dapp = SessionKeyPair(), dev = SessionKeyPair()
        let k1 = try SessionSeal.derive(own: dapp, peer: dev.publicKey, challenge: "c1", dappKey: dapp.publicKey, deviceKey: dev.publicKey)
        let k2 = try SessionSeal.derive(own: dev, peer: dapp.publicKey, challenge: "c1", dappKey: dapp.publicKey, deviceKey: dev.publicKey)
        let body = SessionSeal.body(method: "gpio.write", params: ["pin": "LED0", "value": 1])
        let tag = SessionSeal.tag(k1, kind: "call", id: 7, body: body)
        let opened = try SessionSeal.open(k2, kind: "call", id: 7, body: body, tag: tag).get()
        #expect(opened.method == "gpio.write" && opened.params == ["pin": "LED0", "value": 1])
        #expect(throws: CarrierProtocolError.self) { try SessionSeal.open(k2, kind: "call", id: 8, body: body, tag: tag).get() }
        #expect(throws: CarrierProtocolError.self) { try SessionSeal.open(k2, kind: "subscribe", id: 7, body: body, tag: tag).get() }
        let tampered = body.replacingFirst("1", with: "0")
        #expect(throws: CarrierProtocolError.self) { try SessionSeal.open(k2, kind: "call", id: 7, body: tampered, tag: tag).get() }
        #expect(throws: CarrierProtocolError.self) { try SessionSeal.open(k2, kind: "call", id: 7, body: body, tag: "zz").get() }
        // Another challenge (another session) gives another key.
        let k3 = try SessionSeal.derive(own: dev, peer: dapp.publicKey, challenge: "c2", dappKey: dapp.publicKey, deviceKey: dev.publicKey)
        #expect(throws: CarrierProtocolError.self) { try SessionSeal.open(k3, kind: "call", id: 7, body: body, tag: tag).get() }
        // A good tag over a body that is not a request is still refused, with the reason.
        for junk in ["[]", #"{"method":""}"#, #"{"method":"a.b","params":[1]}"#, "{"] {
            let t = SessionSeal.tag(k1, kind: "call", id: 9, body: junk)
            #expect(throws: CarrierProtocolError.self) { try SessionSeal.open(k2, kind: "call", id: 9, body: junk, tag: t).get() }
        }
    }

    @Test func theReplayWindowAcceptsEachIdOnceAndLateOnesWithinSixtyFour() {
        var w = ReplayWindow()
        func accepts(_ ids: [Int64]) -> [Bool] { ids.map { w.accept($0) } }
        #expect(accepts([0, -5]) == [false, false])
        #expect(accepts([1, 1]) == [true, false])
        #expect(accepts([5, 3, 3, 2, 4, 5]) == [true, true, false, true, true, false])
        // 100 is new; 36 is 64 below it (too old), 37 the oldest still in the window.
        #expect(accepts([100, 36, 37, 37]) == [true, false, true, false])
        #expect(accepts([1000, 100, 999]) == [true, false, true])
        #expect(w.highest == 1000)
        var big = ReplayWindow()
        let edge = [Int64.max, Int64.max, Int64.max - 63, Int64.max - 64].map { big.accept($0) }
        #expect(edge == [true, false, true, false])
    }

    @Test func addressesRoundTripAndCheckTheirChecksum() throws {
        let key = (0..<32).map { UInt8($0) }
        let a = try CarrierAddress(publicKey: key, nospam: 0xDEADBEEF)
        #expect(a.bytes.count == 38 && a.publicKey == key)
        let parsed = try CarrierAddress(a.description)
        #expect(parsed == a && parsed.userID == CarrierAddress.userID(publicKey: key))
        #expect(try CarrierAddress.publicKey(userID: a.userID) == key)
        var broken = a.bytes
        broken[3] ^= 1
        #expect(throws: CarrierAddressError.badChecksum) { try CarrierAddress(bytes: broken) }
        #expect(throws: CarrierAddressError.wrongLength(3)) { try CarrierAddress(bytes: [1, 2, 3]) }
        #expect(throws: CarrierAddressError.notBase58("0OIl")) { try CarrierAddress("0OIl") }
    }

    @Test func sessionMessagesRoundTrip() throws {
        let all: [SessionMessage] = [
            .challenge("00ff", device: "did:elastos:x", sessionKey: nil), .challenge("00ff", device: "did:elastos:x", sessionKey: "ab"),
            .auth(proof: "{}"), .ready(challenge: nil), .ready(challenge: "00ff"), .denied("no"), .call(id: 3, .signed("{}")), .call(id: 6, .sealed(body: "{}", tag: "00")),
            .subscribe(id: 4, .signed("{}")), .subscribe(id: 7, .sealed(body: "{}", tag: "11")),
            .reply(id: 3, result: .success(.object(["value": 1]))),
            .reply(id: 5, result: .failure(RemoteError(code: -32000, message: "denied: x"))),
            .event(sub: 4, plugin: "sensors", event: "sensors.reading", params: ["v": 1], atMs: 12), .ping(7), .pong(7), .resume,
            .unsubscribe(sub: 4),
        ]
        for m in all { #expect(try SessionMessage(text: m.text) == m) }
        #expect(throws: CarrierProtocolError.self) { try SessionMessage(text: #"{"t":"bogus"}"#) }
        #expect(throws: CarrierProtocolError.self) { try SessionMessage(text: #"{"t":"call","id":"x","request":"r"}"#) }
        #expect(throws: CarrierProtocolError.self) { try SessionMessage(text: #"{"t":"call","id":1,"body":"{}"}"#) }
        #expect(throws: CarrierProtocolError.self) { try SessionMessage(text: #"{"t":"unsubscribe","sub":"4"}"#) }
        #expect(throws: CarrierProtocolError.self) { try SessionMessage(text: #"{"t":"challenge","challenge":"a","device":"d","key":5}"#) }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var result = self
        result.replaceSubrange(range, with: replacement)
        return result
    }
}
