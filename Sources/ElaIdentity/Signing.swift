public import ElaCrypto
public import ElaJSON

/// Contexts written by current SDKs into new credentials and presentations.
public enum ElastosContext {
    public static let credential = ["https://www.w3.org/2018/credentials/v1", "https://ns.elastos.org/credentials/v1"]
    public static let presentation = credential
}

private func sign(_ key: ElaPrivateKey, _ parts: [[UInt8]]) throws(DIDError) -> String {
    do { return Base64URL.encode(try key.signature(over: parts)) } catch {
        throw DIDError(.signing, "signing failed: \(error)")
    }
}

/// Checks that `key` is the private half of the public key `keyId` names in `doc`.
private func requireKey(_ key: ElaPrivateKey, matches keyId: DIDURL, in doc: DIDDocument) throws(DIDError) {
    guard let entry = doc.publicKey(keyId) else { throw DIDError(.signing, "\(keyId) is not a key of \(doc.subject)") }
    guard entry.publicKeyBase58 == key.publicKey.base58 else {
        throw DIDError(.signing, "the private key does not match \(keyId)")
    }
}

extension DIDDocument {
    /// A new primitive document for `key`: key `#primary` (also the default and authentication key),
    /// `expires` `validYears` after `now` (the SDK default is 5), and the given services.
    public static func primitive(
        for key: ElaPublicKey, services: [DIDService] = [], now: DIDDate, validYears: Int = 5
    ) throws(DIDError) -> DIDDocument {
        let subject = try DID(methodSpecificId: ElaAddress.identifier(for: key))
        let primary = DIDURL(did: subject, fragment: "primary")
        return try DIDDocument(
            subject: subject,
            publicKeys: [DIDPublicKey(id: primary, controller: subject, publicKeyBase58: key.base58)],
            authentication: [primary], services: services, expires: now.adding(years: validYears))
    }

    /// The document signed by its default key (primitive DIDs), replacing any proofs.
    public func signed(with key: ElaPrivateKey, created: DIDDate) throws(DIDError) -> DIDDocument {
        guard !isCustomized, let keyId = defaultKeyId else {
            throw DIDError(.signing, "only primitive documents can be signed with one key")
        }
        try requireKey(key, matches: keyId, in: self)
        var copy = self
        copy.proofs = [
            Proof(type: defaultKeyType, created: created, creator: keyId, signatureValue: try sign(key, [signingInput]))
        ]
        return copy
    }
}

extension VerifiableCredential {
    /// Issues a credential signed by `signKey`, an authentication key of `issuer`.
    public static func issue(
        id: DIDURL, types: [String], subject: DID, claims: JSONObject, issuer: DIDDocument, signKey: DIDURL,
        key: ElaPrivateKey, issuanceDate: DIDDate, expirationDate: DIDDate,
        context: [String]? = ElastosContext.credential
    ) throws(DIDError) -> VerifiableCredential {
        guard id.did == subject else { throw DIDError(.signing, "credential id \(id) must belong to its subject \(subject)") }
        guard issuer.authentication.contains(signKey) else {
            throw DIDError(.signing, "\(signKey) is not an authentication key of \(issuer.subject)")
        }
        try requireKey(key, matches: signKey, in: issuer)
        var types = types
        if !types.contains("VerifiableCredential") { types.append("VerifiableCredential") }
        var vc = VerifiableCredential(
            context: context, id: id, types: types, issuer: issuer.subject, issuanceDate: issuanceDate,
            expirationDate: expirationDate, subject: subject, claims: claims)
        vc.proof = Proof(type: defaultKeyType, created: issuanceDate, verificationMethod: signKey, signature: try sign(key, [vc.signingInput]))
        return vc
    }
}

extension VerifiablePresentation {
    /// A presentation by `holder` of its credentials, bound to a verifier's `realm` and `nonce`.
    public static func create(
        holder: DIDDocument, signKey: DIDURL, key: ElaPrivateKey, credentials: [VerifiableCredential], realm: String,
        nonce: String, created: DIDDate, id: DIDURL? = nil, types: [String] = ["VerifiablePresentation"],
        context: [String]? = ElastosContext.presentation
    ) throws(DIDError) -> VerifiablePresentation {
        guard holder.authentication.contains(signKey) else {
            throw DIDError(.signing, "\(signKey) is not an authentication key of \(holder.subject)")
        }
        try requireKey(key, matches: signKey, in: holder)
        var vp = VerifiablePresentation(
            context: context, id: id, types: types, holder: holder.subject, created: created, credentials: credentials)
        vp.proof = Proof(
            type: defaultKeyType, created: created, verificationMethod: signKey, realm: realm, nonce: nonce,
            signature: try sign(key, [vp.signingInput(realm: realm, nonce: nonce)]))
        return vp
    }
}

extension IDChainRequest {
    /// A signed `create`, `update` (needs `previousTxid`) or `transfer` (needs `ticket`) request for `document`.
    public static func make(
        _ operation: Operation, document: DIDDocument, previousTxid: String? = nil, ticket: TransferTicket? = nil,
        signKey: DIDURL, key: ElaPrivateKey
    ) throws(DIDError) -> IDChainRequest {
        guard operation != .deactivate else { throw DIDError(.signing, "use IDChainRequest.deactivate") }
        if operation == .update && previousTxid == nil { throw DIDError(.signing, "an update needs previousTxid") }
        if operation == .transfer && ticket == nil { throw DIDError(.signing, "a transfer needs a ticket") }
        guard !document.proofs.isEmpty else { throw DIDError(.signing, "the document must be signed first") }
        if signKey.did == document.subject {
            guard document.authentication.contains(signKey) else {
                throw DIDError(.signing, "\(signKey) is not an authentication key of \(document.subject)")
            }
            try requireKey(key, matches: signKey, in: document)
        }
        let payload = Base64URL.encode(Canonical.bytes(document.normalizedJSON()))
        let ticketText = ticket.map { Base64URL.encode(Canonical.bytes($0.normalizedJSON())) }
        var request = IDChainRequest(operation: operation, previousTxid: previousTxid, ticket: ticketText, payload: payload)
        request.proof = Proof(type: defaultKeyType, verificationMethod: signKey, signature: try sign(key, [request.signingInput]))
        return request
    }

    /// A signed `deactivate` request for `did`, by its default key or an authorization key.
    public static func deactivate(_ did: DID, signKey: DIDURL, key: ElaPrivateKey) throws(DIDError) -> IDChainRequest {
        var request = IDChainRequest(operation: .deactivate, previousTxid: nil, ticket: nil, payload: did.description)
        request.proof = Proof(type: defaultKeyType, verificationMethod: signKey, signature: try sign(key, [request.signingInput]))
        return request
    }
}
