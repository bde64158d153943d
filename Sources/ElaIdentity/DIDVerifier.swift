internal import ElaCrypto

/// Checks signatures (`checkGenuine`) and, separately, validity at a time (`checkValid(at:)`: genuine and not
/// expired) of every Elastos object, resolving the DIDs it needs. Failures say which proof, which signer and
/// what expired. Deactivation needs the chain and is checked by the SPV layer, not here.
public struct DIDVerifier: Sendable {
    public var resolver: any DIDResolver
    /// Customized DIDs may name controllers that are themselves customized; bound the chain.
    static let maxDepth = 4

    public init(resolver: any DIDResolver = DIDDocumentSet()) { self.resolver = resolver }

    // MARK: Documents

    public func checkGenuine(_ doc: DIDDocument) throws(DIDError) { try genuine(doc, depth: 0) }

    public func checkValid(_ doc: DIDDocument, at time: DIDDate) throws(DIDError) {
        try genuine(doc, depth: 0)
        try notExpired(doc, at: time, depth: 0)
    }

    private func genuine(_ doc: DIDDocument, depth: Int) throws(DIDError) {
        guard depth <= Self.maxDepth else { throw DIDError(.notGenuine, "controller chain of \(doc.subject) is too deep") }
        let required = doc.multisig?.m ?? 1
        guard doc.proofs.count == required else {
            throw DIDError(
                .notGenuine, "document \(doc.subject) has \(doc.proofs.count) proof(s); it needs exactly \(required)")
        }
        let input = doc.signingInputVariants
        if !doc.isCustomized {
            let proof = doc.proofs[0]
            try checkType(proof.type, what: "document \(doc.subject) proof")
            guard let key = doc.defaultKey, proof.creator == key.id else {
                throw DIDError(
                    .notGenuine,
                    "document \(doc.subject): proof creator \(proof.creator) is not the default key \(doc.defaultKeyId?.description ?? "(none)")"
                )
            }
            try verify(proof.signatureValue, key: key, inputs: input, what: "document \(doc.subject) proof by \(proof.creator)")
            return
        }
        var seen = Set<DID>()
        for (i, proof) in doc.proofs.enumerated() {
            let what = "document \(doc.subject) proof \(i + 1) by \(proof.creator)"
            try checkType(proof.type, what: what)
            let controller = proof.creator.did
            guard doc.controllers.contains(controller) else {
                throw DIDError(.notGenuine, "\(what): \(controller) is not a controller")
            }
            guard seen.insert(controller).inserted else {
                throw DIDError(.notGenuine, "\(what): controller \(controller) signed more than once")
            }
            let cdoc = try resolveRequired(controller, role: "controller of \(doc.subject)")
            try genuine(cdoc, depth: depth + 1)
            guard let key = cdoc.defaultKey, proof.creatorIsImplicit || key.id == proof.creator else {
                throw DIDError(.notGenuine, "\(what): not the default key of controller \(controller)")
            }
            try verify(proof.signatureValue, key: key, inputs: input, what: what)
        }
    }

    /// The SDK's `isValid` checks the document's own expiry; controllers only need to be genuine (and, on chain,
    /// not deactivated).
    private func notExpired(_ doc: DIDDocument, at time: DIDDate, depth: Int) throws(DIDError) {
        guard time <= doc.expires else {
            throw DIDError(.notValid, "document \(doc.subject) expired at \(doc.expires)")
        }
    }

    // MARK: Credentials

    public func checkGenuine(_ vc: VerifiableCredential) throws(DIDError) {
        guard vc.id.did == vc.subject else {
            throw DIDError(.notGenuine, "credential id \(vc.id) does not belong to its subject \(vc.subject)")
        }
        guard let proof = vc.proof else { throw DIDError(.notGenuine, "credential \(vc.id) has no proof") }
        let what = "credential \(vc.id) proof by \(proof.verificationMethod)"
        let issuerDoc = try resolveRequired(vc.issuer, role: "issuer of \(vc.id)")
        try checkGenuine(issuerDoc)
        try checkType(proof.type, what: what)
        guard let key = try authenticationKey(proof.verificationMethod, of: issuerDoc) else {
            throw DIDError(.notGenuine, "\(what): not an authentication key of issuer \(vc.issuer)")
        }
        try verify(proof.signature, key: key, inputs: vc.signingInputVariants, what: what)
    }

    public func checkValid(_ vc: VerifiableCredential, at time: DIDDate) throws(DIDError) {
        try checkGenuine(vc)
        guard time <= vc.expirationDate else {
            throw DIDError(.notValid, "credential \(vc.id) expired at \(vc.expirationDate)")
        }
        // As the SDK: the issuer's document must be genuine (checked above), its own expiry does not end the credential.
    }

    // MARK: Presentations

