import ElaCrypto
import ElaIdentity
import ElaJSON
import ElaTestSupport
import Testing

@Suite(.ownThread) struct SigningTests {
    let now = try! DIDDate("2026-11-25T10:00:00Z")

    func device() throws -> (ElaPrivateKey, DIDDocument) {
        let key = ElaPrivateKey.generate()
        let carrier = DIDService(
            id: DIDURL(did: try DID(methodSpecificId: ElaAddress.identifier(for: key.publicKey)), fragment: "carrier"),
            type: "CarrierAddress", endpoint: "carrier://abc")
        let doc = try DIDDocument.primitive(for: key.publicKey, services: [carrier], now: now)
            .signed(with: key, created: now)
        return (key, doc)
    }

    @Test func deviceDocumentIsGenuineAndValidForFiveYears() throws {
        let (_, doc) = try device()
        #expect(doc.isGenuine())
        #expect(doc.expires == (try DIDDate("2031-11-25T10:00:00Z")))
        #expect(doc.isValid(at: now))
        #expect(!doc.isValid(at: try DIDDate("2031-11-25T10:00:01Z")))
        #expect(doc.defaultKeyId?.fragment == "primary")
        // Re-parsing the normalized text gives the same document and it still verifies.
        let reparsed = try DIDDocument(json: try JSONParser.parse(doc.normalizedString))
        #expect(reparsed == doc)
        #expect(reparsed.isGenuine())
    }

    @Test func aSignatureByAnotherKeyIsRejected() throws {
        let (_, doc) = try device()
        let other = ElaPrivateKey.generate()
        #expect(throws: DIDError.self) { try doc.signed(with: other, created: now) }
        // Forge: copy a valid signature from another document.
        let (_, doc2) = try device()
        var forged = doc
        forged.proofs[0].signatureValue = doc2.proofs[0].signatureValue
        #expect(!forged.isGenuine())
    }

    @Test func credentialsAndPresentationsRoundTrip() throws {
        let (ownerKey, owner) = try device()
        let (deviceKey, deviceDoc) = try device()
        let resolver = DIDDocumentSet([owner, deviceDoc])
        let vc = try VerifiableCredential.issue(
            id: DIDURL(did: deviceDoc.subject, fragment: "access"), types: ["DeviceAccessCredential"],
            subject: deviceDoc.subject, claims: JSONObject([("capabilities", ["gpio.read", "gpio.write"])]),
            issuer: owner, signKey: try #require(owner.defaultKeyId), key: ownerKey, issuanceDate: now,
            expirationDate: now.adding(years: 1))
        #expect(vc.isGenuine(resolver: resolver))
        #expect(vc.isValid(at: now, resolver: resolver))
        #expect(!vc.isValid(at: now.adding(years: 2), resolver: resolver))
        // The canonical text parses back into a credential that still verifies.
        guard case .credential(let reparsed) = try DIDObject(text: vc.normalizedString) else {
            Issue.record("not detected as a credential")
            return
        }
        #expect(reparsed.isGenuine(resolver: resolver))

        let vp = try VerifiablePresentation.create(
            holder: deviceDoc, signKey: try #require(deviceDoc.defaultKeyId), key: deviceKey, credentials: [vc],
            realm: "ela-agent", nonce: "n-1", created: now)
        let verifier = DIDVerifier(resolver: resolver)
        try verifier.checkGenuine(vp, realm: "ela-agent", nonce: "n-1")
        #expect(throws: DIDError.self) { try verifier.checkGenuine(vp, realm: "ela-agent", nonce: "n-2") }
        #expect(throws: DIDError.self) { try verifier.checkGenuine(vp, realm: "elsewhere", nonce: "n-1") }
        guard case .presentation(let reparsedVP) = try DIDObject(text: vp.normalizedString) else {
            Issue.record("not detected as a presentation")
            return
        }
        #expect(reparsedVP.isGenuine(resolver: resolver))
    }

    @Test func idChainRequestsRoundTrip() throws {
        let (key, doc) = try device()
        let signKey = try #require(doc.defaultKeyId)
        let create = try IDChainRequest.make(.create, document: doc, signKey: signKey, key: key)
        let update = try IDChainRequest.make(.update, document: doc, previousTxid: "ab01", signKey: signKey, key: key)
        let deactivate = try IDChainRequest.deactivate(doc.subject, signKey: signKey, key: key)
        let verifier = DIDVerifier(resolver: DIDDocumentSet([doc]))
        for r in [create, update, deactivate] {
            guard case .request(let reparsed) = try DIDObject(text: r.normalizedString) else {
                Issue.record("not detected as a request")
                continue
            }
            #expect(throws: Never.self) { try verifier.checkGenuine(reparsed) }
        }
        #expect(try create.document() == doc)
        var tampered = update
        tampered.previousTxid = "ab02"
        #expect(throws: DIDError.self) { try verifier.checkGenuine(tampered) }
        // Without the document, a deactivate request cannot be checked: unresolved, not "genuine".
        do {
            try DIDVerifier().checkGenuine(deactivate)
            Issue.record("expected unresolved")
        } catch { #expect(error.code == .unresolved) }
    }

    @Test func datesRoundTripAndRejectNonsense() throws {
        for text in ["1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2026-11-20T09:55:44Z", "2099-12-31T00:00:00Z"] {
            #expect(try DIDDate(text).description == text)
        }
        #expect(try DIDDate("2021-11-20T09:55:44.123Z").description == "2021-11-20T09:55:44Z")
        for bad in ["2021-02-29T00:00:00Z", "2021-13-01T00:00:00Z", "2021-01-01T24:00:00Z", "2021-01-01 00:00:00Z", "2021-01-01T00:00:00", "x"] {
            #expect(throws: DIDError.self, "\(bad)") { try DIDDate(bad) }
        }
        #expect(try DIDDate("2024-02-29T12:00:00Z").adding(years: 5).description == "2029-02-28T12:00:00Z")
    }
}
