import ElaCrypto
import ElaGate
import ElaIdentity
import ElaJSON
import ElaTestSupport
import Testing

@Suite(.ownThread) struct SignedRequestTests {
    @Test func signDecodeVerifyRoundTrip() throws {
        let caller = try Caller()
        let request = try caller.request(nonce: "00112233445566778899AABBCCDDEEFF")
        let decoded = try SignedRequest(text: request.text)
        #expect(decoded == request)
        #expect(decoded.isSignatureValid)
        #expect(decoded.isKeyBoundToDID)
        #expect(decoded.keyDID == caller.did.description)
        #expect(decoded.nonce == "00112233445566778899AABBCCDDEEFF")
        #expect(decoded.replayKey == "00112233445566778899aabbccddeeff")
        #expect(decoded.method == "gpio.write")
        #expect(decoded.params["pin"] == "LED0")
        #expect(decoded.timestamp == testNow)
        #expect(decoded.credential == nil)
        // Random nonces: 32 hex digits, different each time.
        #expect(try caller.request().nonce.count == 32)
        #expect(try caller.request().nonce != caller.request().nonce)
    }

    @Test func signedBytesAreSortedCompactJSONWithoutSignature() throws {
        let text = """
            {"timestamp":1764000000,"signature":"AAAA","params":{"value":1,"pin":"LED0","opts":{"b":true,"a":[2,1]}},\
            "nonce":"0011223344556677","method":"gpio.write","did":"did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y",\
            "publicKey":"vMYSz32qbWsNeDJpKsuuMaFsiApuZMz9XVy9DmEwysWg"}
            """
        let object = try #require(try JSONParser.parse(text).objectValue)
        let expected = """
            {"did":"did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y","method":"gpio.write","nonce":"0011223344556677",\
            "params":{"opts":{"a":[2,1],"b":true},"pin":"LED0","value":1},\
            "publicKey":"vMYSz32qbWsNeDJpKsuuMaFsiApuZMz9XVy9DmEwysWg","timestamp":1764000000}
            """
        #expect(String(decoding: SignedRequest.signedBytes(of: object), as: UTF8.self) == expected)
    }

    @Test func memberOrderOnTheWireDoesNotMatter() throws {
        let caller = try Caller()
        let request = try caller.request()
        var reversed = JSONObject()
        for (key, value) in request.json.objectValue?.members.reversed() ?? [] { reversed[key] = value }
        let decoded = try SignedRequest(text: JSONWriter.compact(.object(reversed)))
        #expect(decoded.isSignatureValid)
    }

    @Test func tamperedParamsBreakTheSignature() throws {
        let caller = try Caller()
        var envelope = try #require(try caller.request().json.objectValue)
        envelope["params"] = .object(["pin": "LED1", "value": 1])
        let tampered = try SignedRequest(json: .object(envelope))
        #expect(!tampered.isSignatureValid)
        #expect(tampered.isKeyBoundToDID)
    }

