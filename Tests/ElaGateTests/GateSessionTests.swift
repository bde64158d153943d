import ElaGate
import ElaIdentity
import ElaJSON
import ElaStorage
import ElaTestSupport
import Testing

/// Calls inside an authenticated session: the carrier checked the session key and the replay window; the gate judges
/// the DID's grants and audits, with no signature or nonce of the call's own.
@Suite(.ownThread) struct GateSessionTests {
    func session(_ f: GateFixture, _ did: DID, _ method: String = "gpio.write", _ params: JSONObject = ["pin": "LED0", "value": 1]) -> GateDecision {
        f.gate.authorize(
            .session(did: did, method: method, params: params, request: SessionBody.text(method, params), session: "carrier session #7"),
            now: testNow)
    }

    @Test func grantsDecideAndEveryCallIsAuditedAsASessionCall() throws {
        let f = try GateFixture()
        let caller = try Caller()
        let nonces = try f.gate.rememberedNonces()
        let grant = try f.grant(caller.did, "gpio.write", ["pin": ["LED0"]])
        let allowed = session(f, caller.did)
        #expect(allowed.allowed && allowed.grantID == grant.id, "\(allowed.reason)")
        #expect(allowed.reason == "grant \(grant.id) (gpio.write) (carrier session #7)")
        let row = try #require(try f.gate.audit.record(seq: allowed.auditSeq ?? -1))
        #expect(row.entry.caller == .session && row.entry.subject == caller.did.description && row.entry.method == "gpio.write")
        #expect(row.entry.request == SessionBody.text("gpio.write", ["pin": "LED0", "value": 1]))
        // The same call again is the gate's to allow: replays are the session's to stop (its window), not the nonce table's.
        #expect(session(f, caller.did).allowed)
        #expect(try f.gate.rememberedNonces() == nonces)

        let constrained = session(f, caller.did, "gpio.write", ["pin": "LED1", "value": 1])
        #expect(!constrained.allowed && constrained.reason.hasPrefix("constraint pin"), "\(constrained.reason)")
        let ungranted = session(f, caller.did, "gpio.read", ["pin": "LED0"])
        #expect(!ungranted.allowed && ungranted.reason == "no grant for gpio.read (carrier session #7)")
        let unknown = session(f, caller.did, "nope.nothing", [:])
        #expect(!unknown.allowed && unknown.reason.hasPrefix("unknown method"))
        for d in [constrained, ungranted, unknown] {
            #expect(try f.gate.audit.record(seq: d.auditSeq ?? -1)?.entry.decision == .deny)
        }
        #expect(f.gate.verifyAudit().isOK)
    }

    @Test func aDeactivatedDIDIsDeniedInItsSessionToo() throws {
        let caller = try Caller()
        let gone = caller.did
        let f = try GateFixture(configuration: GateConfiguration(isDeactivated: { $0 == gone }))
        try f.grant(caller.did, "gpio.*")
        let d = session(f, caller.did)
        #expect(!d.allowed && d.reason.hasPrefix("DID deactivated"))
    }
}

enum SessionBody {
    static func text(_ method: String, _ params: JSONObject) -> String {
        JSONWriter.compact(.object(["method": .string(method), "params": .object(params)]))
    }
}
