public import ElaJSON
internal import ElaCrypto

/// A public key entry of a DID document.
public struct DIDPublicKey: Sendable, Hashable {
    public var id: DIDURL
    public var type: String
    public var controller: DID
    public var publicKeyBase58: String

    public init(id: DIDURL, type: String = defaultKeyType, controller: DID, publicKeyBase58: String) {
        self.id = id
        self.type = type
        self.controller = controller
        self.publicKeyBase58 = publicKeyBase58
    }
}

/// A service entry: the three fixed members plus any extra properties (sorted recursively).
public struct DIDService: Sendable, Hashable {
    public var id: DIDURL
    public var type: String
    public var endpoint: String
    public var properties: JSONObject

    public init(id: DIDURL, type: String, endpoint: String, properties: JSONObject = JSONObject()) {
        self.id = id
        self.type = type
        self.endpoint = endpoint
        self.properties = properties.sortedRecursively()
    }
}

/// A DID document, primitive (own default key) or customized (controllers, optional multisig).
public struct DIDDocument: Sendable, Hashable, NormalizedJSONRepresentable {
    public struct Proof: Sendable, Hashable {
        public var type: String
        public var created: DIDDate?
        /// For `creatorIsImplicit`, only `creator.did` (the single controller) is meaningful.
        public var creator: DIDURL
        public var signatureValue: String
        /// The file named no creator: a customized DID with one controller means that controller's default key,
        /// which the verifier looks up (decoding never resolves DIDs).
        public var creatorIsImplicit = false
    }

    public struct Multisig: Sendable, Hashable, CustomStringConvertible {
        public var m: Int
        public var n: Int
        public var description: String { "\(m):\(n)" }
    }

    public var context: [String]?
    public var subject: DID
    /// Sorted.
    public var controllers: [DID]
    public var multisig: Multisig?
    /// Sorted by id; includes keys embedded in `authentication` / `authorization`.
    public var publicKeys: [DIDPublicKey]
    public var authentication: [DIDURL]
    public var authorization: [DIDURL]
    public var credentials: [VerifiableCredential]
    public var services: [DIDService]
    public var expires: DIDDate
    /// Sorted by (created, creator).
    public var proofs: [Proof]
    /// The key whose controller is the subject and whose address is the subject's id (primitive DIDs).
    public private(set) var defaultKeyId: DIDURL?

    public var isCustomized: Bool { !controllers.isEmpty }

    /// The current DID document `@context`.
    public static let currentContext = [
        "https://www.w3.org/ns/did/v1", "https://ns.elastos.org/did/v1", "https://w3id.org/security/v1",
    ]

    public func publicKey(_ id: DIDURL) -> DIDPublicKey? { publicKeys.first { $0.id == id } }
    public var defaultKey: DIDPublicKey? { defaultKeyId.flatMap(publicKey) }

    // MARK: Decoding

