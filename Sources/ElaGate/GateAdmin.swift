public import ElaIdentity
internal import ElaCrypto
public import ElaJSON
public import ElaStorage

/// The daemon's management API: grants, owner and audit. Every change is audited as an admin action in the same
/// transaction as the change.
extension Gate {
    // MARK: Grants

    /// Adds a grant after checking the subject DID, the pattern, the constraints and that `expiresAt` (unix
    /// seconds) is after `now`.
    public func addGrant(
        subject: String, capability: String, constraints: GrantConstraints = .none, expiresAt: Int64? = nil,
        note: String = "", uid: UInt32, now: Int64
    ) throws(GateError) -> Grant {
        let did = try Self.callerDID(subject)
        let pattern: CapabilityPattern
        do { pattern = try CapabilityPattern(capability) } catch { throw .invalidPattern(error) }
        if let expiresAt {
            guard expiresAt <= DIDDate.writableSeconds.upperBound else { throw .expiryOutOfRange(expiresAt: expiresAt) }
            guard expiresAt > now else { throw .expiryNotInFuture(expiresAt: expiresAt, now: now) }
        }
        let stored: StoredGrant = try adminTransaction { tx in
            let grant = try grants.add(
                subject: did.description, capability: pattern.text, constraints: constraints.jsonText,
                expiresAt: expiresAt, note: note, now: now, in: tx)
            var params = JSONObject()
            params["id"] = .number(JSONNumber(grant.id))
            params["subject"] = .string(grant.subject)
            params["capability"] = .string(grant.capability)
            params["constraints"] = constraints.json
            params["expiresAt"] = expiresAt.map { .number(JSONNumber($0)) } ?? .null
            params["note"] = .string(note)
            try appendAdminRow(
                method: "grant.add", params: params, reason: "granted \(pattern) to \(did) as grant \(grant.id)", uid: uid,
                now: now, in: tx)
            return grant
        }
        return Grant(
            id: stored.id, subject: did, capability: pattern, constraints: constraints, expiresAt: expiresAt,
            createdAt: now, note: note)
    }

    /// Grants in id order, optionally of one subject; expired ones only with `includeExpired`. Rows this program
    /// did not write are left out.
    public func listGrants(subject: DID? = nil, includeExpired: Bool = false, now: Int64) throws(GateError) -> [Grant] {
        let stored = try storage { try grants.list(subject: subject?.description, includeExpired: includeExpired, now: now) }
        return stored.compactMap { try? Grant(stored: $0) }
    }

    /// Removes a grant and audits the removal; returns what was removed.
    @discardableResult
    public func revokeGrant(id: Int64, uid: UInt32, now: Int64) throws(GateError) -> StoredGrant {
        let removed: StoredGrant? = try adminTransaction { tx in
            guard let grant = try grants.remove(id: id, in: tx) else { return nil }
            var params = JSONObject()
            params["id"] = .number(JSONNumber(id))
            try appendAdminRow(
                method: "grant.revoke", params: params,
                reason: "revoked grant \(id) (\(grant.capability) for \(grant.subject))", uid: uid, now: now, in: tx)
            return grant
        }
        guard let removed else { throw .grantNotFound(id) }
        return removed
    }

    // MARK: Revoked credentials

    /// Revokes an owner's credential on this device before it expires (a lost phone): `key` is its id
    /// (`did:elastos:<holder>#<fragment>`) or a holder's DID (every credential issued to it). Audited; calls that
    /// present it are denied from now on and subscriptions resting on it end. False if it was revoked already.
    @discardableResult
    public func revokeCredential(_ key: String, note: String = "", uid: UInt32, now: Int64) throws(GateError) -> Bool {
        let normalized = try Self.revocationKey(key)
        return try adminTransaction { tx in
            guard try store.revokeCredential(normalized, note: note, now: now, in: tx) else { return false }
            try appendAdminRow(
                method: "credential.revoke", params: ["key": .string(normalized), "note": .string(note)],
                reason: "revoked credential \(normalized)", uid: uid, now: now, in: tx)
            return true
        }
    }

    /// Takes a revocation back (audited); false if `key` was not revoked.
    @discardableResult
    public func unrevokeCredential(_ key: String, uid: UInt32, now: Int64) throws(GateError) -> Bool {
        let normalized = try Self.revocationKey(key)
        return try adminTransaction { tx in
            guard try store.unrevokeCredential(normalized, in: tx) else { return false }
            try appendAdminRow(
                method: "credential.unrevoke", params: ["key": .string(normalized)],
                reason: "credential \(normalized) counts again", uid: uid, now: now, in: tx)
            return true
        }
    }

    public func revokedCredentials() throws(GateError) -> [RevokedCredential] {
        try storage { try store.revokedCredentials() }
    }

    /// A credential id (a DID URL with a fragment) or a DID, in the form the gate compares.
    static func revocationKey(_ text: String) throws(GateError) -> String {
        if text.contains("#"), let url = try? DIDURL(text, base: nil), url.fragment != nil { return url.description }
        do { return try callerDID(text).description } catch {
            throw .invalidSubject("'\(text)' is neither a credential id (did:elastos:...#fragment) nor a DID")
        }
    }

    // MARK: Owner

