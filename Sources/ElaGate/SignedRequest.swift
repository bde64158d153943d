public import ElaCrypto
public import ElaIdentity
public import ElaJSON

/// A call signed by its caller's DID key: the envelope remote DApps send (over the carrier and MQTT alike).
///
/// ```json
/// {"method":"gpio.write","params":{"pin":"LED0","value":1},"did":"did:elastos:i...","publicKey":"<base58 33-byte
///  compressed P-256 key>","timestamp":1764000000,"nonce":"<16-64 hex>","credential":{...optional VC...},
///  "signature":"<base64url raw r||s>"}
/// ```
///
/// The signature is ECDSA P-256 over SHA-256 of the *signed bytes*: the envelope without `signature`, object keys
/// sorted recursively (UTF-16 order, as the Elastos SDKs sort), written as compact JSON (`docs/gate.md`).
/// Decoding is strict: every field is checked, unknown fields are rejected. Decoding does not check the signature;
/// ``isSignatureValid`` and ``isKeyBoundToDID`` do, and the gate calls both.
public struct SignedRequest: Sendable, Equatable {
    /// Largest envelope text accepted.
    public static let maxTextBytes = 64 * 1024
    /// The members an envelope may have; all but `credential` are required.
    public static let fields = ["method", "params", "did", "publicKey", "timestamp", "nonce", "credential", "signature"]
    public static let nonceLengths = 16...64

    /// The method to call, e.g. `gpio.write`.
    public let method: String
    public let params: JSONObject
    /// The DID the caller claims; the gate checks it is the DID of ``publicKey``.
    public let did: DID
    public let publicKey: ElaPublicKey
    /// Unix seconds when the caller signed.
    public let timestamp: Int64
    /// Hex, as sent; unique per caller (case-insensitively, see ``replayKey``) within the gate's replay window.
    public let nonce: String
    /// The attached credential as sent (part of the signed bytes).
    public let credentialJSON: JSONObject?
    /// The attached credential, decoded (its proof is checked by the gate, against the owner's document).
    public let credential: VerifiableCredential?
    /// Raw r||s, 64 bytes.
    public let signature: [UInt8]
    /// What the signature covers (see ``signedBytes(of:)``).
    public let signedBytes: [UInt8]
    /// The envelope object as decoded.
    public let envelope: JSONObject

    /// Two requests are equal when they sign the same content with the same signature (member order on the wire
    /// does not matter).
    public static func == (lhs: SignedRequest, rhs: SignedRequest) -> Bool {
        lhs.signedBytes == rhs.signedBytes && lhs.signature == rhs.signature
    }

    /// The nonce lower-cased: what the gate remembers, so a nonce cannot be replayed in another letter case.
    public var replayKey: String { nonce.lowercased() }

    // MARK: Signing

    /// The bytes a signature covers: `envelope` without `signature`, keys sorted recursively, compact JSON.
    public static func signedBytes(of envelope: JSONObject) -> [UInt8] {
        var unsigned = envelope
        unsigned["signature"] = nil
        return JSONWriter.compactBytes(JSONValue.object(unsigned).sortedRecursively())
    }

    /// Builds and signs a request (what `elactl call --as DIR` and DApps do). `did` must be the DID of `privateKey`'s
    /// public key; `nonce` defaults to 16 random bytes in hex; `now` is unix seconds.
    public static func sign(
        method: String, params: JSONObject, privateKey: ElaPrivateKey, did: DID, credential: VerifiableCredential? = nil,
        now: Int64, nonce: String? = nil
    ) throws(SignedRequestError) -> SignedRequest {
        let publicKey = privateKey.publicKey
        let keyDID = ElaAddress.did(for: publicKey)
        guard keyDID == did.description else { throw SignedRequestError(.keyDoesNotMatchDID(did: did.description, keyDID: keyDID)) }
        var envelope = JSONObject()
        envelope["method"] = .string(method)
        envelope["params"] = .object(params)
        envelope["did"] = .string(did.description)
        envelope["publicKey"] = .string(publicKey.base58)
        envelope["timestamp"] = .number(JSONNumber(now))
        envelope["nonce"] = .string(nonce ?? randomNonce())
        if let credential { envelope["credential"] = credential.normalizedJSON() }
        let signature: [UInt8]
        do { signature = try privateKey.signature(over: [signedBytes(of: envelope)]) } catch {
            throw SignedRequestError(.signingFailed(error.description))
        }
        envelope["signature"] = .string(Base64URL.encode(signature))
        // Decoding what we built validates method, nonce and params exactly as the receiver will.
        return try SignedRequest(json: .object(envelope))
    }

