import ElaGate
import ElaIdentity
import ElaJSON
import ElaSQLite
import ElaStorage
import ElaTestSupport
import Synchronization
import Testing

@Suite(.ownThread) struct GrantAdminTests {
    @Test func addListRevoke() throws {
        let f = try GateFixture()
        let caller = try Caller()
        let pins = try GrantConstraints(arguments: ["pin=LED0,LED1"])
        let grant = try f.gate.addGrant(
            subject: caller.did.description, capability: "gpio.*", constraints: pins, expiresAt: testNow + 10, note: "lab",
            uid: 0, now: testNow)
        #expect(grant.subject == caller.did && grant.capability.text == "gpio.*" && grant.constraints == pins)
        let forever = try f.grant(try Caller().did, "sensors.read")
        #expect(try f.gate.listGrants(now: testNow) == [grant, forever])
        #expect(try f.gate.listGrants(now: testNow + 11) == [forever])
        #expect(try f.gate.listGrants(includeExpired: true, now: testNow + 11) == [grant, forever])
        #expect(try f.gate.listGrants(subject: caller.did, now: testNow) == [grant])

        #expect(f.send(try caller.request()).allowed)
        let removed = try f.gate.revokeGrant(id: grant.id, uid: 1000, now: testNow)
        #expect(removed.id == grant.id)
        #expect(f.send(try caller.request()).reason == "no grant for gpio.write")
        #expect(throws: GateError.grantNotFound(grant.id)) { try f.gate.revokeGrant(id: grant.id, uid: 0, now: testNow) }

        let admin = try f.gate.auditList(AuditFilter(subject: "uid:1000"))
        #expect(admin.count == 1)
        #expect(admin.first?.entry.method == "grant.revoke")
        #expect(admin.first?.entry.request == "{\"id\":\(grant.id)}")
        #expect(admin.first?.entry.reason == "revoked grant \(grant.id) (gpio.* for \(caller.did))")
        let added = try f.gate.auditList(AuditFilter(subject: "uid:0")).first
        #expect(added?.entry.method == "grant.add")
        #expect(added?.entry.request.contains("\"constraints\":{\"pin\":[\"LED0\",\"LED1\"]}") == true)
        #expect(f.gate.verifyAudit().isOK)
    }

    @Test func aDecisionStandsWhileItsGrantDoes() throws {
        let f = try GateFixture()
        let caller = try Caller()
        let lasting = try f.grant(caller.did, "sensors.read")
        let decision = f.send(try caller.request("sensors.list", params: [:]))
        #expect(decision.allowed && decision.grantID == lasting.id && decision.validUntil == nil)
        #expect(f.gate.stillAllows(decision, now: testNow + 86400 * 365))
        _ = try f.gate.revokeGrant(id: lasting.id, uid: 0, now: testNow)
        #expect(!f.gate.stillAllows(decision, now: testNow))

        let expiring = try f.grant(caller.did, "gpio.write", expiresAt: testNow + 60)
        let write = f.send(try caller.request())
        #expect(write.validUntil == testNow + 60)
        #expect(f.gate.stillAllows(write, now: testNow + 60) && !f.gate.stillAllows(write, now: testNow + 61))
        _ = expiring

        let admin = f.gate.authorize(.admin(method: "gpio.write", params: [:], uid: 0), now: testNow)
        #expect(f.gate.stillAllows(admin, now: .max))
        #expect(!f.gate.stillAllows(f.send(try caller.request("gpio.read", params: [:])), now: testNow))
    }

    @Test func aDecisionEndsWhenItsDIDIsDeactivated() throws {
        let deactivated = Atomic<Bool>(false)
        let f = try GateFixture(configuration: GateConfiguration(isDeactivated: { _ in deactivated.load(ordering: .relaxed) }))
        let caller = try Caller()
        try f.grant(caller.did, "sensors.read")
        let decision = f.send(try caller.request("sensors.list", params: [:]))
        #expect(f.gate.stillAllows(decision, now: testNow))
        deactivated.store(true, ordering: .relaxed)
        #expect(!f.gate.stillAllows(decision, now: testNow))
    }