    /// Sets the device owner from its DID document text: a genuine primitive-DID document, valid at `now` and not
    /// deactivated, stored in normalized form. Another owner already set is replaced only with `replace`: its
    /// credentials stop counting.
    @discardableResult
    public func setOwner(documentText: String, replace: Bool = false, uid: UInt32, now: Int64) throws(GateError) -> DIDDocument {
        let document: DIDDocument
        do {
            let json = try JSONParser.parse(documentText)
            if json["credentialSubject"] != nil {
                throw GateError.invalidOwnerDocument("this is a verifiable credential, not a DID document (the owner's is its identity folder's document.json)")
            }
            document = try DIDDocument(json: json)
        } catch let error as GateError {
            throw error
        } catch let error as DIDError {
            throw .invalidOwnerDocument(error.message)
        } catch {
            throw .invalidOwnerDocument("\(error)")
        }
        do {
            try DIDVerifier(resolver: DIDDocumentSet([document])).checkValid(document, at: DIDDate(secondsSince1970: now))
        } catch {
            throw .invalidOwnerDocument(error.message)
        }
        if let isDeactivated = configuration.isDeactivated, isDeactivated(document.subject) {
            throw .invalidOwnerDocument("\(document.subject) is deactivated")
        }
        try adminTransaction { tx in
            if !replace, let current = try store.owner(in: tx)?.did, current != document.subject.description {
                throw GateError.ownerExists(current)
            }
            try store.setOwner(did: document.subject.description, document: document.normalizedString, now: now, in: tx)
            var params = JSONObject()
            params["did"] = .string(document.subject.description)
            try appendAdminRow(
                method: "owner.set", params: params, reason: "owner set to \(document.subject)", uid: uid, now: now, in: tx)
        }
        return document
    }

    /// Removes the owner (its credentials stop counting); the DID that was owner, nil if there was none.
    public func clearOwner(uid: UInt32, now: Int64) throws(GateError) -> String? {
        try adminTransaction { tx -> String? in
            guard let current = try store.owner(in: tx)?.did else { return nil }
            try store.removeOwner(in: tx)
            try appendAdminRow(
                method: "owner.clear", params: ["did": .string(current)], reason: "owner \(current) removed", uid: uid, now: now, in: tx)
            return current
        }
    }

    /// The owner's DID document, if set.
    public func owner() throws(GateError) -> DIDDocument? {
        guard let record = try storage({ try store.owner() }) else { return nil }
        do { return try DIDDocument(json: JSONParser.parse(record.document)) } catch {
            throw .storage("the stored owner document is unreadable: \(error)")
        }
    }

    // MARK: Audit

    /// Audit rows matching `filter`, oldest first (the newest `filter.limit`).
    public func auditList(_ filter: AuditFilter) throws(GateError) -> [AuditRecord] {
        try storage { try audit.list(filter) }
    }

    /// Walks the whole chain (see ``AuditVerifier``).
    public func verifyAudit(anchor: AuditHead? = nil) -> AuditVerification {
        AuditVerifier.verify(audit, anchor: anchor)
    }

    // MARK: Helpers

    /// `text` as a DID that can make signed calls: one made from a key (its id a checksummed address). Anything else
    /// (a typo, most likely) could be granted but would never match a caller.
    public static func callerDID(_ text: String) throws(GateError) -> DID {
        let did: DID
        do { did = try DID(text) } catch { throw .invalidSubject(error.message) }
        guard ElaAddress.isValidIdentifier(did.methodSpecificId) else {
            throw .invalidSubject("\(did) is not a DID made from a key (its checksum does not match: a typo?); only such DIDs sign calls")
        }
        return did
    }

    /// Makes an admin's change outside the gate (say `elactl config set`) in one transaction with its audit row:
    /// `change` runs first and may throw (nothing is written then); `record` says what to audit from its result.
    public func recordAdminAction<T: Sendable>(
        method: String, uid: UInt32, now: Int64, change: (StoreTransaction) throws -> T,
        record: (T) -> (params: JSONObject, reason: String)
    ) throws -> T {
        do { try audit.prepareAppend() } catch { throw GateError.storage("\(error)") }
        return try store.write { tx in
            let result = try change(tx)
            let (params, reason) = record(result)
            try appendAdminRow(method: method, params: params, reason: reason, uid: uid, now: now, in: tx)
            return result
        }
    }

    private func appendAdminRow(
        method: String, params: JSONObject, reason: String, uid: UInt32, now: Int64, in tx: StoreTransaction
    ) throws {
        let entry = AuditEntry(
            at: now.multipliedReportingOverflow(by: 1000).partialValue, subject: "uid:\(uid)", caller: .admin,
            method: method, capability: "", decision: .allow, reason: reason, request: JSONWriter.compact(.object(params)))
        _ = try audit.append(entry, in: tx)
        // Admin changes are rare and lasting (a grant, an owner, a setting): their row is on the disk before they are.
        try audit.syncBeforeCommit()
    }

    /// One admin change: its writes and its audit row in one transaction, the audit journal opened (or its failed
    /// move retried) first.
    private func adminTransaction<T: Sendable>(_ body: (StoreTransaction) throws -> T) throws(GateError) -> T {
        try storage {
            try audit.prepareAppend()
            return try store.write(body)
        }
    }

    private func storage<T>(_ body: () throws -> T) throws(GateError) -> T {
        do { return try body() } catch let error as GateError { throw error } catch { throw .storage("\(error)") }
    }
}