    /// 16 random bytes as 32 lower-case hex digits.
    public static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    // MARK: Checking

    /// Whether ``signature`` verifies over ``signedBytes`` with ``publicKey``.
    public var isSignatureValid: Bool { publicKey.isValidSignature(signature, over: [signedBytes]) }

    /// The DID derived from ``publicKey`` (as the Elastos SDKs derive a primitive DID).
    public var keyDID: String { ElaAddress.did(for: publicKey) }

    /// Whether ``did`` is the DID of ``publicKey``: then the key speaks for the DID without any chain lookup.
    public var isKeyBoundToDID: Bool { keyDID == did.description }

    // MARK: Encoding

    /// The whole envelope as received (or built), keys sorted.
    public var json: JSONValue { JSONValue.object(envelope).sortedRecursively() }

    /// Compact JSON text of ``json``: what to send.
    public var text: String { JSONWriter.compact(json) }
}

extension SignedRequest {
    /// Decodes envelope text (at most ``maxTextBytes`` bytes).
    public init(text: String) throws(SignedRequestError) {
        guard text.utf8.count <= Self.maxTextBytes else { throw SignedRequestError(.tooLarge(bytes: text.utf8.count)) }
        let value: JSONValue
        do { value = try JSONParser.parse(text, maxDepth: 64) } catch { throw SignedRequestError(.notJSON(error.description)) }
        try self.init(json: value)
    }

    /// Decodes a parsed envelope, checking every field.
    public init(json: JSONValue) throws(SignedRequestError) {
        guard let object = json.objectValue else { throw SignedRequestError(.notAnObject(found: json.kindName)) }
        if let unknown = object.keys.first(where: { !Self.fields.contains($0) }) {
            throw SignedRequestError(.unknownField(unknown))
        }
        func member(_ name: String) throws(SignedRequestError) -> JSONValue {
            guard let value = object[name] else { throw SignedRequestError(.missingField(name)) }
            return value
        }
        func string(_ name: String) throws(SignedRequestError) -> String {
            let value = try member(name)
            guard let text = value.stringValue else {
                throw SignedRequestError(.wrongType(field: name, expected: "a string", found: value.kindName))
            }
            return text
        }

        let method = try string("method")
        guard CapabilityPattern.isValidName(method) else { throw SignedRequestError(.invalidMethod(method)) }
        self.method = method

        let paramsValue = try member("params")
        guard let params = paramsValue.objectValue else {
            throw SignedRequestError(.wrongType(field: "params", expected: "an object", found: paramsValue.kindName))
        }
        self.params = params

        let didText = try string("did")
        do { did = try DID(didText) } catch { throw SignedRequestError(.invalidDID(error.message)) }

        let keyText = try string("publicKey")
        do { publicKey = try ElaPublicKey(base58: keyText) } catch { throw SignedRequestError(.invalidPublicKey(error.description)) }

        let timestampValue = try member("timestamp")
        guard let number = timestampValue.numberValue else {
            throw SignedRequestError(.wrongType(field: "timestamp", expected: "an integer", found: timestampValue.kindName))
        }
        guard let seconds = number.int64Value, seconds >= 0 else {
            throw SignedRequestError(.invalidTimestamp(number.text))
        }
        timestamp = seconds

        let nonceText = try string("nonce")
        guard Self.nonceLengths.contains(nonceText.utf8.count), nonceText.utf8.allSatisfy(Self.isHexDigit) else {
            throw SignedRequestError(.invalidNonce(nonceText))
        }
        nonce = nonceText

        if let credentialValue = object["credential"] {
            guard let credentialObject = credentialValue.objectValue else {
                throw SignedRequestError(.wrongType(field: "credential", expected: "an object", found: credentialValue.kindName))
            }
            do { credential = try VerifiableCredential(json: credentialValue) } catch {
                throw SignedRequestError(.invalidCredential(error.message))
            }
            credentialJSON = credentialObject
        } else {
            credential = nil
            credentialJSON = nil
        }

        let signatureText = try string("signature")
        let signatureBytes: [UInt8]
        do { signatureBytes = try Base64URL.decode(signatureText) } catch {
            throw SignedRequestError(.invalidSignature(error.description))
        }
        guard signatureBytes.count == 64 else {
            throw SignedRequestError(.invalidSignature("\(signatureBytes.count) bytes; a raw r||s signature has 64"))
        }
        signature = signatureBytes
        signedBytes = Self.signedBytes(of: object)
        envelope = object
    }

