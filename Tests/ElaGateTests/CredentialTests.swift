import ElaCrypto
@testable import ElaGate
import ElaIdentity
import ElaJSON
import ElaStorage
import ElaTestSupport
import Testing

/// A device with an owner, and a caller with no grants of its own.
private struct CredentialSetup {
    let owner: Caller
    let ownerDocument: DIDDocument
    let device: DID
    let caller: Caller
    let fixture: GateFixture

    /// `ownerDeactivated`: the owner was set, then deactivated on chain.
    init(ownerDeactivated: Bool = false) throws {
        owner = try Caller()
        ownerDocument = try owner.document()
        device = try Caller().did
        caller = try Caller()
        let banned = ownerDeactivated ? owner.did : nil
        fixture = try GateFixture(configuration: GateConfiguration(deviceDID: device, isDeactivated: { $0 == banned }))
        if ownerDeactivated {
            try fixture.store.setOwner(did: owner.did.description, document: ownerDocument.normalizedString, now: testNow)
        } else {
            try fixture.gate.setOwner(documentText: ownerDocument.normalizedString, uid: 0, now: testNow)
        }
    }

    /// A credential from `issuer` (default: the owner) to `subject` (default: the caller).
    func credential(
        capabilities: [String] = ["gpio.*"], device: DID?? = .none, constraints: [String: [String]] = ["pin": ["LED0"]],
        issuer: Caller? = nil, subject: DID? = nil, issued: Int64 = testNow - 60, expires: Int64 = testNow + 3600
    ) throws -> VerifiableCredential {
        let signer = issuer ?? owner
        return try DeviceAccessCredential.issue(
            to: subject ?? caller.did, capabilities: try capabilities.map { try CapabilityPattern($0) },
            device: device ?? self.device, constraints: try GrantConstraints(constraints),
            owner: issuer == nil ? ownerDocument : try signer.document(), key: signer.key,
            issuanceDate: DIDDate(secondsSince1970: issued), expirationDate: DIDDate(secondsSince1970: expires))
    }

    func send(_ vc: VerifiableCredential?, _ method: String = "gpio.write", params: JSONObject = ["pin": "LED0", "value": 1])
        throws -> GateDecision
    {
        fixture.send(try caller.request(method, params: params, credential: vc))
    }
}