    /// `realm` and `nonce`, when given, must match the proof (a verifier's challenge).
    public func checkGenuine(_ vp: VerifiablePresentation, realm: String? = nil, nonce: String? = nil) throws(DIDError) {
        guard let proof = vp.proof, let holder = vp.holder else {
            throw DIDError(.notGenuine, "presentation has no proof")
        }
        let what = "presentation proof by \(proof.verificationMethod)"
        if let realm, realm != proof.realm { throw DIDError(.notGenuine, "\(what): realm '\(proof.realm)' is not '\(realm)'") }
        if let nonce, nonce != proof.nonce { throw DIDError(.notGenuine, "\(what): nonce '\(proof.nonce)' is not '\(nonce)'") }
        let holderDoc = try resolveRequired(holder, role: "holder")
        try checkGenuine(holderDoc)
        for vc in vp.credentials {
            guard vc.subject == holder else {
                throw DIDError(.notGenuine, "presentation: credential \(vc.id) is about \(vc.subject), not the holder \(holder)")
            }
            try checkGenuine(vc)
        }
        try checkType(proof.type, what: what)
        guard proof.verificationMethod.did == holder || holderDoc.controllers.contains(proof.verificationMethod.did),
            let key = try authenticationKey(proof.verificationMethod, of: holderDoc)
        else {
            throw DIDError(.notGenuine, "\(what): not an authentication key of holder \(holder)")
        }
        try verify(
            proof.signature, key: key, inputs: vp.signingInputVariants(realm: proof.realm, nonce: proof.nonce), what: what)
    }

    public func checkValid(_ vp: VerifiablePresentation, at time: DIDDate) throws(DIDError) {
        try checkGenuine(vp)
        guard let holder = vp.holder else { throw DIDError(.notGenuine, "presentation has no holder") }
        try checkValid(try resolveRequired(holder, role: "holder"), at: time)
        for vc in vp.credentials { try checkValid(vc, at: time) }
    }

    // MARK: Transfer tickets

    public func checkGenuine(_ ticket: TransferTicket) throws(DIDError) {
        let doc = try resolveRequired(ticket.id, role: "subject of the transfer ticket")
        guard doc.isCustomized else { throw DIDError(.notGenuine, "transfer ticket: \(ticket.id) is not a customized DID") }
        try checkGenuine(doc)
        let required = doc.multisig?.m ?? 1
        guard ticket.proofs.count == required else {
            throw DIDError(.notGenuine, "transfer ticket has \(ticket.proofs.count) proof(s); it needs exactly \(required)")
        }
        let input = ticket.signingInputVariants
        var seen = Set<DID>()
        for (i, proof) in ticket.proofs.enumerated() {
            let what = "transfer ticket proof \(i + 1) by \(proof.verificationMethod)"
            try checkType(proof.type, what: what)
            let controller = proof.verificationMethod.did
            guard doc.controllers.contains(controller) else { throw DIDError(.notGenuine, "\(what): not a controller") }
            guard seen.insert(controller).inserted else {
                throw DIDError(.notGenuine, "\(what): controller \(controller) signed more than once")
            }
            let cdoc = try resolveRequired(controller, role: "controller of \(ticket.id)")
            try checkGenuine(cdoc)
            guard let key = cdoc.defaultKey, key.id == proof.verificationMethod else {
                throw DIDError(.notGenuine, "\(what): not the default key of controller \(controller)")
            }
            try verify(proof.signature, key: key, inputs: input, what: what)
        }
    }

    /// Genuine, the DID's document valid, and (as the SDK requires) every signing controller's document valid.
    public func checkValid(_ ticket: TransferTicket, at time: DIDDate) throws(DIDError) {
        try checkGenuine(ticket)
        try checkValid(try resolveRequired(ticket.id, role: "subject of the transfer ticket"), at: time)
        for proof in ticket.proofs {
            try checkValid(try resolveRequired(proof.verificationMethod.did, role: "controller of \(ticket.id)"), at: time)
        }
    }

    // MARK: ID-chain requests

    public func checkGenuine(_ request: IDChainRequest) throws(DIDError) {
        guard let proof = request.proof else { throw DIDError(.notGenuine, "ID-chain request has no proof") }
        let what = "\(request.operation.rawValue) request proof by \(proof.verificationMethod)"
        try checkType(proof.type, what: what)
        let key: DIDPublicKey
        if request.operation == .deactivate {
            let did = try request.subjectDID()
            let doc = try resolveRequired(did, role: "DID being deactivated")
            let vm = proof.verificationMethod
            if doc.isCustomized {
                // A controller's default key.
                guard doc.controllers.contains(vm.did), let cdoc = try resolver.resolve(vm.did), cdoc.defaultKeyId == vm,
                    let k = cdoc.defaultKey
                else {
                    throw DIDError(.notGenuine, "\(what): not the default key of a controller of \(did)")
                }
                key = k
            } else if vm == doc.defaultKeyId || doc.authorization.contains(vm), let k = doc.publicKey(vm) {
                // The default key, or an authorization (delegate) key.
                key = k
            } else {
                throw DIDError(.notGenuine, "\(what): neither the default key nor an authorization key of \(did)")
            }
        } else {
            let doc = try request.document()
            do { try checkGenuine(doc) } catch {
                throw DIDError(error.code, "\(request.operation.rawValue) request payload: \(error.message)")
            }
            if request.operation == .transfer {
                guard let ticket = try request.decodedTicket() else { throw DIDError(.notGenuine, "\(what): missing ticket") }
                guard ticket.id == doc.subject else {
                    throw DIDError(.notGenuine, "transfer ticket is for \(ticket.id), the document is \(doc.subject)")
                }
                guard doc.controllers.contains(ticket.to) else {
                    throw DIDError(.notGenuine, "the new document is not controlled by the ticket's recipient \(ticket.to)")
                }
                try checkGenuine(ticket)
            }
            guard let k = try authenticationKey(proof.verificationMethod, of: doc) else {
                throw DIDError(.notGenuine, "\(what): not an authentication key of \(doc.subject)")
            }
            key = k
        }
        try verify(proof.signature, key: key, inputs: [request.signingInput], what: what)
    }