    static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f"))
            || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "F"))
    }
}

/// Why an envelope was rejected or could not be built.
public struct SignedRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case tooLarge(bytes: Int)
        case notJSON(String)
        case notAnObject(found: String)
        case missingField(String)
        case unknownField(String)
        case wrongType(field: String, expected: String, found: String)
        /// Not a name like `gpio.write` (dot-separated `a-z 0-9 _ -`).
        case invalidMethod(String)
        case invalidDID(String)
        case invalidPublicKey(String)
        /// Negative, fractional, or out of range.
        case invalidTimestamp(String)
        /// Not 16-64 hex digits.
        case invalidNonce(String)
        case invalidCredential(String)
        /// Not base64url, or not 64 bytes.
        case invalidSignature(String)
        /// When signing: the DID is not the DID of the signing key.
        case keyDoesNotMatchDID(did: String, keyDID: String)
        case signingFailed(String)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// The envelope member the error is about, if any.
    public var field: String? {
        switch kind {
        case .missingField(let f), .unknownField(let f), .wrongType(let f, _, _): f
        case .invalidMethod: "method"
        case .invalidDID, .keyDoesNotMatchDID: "did"
        case .invalidPublicKey: "publicKey"
        case .invalidTimestamp: "timestamp"
        case .invalidNonce: "nonce"
        case .invalidCredential: "credential"
        case .invalidSignature: "signature"
        case .tooLarge, .notJSON, .notAnObject, .signingFailed: nil
        }
    }

    public var description: String {
        switch kind {
        case .tooLarge(let bytes): "signed request is \(bytes) bytes; at most \(SignedRequest.maxTextBytes) are accepted"
        case .notJSON(let message): "signed request is not JSON: \(message)"
        case .notAnObject(let found): "signed request must be a JSON object, found \(found)"
        case .missingField(let f): "signed request has no '\(f)'"
        case .unknownField(let f):
            "signed request has an unknown member '\(f)'; allowed: \(SignedRequest.fields.joined(separator: ", "))"
        case .wrongType(let f, let expected, let found): "signed request '\(f)' must be \(expected), found \(found)"
        case .invalidMethod(let m): "signed request method '\(Self.clip(m))' is not a name like gpio.write"
        case .invalidDID(let message): "signed request 'did': \(message)"
        case .invalidPublicKey(let message): "signed request 'publicKey': \(message)"
        case .invalidTimestamp(let t): "signed request timestamp \(Self.clip(t)) must be whole unix seconds (0 or more)"
        case .invalidNonce(let n):
            "signed request nonce '\(Self.clip(n))' must be \(SignedRequest.nonceLengths.lowerBound)-\(SignedRequest.nonceLengths.upperBound) hex digits"
        case .invalidCredential(let message): "signed request credential: \(message)"
        case .invalidSignature(let message): "signed request signature: \(message)"
        case .keyDoesNotMatchDID(let did, let keyDID): "the signing key belongs to \(keyDID), not \(did)"
        case .signingFailed(let message): "signing the request failed: \(message)"
        }
    }

    /// Caller-supplied text, cut short for messages and logs.
    static func clip(_ s: String) -> String { s.count > 80 ? String(s.prefix(80)) + "..." : s }
}