    @Test func signingRefusesAForeignDID() throws {
        let caller = try Caller()
        let other = try Caller()
        #expect(throws: SignedRequestError.self) {
            try SignedRequest.sign(method: "gpio.write", params: [:], privateKey: caller.key, did: other.did, now: testNow)
        }
    }

    @Test func aCredentialIsCarriedAndSigned() throws {
        let owner = try Caller()
        let caller = try Caller()
        let vc = try DeviceAccessCredential.issue(
            to: caller.did, capabilities: [try CapabilityPattern("gpio.*")], owner: try owner.document(), key: owner.key,
            issuanceDate: DIDDate(secondsSince1970: testNow), expirationDate: DIDDate(secondsSince1970: testNow + 3600))
        let request = try SignedRequest(text: try caller.request(credential: vc).text)
        #expect(request.credential == vc)
        #expect(request.isSignatureValid)
        // The credential is inside the signed bytes: swapping it breaks the signature.
        var envelope = try #require(request.json.objectValue)
        var claims = try #require(envelope["credential"]?.objectValue)
        claims["id"] = .string(caller.did.description + "#other")
        envelope["credential"] = .object(claims)
        #expect(try !SignedRequest(json: .object(envelope)).isSignatureValid)
    }

    /// One malformed field per row: the field to change (nil value removes it) and what the error must say.
    static let malformed: [(field: String, value: JSONValue?, expected: SignedRequestError.Kind)] = [
        ("method", nil, .missingField("method")),
        ("method", 5, .wrongType(field: "method", expected: "a string", found: "a number")),
        ("method", "GPIO.write", .invalidMethod("GPIO.write")),
        ("method", "gpio.*", .invalidMethod("gpio.*")),
        ("params", nil, .missingField("params")),
        ("params", "pin=LED0", .wrongType(field: "params", expected: "an object", found: "a string")),
        ("params", [1], .wrongType(field: "params", expected: "an object", found: "an array")),
        ("did", nil, .missingField("did")),
        ("did", true, .wrongType(field: "did", expected: "a string", found: "a boolean")),
        ("publicKey", nil, .missingField("publicKey")),
        ("timestamp", nil, .missingField("timestamp")),
        ("timestamp", "1764000000", .wrongType(field: "timestamp", expected: "an integer", found: "a string")),
        ("nonce", nil, .missingField("nonce")),
        ("nonce", "0123456789abcde", .invalidNonce("0123456789abcde")),
        ("nonce", "0123456789abcdeg", .invalidNonce("0123456789abcdeg")),
        ("nonce", .string(String(repeating: "a", count: 65)), .invalidNonce(String(repeating: "a", count: 65))),
        ("nonce", 1234567890123456, .wrongType(field: "nonce", expected: "a string", found: "a number")),
        ("credential", "vc", .wrongType(field: "credential", expected: "an object", found: "a string")),
        ("signature", nil, .missingField("signature")),
        ("signature", .null, .wrongType(field: "signature", expected: "a string", found: "null")),
        ("signature", .string(Base64URL.encode([UInt8](repeating: 1, count: 63))),
            .invalidSignature("63 bytes; a raw r||s signature has 64")),
        ("extra", 1, .unknownField("extra")),
    ]

    @Test(arguments: malformed) func malformedFieldsAreTypedErrors(
        _ row: (field: String, value: JSONValue?, expected: SignedRequestError.Kind)
    ) throws {
        var envelope = try #require(try Caller().request().json.objectValue)
        envelope[row.field] = row.value
        #expect(throws: SignedRequestError(row.expected)) { try SignedRequest(text: JSONWriter.compact(.object(envelope))) }
    }

    /// Fields whose error carries a message from a lower layer: only the field is checked.
    static let malformedByField: [(field: String, value: JSONValue)] = [
        ("did", "did:example:123"),
        ("did", "did:elastos:"),
        ("publicKey", "not-base58-0OIl"),
        ("publicKey", .string(Base58.encode([0x02] + [UInt8](repeating: 0xFF, count: 32)))),  // x >= p: not on the curve
        ("publicKey", .string(Base58.encode([0x04] + [UInt8](repeating: 1, count: 32)))),
        ("timestamp", -1),
        ("timestamp", .number(JSONNumber(1.5)!)),
        ("timestamp", .number(JSONNumber(Double(1e20))!)),
        ("credential", .object([:])),
        ("credential", .object(["credentialSubject": .object(["id": "did:elastos:x"])])),
        ("signature", "not base64!"),
        ("signature", "AAAA===="),
    ]

    @Test(arguments: malformedByField) func malformedValuesNameTheirField(_ row: (field: String, value: JSONValue)) throws {
        var envelope = try #require(try Caller().request().json.objectValue)
        envelope[row.field] = row.value
        do {
            _ = try SignedRequest(text: JSONWriter.compact(.object(envelope)))
            Issue.record("\(row.field) = \(row.value) was accepted")
        } catch {
            #expect(error.field == row.field, "\(error)")
        }
    }

    @Test func wholeTextProblems() {
        #expect(throws: SignedRequestError(.notAnObject(found: "an array"))) { try SignedRequest(text: "[]") }
        #expect(throws: SignedRequestError.self) { try SignedRequest(text: "{\"method\":") }
        let huge = "{\"pad\":\"" + String(repeating: "x", count: SignedRequest.maxTextBytes) + "\"}"
        #expect(throws: SignedRequestError(.tooLarge(bytes: huge.utf8.count))) { try SignedRequest(text: huge) }
        // Duplicate members are rejected by the strict parser.
        #expect(throws: SignedRequestError.self) { try SignedRequest(text: "{\"method\":\"a.b\",\"method\":\"c.d\"}") }
    }
}