@Suite(.ownThread) struct CredentialTests {
    @Test func anOwnerIssuedCredentialAllowsTheCall() throws {
        let s = try CredentialSetup()
        let vc = try s.credential()
        let decision = try s.send(vc)
        #expect(decision.allowed, "\(decision.reason)")
        #expect(decision.credentialID == vc.id.description)
        #expect(decision.grantID == nil)
        #expect(decision.reason == "credential \(vc.id) (gpio.*)")
        // It stands until the credential expires.
        #expect(decision.validUntil == vc.expirationDate.secondsSince1970)
        #expect(s.fixture.gate.stillAllows(decision, now: vc.expirationDate.secondsSince1970))
        #expect(!s.fixture.gate.stillAllows(decision, now: vc.expirationDate.secondsSince1970 + 1))
        #expect(decision.credentialIssuer == s.owner.did.description)
        // Or until another owner is set: the old owner's credentials allow nothing any more.
        let successor = try Caller()
        #expect(throws: GateError.ownerExists(s.owner.did.description)) {
            try s.fixture.gate.setOwner(documentText: try successor.document().normalizedString, uid: 0, now: testNow)
        }
        #expect(s.fixture.gate.stillAllows(decision, now: testNow), "a refused replacement changes nothing")
        // The owner's document changing under the same DID (a rotated key) ends it too: a new request is judged afresh.
        try s.fixture.store.setOwner(did: s.owner.did.description, document: s.ownerDocument.normalizedString + " ", now: testNow)
        #expect(!s.fixture.gate.stillAllows(decision, now: testNow))
        try s.fixture.store.setOwner(did: s.owner.did.description, document: s.ownerDocument.normalizedString, now: testNow)
        #expect(s.fixture.gate.stillAllows(decision, now: testNow))
        _ = try s.fixture.gate.setOwner(documentText: try successor.document().normalizedString, replace: true, uid: 0, now: testNow)
        #expect(!s.fixture.gate.stillAllows(decision, now: testNow))
        let row = try #require(try s.fixture.gate.audit.record(seq: decision.auditSeq ?? -1))
        #expect(row.entry.caller == .credential)
        // Without the credential the same caller has nothing.
        #expect(try s.send(nil).reason == "no grant for gpio.write")
    }

    /// A carrier session whose proof presented a credential: verified once when it opened, then each sealed call
    /// relies on it while it is unexpired and its issuer is still the owner.
    @Test func aSessionsCredentialAllowsItsCallsUntilItLapses() throws {
        let s = try CredentialSetup()
        let vc = try s.credential(capabilities: ["gpio.read"], constraints: [:])
        let checked = try s.fixture.gate.verifyCredential(vc, caller: s.caller.did, now: testNow).get()
        // Presented by anyone but its subject, it is refused.
        #expect(throws: CredentialError.self) { try s.fixture.gate.verifyCredential(vc, caller: try Caller().did, now: testNow).get() }
        func call(_ method: String, at now: Int64 = testNow) -> GateDecision {
            s.fixture.gate.authorize(
                .session(did: s.caller.did, method: method, params: ["pin": "LED0"], request: "{}", session: "carrier session #3", credential: checked),
                now: now)
        }
        let read = call("gpio.read")
        #expect(read.allowed && read.credentialID == vc.id.description, "\(read.reason)")
        #expect(read.reason == "credential \(vc.id) (gpio.read) (carrier session #3)")
        #expect(try s.fixture.gate.audit.record(seq: read.auditSeq ?? -1)?.entry.caller == .session)
        let write = call("gpio.write")
        #expect(!write.allowed && write.reason == "no grant or credential capability for gpio.write (carrier session #3)", "\(write.reason)")
        let late = call("gpio.read", at: vc.expirationDate.secondsSince1970 + 1)
        #expect(!late.allowed && late.reason.contains("the session's credential: expired"), "\(late.reason)")
        // The owner's document changed under the same DID (a rotated key): the proof is checked again, against it.
        // (Stored directly: a document that no longer verifies the credential, here another DID's, under the owner's.)
        let rotated = try Caller().document()
        try s.fixture.store.setOwner(did: s.owner.did.description, document: rotated.normalizedString, now: testNow)
        let recheck = call("gpio.read")
        #expect(!recheck.allowed && recheck.reason.contains("the session's credential"), "\(recheck.reason)")
        try s.fixture.store.setOwner(did: s.owner.did.description, document: s.ownerDocument.normalizedString, now: testNow)
        #expect(call("gpio.read").allowed)
        // A new document that still verifies it (the same key, issued later): checked once, not on every call.
        let checksBefore = s.fixture.gate.credentialRechecks
        try s.fixture.store.setOwner(did: s.owner.did.description, document: try s.owner.document(now: testNow + 60).normalizedString, now: testNow)
        for _ in 0..<3 { #expect(call("gpio.read").allowed) }
        #expect(s.fixture.gate.credentialRechecks == checksBefore + 1)
        // Another owner: the session's credential no longer counts, but a grant of its own still does.
        _ = try s.fixture.gate.setOwner(documentText: try Caller().document().normalizedString, replace: true, uid: 0, now: testNow)
        let orphaned = call("gpio.read")
        #expect(!orphaned.allowed && orphaned.reason.contains("is not the owner"), "\(orphaned.reason)")
        try s.fixture.grant(s.caller.did, "gpio.read")
        #expect(call("gpio.read").allowed)
    }

    /// A credential on a lost phone ends before it expires: revoked by its id, or every credential of its holder by
    /// the holder's DID. Calls presenting it are denied, decisions resting on it stop standing, and a revocation
    /// taken back lets it count again. Each change is an audited admin action.
    @Test func aRevokedCredentialAllowsNothingMore() throws {
        let s = try CredentialSetup()
        let vc = try s.credential()
        let allowed = try s.send(vc)
        #expect(allowed.allowed)
        let gate = s.fixture.gate
        #expect(try gate.revokeCredential(vc.id.description, note: "phone lost", uid: 0, now: testNow))
        #expect(try !gate.revokeCredential(vc.id.description, uid: 0, now: testNow), "already revoked")
        let denied = try s.send(vc)
        #expect(!denied.allowed && denied.reason == "credential: revoked on this device (\(vc.id)): phone lost", "\(denied.reason)")
        #expect(!gate.stillAllows(allowed, now: testNow), "a subscription resting on it ends")
        let checked = gate.verifyCredential(vc, caller: s.caller.did, now: testNow)
        #expect(throws: CredentialError.self) { try checked.get() }
        #expect(try gate.revokedCredentials().map(\.key) == [vc.id.description])

        #expect(try gate.unrevokeCredential(vc.id.description, uid: 0, now: testNow))
        #expect(try s.send(vc).allowed)
        #expect(gate.stillAllows(allowed, now: testNow))
        // By the holder's DID: every credential issued to it, this one included.
        #expect(try gate.revokeCredential(s.caller.did.description, uid: 0, now: testNow))
        #expect(try s.send(try s.credential(capabilities: ["gpio.read"])).reason.contains("revoked on this device (\(s.caller.did))"))
        #expect(throws: GateError.self) { try gate.revokeCredential("not a credential", uid: 0, now: testNow) }
        let rows = try gate.audit.list(AuditFilter(limit: 50)).map(\.entry.method)
        #expect(rows.filter { $0 == "credential.revoke" }.count == 2 && rows.contains("credential.unrevoke"), "\(rows)")
        #expect(gate.verifyAudit().isOK)
    }

    @Test func credentialConstraintsAndCapabilitiesLimitTheCall() throws {
        let s = try CredentialSetup()
        let vc = try s.credential()
        #expect(try s.send(vc, params: ["pin": "LED1", "value": 1]).reason == "constraint pin: value \"LED1\" not allowed")
        #expect(try s.send(vc, "sensors.list", params: [:]).reason == "no grant or credential capability for sensors.read")
    }

    @Test func aCredentialWithoutDeviceClaimIsForAnyDevice() throws {
        let s = try CredentialSetup()
        #expect(try s.send(try s.credential(device: .some(nil))).allowed)
    }

    @Test func aCredentialFromSomeoneElseIsDenied() throws {
        let s = try CredentialSetup()
        let stranger = try Caller()
        let decision = try s.send(try s.credential(issuer: stranger))
        #expect(!decision.allowed)
        #expect(decision.reason == "credential: issuer \(stranger.did) is not the owner \(s.owner.did)")
    }

    @Test func aTamperedCredentialIsDenied() throws {
        let s = try CredentialSetup()
        var json = try #require(try s.credential().normalizedJSON().objectValue)
        var subject = try #require(json["credentialSubject"]?.objectValue)
        subject["capabilities"] = ["*"]
        json["credentialSubject"] = .object(subject)
        let tampered = try VerifiableCredential(json: .object(json))
        let decision = try s.send(tampered, "sensors.list", params: [:])
        #expect(!decision.allowed)
        #expect(decision.reason.hasPrefix("credential: not genuine: "), "\(decision.reason)")
    }

    @Test func anExpiredOrNotYetValidCredentialIsDenied() throws {
        let s = try CredentialSetup()
        let expired = try s.send(try s.credential(issued: testNow - 7200, expires: testNow - 1))
        #expect(expired.reason == "credential: expired at \(DIDDate(secondsSince1970: testNow - 1))")
        let early = try s.send(try s.credential(issued: testNow + 600, expires: testNow + 7200))
        #expect(early.reason == "credential: not valid before \(DIDDate(secondsSince1970: testNow + 600))")
    }

    @Test func someoneElsesCredentialIsDenied() throws {
        let s = try CredentialSetup()
        let friend = try Caller()
        let decision = try s.send(try s.credential(subject: friend.did))
        #expect(decision.reason == "credential: subject \(friend.did) is not the caller \(s.caller.did)")
    }

    @Test func aCredentialForAnotherDeviceIsDenied() throws {
        let s = try CredentialSetup()
        let elsewhere = try Caller().did
        let decision = try s.send(try s.credential(device: .some(elsewhere)))
        #expect(decision.reason == "credential: for device \(elsewhere), not this device \(s.device)")
    }

    @Test func aCredentialOfAnotherTypeIsDenied() throws {
        let s = try CredentialSetup()
        let vc = try VerifiableCredential.issue(
            id: DIDURL(did: s.caller.did, fragment: "x"), types: ["EmailCredential"], subject: s.caller.did,
            claims: DeviceAccessCredential.claims(capabilities: [try CapabilityPattern("*")]), issuer: s.ownerDocument,
            signKey: try #require(s.ownerDocument.defaultKeyId), key: s.owner.key,
            issuanceDate: DIDDate(secondsSince1970: testNow), expirationDate: DIDDate(secondsSince1970: testNow + 60))
        #expect(try s.send(vc).reason == "credential: type EmailCredential,VerifiableCredential is not DeviceAccessCredential")
    }

    @Test func malformedClaimsAreDenied() throws {
        let s = try CredentialSetup()
        let signKey = try #require(s.ownerDocument.defaultKeyId)
        func issue(_ claims: JSONObject) throws -> VerifiableCredential {
            try VerifiableCredential.issue(
                id: DIDURL(did: s.caller.did, fragment: "dac"), types: [DeviceAccessCredential.type], subject: s.caller.did,
                claims: claims, issuer: s.ownerDocument, signKey: signKey, key: s.owner.key,
                issuanceDate: DIDDate(secondsSince1970: testNow), expirationDate: DIDDate(secondsSince1970: testNow + 60))
        }
        #expect(try s.send(try issue([:])).reason.hasPrefix("credential: 'capabilities'"))
        #expect(try s.send(try issue(["capabilities": ["gpio.**"]])).reason.hasPrefix("credential: capability pattern 'gpio.**'"))
        #expect(try s.send(try issue(["capabilities": ["*"], "constraints": .object(["pin": "LED0"])])).reason.hasPrefix("credential: constraint pin"))
        #expect(try s.send(try issue(["capabilities": ["*"], "device": 7])).reason == "credential: 'device' must be a DID string")
    }

    @Test func aBadCredentialDeniesEvenWithAGrant() throws {
        let s = try CredentialSetup()
        try s.fixture.grant(s.caller.did, "gpio.write")
        #expect(try s.send(nil).allowed)
        #expect(!(try s.send(try s.credential(expires: testNow - 1)).allowed))
    }

    @Test func withoutAnOwnerCredentialsAreDenied() throws {
        let f = try GateFixture()
        let s = try CredentialSetup()
        let decision = f.send(try s.caller.request(credential: try s.credential()))
        #expect(decision.reason == "credential: no owner is configured (elactl owner set)")
    }

    @Test func aCredentialNamingADeviceNeedsTheDeviceDID() throws {
        let s = try CredentialSetup()
        let f = try GateFixture()  // no device DID configured
        try f.gate.setOwner(documentText: s.ownerDocument.normalizedString, uid: 0, now: testNow)
        let decision = f.send(try s.caller.request(credential: try s.credential()))
        #expect(decision.reason == "credential: names device \(s.device) but this gate has no device DID configured")
    }

    @Test func aDeactivatedOwnerIssuesNothing() throws {
        let s = try CredentialSetup(ownerDeactivated: true)
        #expect(try s.send(try s.credential()).reason == "credential: the owner \(s.owner.did) is deactivated")
        // And a deactivated DID cannot become the owner.
        #expect(throws: GateError.self) {
            try s.fixture.gate.setOwner(documentText: s.ownerDocument.normalizedString, uid: 0, now: testNow)
        }
    }
}

