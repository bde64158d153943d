import ElaCrypto
import ElaIdentity
import ElaJSON
import ElaTestSupport
import Testing

@Suite(.ownThread) struct SDKVectorTests {
    static let entries: [JSONObject] = (try? Vectors.expectedEntries()) ?? []
    static let signedFiles: [String] = entries.filter { $0["kind"]?.stringValue != "private-key-xprv" }
        .compactMap { $0["file"]?.stringValue }

    @Test func vectorsArePresent() {
        #expect(Self.signedFiles.count >= 20, "expected.json not found under \(Vectors.dir)")
    }

    @Test(arguments: signedFiles)
    func signingInputMatchesAndSignatureVerifies(_ file: String) throws {
        let entry = try #require(Self.entries.first { $0["file"]?.stringValue == file })
        let object = try DIDObject(json: try Vectors.json(file))
        let kind = entry["kind"]?.stringValue
        let detected: String =
            switch object {
            case .document: "did-document"
            case .credential: "credential"
            case .presentation: "presentation"
            case .ticket: "transfer-ticket"
            case .request: "did-request"
            }
        #expect(detected == kind)
        let input = object.signingInput
        #expect(Vectors.sha256Hex(input) == entry["signingInputSha256"]?.stringValue, "canonical bytes differ for \(file)")
        #expect(input.count == Int(entry["signingInputLength"]?.numberValue?.text ?? ""))
        let signers = (entry["signers"]?.arrayValue ?? []).compactMap(\.stringValue)
        #expect(object.signers.sorted() == signers.sorted())

        let verifier = DIDVerifier(resolver: try Vectors.resolver())
        #expect(throws: Never.self) { try verifier.checkGenuine(object) }
        // Everything has expired (2026-11-20); at a fixed earlier time it is valid.
        #expect(throws: Never.self) { try verifier.checkValid(object, at: try DIDDate("2022-01-01T00:00:00Z")) }
        if case .document(let d) = object {
            #expect(d.subject.description == entry["subject"]?.stringValue)
            #expect(d.defaultKeyId?.description == entry["defaultKey"]?.stringValue)
            #expect(d.isCustomized == entry["customizedDid"]?.boolValue)
            #expect(d.expires.description == entry["expires"]?.stringValue)
        }
    }

    @Test(arguments: signedFiles)
    func expiredObjectsAreGenuineButNotValid(_ file: String) throws {
        let object = try DIDObject(json: try Vectors.json(file))
        let verifier = DIDVerifier(resolver: try Vectors.resolver())
        if case .request(let r) = object, r.operation == .deactivate { return }  // carries no expiry of its own
        do {
            try verifier.checkValid(object, at: try DIDDate("2026-11-24T00:00:00Z"))
            Issue.record("\(file) should be expired")
        } catch {
            #expect(error.code == .notValid)
            #expect(error.message.contains("expired"))
        }
    }

    @Test(arguments: entries.filter { $0["normalizesTo"] != nil })
    func normalizesToTheSDKBytes(_ entry: JSONObject) throws {
        let file = try #require(entry["file"]?.stringValue)
        let target = try #require(entry["normalizesTo"]?.stringValue)
        let object = try DIDObject(json: try Vectors.json(file))
        var expected = try Vectors.text(target)
        while expected.hasSuffix("\n") { expected.removeLast() }
        #expect(Canonical.string(object.normalizedJSON()) == expected)
    }

    @Test func normalizedFilesAreFixedPoints() throws {
        let files = TestData.listFiles(Vectors.dir).filter { $0.hasSuffix(".normalized.json") }
        #expect(files.count >= 10)
        for file in files {
            var expected = try Vectors.text(file)
            while expected.hasSuffix("\n") { expected.removeLast() }
            let object = try DIDObject(json: try Vectors.json(file))
            #expect(Canonical.string(object.normalizedJSON()) == expected, "\(file)")
        }
    }

    @Test(arguments: entries.filter { $0["kind"]?.stringValue == "private-key-xprv" })
    func privateKeysDeriveToTheirDIDs(_ entry: JSONObject) throws {
        let file = try #require(entry["file"]?.stringValue)
        var xprv = try Vectors.text(file)
        while xprv.hasSuffix("\n") { xprv.removeLast() }
        let key = try HDKey(xprv: xprv)
        #expect(key.privateKey.withRawBytes { Hex.encode($0) } == entry["privateKeyHex"]?.stringValue)
        #expect(Hex.encode(key.publicKey.compressed) == entry["publicKeyHex"]?.stringValue)
        #expect(key.publicKey.base58 == entry["publicKeyBase58"]?.stringValue)
        #expect(ElaAddress.did(for: key.publicKey) == entry["did"]?.stringValue)

        // The key signs for its document: a fresh signature over the document's own input verifies.
        let resolver = try Vectors.resolver()
        let did = try DID(try #require(entry["did"]?.stringValue))
        let doc = try #require(try resolver.resolve(did))
        let resigned = try doc.signed(with: key.privateKey, created: try DIDDate("2024-01-01T00:00:00Z"))
        #expect(resigned.isGenuine())
    }

    @Test func derivedRequestsCarryTheUser4Document() throws {
        let user4 = try Vectors.text("java-sdk/v2.2/testdata/user4.id.normalized.json")
        for op in ["create", "update"] {
            guard case .request(let r) = try DIDObject(json: try Vectors.json("derived/user4.didrequest.\(op).json")) else {
                Issue.record("not a request")
                continue
            }
            #expect(String(decoding: try Base64URL.decode(r.payload), as: UTF8.self) == user4)
            #expect(try r.document().isGenuine())
        }
    }

    @Test func highSSignaturesAreAccepted() throws {
        // user4's document signature has s > n/2 (expected.json README); it must verify.
        let doc = try DIDDocument(json: try Vectors.json("java-sdk/v2.2/testdata/user4.id.normalized.json"))
        let sig = try Base64URL.decode(try #require(doc.proofs.first?.signatureValue))
        let n = try Hex.decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
        #expect(Array(sig[32...]).lexicographicallyPrecedes(n))
        #expect(!Array(sig[32...]).lexicographicallyPrecedes(n.map { $0 >> 1 }))  // s > n/2, roughly
        #expect(doc.isGenuine())
    }
}
