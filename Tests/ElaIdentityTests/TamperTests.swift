import ElaIdentity
import ElaJSON
import ElaTestSupport
import Testing

/// Sets `newValue` at `path` in a JSON value (array indexes 0-based, as in tamper-cases.json).
func setting(_ value: JSONValue, path: ArraySlice<JSONValue>, to newValue: JSONValue) throws -> JSONValue {
    guard let head = path.first else { return newValue }
    switch value {
    case .object(var o):
        guard let key = head.stringValue, let child = o[key] else { throw VectorError("no member \(head)") }
        o[key] = try setting(child, path: path.dropFirst(), to: newValue)
        return .object(o)
    case .array(var a):
        guard let i = head.numberValue?.int64Value.map(Int.init), a.indices.contains(i) else { throw VectorError("no index \(head)") }
        a[i] = try setting(a[i], path: path.dropFirst(), to: newValue)
        return .array(a)
    default:
        throw VectorError("cannot descend into \(value.kindName)")
    }
}

@Suite(.ownThread) struct TamperTests {
    static let cases: [JSONObject] = ((try? Vectors.json("tamper-cases.json"))?["cases"]?.arrayValue ?? []).compactMap(\.objectValue)

    @Test func casesArePresent() { #expect(Self.cases.count >= 15) }

    @Test(arguments: cases)
    func tamperCaseBehavesAsListed(_ c: JSONObject) throws {
        let file = try #require(c["file"]?.stringValue)
        let path = try #require(c["path"]?.arrayValue)
        let newValue = try #require(c["newValue"])
        let expectedFlag: Bool? = c["expectGenuine"]?.boolValue
        guard let expectGenuine = expectedFlag else { throw VectorError("case without expectGenuine") }
        var json = try Vectors.json(file)
        if newValue.stringValue == "keep only proof[0]" {
            let proofs = try #require(json["proof"]?.arrayValue)
            json = try setting(json, path: path[...], to: proofs[0])
        } else {
            json = try setting(json, path: path[...], to: newValue)
        }
        let verifier = DIDVerifier(resolver: try Vectors.resolver())
        let result: Result<Void, DIDError>
        do {
            try verifier.checkGenuine(try DIDObject(json: json))
            result = .success(())
        } catch {
            result = .failure(error)
        }
        switch (result, expectGenuine) {
        case (.success, true): break
        case (.failure(let e), false): #expect(e.code == .notGenuine, "\(file) \(path): \(e)")
        case (.success, false): Issue.record("\(file) \(path) should fail: \(c["why"]?.stringValue ?? "")")
        case (.failure(let e), true): Issue.record("\(file) \(path) should pass: \(e)")
        }
    }

    @Test func everyDocumentSignatureCharacterMatters() throws {
        let json = try Vectors.json("java-sdk/v2.2/testdata/user4.id.normalized.json")
        let sig = try #require(json["proof"]?["signatureValue"]?.stringValue)
        var chars = Array(sig)
        for i in stride(from: 0, to: chars.count - 1, by: 7) {  // last char carries padding bits only
            let original = chars[i]
            chars[i] = original == "A" ? "B" : "A"
            let tampered = try setting(json, path: [.string("proof"), .string("signatureValue")], to: .string(String(chars)))
            #expect(!(try DIDDocument(json: tampered)).isGenuine(), "char \(i)")
            chars[i] = original
        }
    }

    @Test func malformedObjectsGiveTypedErrors() throws {
        let bad: [String] = [
            "{}", "[]", #"{"id":"did:elastos:x","expires":"2026-01-01T00:00:00Z"}"#,
            #"{"id":"did:other:x","expires":"2026-01-01T00:00:00Z","publicKey":[]}"#,
            ##"{"id":"did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y","publicKey":[{"id":"#k","publicKeyBase58":"vMYSz32qbWsNeDJpKsuuMaFsiApuZMz9XVy9DmEwysWg"}],"expires":"2026-02-30T00:00:00Z"}"##,
            #"{"header":{"specification":"elastos/did/1.0","operation":"explode"},"payload":"x"}"#,
            ##"{"credentialSubject":{"id":"did:elastos:abc"},"id":"#a","type":[],"issuanceDate":"2020-01-01T00:00:00Z","expirationDate":"2030-01-01T00:00:00Z"}"##,
        ]
        for text in bad {
            #expect(throws: DIDError.self, "\(text)") { try DIDObject(text: text) }
        }
    }
}
