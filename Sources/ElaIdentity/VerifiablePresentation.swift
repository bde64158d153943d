public import ElaJSON

/// A verifiable presentation (current format, and legacy v1 without `holder`).
public struct VerifiablePresentation: Sendable, Hashable, NormalizedJSONRepresentable {
    public struct Proof: Sendable, Hashable {
        public var type: String
        public var created: DIDDate?
        public var verificationMethod: DIDURL
        public var realm: String
        public var nonce: String
        public var signature: String

        public init(
            type: String = defaultKeyType, created: DIDDate?, verificationMethod: DIDURL, realm: String, nonce: String,
            signature: String
        ) {
            self.type = type
            self.created = created
            self.verificationMethod = verificationMethod
            self.realm = realm
            self.nonce = nonce
            self.signature = signature
        }
    }

    public var context: [String]?
    public var id: DIDURL?
    public var types: [String]
    /// As written; nil in the legacy v1 format.
    public var declaredHolder: DID?
    /// Optional since SDK 2.x if the proof has `created` (the SDK plans to drop the top-level one).
    public var created: DIDDate?
    /// Sorted by id.
    public var credentials: [VerifiableCredential]
    public var proof: Proof?

    /// The holder: the declared one, or (v1) the DID of the proof's verification method.
    public var holder: DID? { declaredHolder ?? proof?.verificationMethod.did }

    public init(json: JSONValue) throws(DIDError) {
        let f = try JSONFields(json, context: "presentation")
        context = try f.contextList()
        declaredHolder = try f.optionalDID("holder")
        guard let types = try f.stringOrStrings("type"), !types.isEmpty else { throw f.fail("missing 'type'") }
        self.types = types.sorted { $0.javaPrecedes($1) }
        created = try f.optionalDate("created")
        var proofHolder: DID? = nil
        if let p = f.object["proof"], !p.isNull {
            let pf = try JSONFields(p, context: "presentation proof")
            let vm = try pf.url("verificationMethod", base: declaredHolder)
            proofHolder = vm.did
            proof = Proof(
                type: try pf.optionalString("type") ?? defaultKeyType,
                created: try pf.optionalDate("created"),
                verificationMethod: vm,
                realm: try pf.string("realm"),
                nonce: try pf.string("nonce"),
                signature: try pf.string("signature"))
        }
        if created == nil && proof?.created == nil { throw f.fail("missing 'created' (in the presentation or its proof)") }
        id = try f.optionalURL("id", base: declaredHolder ?? proofHolder)
        var vcs: [VerifiableCredential] = []
        for (i, item) in (try f.optionalArray("verifiableCredential") ?? []).enumerated() {
            do { vcs.append(try VerifiableCredential(json: item)) } catch {
                throw f.fail("verifiableCredential[\(i)]: \(error.message)")
            }
        }
        if Set(vcs.map(\.id)).count != vcs.count { throw f.fail("duplicate credential ids") }
        credentials = vcs.sorted { $0.id < $1.id }
    }

    public init(
        context: [String]?, id: DIDURL?, types: [String], holder: DID?, created: DIDDate?,
        credentials: [VerifiableCredential], proof: Proof? = nil
    ) {
        self.context = context
        self.id = id
        self.types = types.sorted { $0.javaPrecedes($1) }
        self.declaredHolder = holder
        self.created = created
        self.credentials = credentials.sorted { $0.id < $1.id }
        self.proof = proof
    }

    public func normalizedJSON() -> JSONValue { normalized(includeProof: true) }

    /// The bytes the holder signs: normalized presentation without proof, then realm, then nonce.
    public func signingInput(realm: String, nonce: String) -> [UInt8] {
        Canonical.bytes(normalized(includeProof: false)) + Array(realm.utf8) + Array(nonce.utf8)
    }
    func signingInputVariants(realm: String, nonce: String) -> [[UInt8]] {
        Canonical.variants(normalized(includeProof: false)).map { $0 + Array(realm.utf8) + Array(nonce.utf8) }
    }

    func normalized(includeProof: Bool) -> JSONValue {
        var o = JSONObject()
        o.put("@context", context.map { .array($0.map(JSONValue.string)) })
        o.put("id", id.map { .string($0.description) })
        o["type"] = types.count == 1 ? .string(types[0]) : .array(types.map(JSONValue.string))
        o.put("holder", declaredHolder.map { .string($0.description) })
        o.put("created", created.map { .string($0.description) })
        o["verifiableCredential"] = .array(credentials.map { $0.normalizedJSON() })
        if includeProof, let proof {
            var p = JSONObject()
            p["type"] = .string(proof.type)
            p.put("created", proof.created.map { .string($0.description) })
            p["verificationMethod"] = .string(proof.verificationMethod.description)
            p["realm"] = .string(proof.realm)
            p["nonce"] = .string(proof.nonce)
            p["signature"] = .string(proof.signature)
            o["proof"] = .object(p)
        }
        return .object(o)
    }
}
