public import ElaJSON

/// A verifiable credential as the Elastos SDKs write it (current and legacy v1 format).
public struct VerifiableCredential: Sendable, Hashable, NormalizedJSONRepresentable {
    public struct Proof: Sendable, Hashable {
        public var type: String
        public var created: DIDDate?
        public var verificationMethod: DIDURL
        public var signature: String

        public init(type: String = defaultKeyType, created: DIDDate?, verificationMethod: DIDURL, signature: String) {
            self.type = type
            self.created = created
            self.verificationMethod = verificationMethod
            self.signature = signature
        }
    }

    public var context: [String]?
    public var id: DIDURL
    /// Sorted (the SDKs sort before signing, so order in the input does not matter).
    public var types: [String]
    public var issuer: DID
    public var issuanceDate: DIDDate
    public var expirationDate: DIDDate
    public var subject: DID
    /// Claims other than `id`, sorted by key recursively.
    public var claims: JSONObject
    public var proof: Proof?

    public var isSelfProclaimed: Bool { issuer == subject }

    /// Decodes a credential. `defaultSubject` fills a missing `credentialSubject.id` (credentials embedded in a
    /// DID document belong to that document's subject).
    public init(json: JSONValue, defaultSubject: DID? = nil) throws(DIDError) {
        let f = try JSONFields(json, context: "credential")
        let subjectValue = f.object["credentialSubject"]
        guard let subjectValue else { throw f.fail("missing 'credentialSubject'") }
        let sf = try JSONFields(subjectValue, context: "credential subject")
        guard let subject = try sf.optionalDID("id") ?? defaultSubject else { throw f.fail("missing 'credentialSubject.id'") }
        self.subject = subject
        var claims = sf.object
        claims["id"] = nil
        self.claims = claims.sortedRecursively()

        context = try f.contextList()
        id = try f.url("id", base: subject)
        guard let types = try f.stringOrStrings("type"), !types.isEmpty else { throw f.fail("missing 'type'") }
        self.types = types.sorted { $0.javaPrecedes($1) }
        issuer = try f.optionalDID("issuer") ?? subject
        issuanceDate = try f.date("issuanceDate")
        expirationDate = try f.date("expirationDate")
        if let p = f.object["proof"], !p.isNull {
            let pf = try JSONFields(p, context: "credential proof")
            proof = Proof(
                type: try pf.optionalString("type") ?? defaultKeyType,
                created: try pf.optionalDate("created"),
                verificationMethod: try pf.url("verificationMethod", base: issuer),
                signature: try pf.string("signature"))
        }
    }

    public init(
        context: [String]?, id: DIDURL, types: [String], issuer: DID, issuanceDate: DIDDate, expirationDate: DIDDate,
        subject: DID, claims: JSONObject, proof: Proof? = nil
    ) {
        self.context = context
        self.id = id
        self.types = types.sorted { $0.javaPrecedes($1) }
        self.issuer = issuer
        self.issuanceDate = issuanceDate
        self.expirationDate = expirationDate
        self.subject = subject
        self.claims = claims.sortedRecursively()
        self.proof = proof
    }

    public func normalizedJSON() -> JSONValue { normalized(includeProof: true) }

    /// What the issuer's signature covers.
    public var signingInput: [UInt8] { Canonical.bytes(normalized(includeProof: false)) }
    var signingInputVariants: [[UInt8]] { Canonical.variants(normalized(includeProof: false)) }

    func normalized(includeProof: Bool) -> JSONValue {
        var o = JSONObject()
        o.put("@context", context.map { .array($0.map(JSONValue.string)) })
        o["id"] = .string(id.description)
        o["type"] = .array(types.map(JSONValue.string))
        o["issuer"] = .string(issuer.description)
        o["issuanceDate"] = .string(issuanceDate.description)
        o["expirationDate"] = .string(expirationDate.description)
        var s = JSONObject()
        s["id"] = .string(subject.description)
        for (k, v) in claims { s[k] = v }
        o["credentialSubject"] = .object(s)
        if includeProof, let proof {
            var p = JSONObject()
            p["type"] = .string(proof.type)
            p.put("created", proof.created.map { .string($0.description) })
            p["verificationMethod"] = .string(proof.verificationMethod.description)
            p["signature"] = .string(proof.signature)
            o["proof"] = .object(p)
        }
        return .object(o)
    }
}