    public func checkValid(_ request: IDChainRequest, at time: DIDDate) throws(DIDError) {
        try checkGenuine(request)
        if request.operation != .deactivate { try checkValid(try request.document(), at: time) }
    }

    // MARK: Any object

    public func checkGenuine(_ object: DIDObject) throws(DIDError) {
        switch object {
        case .document(let d): try checkGenuine(d)
        case .credential(let c): try checkGenuine(c)
        case .presentation(let p): try checkGenuine(p)
        case .ticket(let t): try checkGenuine(t)
        case .request(let r): try checkGenuine(r)
        }
    }

    public func checkValid(_ object: DIDObject, at time: DIDDate) throws(DIDError) {
        switch object {
        case .document(let d): try checkValid(d, at: time)
        case .credential(let c): try checkValid(c, at: time)
        case .presentation(let p): try checkValid(p, at: time)
        case .ticket(let t): try checkValid(t, at: time)
        case .request(let r): try checkValid(r, at: time)
        }
    }

    // MARK: Helpers

    /// An authentication key of `doc`, or for a customized document an authentication key of one of its controllers.
    public func authenticationKey(_ id: DIDURL, of doc: DIDDocument) throws(DIDError) -> DIDPublicKey? {
        if id.did == doc.subject {
            return doc.authentication.contains(id) ? doc.publicKey(id) : nil
        }
        guard doc.controllers.contains(id.did), let cdoc = try resolver.resolve(id.did) else { return nil }
        return cdoc.authentication.contains(id) ? cdoc.publicKey(id) : nil
    }

    private func resolveRequired(_ did: DID, role: String) throws(DIDError) -> DIDDocument {
        guard let doc = try resolver.resolve(did) else {
            throw DIDError(.unresolved, "cannot resolve \(did) (\(role)); give its document (e.g. --resolve-dir)")
        }
        return doc
    }

    private func checkType(_ type: String, what: @autoclosure () -> String) throws(DIDError) {
        guard type == defaultKeyType else { throw DIDError(.notGenuine, "\(what()): unsupported proof type '\(type)'") }
    }

    /// `inputs`: the signed bytes as the SDKs may have produced them (NFC first, then without NFC); any one verifies.
    /// `what` names the signature in errors; built only for one (the success path skips the string work).
    private func verify(_ signature: String, key: DIDPublicKey, inputs: [[UInt8]], what: @autoclosure () -> String) throws(DIDError) {
        guard key.type == defaultKeyType else { throw DIDError(.notGenuine, "\(what()): unsupported key type '\(key.type)'") }
        guard let pk = KeyCache.shared.publicKey(key.publicKeyBase58) else {
            throw DIDError(.notGenuine, "\(what()): key \(key.id) is not a valid P-256 public key")
        }
        let sig: [UInt8]
        do { sig = try Base64URL.decode(signature) } catch {
            throw DIDError(.notGenuine, "\(what()): signature is not base64url")
        }
        guard sig.count == 64 else {
            throw DIDError(.notGenuine, "\(what()): signature is \(sig.count) bytes, expected 64")
        }
        guard inputs.contains(where: { pk.isValidSignature(sig, over: [$0]) }) else {
            throw DIDError(.notGenuine, "\(what()): signature does not verify")
        }
    }
}

extension DIDDocument {
    public func isGenuine(resolver: any DIDResolver = DIDDocumentSet()) -> Bool {
        (try? DIDVerifier(resolver: resolver).checkGenuine(self)) != nil
    }
    public func isValid(at time: DIDDate, resolver: any DIDResolver = DIDDocumentSet()) -> Bool {
        (try? DIDVerifier(resolver: resolver).checkValid(self, at: time)) != nil
    }
}

extension VerifiableCredential {
    public func isGenuine(resolver: any DIDResolver) -> Bool { (try? DIDVerifier(resolver: resolver).checkGenuine(self)) != nil }
    public func isValid(at time: DIDDate, resolver: any DIDResolver) -> Bool {
        (try? DIDVerifier(resolver: resolver).checkValid(self, at: time)) != nil
    }
}

extension VerifiablePresentation {
    public func isGenuine(resolver: any DIDResolver) -> Bool { (try? DIDVerifier(resolver: resolver).checkGenuine(self)) != nil }
    public func isValid(at time: DIDDate, resolver: any DIDResolver) -> Bool {
        (try? DIDVerifier(resolver: resolver).checkValid(self, at: time)) != nil
    }
}