    public init(json: JSONValue) throws(DIDError) {
        var fd = try JSONFields(json, context: "DID document")
        let subject = try fd.did("id")
        let ctx = "DID document \(subject)"
        fd.context = ctx
        self.subject = subject
        context = try fd.contextList()

        var controllers: [DID] = []
        for c in try fd.stringOrStrings("controller") ?? [] {
            do { controllers.append(try DID(c)) } catch { throw fd.fail("controller: \(error.message)") }
        }
        if Set(controllers).count != controllers.count { throw fd.fail("duplicate controller") }
        if controllers.contains(subject) { throw fd.fail("a DID cannot be its own controller") }
        self.controllers = controllers.sorted()
        if let ms = try fd.optionalString("multisig") {
            let parts = ms.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let m = Int(parts[0]), let n = Int(parts[1]), m >= 1, m <= n else {
                throw fd.fail("invalid multisig '\(ms)', expected m:n")
            }
            multisig = Multisig(m: m, n: n)
        }
        if controllers.count <= 1 {
            if multisig != nil { throw fd.fail("'multisig' is only allowed with more than one controller") }
        } else {
            guard let multisig else { throw fd.fail("missing 'multisig' for \(controllers.count) controllers") }
            guard multisig.n == controllers.count else {
                throw fd.fail("multisig \(multisig) does not match \(controllers.count) controllers")
            }
        }

        var keys: [DIDURL: DIDPublicKey] = [:]
        func addKey(_ value: JSONValue, _ where_: String) throws(DIDError) -> DIDURL {
            let kf = try JSONFields(value, context: "\(ctx) \(where_)")
            let id = try kf.url("id", base: subject)
            guard id.did == subject else { throw kf.fail("key id \(id) does not belong to \(subject)") }
            guard keys[id] == nil else { throw kf.fail("duplicate public key \(id)") }
            let b58 = try kf.string("publicKeyBase58")
            guard !b58.isEmpty else { throw kf.fail("empty publicKeyBase58") }
            keys[id] = DIDPublicKey(
                id: id, type: try kf.optionalString("type") ?? defaultKeyType,
                controller: try kf.optionalDID("controller") ?? subject, publicKeyBase58: b58)
            return id
        }
        for (i, k) in (try fd.optionalArray("publicKey") ?? []).enumerated() { _ = try addKey(k, "publicKey[\(i)]") }
        func references(_ name: String) throws(DIDError) -> [DIDURL] {
            var refs: [DIDURL] = []
            for (i, item) in (try fd.optionalArray(name) ?? []).enumerated() {
                if let s = item.stringValue {
                    let ref: DIDURL
                    do { ref = try DIDURL(s, base: subject) } catch { throw fd.fail("\(name)[\(i)]: \(error.message)") }
                    guard ref.did == subject else { throw fd.fail("\(name)[\(i)]: \(ref) does not belong to \(subject)") }
                    refs.append(ref)
                } else {
                    refs.append(try addKey(item, "\(name)[\(i)]"))
                }
            }
            return refs
        }
        let authRefs = try references("authentication")
        let authzRefs = try references("authorization")
        for ref in authRefs + authzRefs where keys[ref] == nil {
            throw fd.fail("reference to a public key that does not exist: \(ref)")
        }
        publicKeys = keys.values.sorted { $0.id < $1.id }

        var authentication = Array(Set(authRefs))
        defaultKeyId = Self.findDefaultKey(publicKeys, subject: subject)
        if let d = defaultKeyId, !authentication.contains(d) { authentication.append(d) }
        self.authentication = authentication.sorted()
        self.authorization = Array(Set(authzRefs)).sorted()
        if controllers.isEmpty && defaultKeyId == nil {
            throw fd.fail("missing the default public key (a key whose address is \(subject.methodSpecificId))")
        }

        var vcs: [VerifiableCredential] = []
        for (i, item) in (try fd.optionalArray("verifiableCredential") ?? []).enumerated() {
            let vc: VerifiableCredential
            do { vc = try VerifiableCredential(json: item, defaultSubject: subject) } catch {
                throw fd.fail("verifiableCredential[\(i)]: \(error.message)")
            }
            guard vc.id.did == subject else { throw fd.fail("credential \(vc.id) does not belong to \(subject)") }
            guard !vcs.contains(where: { $0.id == vc.id }) else { throw fd.fail("duplicate credential \(vc.id)") }
            vcs.append(vc)
        }
        credentials = vcs.sorted { $0.id < $1.id }

        var services: [DIDService] = []
        for (i, item) in (try fd.optionalArray("service") ?? []).enumerated() {
            let sf = try JSONFields(item, context: "\(ctx) service[\(i)]")
            let id = try sf.url("id", base: subject)
            guard id.did == subject else { throw sf.fail("service id \(id) does not belong to \(subject)") }
            guard !services.contains(where: { $0.id == id }) else { throw sf.fail("duplicate service \(id)") }
            var extra = sf.object
            for k in ["id", "type", "serviceEndpoint"] { extra[k] = nil }
            services.append(
                DIDService(id: id, type: try sf.string("type"), endpoint: try sf.string("serviceEndpoint"), properties: extra))
        }
        self.services = services.sorted { $0.id < $1.id }
        expires = try fd.date("expires")

        var proofs: [Proof] = []
        for (i, p) in (try fd.objectOrObjects("proof") ?? []).enumerated() {
            let pf = try JSONFields(p, context: "\(ctx) proof[\(i)]")
            let creator: DIDURL
            var implicit = false
            let creatorBase: DID? = controllers.isEmpty ? subject : (controllers.count == 1 ? controllers[0] : nil)
            if let c = try pf.optionalString("creator") {
                do { creator = try DIDURL(c, base: creatorBase) } catch { throw pf.fail("creator: \(error.message)") }
            } else if let d = defaultKeyId, controllers.isEmpty {
                creator = d
            } else if controllers.count == 1 {
                creator = DIDURL(did: controllers[0], fragment: "")
                implicit = true
            } else {
                throw pf.fail("missing 'creator' (a document with several controllers must name each signer)")
            }
            proofs.append(
                Proof(
                    type: try pf.optionalString("type") ?? defaultKeyType, created: try pf.optionalDate("created"),
                    creator: creator, signatureValue: try pf.string("signatureValue"), creatorIsImplicit: implicit))
        }
        self.proofs = Self.sortProofs(proofs)
    }

