import ElaCrypto
import ElaIdentity
import ElaJSON
import ElaTestSupport
import Testing

/// Rules from the SDK source that the shared vectors do not exercise.
@Suite(.ownThread) struct CompatibilityTests {
    let now = try! DIDDate("2026-11-25T10:00:00Z")

    @Test func legacyBareFragmentsReadAsFragments() throws {
        // v1 documents may write "primary" for "#primary" (DIDURL.Parser: "fragment without leading '#'").
        let file = "java-sdk/v2.2/testdata/user4.id.normalized.json"
        let original = try Vectors.text(file)
        var json = try Vectors.json(file)
        json = try setting(json, path: [.string("authentication")], to: [" primary "])
        json = try setting(json, path: [.string("proof"), .string("creator")], to: "primary")
        let doc = try DIDDocument(json: json)
        #expect(doc.isGenuine())
        #expect(doc.normalizedString == original)
    }

    @Test func anEmptyContextIsNotSigned() throws {
        let key = ElaPrivateKey.generate()
        let doc = try DIDDocument.primitive(for: key.publicKey, now: now).signed(with: key, created: now)
        var noContext = doc
        noContext.context = nil
        let signed = try noContext.signed(with: key, created: now)
        guard case .object(var o) = try JSONParser.parse(signed.normalizedString) else { return }
        o["@context"] = []
        #expect(try DIDDocument(json: .object(o)).isGenuine())
    }

    @Test func signaturesOverTextWithoutNFCAreAccepted() throws {
        let key = ElaPrivateKey.generate()
        let issuer = try DIDDocument.primitive(for: key.publicKey, now: now).signed(with: key, created: now)
        let signKey = try #require(issuer.defaultKeyId)
        // "José" with a combining accent: NFC would change the bytes.
        let claims = JSONObject([("name", .string("Jose\u{301}"))])
        var vc = try VerifiableCredential.issue(
            id: DIDURL(did: issuer.subject, fragment: "name"), types: ["SelfProclaimedCredential"], subject: issuer.subject,
            claims: claims, issuer: issuer, signKey: signKey, key: key, issuanceDate: now, expirationDate: now.adding(years: 1))
        let resolver = DIDDocumentSet([issuer])
        #expect(vc.isGenuine(resolver: resolver))  // signed over the NFC bytes, as the Native SDK does
        // Sign over the raw (non-NFC) bytes, as the Java and JS SDKs do.
        guard case .object(var unsigned) = vc.normalizedJSON() else { Issue.record("not an object"); return }
        unsigned["proof"] = nil
        let raw = JSONWriter.compactBytes(.object(unsigned))
        #expect(raw != Canonical.bytes(.object(unsigned)))
        vc.proof?.signature = Base64URL.encode(try key.signature(over: [raw]))
        #expect(vc.isGenuine(resolver: resolver))
        // And a signature over neither is still rejected.
        vc.proof?.signature = Base64URL.encode(try key.signature(over: [raw + [0x20]]))
        #expect(!vc.isGenuine(resolver: resolver))
    }

    @Test func aPresentationMayCarryItsDateOnlyInTheProof() throws {
        let key = ElaPrivateKey.generate()
        let holder = try DIDDocument.primitive(for: key.publicKey, now: now).signed(with: key, created: now)
        let signKey = try #require(holder.defaultKeyId)
        var vp = VerifiablePresentation(
            context: ElastosContext.presentation, id: nil, types: ["VerifiablePresentation"], holder: holder.subject,
            created: nil, credentials: [])
        let signature = try key.signature(over: [vp.signingInput(realm: "r", nonce: "n")])
        vp.proof = .init(
            type: defaultKeyType, created: now, verificationMethod: signKey, realm: "r", nonce: "n",
            signature: Base64URL.encode(signature))
        guard case .presentation(let parsed) = try DIDObject(text: vp.normalizedString) else {
            Issue.record("not a presentation")
            return
        }
        #expect(parsed.created == nil)
        #expect(parsed.isGenuine(resolver: DIDDocumentSet([holder])))
        // Without any date it is malformed.
        var json = try JSONParser.parse(vp.normalizedString)
        json = try setting(json, path: [.string("proof")], to: .object(JSONObject([("verificationMethod", .string(signKey.description)), ("realm", "r"), ("nonce", "n"), ("signature", "x")])))
        #expect(throws: DIDError.self) { try VerifiablePresentation(json: json) }
    }

    @Test func deactivationNeedsTheDefaultOrAnAuthorizationKey() throws {
        let primary = ElaPrivateKey.generate()
        let second = ElaPrivateKey.generate()
        let delegate = ElaPrivateKey.generate()
        let subject = try DID(methodSpecificId: ElaAddress.identifier(for: primary.publicKey))
        let delegateDID = try DID(methodSpecificId: ElaAddress.identifier(for: delegate.publicKey))
        let ids = ["primary", "key2", "recovery"].map { DIDURL(did: subject, fragment: $0) }
        let doc = try DIDDocument(
            subject: subject,
            publicKeys: [
                DIDPublicKey(id: ids[0], controller: subject, publicKeyBase58: primary.publicKey.base58),
                DIDPublicKey(id: ids[1], controller: subject, publicKeyBase58: second.publicKey.base58),
                DIDPublicKey(id: ids[2], controller: delegateDID, publicKeyBase58: delegate.publicKey.base58),
            ],
            authentication: [ids[0], ids[1]], authorization: [ids[2]], expires: now.adding(years: 1)
        ).signed(with: primary, created: now)
        let verifier = DIDVerifier(resolver: DIDDocumentSet([doc]))
        try verifier.checkGenuine(try IDChainRequest.deactivate(subject, signKey: ids[0], key: primary))
        try verifier.checkGenuine(try IDChainRequest.deactivate(subject, signKey: ids[2], key: delegate))
        // An ordinary authentication key may update the document but not deactivate the DID.
        #expect(throws: DIDError.self) {
            try verifier.checkGenuine(try IDChainRequest.deactivate(subject, signKey: ids[1], key: second))
        }
        try verifier.checkGenuine(try IDChainRequest.make(.update, document: doc, previousTxid: "01", signKey: ids[1], key: second))
    }

    @Test func anEmbeddedCredentialAboutAnotherDIDDoesNotBreakTheDocument() throws {
        // Only the credential id must belong to the document; the credential itself then fails verification.
        let key = ElaPrivateKey.generate()
        let other = try DID(methodSpecificId: ElaAddress.identifier(for: ElaPrivateKey.generate().publicKey))
        var doc = try DIDDocument.primitive(for: key.publicKey, now: now)
        let vc = VerifiableCredential(
            context: nil, id: DIDURL(did: doc.subject, fragment: "x"), types: ["VerifiableCredential"], issuer: doc.subject,
            issuanceDate: now, expirationDate: now.adding(years: 1), subject: other, claims: JSONObject())
        doc.credentials = [vc]
        let signed = try doc.signed(with: key, created: now)
        let reparsed = try DIDDocument(json: try JSONParser.parse(signed.normalizedString))
        #expect(reparsed.isGenuine())
        do {
            try DIDVerifier(resolver: DIDDocumentSet([signed])).checkGenuine(reparsed.credentials[0])
            Issue.record("credential accepted")
        } catch { #expect(error.message.contains("does not belong to its subject")) }
    }
}
