import ElaCarrier
import ElaCrypto
import ElaGate
import ElaIdentity
import ElaJSON
import ElaTestSupport
import Testing

/// What a stranger on the Tox network can send, mutated from real messages: friend-request hellos, session
/// messages, sealed calls. Each is refused with a reason or decoded, never traps; and nothing whose signed or sealed
/// content changed gets through.
@Suite(.ownThread) struct CarrierMutationTests {
    let device = CarrierAddress.userID(publicKey: [UInt8](repeating: 7, count: 32))
    let toxKey = CarrierAddress.userID(publicKey: [UInt8](repeating: 9, count: 32))
    static let tokens = [
        "\"", "\\u0000", "did:elastos:", "carrier.hello", "\"toxKey\":", "\"device\":", "\"nonce\":\"", "\"timestamp\":", "-9223372036854775808",
        "9223372036854775807", "1e308", "{}", "[]", "null", "\"t\":\"call\"", "\"id\":", "\"sub\":", "0", "-1",
    ]

    @Test func mutatedHellosAreRefusedUnlessTheirSignedContentIsIntact() throws {
        let key = ElaPrivateKey.generate()
        let did = try DID(ElaAddress.did(for: key.publicKey))
        let now: Int64 = 1_800_000_000
        var hellos: [[UInt8]] = []
        for i in 0..<8 {
            hellos.append(try CarrierHello.make(did: did, key: key, toxUserID: toxKey, deviceUserID: device, credentialID: i % 2 == 0 ? nil : "#vc\(i)", now: now))
        }
        // Splicing may rebuild another original whole: any original's signed content may pass, nothing else.
        let signedContent = Set(try hellos.map { try SignedRequest(text: String(decoding: $0, as: UTF8.self)).signedBytes })
        var mutator = ByteMutator(seed: 3, tokens: Self.tokens)
        var accepted = 0, refused = 0
        for round in 0..<ByteMutator.rounds(default: 3000) {
            let original = hellos[round % hellos.count]
            let input = mutator.mutate(original, splicing: hellos)
            // A fresh machine each time: the original's nonce is not spent, so only the mutation decides.
            var admission = Admission(deviceUserID: device, clock: { now })
            let decision = admission.evaluate(sender: toxKey, message: input, facts: { _, _ in PeerFacts(verification: .pinned, grants: 1, hasOwner: true) })
            guard decision.isAccepted else {
                refused += 1
                if case .refuse(let reason, _, _) = decision { #expect(!reason.isEmpty) }
                continue
            }
            accepted += 1
            let got = try SignedRequest(text: String(decoding: input, as: UTF8.self))
            #expect(signedContent.contains(got.signedBytes), "input \(round): a changed hello was admitted")
        }
        #expect(refused > 100)
        _ = accepted  // white space or member order changes may still pass; the expectation above judges them
    }

    @Test func mutatedSessionMessagesDecodeToWhatTheySay() throws {
        let seeds: [SessionMessage] = [
            .challenge("00ff", device: device, sessionKey: String(repeating: "ab", count: 32)), .auth(proof: #"{"method":"carrier.session"}"#),
            .ready(challenge: "c"), .denied("no grant"), .call(id: 7, .sealed(body: #"{"method":"gpio.read","params":{"pin":"LED0"}}"#, tag: "00")),
            .subscribe(id: 8, .signed(#"{"method":"x"}"#)), .unsubscribe(sub: 3), .reply(id: 9, result: .success(.object(["value": 1]))),
            .reply(id: 10, result: .failure(RemoteError(code: -32000, message: "busy"))),
            .event(sub: 2, plugin: "gpio", event: "gpio.edge", params: ["pin": "BTN0"], atMs: 1_800_000_000_000), .resume, .ping(5), .pong(5),
        ]
        let texts = seeds.map { Array($0.text.utf8) }
        for (seed, text) in zip(seeds, texts) { #expect(try SessionMessage(text: String(decoding: text, as: UTF8.self)) == seed) }
        var mutator = ByteMutator(seed: 4, tokens: Self.tokens)
        var decoded = 0, rejected = 0
        for round in 0..<ByteMutator.rounds(default: 5000) {
            let input = mutator.mutate(texts[round % texts.count], splicing: texts)
            do {
                let message = try SessionMessage(text: String(decoding: input, as: UTF8.self))
                decoded += 1
                // What it decoded to is what it says when written again.
                #expect(try SessionMessage(text: message.text) == message, "input \(round)")
            } catch {
                rejected += 1
                #expect(!error.message.isEmpty)
            }
        }
        #expect(decoded > 100 && rejected > 100)
    }

    @Test func aSealedCallOpensOnlyUnchanged() throws {
        let dapp = SessionKeyPair(), deviceKeys = SessionKeyPair()
        let key = try SessionSeal.derive(own: deviceKeys, peer: dapp.publicKey, challenge: "c", dappKey: dapp.publicKey, deviceKey: deviceKeys.publicKey)
        let body = SessionSeal.body(method: "gpio.write", params: ["pin": "LED0", "value": 1])
        let tag = SessionSeal.tag(key, kind: "call", id: 42, body: body)
        guard case .success(let opened) = SessionSeal.open(key, kind: "call", id: 42, body: body, tag: tag) else {
            Issue.record("the unchanged call did not open")
            return
        }
        #expect(opened.method == "gpio.write")
        var mutator = ByteMutator(seed: 5, tokens: Self.tokens)
        for round in 0..<ByteMutator.rounds(default: 3000) {
            let mutateBody = round % 2 == 0
            let b = mutateBody ? String(decoding: mutator.mutate(Array(body.utf8)), as: UTF8.self) : body
            let t = mutateBody ? tag : String(decoding: mutator.mutate(Array(tag.utf8)), as: UTF8.self)
            if case .success = SessionSeal.open(key, kind: "call", id: 42, body: b, tag: t) {
                #expect(b == body && t.lowercased() == tag, "input \(round): a changed sealed call opened")
            }
        }
        #expect((try? SessionSeal.open(key, kind: "subscribe", id: 42, body: body, tag: tag).get()) == nil, "a tag is for one kind")
        #expect((try? SessionSeal.open(key, kind: "call", id: 43, body: body, tag: tag).get()) == nil, "and one id")
    }
}