    /// The default key: controlled by the subject and deriving to the subject's id. It always authenticates.
    /// Only the address is compared here; the point itself is validated when a signature is checked.
    static func findDefaultKey(_ keys: [DIDPublicKey], subject: DID) -> DIDURL? {
        keys.first { key in
            key.controller == subject
                && KeyCache.shared.address(key.publicKeyBase58) == subject.methodSpecificId
        }?.id
    }

    static func sortProofs(_ proofs: [Proof]) -> [Proof] {
        proofs.sorted {
            let rc = javaCreatedOrder($0.created, $1.created)
            return rc != 0 ? rc < 0 : $0.creator < $1.creator
        }
    }

    /// An unsigned primitive document, for `DIDDocument.signed(by:)`.
    public init(
        subject: DID, publicKeys: [DIDPublicKey], authentication: [DIDURL], authorization: [DIDURL] = [],
        credentials: [VerifiableCredential] = [], services: [DIDService] = [], expires: DIDDate,
        context: [String]? = DIDDocument.currentContext
    ) throws(DIDError) {
        self.context = context
        self.subject = subject
        self.controllers = []
        self.publicKeys = publicKeys.sorted { $0.id < $1.id }
        self.authorization = authorization.sorted()
        self.credentials = credentials.sorted { $0.id < $1.id }
        self.services = services.sorted { $0.id < $1.id }
        self.expires = expires
        self.proofs = []
        var auth = authentication
        defaultKeyId = Self.findDefaultKey(self.publicKeys, subject: subject)
        if let d = defaultKeyId, !auth.contains(d) { auth.append(d) }
        self.authentication = Array(Set(auth)).sorted()
        guard defaultKeyId != nil else { throw DIDError(.signing, "no public key of \(subject) derives to its id") }
    }

    // MARK: Normalized form

    public func normalizedJSON() -> JSONValue { normalized(includeProof: true) }

    /// What every document proof signs: the normalized document without `proof`.
    public var signingInput: [UInt8] { Canonical.bytes(normalized(includeProof: false)) }
    var signingInputVariants: [[UInt8]] { Canonical.variants(normalized(includeProof: false)) }

    func normalized(includeProof: Bool) -> JSONValue {
        var o = JSONObject()
        o.put("@context", context.map { .array($0.map(JSONValue.string)) })
        o["id"] = .string(subject.description)
        if controllers.count == 1 {
            o["controller"] = .string(controllers[0].description)
        } else if controllers.count > 1 {
            o["controller"] = .array(controllers.map { .string($0.description) })
        }
        o.put("multisig", multisig.map { .string($0.description) })
        if !publicKeys.isEmpty {
            o["publicKey"] = .array(
                publicKeys.map { k in
                    .object(
                        JSONObject([
                            ("id", .string(k.id.description)), ("type", .string(k.type)),
                            ("controller", .string(k.controller.description)),
                            ("publicKeyBase58", .string(k.publicKeyBase58)),
                        ]))
                })
        }
        if !authentication.isEmpty { o["authentication"] = .array(authentication.map { .string($0.description) }) }
        if !authorization.isEmpty { o["authorization"] = .array(authorization.map { .string($0.description) }) }
        if !credentials.isEmpty { o["verifiableCredential"] = .array(credentials.map { $0.normalizedJSON() }) }
        if !services.isEmpty {
            o["service"] = .array(
                services.map { s in
                    var so = JSONObject([
                        ("id", .string(s.id.description)), ("type", .string(s.type)), ("serviceEndpoint", .string(s.endpoint)),
                    ])
                    for (k, v) in s.properties { so[k] = v }
                    return .object(so)
                })
        }
        o["expires"] = .string(expires.description)
        if includeProof && !proofs.isEmpty {
            let items: [JSONValue] = proofs.map { p in
                var po = JSONObject()
                po["type"] = .string(p.type)
                po.put("created", p.created.map { .string($0.description) })
                if !p.creatorIsImplicit { po["creator"] = .string(p.creator.description) }
                po["signatureValue"] = .string(p.signatureValue)
                return .object(po)
            }
            o["proof"] = items.count == 1 ? items[0] : .array(items)
        }
        return .object(o)
    }
}