    @Test func invalidGrantsAreTypedErrors() throws {
        let f = try GateFixture()
        let did = try Caller().did.description
        #expect(throws: GateError.self) { try f.gate.addGrant(subject: "alice", capability: "gpio.*", uid: 0, now: testNow) }
        #expect(throws: GateError.self) { try f.gate.addGrant(subject: "did:elastos:bad id", capability: "*", uid: 0, now: testNow) }
        // Well-formed but not made from a key (a name, or a real DID with its last character changed): it could never
        // sign a call, so the grant would silently do nothing.
        let real = try Caller().did.description
        let typo = String(real.dropLast()) + (real.last == "a" ? "b" : "a")
        for subject in ["did:elastos:notreal", typo] {
            #expect(throws: GateError.self) { try f.gate.addGrant(subject: subject, capability: "gpio.*", uid: 0, now: testNow) }
        }
        #expect(throws: GateError.invalidPattern(CapabilityPatternError(pattern: "gpio*", kind: .misplacedWildcard(offset: 4)))) {
            try f.gate.addGrant(subject: did, capability: "gpio*", uid: 0, now: testNow)
        }
        #expect(throws: GateError.expiryNotInFuture(expiresAt: testNow, now: testNow)) {
            try f.gate.addGrant(subject: did, capability: "*", expiresAt: testNow, uid: 0, now: testNow)
        }
        // Milliseconds where seconds were meant, and the extremes of Int64, are refused without trapping.
        #expect(throws: GateError.expiryOutOfRange(expiresAt: testNow * 1000)) {
            try f.gate.addGrant(subject: did, capability: "*", expiresAt: testNow * 1000, uid: 0, now: testNow)
        }
        #expect(throws: GateError.expiryOutOfRange(expiresAt: .max)) {
            try f.gate.addGrant(subject: did, capability: "*", expiresAt: .max, uid: 0, now: testNow)
        }
        #expect(throws: GateError.expiryNotInFuture(expiresAt: .min, now: testNow)) {
            try f.gate.addGrant(subject: did, capability: "*", expiresAt: .min, uid: 0, now: testNow)
        }
        let latest = try f.gate.addGrant(
            subject: did, capability: "*", expiresAt: DIDDate.writableSeconds.upperBound, uid: 0, now: testNow)
        #expect(try f.gate.listGrants(includeExpired: true, now: testNow) == [latest])
        _ = try f.gate.revokeGrant(id: latest.id, uid: 0, now: testNow)
        #expect(try f.gate.listGrants(includeExpired: true, now: testNow).isEmpty)
        #expect(try f.gate.auditList(AuditFilter()).count == 2)  // only the add and the revoke changed anything
    }

    @Test func aGrantRowThisProgramDidNotWriteIsIgnored() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.raw().run(
            "INSERT INTO grants (subject, capability, constraints, created_at) VALUES (?, 'GPIO.WRITE', '{}', 0)",
            caller.did.description)
        try f.raw().run(
            "INSERT INTO grants (subject, capability, constraints, created_at) VALUES (?, '*', 'not json', 0)",
            caller.did.description)
        #expect(try f.gate.listGrants(includeExpired: true, now: testNow).isEmpty)
        #expect(f.send(try caller.request()).reason == "no grant for gpio.write")
    }

    @Test func errorsReadWell() {
        #expect(GateError.grantNotFound(7).description.contains("elactl grant list"))
        #expect(GateError.expiryNotInFuture(expiresAt: 0, now: 60).description.contains("1970-01-01T00:00:00Z"))
        // Int64.min cannot be written as a date; its description is the earliest one, not a trap.
        #expect(GateError.expiryNotInFuture(expiresAt: .min, now: 60).description.contains("0001-01-01T00:00:00Z"))
        #expect(GateError.expiryOutOfRange(expiresAt: 1_764_000_000_000).description.contains("milliseconds"))
    }
}