@Suite(.ownThread) struct OwnerTests {
    @Test func aGenuineDocumentBecomesTheOwnerAndIsAudited() throws {
        let f = try GateFixture()
        let owner = try Caller()
        #expect(try f.gate.owner() == nil)
        let doc = try owner.document()
        let set = try f.gate.setOwner(documentText: doc.normalizedString, uid: 0, now: testNow)
        #expect(set.subject == owner.did)
        #expect(try f.gate.owner() == doc)
        let rows = try f.gate.auditList(AuditFilter())
        #expect(rows.last?.entry.method == "owner.set")
        #expect(rows.last?.entry.caller == .admin)
        // The same owner again needs no --replace; clearing removes it, audited.
        _ = try f.gate.setOwner(documentText: doc.normalizedString, uid: 0, now: testNow)
        #expect(try f.gate.clearOwner(uid: 0, now: testNow) == owner.did.description)
        #expect(try f.gate.owner() == nil)
        #expect(try f.gate.auditList(AuditFilter()).last?.entry.method == "owner.clear")
        #expect(try f.gate.clearOwner(uid: 0, now: testNow) == nil)
    }

    @Test func aCredentialGivenAsTheOwnerDocumentIsNamedAsSuch() throws {
        let f = try GateFixture()
        let owner = try Caller()
        let vc = try DeviceAccessCredential.issue(
            to: try Caller().did, capabilities: [try CapabilityPattern("gpio.*")], device: nil, constraints: .none,
            owner: try owner.document(), key: owner.key, issuanceDate: DIDDate(secondsSince1970: testNow),
            expirationDate: DIDDate(secondsSince1970: testNow + 86400))
        #expect(throws: GateError.invalidOwnerDocument("this is a verifiable credential, not a DID document (the owner's is its identity folder's document.json)")) {
            try f.gate.setOwner(documentText: JSONWriter.compact(vc.normalizedJSON()), uid: 0, now: testNow)
        }
    }

    @Test func badDocumentsAreRefused() throws {
        let f = try GateFixture()
        let owner = try Caller()
        let text = try owner.document().normalizedString
        // Tampered: another expiry under the same proof.
        var json = try #require(try JSONParser.parse(text).objectValue)
        json["expires"] = "2099-01-01T00:00:00Z"
        #expect(throws: GateError.self) { try f.gate.setOwner(documentText: JSONWriter.compact(.object(json)), uid: 0, now: testNow) }
        #expect(throws: GateError.self) { try f.gate.setOwner(documentText: "{}", uid: 0, now: testNow) }
        #expect(throws: GateError.self) { try f.gate.setOwner(documentText: "nonsense", uid: 0, now: testNow) }
        // Genuine but expired (5 years after creation).
        do {
            try f.gate.setOwner(documentText: text, uid: 0, now: testNow + 6 * 365 * 86400)
            Issue.record("an expired document was accepted")
        } catch {
            guard case .invalidOwnerDocument(let message) = error else { throw error }
            #expect(message.contains("expired"))
        }
        #expect(try f.gate.owner() == nil)
    }
}
